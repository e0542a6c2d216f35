//! `{crux:VAR}` placeholders: a registration's arguments, remote URL and header values may
//! name a keychain variable as `{crux:VAR}`, which the launcher (arguments) or the bridge (URL,
//! headers) replaces with the stored value when it starts the server or sends a request. The
//! files crux writes hold only the placeholder.
//!
//! Not `${VAR}`: MCP hosts expand that form in their own configs from their own environment
//! (Claude Code `${VAR}`, Gemini CLI `$VAR` and `${VAR}`, VS Code and Cursor `${env:VAR}`,
//! OpenCode `{env:VAR}`), which would change the entry crux wrote before the launcher sees it.

use crate::secret::Secret;
use std::collections::BTreeMap;

const OPEN: &str = "{crux:";

/// The placeholder of `var`: `{crux:VAR}`.
pub fn placeholder(var: &str) -> String {
    format!("{OPEN}{var}}}")
}

/// The variable a text names when the text is a placeholder and nothing else.
pub fn sole(text: &str) -> Option<&str> {
    match spans(text).as_slice() {
        [(0, end, name)] if *end == text.len() => Some(name),
        _ => None,
    }
}

/// The variables a text names as `{crux:VAR}`, in order, each once. `{crux:…}` whose inside
/// is not a variable name is not a placeholder.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for (_, _, name) in spans(text) {
        if !found.iter().any(|f| f == name) {
            found.push(name.to_owned());
        }
    }
    found
}

/// Every `{crux:VAR}` in `text`: its byte range and the variable.
fn spans(text: &str) -> Vec<(usize, usize, &str)> {
    let mut spans = Vec::new();
    let mut at = 0;
    while let Some(found) = text[at..].find(OPEN) {
        let start = at + found;
        let inner = start + OPEN.len();
        match text[inner..].find('}') {
            Some(len) if crate::names::VarName::parse(&text[inner..inner + len]).is_ok() => {
                let end = inner + len + 1;
                spans.push((start, end, &text[inner..inner + len]));
                at = end;
            }
            _ => at = inner,
        }
    }
    spans
}

/// `text` with every `{crux:VAR}` of `values` replaced by its value; other text (and
/// placeholders of variables not in `values`) stays as it is.
pub fn fill(text: &str, values: &BTreeMap<String, Secret>) -> Secret {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end, name) in spans(text) {
        if let Some(value) = values.get(name) {
            out.push_str(&text[at..start]);
            out.push_str(value.expose());
            at = end;
        }
    }
    out.push_str(&text[at..]);
    Secret::from(zeroize::Zeroizing::new(out))
}

/// Whether `text` could be `template` with some of its placeholders replaced by any text: how
/// a host that expands placeholders in its config from its own environment passes it on.
pub fn could_fill(template: &str, text: &str) -> bool {
    let mut pieces = Vec::new();
    let mut at = 0;
    for (start, end, _) in spans(template) {
        pieces.push(&template[at..start]);
        at = end;
    }
    pieces.push(&template[at..]);
    let [first, middle @ .., last] = pieces.as_slice() else {
        return template == text;
    };
    let Some(rest) = text.strip_prefix(first).and_then(|r| r.strip_suffix(last)) else {
        return false;
    };
    let mut rest = rest;
    for piece in middle {
        match rest.find(piece) {
            Some(i) => rest = &rest[i + piece.len()..],
            None => return false,
        }
    }
    true
}

/// `text` with every `{crux:VAR}` shown as `<VAR>`, the way crux names a credential it fills in.
pub fn shown(text: &str) -> String {
    let values: BTreeMap<String, Secret> = placeholders(text)
        .into_iter()
        .map(|v| {
            let shown = Secret::new(format!("<{v}>"));
            (v, shown)
        })
        .collect();
    fill(text, &values).expose().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_fills_placeholders() {
        assert_eq!(
            placeholders("--key={crux:API_KEY} ${X} {env:X} {crux:b-c} {crux:B}{crux:API_KEY}"),
            vec!["API_KEY", "B"]
        );
        let values: BTreeMap<String, Secret> = [("API_KEY".to_string(), Secret::new("v1"))]
            .into_iter()
            .collect();
        assert_eq!(
            fill("a={crux:API_KEY}&b={crux:B}", &values).expose(),
            "a=v1&b={crux:B}"
        );
        assert_eq!(fill("{crux:", &values).expose(), "{crux:");
        assert!(placeholders("no {crux:} {crux:1X} ${API_KEY}").is_empty());
        assert_eq!(sole("{crux:K}"), Some("K"));
        assert_eq!(sole("x{crux:K}"), None);
        assert_eq!(sole("{crux:K}{crux:L}"), None);
        assert_eq!(placeholder("K"), "{crux:K}");
        assert_eq!(
            shown("t-{crux:TEAM_TOKEN} {crux:x-y}"),
            "t-<TEAM_TOKEN> {crux:x-y}"
        );
        let url = "https://{crux:U}@h/mcp?k={crux:K}";
        assert!(could_fill(url, url));
        assert!(could_fill(url, "https://{crux:U}@h/mcp?k=v"));
        assert!(could_fill(url, "https://a:b@h/mcp?k="));
        assert!(!could_fill(url, "https://a@evil/mcp?x=v"));
        assert!(!could_fill("plain", "other"));
    }
}

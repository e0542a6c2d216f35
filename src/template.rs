//! `${VAR}` placeholders: a registration's arguments, remote URL and header values may name a
//! keychain variable as `${VAR}`, which the launcher (arguments) or the bridge (URL, headers)
//! replaces with the stored value when it starts the server or sends a request. The files crux
//! writes hold only the placeholder.

use crate::secret::Secret;
use std::collections::BTreeMap;

/// The variables a text names as `${VAR}`, in order, each once. `${…}` whose inside is not a
/// variable name (`${env:X}`, `${VAR:-x}`) is not a placeholder.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (start, end) in spans(text) {
        let name = &text[start + 2..end - 1];
        if !found.iter().any(|f| f == name) {
            found.push(name.to_owned());
        }
    }
    found
}

/// The byte ranges of every `${VAR}` in `text`.
fn spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b'$' && bytes[i + 1] == b'{' {
            if let Some(len) = text[i + 2..].find('}') {
                let name = &text[i + 2..i + 2 + len];
                if crate::names::VarName::parse(name).is_ok() {
                    spans.push((i, i + 2 + len + 1));
                    i += 2 + len + 1;
                    continue;
                }
            }
        }
        i += 1;
    }
    spans
}

/// `text` with every `${VAR}` of `values` replaced by its value; other text (and placeholders
/// of variables not in `values`) stays as it is.
pub fn fill(text: &str, values: &BTreeMap<String, Secret>) -> Secret {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in spans(text) {
        let name = &text[start + 2..end - 1];
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
/// a host that expands `${VAR}` in its config from its own environment passes it on.
pub fn could_fill(template: &str, text: &str) -> bool {
    let mut pieces = Vec::new();
    let mut at = 0;
    for (start, end) in spans(template) {
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

/// `text` with every `${VAR}` shown as `<VAR>`, the way crux names a credential it fills in.
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
            placeholders("--key=${API_KEY} ${env:X} ${A:-b} ${B}${API_KEY}"),
            vec!["API_KEY", "B"]
        );
        let values: BTreeMap<String, Secret> = [("API_KEY".to_string(), Secret::new("v1"))]
            .into_iter()
            .collect();
        assert_eq!(fill("a=${API_KEY}&b=${B}", &values).expose(), "a=v1&b=${B}");
        assert_eq!(fill("${", &values).expose(), "${");
        assert!(placeholders("no $ here ${} ${1X}").is_empty());
        assert_eq!(shown("t-${TEAM_TOKEN} ${x-y}"), "t-<TEAM_TOKEN> ${x-y}");
        let url = "https://${U}@h/mcp?k=${K}";
        assert!(could_fill(url, url));
        assert!(could_fill(url, "https://${U}@h/mcp?k=v"));
        assert!(could_fill(url, "https://a:b@h/mcp?k="));
        assert!(!could_fill(url, "https://a@evil/mcp?x=v"));
        assert!(!could_fill("plain", "other"));
    }
}

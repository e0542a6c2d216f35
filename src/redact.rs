//! Masking: every credential this process has sent or handed on is remembered here, and text
//! that crux prints or forwards (an error line, a server's error body, a message relayed to the
//! host) has each of them replaced by `[redacted]`. A hostile or careless server that echoes a
//! token back cannot make crux repeat it. Remembered values are [`Secret`]s: zeroized on exit.

use crate::secret::Secret;
use std::borrow::Cow;
use std::sync::Mutex;

/// Shorter values are not masked: they would hit ordinary words.
const MIN_LEN: usize = 6;

static KNOWN: Mutex<Vec<Secret>> = Mutex::new(Vec::new());

/// Remembers a credential this process sends somewhere or hands to a child.
pub fn remember(secret: &Secret) {
    if secret.expose().len() < MIN_LEN {
        return;
    }
    let mut known = KNOWN.lock().unwrap_or_else(|p| p.into_inner());
    if !known.iter().any(|k| k == secret) {
        known.push(secret.clone());
    }
}

/// `text` with every remembered credential, raw or as it appears inside a JSON string,
/// replaced by `[redacted]`.
pub fn mask(text: &str) -> Cow<'_, str> {
    let known = KNOWN.lock().unwrap_or_else(|p| p.into_inner());
    let mut out = Cow::Borrowed(text);
    for secret in known.iter() {
        let raw = secret.expose();
        let escaped = serde_json::to_string(raw).expect("a string serializes");
        let escaped = &escaped[1..escaped.len() - 1];
        let encoded: String = url::form_urlencoded::byte_serialize(raw.as_bytes()).collect();
        for form in [raw, escaped, encoded.as_str()] {
            if out.contains(form) {
                out = Cow::Owned(out.replace(form, "[redacted]"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_values_are_masked_raw_and_in_json() {
        remember(&Secret::new("tok\"en-value-1"));
        remember(&Secret::new("abc"));
        let body = serde_json::json!({"echo": "tok\"en-value-1"}).to_string();
        assert_eq!(mask(&body), r#"{"echo":"[redacted]"}"#);
        assert_eq!(mask("raw tok\"en-value-1 here"), "raw [redacted] here");
        assert_eq!(mask("?t=tok%22en-value-1"), "?t=[redacted]");
        assert_eq!(
            mask("abc stays"),
            "abc stays",
            "short values are not masked"
        );
    }
}

//! Which values of a host's entry are credentials: a variable, header, URL part or argument is
//! a credential by its name (`…_TOKEN`, `Authorization`, `--api-key`), by its shape (`ghp_…`,
//! `sk-…`, a JWT, a long high-entropy string), or because the user says so; paths, ports,
//! switches, URLs without credentials and short words are settings. Every decision carries its
//! reason, which the plan shows.

use crate::names::looks_like_token;

/// A decision and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Class {
    pub secret: bool,
    pub why: String,
}

impl Class {
    fn secret(why: impl Into<String>) -> Class {
        Class {
            secret: true,
            why: why.into(),
        }
    }

    fn setting(why: impl Into<String>) -> Class {
        Class {
            secret: false,
            why: why.into(),
        }
    }
}

/// The user's `--secret` / `--not-secret`: `NAME` for every server, `SERVER:NAME` for one.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    secret: Vec<String>,
    not_secret: Vec<String>,
}

impl Overrides {
    pub fn new(secret: &[String], not_secret: &[String]) -> Overrides {
        Overrides {
            secret: secret.to_vec(),
            not_secret: not_secret.to_vec(),
        }
    }

    fn matches(list: &[String], server: &str, name: &str) -> bool {
        list.iter().any(|o| match o.split_once(':') {
            Some((s, n)) => s == server && n.eq_ignore_ascii_case(name),
            None => o.eq_ignore_ascii_case(name),
        })
    }

    /// The user's word on `name` of `server`, if any.
    pub fn decide(&self, server: &str, name: &str) -> Option<Class> {
        if Self::matches(&self.not_secret, server, name) {
            Some(Class::setting("--not-secret"))
        } else if Self::matches(&self.secret, server, name) {
            Some(Class::secret("--secret"))
        } else {
            None
        }
    }

    /// Overrides that named nothing the import found, to warn about (a typo keeps a secret
    /// where the user meant to move it).
    pub fn unused<'a>(&'a self, seen: &'a [(String, String)]) -> Vec<&'a str> {
        self.secret
            .iter()
            .chain(&self.not_secret)
            .filter(|o| {
                !seen
                    .iter()
                    .any(|(server, name)| Self::matches(std::slice::from_ref(o), server, name))
            })
            .map(String::as_str)
            .collect()
    }
}

/// Words in a variable's name that make its value a credential.
const SECRET_WORDS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "APIKEY",
    "API_KEY",
    "ACCESS_KEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
    "AUTH",
    "COOKIE",
    "SESSION",
    "PAT",
    "PASS",
    "PWD",
    "PW",
    "BEARER",
    "CREDS",
    "DSN",
    "CONNECTION_STRING",
];

/// Name parts that say the value is a setting even though another part sounds secret
/// (`AUTH_URL`, `TOKEN_FILE`, `SECRET_NAME`).
const SETTING_ENDINGS: &[&str] = &[
    "URL", "URI", "HOST", "PORT", "PATH", "DIR", "FILE", "NAME", "REGION", "ENDPOINT", "MODE",
    "TYPE", "LEVEL", "TIMEOUT", "ID", "ENABLED", "HEADER",
];

/// Whether a flag's (or query parameter's) name says its value is a credential; the matched
/// word. A name that ends like a setting (`--token-file`, `auth_url`) does not.
pub fn secret_by_name(name: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase().replace(['-', '.'], "_");
    let parts: Vec<&str> = upper.split('_').filter(|p| !p.is_empty()).collect();
    if parts
        .last()
        .is_some_and(|last| SETTING_ENDINGS.contains(last))
    {
        return None;
    }
    secret_word(name)
}

/// The credential word in a variable's or header's name, whatever it ends with
/// (`AUTH_HEADER`, `SECRET_NAME`): the value decides whether it is a setting after all.
pub fn secret_word(name: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase().replace(['-', '.'], "_");
    let parts: Vec<&str> = upper.split('_').filter(|p| !p.is_empty()).collect();
    if parts.last() == Some(&"KEY") {
        return Some("KEY");
    }
    SECRET_WORDS.iter().copied().find(|w| {
        if w.contains('_') {
            upper.contains(w)
        } else {
            parts
                .iter()
                .any(|p| p == w || (w.len() >= 5 && p.contains(w)))
        }
    })
}

/// Headers whose value is a credential by definition.
pub fn secret_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "authorization" | "proxy-authorization" | "cookie"
    ) || secret_word(name).is_some()
}

/// Shannon entropy of a text, in bits per character.
fn entropy(text: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for c in text.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    let n = text.chars().count() as f64;
    counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// A value shaped like a credential: a known token shape, or a long high-entropy string
/// with no spaces that is neither a path nor a URL. The reason, when it is.
pub fn secret_by_shape(value: &str) -> Option<String> {
    let v = value.trim();
    if let Ok(url) = url::Url::parse(v) {
        if url.password().is_some() {
            return Some("a URL with a password in it".into());
        }
        if url
            .query_pairs()
            .any(|(k, q)| secret_query(&k) && !q.is_empty())
        {
            return Some("a URL with a credential in its query".into());
        }
    }
    // Each word: `Bearer ghp_…`, `token=sk-…`.
    for word in v.split([' ', '\t', '=', ':', ',', '"', '\'']) {
        if let Some(kind) = known_kind(word) {
            return Some(format!("shaped like a {kind}"));
        }
        if looks_like_token(word) {
            return Some("shaped like a token".into());
        }
    }
    let plain = !v.contains(char::is_whitespace)
        && !v.starts_with('/')
        && !v.starts_with('~')
        && !v.starts_with('.')
        && !v.contains("://");
    if plain && v.len() >= 20 && entropy(v) >= 3.7 && v.chars().any(|c| c.is_ascii_digit()) {
        return Some("a long high-entropy string".into());
    }
    None
}

fn known_kind(v: &str) -> Option<&'static str> {
    let tail = |p: &str, min: usize| {
        v.strip_prefix(p).is_some_and(|t| {
            t.len() >= min
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        })
    };
    if tail("github_pat_", 20)
        || ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]
            .iter()
            .any(|p| tail(p, 20))
    {
        Some("GitHub token")
    } else if tail("sk-", 16) || tail("sk_live_", 16) || tail("sk_test_", 16) {
        Some("secret API key (sk-…)")
    } else if tail("xoxb-", 10) || tail("xoxp-", 10) {
        Some("Slack token")
    } else if (v.starts_with("AKIA") || v.starts_with("ASIA"))
        && v.len() == 20
        && v.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        Some("AWS access key id")
    } else if tail("glpat-", 16) {
        Some("GitLab token")
    } else if v.starts_with("eyJ") && v.split('.').count() == 3 && v.len() >= 30 {
        Some("JWT")
    } else {
        None
    }
}

/// Why a value is a plain setting, when it clearly is one.
fn setting_by_shape(value: &str) -> Option<&'static str> {
    let v = value.trim();
    if v.is_empty() {
        return Some("empty");
    }
    if matches!(
        v.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "0" | "1"
    ) {
        return Some("a switch");
    }
    if v.parse::<f64>().is_ok() {
        return Some("a number");
    }
    if v.starts_with('/') || v.starts_with("~/") || v.starts_with("./") || v.starts_with("../") {
        return Some("a path");
    }
    if let Ok(url) = url::Url::parse(v) {
        if url.username().is_empty() && url.password().is_none() && url.query().is_none() {
            return Some("a URL");
        }
    }
    if v.len() < 16 {
        return Some("a short word");
    }
    None
}

/// A variable of the server's environment (or a header, with [`secret_header`] as its name
/// test): the user's word first, then its name, then its value's shape.
pub fn classify(
    overrides: &Overrides,
    server: &str,
    name: &str,
    value: &str,
    header: bool,
) -> Class {
    if let Some(class) = overrides.decide(server, name) {
        return class;
    }
    if header && secret_header(name) {
        return Class::secret(format!("{name} header"));
    }
    if let Some(why) = secret_by_shape(value) {
        return Class::secret(why);
    }
    if let Some(word) = secret_word(name) {
        if value.trim().is_empty() {
            return Class::setting("empty");
        }
        // Named like a credential but plainly a setting: a path, a switch, a short number, a
        // URL without user info or query (`TOKEN_FILE=/run/t`, `AUTH_URL=https://…`).
        return match setting_by_shape(value) {
            Some(why @ ("a path" | "a switch" | "a URL")) => {
                Class::setting(format!("named like a credential ({word}), but {why}"))
            }
            Some("a number") if value.trim().len() <= 5 => {
                Class::setting(format!("named like a credential ({word}), but a number"))
            }
            _ => Class::secret(format!("its name says {word}")),
        };
    }
    match setting_by_shape(value) {
        Some(why) => Class::setting(why),
        None => Class::setting("neither its name nor its value looks like a credential"),
    }
}

/// Flags (without dashes, `_` as `-`) whose value is a credential: `--api-key`, `--token`…
pub fn secret_flag(word: &str) -> bool {
    if !word.starts_with('-') {
        return false;
    }
    let flag = word.trim_start_matches('-').replace('_', "-");
    let upper = flag.to_ascii_uppercase().replace('-', "_");
    secret_by_name(&upper).is_some() || flag.eq_ignore_ascii_case("key")
}

/// Query parameters whose value is a credential (`api_key`, `access_token`, `sig`).
pub fn secret_query(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    secret_by_name(name).is_some()
        || lower.split(['_', '-', '.']).any(|p| {
            matches!(
                p,
                "key"
                    | "apikey"
                    | "token"
                    | "secret"
                    | "sig"
                    | "signature"
                    | "password"
                    | "pwd"
                    | "auth"
                    | "code"
            )
        })
}

/// The masked form of a value for the plan: at most its first 4 characters (fewer for short
/// values), then `…`.
pub fn mask(value: &str) -> String {
    let n = value.chars().count();
    let shown = (n / 4).min(4);
    let head: String = value.chars().take(shown).collect();
    format!("{head}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_secret(name: &str, value: &str) -> bool {
        classify(&Overrides::default(), "s", name, value, false).secret
    }

    #[test]
    fn credentials_by_name_and_by_shape() {
        let gh = format!("ghp_{}", "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0");
        assert!(is_secret("X", &gh));
        assert!(is_secret("GITHUB_TOKEN", "short"));
        assert!(is_secret("OPENAI_API_KEY", "whatever-it-is"));
        assert!(is_secret("STRIPE_KEY", "abc"));
        assert!(is_secret("DB_PASSWORD", "hunter2"));
        assert!(is_secret("SENTRY_DSN", "https://k@o1.ingest.sentry.io/1"));
        assert!(is_secret("X", "AKIAIOSFODNN7EXAMPLE"));
        assert!(is_secret("X", &format!("xoxb-{}", "1234567890-abcdefghij")));
        assert!(is_secret(
            "X",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl"
        ));
        assert!(is_secret("X", "q8Zr2Lp0Vx7Nw4Tb9Kc1Jd6Hf3"));
        // Settings.
        assert!(!is_secret("LOG_LEVEL", "debug"));
        assert!(!is_secret("PORT", "8080"));
        assert!(!is_secret("DATA_DIR", "/srv/data"));
        assert!(!is_secret("AUTH_URL", "https://auth.example.com/"));
        assert!(!is_secret("TOKEN_FILE", "/run/token"));
        assert!(!is_secret("PWD", "/home/me/project"));
        assert!(is_secret("MYSQL_PASS", "hunter2"));
        assert!(is_secret("SMTP_PWD", "hunter2"));
        assert!(is_secret("AUTH_HEADER", "Bearer abc"));
        assert!(is_secret(
            "DATABASE_URL",
            "postgres://u:pw@db.example.com/app"
        ));
        assert!(is_secret(
            "X",
            &format!("Bearer ghp_{}", "Zq8Lr2Vp0Nx7Tw4Kb9Jc1Hd6Fs3")
        ));
        assert!(!is_secret("NODE_ENV", "production"));
        assert!(!is_secret("GITHUB_TOKEN", ""));
        assert!(!is_secret("PAGER", "less"));
        assert!(!is_secret("SPACES", "a sentence with many words in it"));
    }

    #[test]
    fn overrides_win_and_unused_ones_are_found() {
        let o = Overrides::new(
            &["srv:SESSION_ID".into()],
            &["GITHUB_TOKEN".into(), "TYPO".into()],
        );
        assert!(!classify(&o, "a", "GITHUB_TOKEN", "ghp_x", false).secret);
        assert!(classify(&o, "srv", "session_id", "12", false).secret);
        assert!(!classify(&o, "other", "SESSION_ID", "12", false).secret);
        let seen = vec![
            ("a".to_string(), "GITHUB_TOKEN".to_string()),
            ("srv".into(), "SESSION_ID".into()),
        ];
        assert_eq!(o.unused(&seen), vec!["TYPO"]);
    }

    #[test]
    fn headers_flags_and_queries() {
        assert!(
            classify(
                &Overrides::default(),
                "s",
                "Authorization",
                "Bearer x",
                true
            )
            .secret
        );
        assert!(classify(&Overrides::default(), "s", "X-Api-Key", "k", true).secret);
        assert!(!classify(&Overrides::default(), "s", "X-Region", "eu", true).secret);
        assert!(secret_flag("--api-key"));
        assert!(secret_flag("--token"));
        assert!(secret_flag("--access_token"));
        assert!(!secret_flag("--port"));
        assert!(!secret_flag("token"));
        assert!(secret_query("api_key"));
        assert!(secret_query("access_token"));
        assert!(!secret_query("region"));
    }

    #[test]
    fn masks_show_at_most_four_characters() {
        assert_eq!(mask("ghp_abcdefghijklmnopqrstuvwxyz"), "ghp_…");
        assert_eq!(mask("hunter2"), "h…");
        assert_eq!(mask("abc"), "…");
    }
}

//! Credentials typed in the wrong place: a token in a server's URL, arguments, settings, header
//! prefix or commands would be stored in `registry.json` and copied into `crux.json`, which users
//! commit. Each is refused before anything is written, naming the form that keeps it in the
//! keystore; the offending text is never repeated (it may be the credential). The same checks
//! apply to definitions read from a project's `crux.json`.

use crate::error::{sanitize, Error, Result};
use crate::names::looks_like_token;
use crate::registry::{ServerSpec, Source};
use crate::secret::Secret;
use std::collections::BTreeMap;

/// Flag names (lowercase, `_` as `-`, without dashes) whose value is a credential.
const SECRET_FLAG_ENDINGS: &[&str] = &[
    "token",
    "secret",
    "password",
    "passwd",
    "api-key",
    "apikey",
    "access-key",
    "private-key",
    "auth-key",
    "credential",
    "credentials",
];

/// Words in a setting's name that make it a credential, not a setting.
const SECRET_NAME_PARTS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "API_KEY",
    "APIKEY",
    "ACCESS_KEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
];

/// Words of query parameter names (lowercase, split at `_`, `-` and `.`) that carry a
/// credential: `api_key`, `access-token`, `X-Amz-Signature`…
const SECRET_QUERY_PARTS: &[&str] = &[
    "key",
    "apikey",
    "token",
    "secret",
    "password",
    "passwd",
    "pwd",
    "auth",
    "sig",
    "signature",
    "session",
    "credential",
];

fn refused(name: &str, what: &str, fix: String) -> Error {
    Error::failed(
        format!(
            "server '{}': {what}; crux keeps credentials in the keystore, never in registry.json or crux.json (the text is not shown)",
            sanitize(name)
        ),
        fix,
    )
}

fn secret_flag(word: &str) -> bool {
    let flag = word
        .trim_start_matches('-')
        .to_ascii_lowercase()
        .replace('_', "-");
    word.starts_with('-') && SECRET_FLAG_ENDINGS.iter().any(|e| flag.ends_with(e))
}

/// Whether a setting's name says it holds a credential.
pub fn secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_NAME_PARTS.iter().any(|p| upper.contains(p))
}

/// What a `{crux:VAR}` placeholder of a declared variable reads as while checking: a plain word
/// that is no credential.
const MARKER: &str = "cruxplaceholder";

/// `text` with every `{crux:VAR}` of a declared keychain variable replaced by `with`.
fn without_placeholders(text: &str, spec: &ServerSpec, with: &str) -> String {
    let values: BTreeMap<String, Secret> = spec
        .auth
        .keychain
        .iter()
        .map(|v| (v.clone(), Secret::new(with)))
        .collect();
    crate::template::fill(text, &values).expose().to_string()
}

/// Whether `word` is exactly `{crux:VAR}` of a declared keychain variable.
fn pure_placeholder(word: &str, spec: &ServerSpec) -> bool {
    crate::template::sole(word).is_some_and(|var| spec.auth.keychain.iter().any(|k| k == var))
}

/// A URL with user info, or a query parameter that carries a credential. User info, or a
/// query value, that is a placeholder alone is the registration's way to put it there.
fn url_problem(url: &str, spec: &ServerSpec) -> Option<&'static str> {
    let url = without_placeholders(url, spec, MARKER);
    let parsed = url::Url::parse(&url).ok()?;
    let placeholder = |s: &str| s == MARKER;
    if !(parsed.username().is_empty() || placeholder(parsed.username()))
        || !parsed.password().is_none_or(placeholder)
    {
        return Some("its URL carries a user name or password");
    }
    for (key, value) in parsed.query_pairs() {
        if placeholder(&value) {
            continue;
        }
        let key = key.to_ascii_lowercase();
        let secret_name = key
            .split(['_', '-', '.'])
            .any(|part| SECRET_QUERY_PARTS.contains(&part));
        if secret_name || looks_like_token(&value) || value.contains(MARKER) {
            return Some("its URL carries a credential in its query");
        }
    }
    None
}

/// A header whose value holds a literal credential: only placeholders may carry one.
fn header_problem(name: &str, value: &str, spec: &ServerSpec) -> bool {
    let literal = without_placeholders(value, spec, " ");
    let credential_name = secret_name(&name.replace('-', "_"))
        || ["AUTHORIZATION", "COOKIE", "KEY", "AUTH"]
            .iter()
            .any(|w| name.to_ascii_uppercase().split('-').any(|p| p == *w));
    let has_placeholder = literal != value;
    (credential_name && !has_placeholder)
        || literal
            .split(['=', ':', ',', ';', '"', '\'', ' ', '\t'])
            .any(looks_like_token)
}

/// Words of a command line, arguments or a shell command that are (or follow the flag of) a
/// credential. A flag's value that is `{crux:VAR}` of a declared variable (`placeholder`) is the
/// launcher's to fill in.
fn words_problem(words: &[String], placeholder: &dyn Fn(&str) -> bool) -> Option<&'static str> {
    for (i, word) in words.iter().enumerate() {
        if let Some((flag, value)) = word.split_once('=') {
            if secret_flag(flag) && !value.is_empty() && !placeholder(value) {
                return Some("an argument gives a credential to a --token/--api-key-style flag");
            }
        }
        if secret_flag(word) {
            if let Some(next) = words.get(i + 1).filter(|n| !n.starts_with('-')) {
                if !next.is_empty() && !placeholder(next) {
                    return Some(
                        "an argument gives a credential to a --token/--api-key-style flag",
                    );
                }
            }
        }
        if word
            .split(['=', ':', ',', '"', '\'', ' ', '\t'])
            .any(looks_like_token)
        {
            return Some("an argument looks like a token");
        }
    }
    None
}

/// Refuses a definition that holds a credential anywhere crux would write it to a file.
pub fn check(name: &str, spec: &ServerSpec) -> Result<()> {
    let n = sanitize(name);
    if let Source::Url { url } = &spec.source {
        if let Some(what) = url_problem(url, spec) {
            return Err(refused(
                name,
                what,
                format!("register the URL without it, and the credential as a header kept in the keystore: crux mcp add {n} --url <URL> --bearer <VAR> [--header-name X-Api-Key --header-prefix \"\"]"),
            ));
        }
    }
    if let Some(what) = words_problem(&spec.args, &|w| pure_placeholder(w, spec)) {
        return Err(refused(
            name,
            what,
            format!("give the credential to the server through its environment: crux mcp add {n} … --keychain <VAR> (crux never puts a credential in a server's arguments)"),
        ));
    }
    for (var, value) in &spec.env {
        if secret_name(var) {
            return Err(refused(
                name,
                &format!("the setting {} is a credential", sanitize(var)),
                format!(
                    "keep it in the keystore instead: crux mcp add {n} … --keychain {}",
                    sanitize(var)
                ),
            ));
        }
        let url_secret = url::Url::parse(value)
            .ok()
            .is_some_and(|u| u.password().is_some());
        if url_secret || words_problem(std::slice::from_ref(value), &|_| false).is_some() {
            return Err(refused(
                name,
                &format!(
                    "the value of the setting {} looks like a credential",
                    sanitize(var)
                ),
                format!(
                    "keep it in the keystore instead: crux mcp add {n} … --keychain {}",
                    sanitize(var)
                ),
            ));
        }
    }
    for (header, value) in &spec.auth.headers {
        if header_problem(header, value, spec) {
            return Err(refused(
                name,
                &format!("the header {} holds a credential", sanitize(header)),
                format!("name a keychain variable in its value instead (like \"{}: {{crux:VAR}}\"), stored with: crux mcp auth {n}", sanitize(header)),
            ));
        }
    }
    let sent: Option<String> = spec
        .auth
        .bearer
        .as_ref()
        .map(|b| b.var.clone())
        .or_else(|| (!spec.remote_vars().is_empty()).then(|| spec.remote_vars().join(", ")));
    if let (Some(var), Source::Url { url }) = (&sent, &spec.source) {
        let plain = url::Url::parse(url).is_ok_and(|u| {
            u.scheme() == "http"
                && !matches!(u.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
                && !matches!(u.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
                && u.host_str() != Some("localhost")
        });
        if plain {
            return Err(Error::failed(
                format!(
                    "server '{}': its URL is plain http to another machine, which would send {} in clear text",
                    sanitize(name),
                    sanitize(var)
                ),
                match &spec.auth.bearer {
                    Some(b) => format!("register its https URL: crux mcp add {n} --url https://… --bearer {} --force", sanitize(&b.var)),
                    None => format!("register its https URL (see the definition: crux mcp show {n})"),
                },
            ));
        }
    }
    if let Some(bearer) = &spec.auth.bearer {
        let prefix = &bearer.header_prefix;
        let scheme_word = prefix.len() <= 32
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !looks_like_token(prefix);
        if !scheme_word {
            return Err(refused(
                name,
                "its header prefix is more than a scheme word (like Bearer or Token)",
                format!("give the prefix alone and the token at the prompt: crux mcp add {n} --url <URL> --bearer {} --header-prefix Bearer", sanitize(&bearer.var)),
            ));
        }
    }
    let commands = spec
        .auth
        .external_cli
        .values()
        .chain(spec.auth.setup_cmd.iter());
    for command in commands {
        let words = shlex::split(command)
            .unwrap_or_else(|| command.split_whitespace().map(str::to_string).collect());
        if words_problem(&words, &|_| false).is_some() {
            return Err(refused(
                name,
                "an external-cli or setup command holds a credential",
                format!("let the command fetch it (like `gh auth token`), or store it: crux mcp add {n} … --keychain <VAR>"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{BearerSpec, Package};

    pub(super) fn spec(source: Source, args: &[&str]) -> ServerSpec {
        ServerSpec {
            source,
            args: args.iter().map(|a| a.to_string()).collect(),
            tags: vec![],
            env: Default::default(),
            allow_env: vec![],
            auth: Default::default(),
        }
    }

    fn token() -> String {
        format!("ghp_{}", "aB3".repeat(12))
    }

    #[test]
    fn credentials_in_urls_args_settings_and_prefixes_are_refused_unseen() {
        let t = token();
        let npx = || Source::Npx(Package::new("@scope/server"));
        let bad = [
            spec(
                Source::Url {
                    url: format!("https://user:{t}@h.example/mcp"),
                },
                &[],
            ),
            spec(
                Source::Url {
                    url: "https://h.example/mcp?api_key=abc".into(),
                },
                &[],
            ),
            spec(
                Source::Url {
                    url: format!("https://h.example/mcp?x={t}"),
                },
                &[],
            ),
            spec(npx(), &["--api-key", "plain-secret"]),
            spec(npx(), &["--token=abc"]),
            spec(npx(), &["--auth-token", "x"]),
            spec(npx(), &[&t]),
            spec(npx(), &[&format!("Authorization: Bearer {t}")]),
        ];
        for s in bad {
            let e = check("x", &s).unwrap_err().render();
            assert!(!e.contains(&t) && !e.contains("plain-secret"), "{e}");
            assert!(e.contains("fix: "), "{e}");
        }
        let mut s = spec(npx(), &[]);
        s.env.insert("GITHUB_TOKEN".into(), "anything".into());
        assert!(check("x", &s).is_err());
        let mut s = spec(npx(), &[]);
        s.env
            .insert("DATABASE_URL".into(), "postgres://u:pw@db/x".into());
        assert!(check("x", &s).is_err());
        let mut s = spec(
            Source::Url {
                url: "https://h.example/mcp".into(),
            },
            &[],
        );
        s.auth.bearer = Some(BearerSpec {
            var: "K".into(),
            header_name: "Authorization".into(),
            header_prefix: format!("Bearer {t}"),
        });
        assert!(check("x", &s).is_err());
        let mut s = spec(npx(), &[]);
        s.auth.external_cli.insert("T".into(), format!("echo {t}"));
        assert!(check("x", &s).is_err());
        let bearer = |url: &str| {
            let mut s = spec(Source::Url { url: url.into() }, &[]);
            s.auth.bearer = Some(BearerSpec {
                var: "K".into(),
                header_name: "Authorization".into(),
                header_prefix: "Bearer".into(),
            });
            check("x", &s)
        };
        assert!(bearer("http://api.example.com/mcp").is_err(), "clear text");
        assert!(bearer("http://127.0.0.1:8080/mcp").is_ok());
        assert!(bearer("http://localhost/mcp").is_ok());
        assert!(bearer("https://api.example.com/mcp").is_ok());
    }

    #[test]
    fn ordinary_definitions_pass() {
        let ok = [
            spec(
                Source::Url {
                    url: "https://h.example/mcp?region=eu&keyword=x&monkey=1".into(),
                },
                &[],
            ),
            spec(
                Source::Npx(Package::new("@modelcontextprotocol/server-filesystem")),
                &[
                    "/srv/data",
                    "--port",
                    "8080",
                    "--token-file",
                    "/run/t",
                    "--read-only",
                ],
            ),
            spec(
                Source::Command {
                    command: "node".into(),
                },
                &["/home/u/node_modules/@scope/pkg/dist/index.js", "--verbose"],
            ),
            spec(
                Source::Command {
                    command: "x".into(),
                },
                &["--project-id", "123e4567-e89b-12d3-a456-426614174000"],
            ),
        ];
        for s in ok {
            check("x", &s).unwrap();
        }
        let mut s = spec(Source::Npx(Package::new("p")), &[]);
        s.env.insert("LOG_LEVEL".into(), "debug".into());
        s.env
            .insert("NODE_OPTIONS".into(), "--max-old-space-size=4096".into());
        s.auth
            .external_cli
            .insert("GITHUB_TOKEN".into(), "gh auth token".into());
        check("x", &s).unwrap();
    }
}

#[cfg(test)]
mod placeholder_tests {
    use super::*;

    fn with(source: Source, args: &[&str], keychain: &[&str]) -> ServerSpec {
        let mut s = super::tests::spec(source, args);
        s.auth.keychain = keychain.iter().map(|k| k.to_string()).collect();
        s
    }

    fn url(u: &str, keychain: &[&str]) -> ServerSpec {
        with(Source::Url { url: u.into() }, &[], keychain)
    }

    #[test]
    fn placeholders_of_declared_variables_are_where_credentials_may_be_named() {
        let cmd = || Source::Command {
            command: "/usr/bin/srv".into(),
        };
        check(
            "x",
            &with(cmd(), &["--api-key", "{crux:API_KEY}"], &["API_KEY"]),
        )
        .unwrap();
        check("x", &with(cmd(), &["--token={crux:API_KEY}"], &["API_KEY"])).unwrap();
        check(
            "x",
            &url("https://h.example/mcp?api_key={crux:API_KEY}", &["API_KEY"]),
        )
        .unwrap();
        check(
            "x",
            &url(
                "https://{crux:URL_USERINFO}@h.example/mcp",
                &["URL_USERINFO"],
            ),
        )
        .unwrap();
        // Not declared, or not the placeholder alone: refused as before.
        assert!(check("x", &with(cmd(), &["--api-key", "{crux:API_KEY}"], &[])).is_err());
        assert!(check(
            "x",
            &with(cmd(), &["--token=x{crux:API_KEY}"], &["API_KEY"])
        )
        .is_err());
        assert!(check(
            "x",
            &url("https://h.example/mcp?api_key={crux:API_KEY}", &[])
        )
        .is_err());
        assert!(check("x", &url("https://h.example/mcp?api_key=a{crux:K}", &["K"])).is_err());
        assert!(check("x", &url("https://u:{crux:K}x@h.example/mcp", &["K"])).is_err());
    }

    #[test]
    fn header_values_carry_credentials_only_in_placeholders() {
        let token = format!("ghp_{}", "aB3".repeat(12));
        let header = |name: &str, value: &str| {
            let mut s = url("https://h.example/mcp", &["K"]);
            s.auth.headers.insert(name.into(), value.into());
            check("x", &s)
        };
        header("X-Api-Key", "{crux:K}").unwrap();
        header("X-Team", "t-{crux:K}").unwrap();
        header("X-Client", "crux").unwrap();
        for (name, value) in [
            ("X-Api-Key", "k1"),
            ("Authorization", "Basic dXNlcjpwdw=="),
            ("X-Team", token.as_str()),
            ("X-Team", &format!("{{crux:K}} {token}")),
        ] {
            let e = header(name, value).unwrap_err().render();
            assert!(!e.contains(&token) && !e.contains("dXNlcjpwdw"), "{e}");
            assert!(e.contains("fix: "), "{e}");
        }
        // Credentials in the URL or headers go over plain http to another machine: refused.
        let mut s = url("http://h.example/mcp", &["K"]);
        s.auth.headers.insert("X-K".into(), "{crux:K}".into());
        assert!(check("x", &s).is_err());
    }
}

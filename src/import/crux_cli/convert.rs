//! crux-cli's definitions as crux's: a registry entry as a [`ServerSpec`], its `auth` as an
//! [`AuthSpec`], OAuth token metadata as an [`OAuthState`]. Pure: reads and writes nothing.

use super::files::{CliMcp, CliToken, COMMAND};
use crate::error::{sanitize, show_command, Error, Result};
use crate::names::ServerName;
use crate::oauth::spec::{ClientSource, Grant, OAuthSpec, OAuthState};
use crate::registry::{
    split_npm_spec, split_pypi_spec, AuthSpec, BearerSpec, Package, ServerSpec, Source,
};
use std::path::Path;

/// One crux-cli server as crux will register it.
#[derive(Debug, Clone)]
pub struct Converted {
    pub name: ServerName,
    pub spec: ServerSpec,
    /// What the user should know about the conversion (one line each).
    pub notes: Vec<String>,
}

/// The keystore accounts of a server's OAuth session (crux's names are crux-cli's).
pub const OAUTH_ACCOUNTS: [&str; 3] = ["access_token", "refresh_token", "client_secret"];

fn bad(registry: &Path, name: &str, what: String) -> Error {
    Error::failed(
        format!(
            "{}: server '{}' {what}; nothing was changed",
            registry.display(),
            sanitize(name)
        ),
        format!(
            "fix or remove the entry '{}' in {} (crux-cli: crux mcp remove {0}), then run: {COMMAND}",
            sanitize(name),
            registry.display()
        ),
    )
}

/// The first argument that is not an option, and the ones after it: `npx -y pkg@1 --flag`.
fn package_and_rest(args: &[String]) -> Option<(String, Vec<String>)> {
    let at = args.iter().position(|a| !a.starts_with('-'))?;
    Some((args[at].clone(), args[at + 1..].to_vec()))
}

/// A crux-cli `type` as crux's source (and the server's own arguments).
fn source(
    name: &str,
    mcp: &CliMcp,
    source_root: &Path,
    registry: &Path,
    notes: &mut Vec<String>,
) -> Result<(Source, Vec<String>)> {
    let kind = match mcp.kind.as_deref() {
        Some(k) => k,
        None if mcp.url.is_some() => "streamable-http",
        None => match mcp.command.as_deref() {
            Some("npx") => "npm-package",
            Some("uvx") => "uvx-package",
            Some(_) => "local",
            None => return Err(bad(registry, name, "has no type, command or url".into())),
        },
    };
    let source_dir = mcp.source_dir.as_deref().map(|d| {
        let p = Path::new(d);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            // crux-cli resolves a relative source_dir against CRUX_HOME's parent.
            source_root.join(p)
        }
    });
    let with_dir = |a: &String| match &source_dir {
        Some(dir) => a.replace("{source_dir}", &dir.to_string_lossy()),
        None => a.clone(),
    };
    match kind {
        "npm-package" | "uvx-package" => {
            let npm = kind == "npm-package";
            let (spec, rest) = package_and_rest(&mcp.args)
                .ok_or_else(|| bad(registry, name, format!("({kind}) names no package in its args")))?;
            let (base, version) = if npm {
                split_npm_spec(&spec)
            } else {
                split_pypi_spec(&spec)
            };
            let mut package = Package::new(base);
            package.version = version.filter(|v| !v.is_empty()).map(str::to_string);
            let tool = if npm { "npx" } else { "uvx" };
            notes.push(format!(
                "{tool} {} ran at every start under crux-cli; crux installs it pinned into CRUX_HOME/mcps/{name}/",
                sanitize(&spec)
            ));
            let source = if npm {
                Source::Npx(package)
            } else {
                Source::Uvx(package)
            };
            Ok((source, rest))
        }
        "github" | "local" => {
            let Some(command) = mcp.command.as_deref().filter(|c| !c.trim().is_empty()) else {
                return Err(bad(
                    registry,
                    name,
                    format!("({kind}) has no command, so crux-cli could not start it either"),
                ));
            };
            if let Some(build) = &mcp.build_cmd {
                notes.push(format!(
                    "its build command is not crux's to run; after an update rebuild it yourself: {}",
                    sanitize(build)
                ));
            }
            let args: Vec<String> = mcp.args.iter().map(with_dir).collect();
            let command = with_dir(&command.to_string());
            if command.contains('/') {
                let path = Path::new(&command);
                let path = match (&source_dir, path.is_absolute()) {
                    (Some(dir), false) => dir.join(path),
                    _ => path.to_path_buf(),
                };
                Ok((
                    Source::Local {
                        path: path.to_string_lossy().into_owned(),
                    },
                    args,
                ))
            } else {
                Ok((Source::Command { command }, args))
            }
        }
        "streamable-http" => {
            let url = mcp
                .url
                .clone()
                .ok_or_else(|| bad(registry, name, "(streamable-http) has no url".into()))?;
            Ok((Source::Url { url }, Vec::new()))
        }
        other => Err(bad(
            registry,
            name,
            format!(
                "has type '{}', which crux-cli 1.0 does not write (npm-package, uvx-package, github, local, streamable-http)",
                sanitize(other)
            ),
        )),
    }
}

/// A crux-cli `auth` block as crux's.
fn auth(name: &str, mcp: &CliMcp, registry: &Path, notes: &mut Vec<String>) -> Result<AuthSpec> {
    let mut spec = AuthSpec::default();
    let Some(auth) = &mcp.auth else {
        return Ok(spec);
    };
    match auth.kind() {
        None => {}
        Some("keychain") => spec.keychain = auth.env_vars.clone(),
        Some("bearer") => {
            spec.bearer = Some(BearerSpec {
                var: auth
                    .keychain_key
                    .clone()
                    .unwrap_or_else(|| "API_TOKEN".into()),
                header_name: auth
                    .header_name
                    .clone()
                    .unwrap_or_else(|| "Authorization".into()),
                header_prefix: auth
                    .header_prefix
                    .clone()
                    .unwrap_or_else(|| "Bearer".into()),
            })
        }
        Some(kind @ ("oauth" | "oauth-client-credentials")) => {
            spec.oauth = Some(OAuthSpec {
                grant: if kind == "oauth" {
                    Grant::AuthorizationCode
                } else {
                    Grant::ClientCredentials
                },
                // crux-cli's own default client id, which its tokens were issued to.
                client_id: Some(auth.client_id.clone().unwrap_or_else(|| "crux-cli".into())),
                scopes: auth.scopes.joined(),
                resource: true,
                ..OAuthSpec::default()
            });
            if auth.discovery_url.is_some() || auth.authorization_url.is_some() {
                notes.push("crux finds the OAuth endpoints in the server's metadata (crux-cli's discovery_url/authorization_url are not needed)".into());
            }
        }
        Some("external-cli") => {
            // crux-cli's external-cli is a login check (`check_cmd` must exit 0) with a fix,
            // not a command whose output is a credential: the fix is what `crux mcp auth` runs.
            let fix = auth.fix_cmd.words();
            if !fix.is_empty() {
                spec.setup_cmd = Some(show_command(&fix));
            }
            let check = auth.check_cmd.words();
            if !check.is_empty() {
                notes.push(format!(
                    "crux-cli checked the login with `{}` before each start; crux does not (its external-cli makes a variable from a command's output); log in again with: crux mcp auth {name}",
                    show_command(&check)
                ));
            }
        }
        Some("setup-cmd") => {
            let words = auth.setup_cmd.words();
            if !words.is_empty() {
                spec.setup_cmd = Some(show_command(&words));
            }
        }
        Some(other) => {
            return Err(bad(
                registry,
                name,
                format!(
                    "has auth type '{}', which crux-cli 1.0 does not write",
                    sanitize(other)
                ),
            ))
        }
    }
    Ok(spec)
}

/// A registry entry as crux's definition, checked as `crux mcp add` checks one.
/// `source_root` is where crux-cli resolves a relative `source_dir` (CRUX_HOME's parent).
pub fn server(name: &str, mcp: &CliMcp, source_root: &Path, registry: &Path) -> Result<Converted> {
    let server_name = ServerName::parse(name).map_err(|e| bad(registry, name, e.to_string()))?;
    let mut notes = Vec::new();
    let (source, args) = source(name, mcp, source_root, registry, &mut notes)?;
    let spec = ServerSpec {
        source,
        args,
        tags: mcp.tags.clone(),
        env: mcp.env.clone(),
        allow_env: Vec::new(),
        auth: auth(name, mcp, registry, &mut notes)?,
    };
    spec.validate(name)
        .map_err(|e| bad(registry, name, e.to_string()))?;
    Ok(Converted {
        name: server_name,
        spec,
        notes,
    })
}

/// Unix seconds of crux-cli's ISO 8601 expiry (`datetime.isoformat()`, with an offset).
pub fn unix_time(iso: &str) -> Option<i64> {
    use time::format_description::well_known::Iso8601;
    time::OffsetDateTime::parse(iso, &Iso8601::DEFAULT)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// The index's OAuth metadata for tokens crux-cli obtained.
pub fn oauth_state(
    spec: &ServerSpec,
    token: &CliToken,
    has_refresh: bool,
    mcp: &CliMcp,
) -> OAuthState {
    let auth = mcp.auth.clone().unwrap_or_default();
    OAuthState {
        token_endpoint: token.token_url.clone().or(auth.token_url.clone()),
        authorization_endpoint: auth.authorization_url.clone(),
        resource: auth.resource_url.clone().or_else(|| {
            spec.url()
                .and_then(|u| crate::oauth::discovery::canonical_resource(u).ok())
        }),
        client_id: token
            .client_id
            .clone()
            .or_else(|| spec.auth.oauth.as_ref().and_then(|o| o.client_id.clone())),
        client_source: Some(ClientSource::PreRegistered),
        scope: token.scopes.joined(),
        expires_at: token.expires_at.as_deref().and_then(unix_time),
        obtained_at: Some(crate::index::now_rfc3339()),
        has_refresh_token: has_refresh,
        ..OAuthState::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mcp(json: &str) -> CliMcp {
        serde_json::from_str(json).unwrap()
    }
    const REG: &str = "/h/.crux/registry.json";

    #[test]
    fn npm_package_keeps_its_version_and_arguments() {
        let c = server(
            "ev",
            &mcp(r#"{"type":"npm-package","command":"npx","args":["-y","@scope/pkg@1.2.3","--flag"],
                 "auth":{"type":"keychain","env_vars":["A","B"],"fix_description":"x"},"tags":["t"]}"#),
            Path::new("/h"),
            Path::new(REG),
        )
        .unwrap();
        let Source::Npx(p) = &c.spec.source else {
            panic!("{:?}", c.spec.source)
        };
        assert_eq!(
            (p.package.as_str(), p.version.as_deref()),
            ("@scope/pkg", Some("1.2.3"))
        );
        assert_eq!(c.spec.args, ["--flag"]);
        assert_eq!(c.spec.auth.keychain, ["A", "B"]);
        assert_eq!(c.spec.tags, ["t"]);
    }

    #[test]
    fn local_sources_get_their_folder() {
        let c = server(
            "loc",
            &mcp(r#"{"type":"local","source_dir":"/h/.crux/mcps/loc","command":"node","args":["{source_dir}/index.js"]}"#),
            Path::new("/h"),
            Path::new(REG),
        )
        .unwrap();
        assert_eq!(
            c.spec.source,
            Source::Command {
                command: "node".into()
            }
        );
        assert_eq!(c.spec.args, ["/h/.crux/mcps/loc/index.js"]);
        let c = server(
            "gh",
            &mcp(
                r#"{"type":"github","source_dir":".crux/mcps/gh","command":"./run.sh","args":[]}"#,
            ),
            Path::new("/h"),
            Path::new(REG),
        )
        .unwrap();
        assert_eq!(
            c.spec.source,
            Source::Local {
                path: "/h/.crux/mcps/gh/./run.sh".into()
            }
        );
    }

    #[test]
    fn remote_auth_types() {
        let c = server(
            "r",
            &mcp(r#"{"type":"streamable-http","url":"https://x.example/mcp","auth":{"type":"bearer","keychain_key":"TOK","header_name":"X-Key","header_prefix":""}}"#),
            Path::new("/h"),
            Path::new(REG),
        )
        .unwrap();
        let b = c.spec.auth.bearer.unwrap();
        assert_eq!(
            (
                b.var.as_str(),
                b.header_name.as_str(),
                b.header_prefix.as_str()
            ),
            ("TOK", "X-Key", "")
        );
        let c = server(
            "o",
            &mcp(r#"{"type":"streamable-http","url":"https://x.example/mcp","auth":{"type":"oauth-client-credentials","token_url":"https://a/t","client_id":"cid","scopes":["a","b"]}}"#),
            Path::new("/h"),
            Path::new(REG),
        )
        .unwrap();
        let o = c.spec.auth.oauth.clone().unwrap();
        assert_eq!(o.grant, Grant::ClientCredentials);
        assert_eq!(o.scopes.as_deref(), Some("a b"));
        let token: CliToken = serde_json::from_str(
            r#"{"auth_type":"oauth","keychain_account_access":"access_token","keychain_account_refresh":null,"expires_at":"2030-01-01T00:00:00+00:00","scopes":["a"],"token_url":"https://a/t","client_id":"cid"}"#,
        )
        .unwrap();
        let state = oauth_state(
            &c.spec,
            &token,
            false,
            &mcp(r#"{"type":"streamable-http","url":"https://x.example/mcp"}"#),
        );
        assert_eq!(state.expires_at, Some(1_893_456_000));
        assert_eq!(state.token_endpoint.as_deref(), Some("https://a/t"));
        assert_eq!(state.resource.as_deref(), Some("https://x.example/mcp"));
    }

    #[test]
    fn external_cli_and_setup() {
        let c = server(
            "e",
            &mcp(r#"{"type":"local","command":"srv","auth":{"type":"external-cli","check_cmd":["gh","auth","status"],"fix_cmd":["gh","auth","login"]}}"#),
            Path::new("/h"),
            Path::new(REG),
        )
        .unwrap();
        assert_eq!(c.spec.auth.setup_cmd.as_deref(), Some("gh auth login"));
        assert!(c.notes.iter().any(|n| n.contains("gh auth status")));
    }

    #[test]
    fn unknown_shapes_name_the_file_and_server() {
        for bad_entry in [
            r#"{"type":"docker","command":"x"}"#,
            r#"{"type":"local","command":"x","auth":{"type":"magic"}}"#,
            r#"{"type":"local"}"#,
            r#"{"type":"local","command":"x","auth":{"type":"bearer"}}"#,
        ] {
            let e = server("s", &mcp(bad_entry), Path::new("/h"), Path::new(REG)).unwrap_err();
            assert!(
                e.to_string().contains(REG) && e.to_string().contains("'s'"),
                "{e}"
            );
            assert!(e.fix().unwrap().contains(COMMAND));
        }
    }
}

//! What stands between a registered server and a successful start, read from the registry,
//! the index and the file system only: `crux project status`, `crux project install` and
//! `crux doctor` report the same gaps. Never unlocks a keystore.

use crate::error::sanitize;
use crate::index::Index;
use crate::registry::{Registry, ServerSpec, Source};
use std::path::Path;

pub struct Gap {
    pub problem: String,
    pub fix: String,
}

/// What stands between a server and a successful start, read from the registry, the index and
/// the file system only (no keystore is unlocked).
pub fn server_gaps(name: &str, spec: &ServerSpec, index: &Index, registry: &Registry) -> Vec<Gap> {
    let mut gaps = Vec::new();
    let registered = registry.servers.get(name);
    if registered.is_none() {
        gaps.push(Gap {
            problem: "it is not registered on this machine, so it gets no entry and the launcher hands it nothing"
                .into(),
            fix: "crux project install (registers what crux.json defines, after you confirm)".into(),
        });
    }
    let on_path = |program: &str| {
        program.contains('/') && Path::new(program).is_file() || which::which(program).is_ok()
    };
    if let Some(r) = registered {
        if let Some(mut program) = r.command_line().and_then(|c| c.into_iter().next()) {
            let mut present = if r.resolved() {
                Path::new(&program).is_file()
            } else {
                on_path(&program)
            };
            // A script run by its interpreter (`/bin/sh server.sh`): the script is what goes
            // missing.
            let own = match &spec.source {
                Source::Local { path } => Some(path),
                Source::Command { command } => Some(command),
                _ => None,
            }
            .filter(|p| Path::new(p).is_absolute() && !Path::new(p).is_file());
            if let (true, Some(own)) = (present, own) {
                program = own.clone();
                present = false;
            }
            if !present {
                let fix = match &spec.source {
                    Source::Npx(p) | Source::Uvx(p) if p.pinned() => {
                        format!(
                            "install it again: crux mcp upgrade {name} --to {}",
                            sanitize(p.version.as_deref().unwrap_or(""))
                        )
                    }
                    Source::Local { .. } => format!(
                        "restore it, or re-register: crux mcp add {name} --force --local <path>"
                    ),
                    _ => format!(
                        "install `{}`, or re-register: crux mcp add {name} --force …",
                        sanitize(&program)
                    ),
                };
                gaps.push(Gap {
                    problem: format!("`{}` is missing", sanitize(&program)),
                    fix,
                });
            }
        }
    }
    let fingerprint = registered.map(|r| r.fingerprint());
    for var in spec
        .auth
        .keychain
        .iter()
        .chain(spec.auth.bearer.iter().map(|b| &b.var))
    {
        match index.servers.get(name).and_then(|s| s.credentials.get(var)) {
            None => gaps.push(Gap {
                problem: format!("{var} is not stored"),
                fix: format!("crux mcp auth {name}"),
            }),
            Some(cred) if fingerprint.is_some() && cred.bound_to != fingerprint => gaps.push(Gap {
                problem: format!("{var} was stored before this registration, so the launcher does not hand it over"),
                fix: format!("crux mcp bind {name}"),
            }),
            Some(_) => {}
        }
    }
    if spec
        .auth
        .oauth
        .as_ref()
        .is_some_and(|o| o.grant == crate::oauth::spec::Grant::AuthorizationCode)
    {
        let entry = index.servers.get(name);
        let signed_in =
            entry.is_some_and(|s| s.credentials.contains_key(crate::oauth::spec::ACCESS_TOKEN));
        let state = entry.and_then(|s| s.oauth.as_ref());
        if !signed_in {
            gaps.push(Gap {
                problem: "it is not signed in (OAuth)".into(),
                fix: format!("crux mcp auth {name}"),
            });
        } else if state.is_some_and(|s| s.expires_within(0) && !s.has_refresh_token) {
            gaps.push(Gap {
                problem: "its OAuth token has expired and there is no refresh token".into(),
                fix: format!("crux mcp auth {name}"),
            });
        }
    }
    for (var, command) in &spec.auth.external_cli {
        let program = registered
            .and_then(|r| r.external_programs.get(var).cloned())
            .unwrap_or_else(|| {
                shlex::split(command)
                    .and_then(|w| w.into_iter().next())
                    .unwrap_or_default()
            });
        if !on_path(&program) {
            gaps.push(Gap {
                problem: format!("`{}` (for {var}) is not on PATH", sanitize(&program)),
                fix: format!("install {}", sanitize(&program)),
            });
        }
    }
    if spec.auth.setup_cmd.is_some() && registered.and_then(|r| r.setup_ran_at.as_ref()).is_none() {
        gaps.push(Gap {
            problem: "its setup command has not run".into(),
            fix: format!("crux mcp auth {name}"),
        });
    }
    gaps
}

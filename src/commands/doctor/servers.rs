//! Every registered server: what its start needs (the gaps `crux project status` reports),
//! its OAuth state, and with `--live` its credentials read from the keystore and a refresh.

use super::setup::Context;
use super::Check;
use crate::home::CruxHome;
use crate::names::{ServerName, VarName};
use crate::oauth::spec::{in_words, Grant};
use crate::oauth::{Interaction, Session};
use crate::registry::Registered;
use crate::store::{select, Backend, SecretStore};
use std::collections::BTreeMap;

pub fn check(home: &CruxHome, cx: &Context, live: bool, checks: &mut Vec<Check>) {
    if cx.registry.servers.is_empty() {
        checks.push(Check::warn(
            "servers",
            "registered",
            "servers",
            "none registered",
            Some("register one: crux mcp add <name> …".into()),
        ));
    }
    let mut stores: BTreeMap<Backend, crate::error::Result<Box<dyn SecretStore>>> = BTreeMap::new();
    for (name, r) in &cx.registry.servers {
        let gaps = crate::gaps::server_gaps(name, &r.spec, &cx.index, &cx.registry);
        if gaps.is_empty() {
            checks.push(Check::ok("servers", "ready", name, ready_text(name, r, cx)));
        }
        for gap in gaps {
            checks.push(Check::failed(
                "servers",
                "ready",
                name,
                gap.problem,
                gap.fix,
            ));
        }
        oauth_state(name, r, cx, checks);
        if live {
            read_credentials(home, name, cx, &mut stores, checks);
            refresh(home, name, r, cx, checks);
        }
    }
}

/// What a ready server has, in words.
fn ready_text(name: &str, r: &Registered, cx: &Context) -> String {
    let stored = cx
        .index
        .servers
        .get(name)
        .map_or(0, |e| e.credentials.len());
    let mut parts = vec![format!("registered ({})", r.spec.source_summary())];
    if stored > 0 {
        parts.push(format!(
            "{stored} credential(s) in the index, bound to this registration"
        ));
    }
    if !r.spec.auth.external_cli.is_empty() {
        parts.push("external commands on PATH".into());
    }
    if r.spec.auth.setup_cmd.is_some() {
        parts.push("setup ran".into());
    }
    parts.join("; ")
}

/// An OAuth server's token: when it expires, and whether it can be renewed silently.
fn oauth_state(name: &str, r: &Registered, cx: &Context, checks: &mut Vec<Check>) {
    let Some(spec) = &r.spec.auth.oauth else {
        return;
    };
    let Some(state) = cx.index.servers.get(name).and_then(|e| e.oauth.as_ref()) else {
        return;
    };
    let signed_in = cx
        .index
        .servers
        .get(name)
        .is_some_and(|e| e.credentials.contains_key(crate::oauth::spec::ACCESS_TOKEN));
    if !signed_in {
        return;
    }
    let renewable = state.has_refresh_token || spec.grant == Grant::ClientCredentials;
    let expiry = match state.expires_at {
        Some(at) if state.expires_within(0) => format!("expired {}", in_words(at)),
        Some(at) => format!("expires {}", in_words(at)),
        None => "no expiry given".into(),
    };
    let renewal = if state.has_refresh_token {
        "a refresh token is stored"
    } else if spec.grant == Grant::ClientCredentials {
        "client credentials get a new one"
    } else {
        "no refresh token"
    };
    if state.expires_within(0) && renewable {
        checks.push(Check::warn(
            "servers",
            "oauth",
            name,
            format!("OAuth token {expiry}; {renewal}, so the launcher renews it at the next start"),
            Some("renew it now: crux mcp auth --refresh-all".into()),
        ));
    } else if !state.expires_within(0) {
        checks.push(Check::ok(
            "servers",
            "oauth",
            name,
            format!("OAuth token {expiry}; {renewal}"),
        ));
    }
    // Expired without anything to renew it: a gap, reported above.
}

/// `--live`: every credential the index lists for the server, read from its backend (the
/// values are dropped at once; only their presence is reported).
fn read_credentials(
    home: &CruxHome,
    name: &str,
    cx: &Context,
    stores: &mut BTreeMap<Backend, crate::error::Result<Box<dyn SecretStore>>>,
    checks: &mut Vec<Check>,
) {
    let Some(entry) = cx.index.servers.get(name) else {
        return;
    };
    let Ok(mcp) = ServerName::parse(name) else {
        return;
    };
    let mut by_backend: BTreeMap<Backend, Vec<VarName>> = BTreeMap::new();
    for (var, cred) in &entry.credentials {
        if let Ok(v) = VarName::parse(var) {
            by_backend.entry(cred.backend).or_default().push(v);
        }
    }
    for (backend, vars) in by_backend {
        let store = stores
            .entry(backend)
            .or_insert_with(|| select::open(backend, home));
        let got = match store {
            Ok(store) => store.get_many(&mcp, &vars),
            Err(e) => Err(clone_error(e)),
        };
        match got {
            Ok(values) => {
                for secret in values.values() {
                    crate::redact::remember(secret);
                }
                let missing: Vec<&str> = vars
                    .iter()
                    .filter(|v| !values.contains_key(*v))
                    .map(VarName::as_str)
                    .collect();
                if missing.is_empty() {
                    checks.push(Check::ok(
                        "servers",
                        "keystore",
                        name,
                        format!("{} credential(s) readable from {backend}", vars.len()),
                    ));
                } else {
                    checks.push(Check::failed(
                        "servers",
                        "keystore",
                        name,
                        format!(
                            "{} in the index but not in {backend}",
                            if missing.len() == 1 {
                                format!("{} is", missing[0])
                            } else {
                                format!("{} are", missing.join(", "))
                            }
                        ),
                        format!("crux mcp auth {name}"),
                    ));
                }
            }
            Err(e) => checks.push(Check::from_error(
                "servers",
                "keystore",
                name,
                &e,
                &format!("crux mcp auth {name}"),
            )),
        }
    }
}

/// A backend that failed to open fails every read the same way.
fn clone_error(e: &crate::error::Error) -> crate::error::Error {
    crate::error::Error::failed(
        e.to_string(),
        e.fix().unwrap_or_else(|| "see crux backend".into()),
    )
}

/// `--live`: an OAuth server with a refresh token refreshes now, as the launcher would.
fn refresh(home: &CruxHome, name: &str, r: &Registered, cx: &Context, checks: &mut Vec<Check>) {
    let (Some(spec), Some(url)) = (&r.spec.auth.oauth, r.spec.url()) else {
        return;
    };
    let has_refresh = cx
        .index
        .servers
        .get(name)
        .and_then(|e| e.oauth.as_ref())
        .is_some_and(|s| s.has_refresh_token);
    if !has_refresh {
        return;
    }
    let Ok(mcp) = ServerName::parse(name) else {
        return;
    };
    let result =
        Session::load(home, &mcp, url, spec.clone(), Interaction::Silent).and_then(|mut s| {
            let token = s.force_refresh()?;
            crate::redact::remember(&token);
            Ok(s.state.expires_at)
        });
    match result {
        Ok(expires) => checks.push(Check::ok(
            "servers",
            "oauth-refresh",
            name,
            format!(
                "the refresh token works (new token {})",
                expires.map_or("without an expiry".into(), |at| format!(
                    "expires {}",
                    in_words(at)
                ))
            ),
        )),
        Err(e) => checks.push(Check::from_error(
            "servers",
            "oauth-refresh",
            name,
            &e,
            &format!("sign in again: crux mcp auth {name}"),
        )),
    }
}

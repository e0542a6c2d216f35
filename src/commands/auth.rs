//! `crux mcp auth`: store, list and delete credentials.

use super::input::{parse_value_pair, prompt, read_stdin, warn_visible};
use crate::cli::AuthArgs;
use crate::error::{sanitize, Error, Result};
use crate::home::CruxHome;
use crate::index::{AuthType, Index};
use crate::names::{ServerName, VarName};
use crate::registry::{Registered, Registry};
use crate::secret::Secret;
use crate::store::{select, Backend};
use std::io::IsTerminal;

pub fn run(args: AuthArgs, home: &CruxHome) -> Result<()> {
    if args.json && !(args.list || args.status) {
        return Err(Error::usage(
            "--json goes with --list or --status",
            "crux mcp auth --status [<MCP>] --json",
        ));
    }
    if let Some(done) = super::oauth::run(&args, home)? {
        return Ok(done);
    }
    if args.all {
        return auth_all(home);
    }
    if args.list {
        if args.var.is_some() {
            return Err(Error::usage(
                "--list takes at most a server name",
                "crux mcp auth --list [<MCP>] [--json]",
            ));
        }
        return list(home, args.mcp.as_deref(), args.json);
    }
    let mcp = ServerName::parse(
        args.mcp
            .as_deref()
            .ok_or_else(|| Error::usage("no server named", "crux mcp auth <MCP> <VAR>"))?,
    )?;
    if args.delete {
        let var = args.var.as_deref().ok_or_else(|| {
            Error::usage(
                "no variable named",
                format!("crux mcp auth --delete {mcp} <VAR>"),
            )
        })?;
        if args.value.is_some() {
            return Err(Error::usage(
                "--delete takes a server and a variable, not a value",
                format!("crux mcp auth --delete {mcp} {}", sanitize(var)),
            ));
        }
        return delete(home, &mcp, &VarName::parse(var)?);
    }
    if args.var.is_none() && args.values.is_empty() && args.value.is_none() && !args.stdin {
        return auth_server(home, &mcp, args.refresh);
    }
    let values = collect_values(&mcp, &args)?;
    // The bearer token of a remote server is recorded as such.
    let bearer = Registry::load_unchecked(home)?
        .get(&mcp)
        .and_then(|r| r.spec.auth.bearer.clone());
    if let Some(b) = &bearer {
        check_bearer(&mcp, &b.var, &values)?;
    }
    let auth_type = match bearer {
        Some(b) if values.iter().all(|(v, _)| v.as_str() == b.var) => AuthType::Bearer,
        _ => AuthType::Keychain,
    };
    let backend = store_credentials(home, &mcp, &values, auth_type)?;
    report_stored(&mcp, &values, backend);
    Ok(())
}

pub fn report_stored(mcp: &ServerName, values: &[(VarName, Secret)], backend: Backend) {
    for (var, _) in values {
        println!("✓ Stored {var} for '{mcp}' ({backend})");
    }
}

/// What a registered server still needs: keychain variables not stored (all of them with
/// `refresh`), and whether its setup command must run.
fn needs(
    home: &CruxHome,
    registered: &Registered,
    mcp: &ServerName,
    refresh: bool,
) -> Result<(Vec<VarName>, bool)> {
    let index = Index::load(home)?;
    let mut vars = Vec::new();
    let bearer = registered.spec.auth.bearer.as_ref().map(|b| &b.var);
    for var in registered.spec.auth.keychain.iter().chain(bearer) {
        let var = VarName::parse(var)?;
        if refresh || index.get(mcp, &var).is_none() {
            vars.push(var);
        }
    }
    let setup =
        registered.spec.auth.setup_cmd.is_some() && (refresh || registered.setup_ran_at.is_none());
    Ok((vars, setup))
}

/// `crux mcp auth <MCP>`: prompts for every declared credential not stored yet, and runs the
/// one-time setup command if it has not run.
fn auth_server(home: &CruxHome, mcp: &ServerName, refresh: bool) -> Result<()> {
    let registry = Registry::load(home)?;
    let registered = registry.get(mcp).ok_or_else(|| {
        Error::failed(
            format!("'{mcp}' is not registered, so crux does not know its variables"),
            format!("register it (crux mcp add {mcp} …), or store one variable: crux mcp auth {mcp} <VAR>"),
        )
    })?;
    if registered.spec.auth.oauth.is_some() {
        super::oauth::sign_in(home, mcp, registered)?;
        // Headers of an OAuth server may name keychain variables too.
        if registered.spec.auth.keychain.is_empty() {
            return Ok(());
        }
    }
    let (vars, setup) = needs(home, registered, mcp, refresh)?;
    if vars.is_empty() && !setup {
        println!("✓ '{mcp}' has everything it needs (re-enter credentials with --refresh)");
        return Ok(());
    }
    if !vars.is_empty() {
        if !std::io::stdin().is_terminal() {
            let names: Vec<&str> = vars.iter().map(VarName::as_str).collect();
            return Err(Error::usage(
                format!(
                    "'{mcp}' needs {} and there is no terminal to prompt on",
                    names.join(", ")
                ),
                format!(
                    "pipe each value in: printf %s \"$VALUE\" | crux mcp auth {mcp} {} --stdin",
                    names[0]
                ),
            ));
        }
        let mut values = Vec::new();
        for var in vars {
            let secret = prompt(mcp, &var)?;
            check_value(mcp, &var, &secret)?;
            values.push((var, secret));
        }
        // A remote server's token is its bearer credential; the rest are keychain variables.
        let (bearer, keychain): (Vec<_>, Vec<_>) = values.into_iter().partition(|(v, _)| {
            registered
                .spec
                .auth
                .bearer
                .as_ref()
                .is_some_and(|b| b.var == v.as_str())
        });
        for (group, auth_type) in [(keychain, AuthType::Keychain), (bearer, AuthType::Bearer)] {
            if !group.is_empty() {
                let backend = store_credentials(home, mcp, &group, auth_type)?;
                report_stored(mcp, &group, backend);
            }
        }
    }
    if setup {
        run_setup(
            home,
            mcp,
            registered
                .spec
                .auth
                .setup_cmd
                .as_deref()
                .unwrap_or_default(),
        )?;
    }
    println!("✓ Authenticated '{mcp}'");
    Ok(())
}

/// Runs a setup command interactively (the user's terminal is its terminal) and records it.
fn run_setup(home: &CruxHome, mcp: &ServerName, command: &str) -> Result<()> {
    println!("Running the setup of '{mcp}': {}", sanitize(command));
    let status = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .status()
        .map_err(|e| Error::io("cannot start sh for the setup command", e))?;
    if !status.success() {
        return Err(Error::failed(
            format!("{mcp}: the setup command failed ({status})"),
            format!("fix what it reported, then run it again: crux mcp auth {mcp}"),
        ));
    }
    let _lock = home.lock()?;
    let mut registry = Registry::load(home)?;
    if let Some(entry) = registry.servers.get_mut(mcp.as_str()) {
        entry.setup_ran_at = Some(crate::index::now_rfc3339());
        registry.save(home)?;
    }
    println!("✓ Setup of '{mcp}' done");
    Ok(())
}

/// `crux mcp auth --all`: every registered server that lacks something.
fn auth_all(home: &CruxHome) -> Result<()> {
    let registry = Registry::load(home)?;
    let mut done = 0;
    for (name, registered) in &registry.servers {
        let mcp = ServerName::parse(name)?;
        let (vars, setup) = needs(home, registered, &mcp, false)?;
        let sign_in = super::oauth::needs_sign_in(&Index::load(home)?, &mcp, registered);
        if !vars.is_empty() || setup || sign_in {
            auth_server(home, &mcp, false)?;
            done += 1;
        }
    }
    if done == 0 {
        println!("✓ Every registered server has its credentials and setup");
    }
    Ok(())
}

/// Gathers and checks every value before anything is stored, so bad input stores nothing.
fn collect_values(mcp: &ServerName, args: &AuthArgs) -> Result<Vec<(VarName, Secret)>> {
    let mut values = Vec::new();
    let mut visible = false;
    if !args.extra.is_empty() {
        return Err(Error::usage(
            "more than one value was given (not shown); a value with spaces must be quoted",
            format!("pipe it in instead: printf %s \"$VALUE\" | crux mcp auth {mcp} <VAR> --stdin"),
        ));
    }
    if !args.values.is_empty() {
        visible = true;
        for pair in &args.values {
            let (var, value) = parse_value_pair(pair)?;
            if values.iter().any(|(v, _)| *v == var) {
                return Err(Error::usage(
                    format!("{var} is given twice"),
                    "give each variable once",
                ));
            }
            values.push((var, value));
        }
    } else {
        let var = VarName::parse(args.var.as_deref().ok_or_else(|| {
            Error::usage("no variable named", format!("crux mcp auth {mcp} <VAR>"))
        })?)?;
        let secret = if let Some(value) = &args.value {
            visible = true;
            value.clone()
        } else if std::io::stdin().is_terminal() {
            // Also with --stdin: typing on a terminal must not echo the value.
            prompt(mcp, &var)?
        } else if args.stdin {
            read_stdin()?
        } else {
            return Err(Error::usage(
                format!("standard input is not a terminal, so crux cannot prompt for {var}"),
                format!(
                    "pipe the value in: printf %s \"$VALUE\" | crux mcp auth {mcp} {var} --stdin"
                ),
            ));
        };
        values.push((var, secret));
    }
    for (var, secret) in &values {
        check_value(mcp, var, secret)?;
    }
    if visible {
        warn_visible();
    }
    Ok(values)
}

/// A bearer token goes in an HTTP header: visible ASCII and spaces only. Never echoed.
pub fn check_bearer(mcp: &ServerName, var: &str, values: &[(VarName, Secret)]) -> Result<()> {
    for (v, secret) in values {
        if v.as_str() == var && !crate::bridge::header_safe(secret.expose()) {
            return Err(Error::usage(
                format!("{mcp}: the value for {v} has a line break, control or non-ASCII character, which an HTTP header cannot carry (not shown)"),
                format!("store the token alone: printf %s \"$TOKEN\" | crux mcp auth {mcp} {v} --stdin"),
            ));
        }
    }
    Ok(())
}

/// Linux's limit on one environment string, `MAX_ARG_STRLEN` (32 pages).
const MAX_ENV_STRING: usize = 128 * 1024;

pub fn check_value(mcp: &ServerName, var: &VarName, secret: &Secret) -> Result<()> {
    if secret.is_empty() {
        return Err(Error::EmptyValue {
            mcp: mcp.to_string(),
            var: var.to_string(),
        });
    }
    if secret.expose().contains('\0') {
        return Err(Error::NulInValue {
            mcp: mcp.to_string(),
            var: var.to_string(),
        });
    }
    // Linux caps one environment string (NAME=VALUE and its NUL) at 128 KiB: a longer value
    // could be stored but no server could ever be started with it.
    if var.as_str().len() + secret.expose().len() + 2 > MAX_ENV_STRING {
        return Err(Error::failed(
            format!(
                "{mcp}: the value for {var} is {} KiB, and a program cannot receive an environment variable over 128 KiB, so the server could never start with it (not stored)",
                secret.expose().len().div_ceil(1024)
            ),
            format!("store a value under 128 KiB: crux mcp auth {mcp} {var} (a large key or certificate: keep it in a file and register its path as a setting, --env {var}_FILE=/path)"),
        ));
    }
    Ok(())
}

/// Stores values in the active backend and records them in the index, under the CRUX_HOME
/// lock. A copy the index recorded in another backend is removed afterwards, so a credential
/// lives in exactly one place. Returns the backend used.
pub fn store_credentials(
    home: &CruxHome,
    mcp: &ServerName,
    values: &[(VarName, Secret)],
    auth_type: AuthType,
) -> Result<Backend> {
    let choice = select::choose(home)?;
    let store = select::open(choice.backend, home)?;
    let _lock = home.lock()?;
    // Load first: a broken index stops us before anything is written.
    let mut index = Index::load(home)?;
    // Stored for the registration there is now; for an unregistered name, for none yet.
    let bound_to = Registry::load_unchecked(home)?
        .get(mcp)
        .map(Registered::fingerprint);
    store.set_many(mcp, values)?;
    let mut stale = Vec::new();
    for (var, _) in values {
        if let Some(old) = index.get(mcp, var) {
            if old.backend != choice.backend {
                stale.push((old.backend, var));
            }
        }
        index.record(mcp, var, choice.backend, auth_type, bound_to.clone());
    }
    index.save(home)?;
    for (backend, var) in stale {
        let removed = select::open(backend, home).and_then(|old| old.delete(mcp, var));
        if let Err(e) = removed {
            warn_leftover(backend, mcp, var, &e);
        }
    }
    Ok(choice.backend)
}

pub fn delete(home: &CruxHome, mcp: &ServerName, var: &VarName) -> Result<()> {
    let _lock = home.lock()?;
    let mut index = Index::load(home)?;
    let backend = match index.get(mcp, var) {
        Some(cred) => cred.backend,
        None => select::choose(home)?.backend,
    };
    let existed = select::open(backend, home)?.delete(mcp, var)?;
    let indexed = index.remove(mcp, var).is_some();
    if indexed {
        index.save(home)?;
    }
    match (existed, indexed) {
        (false, false) => Err(Error::failed(
            format!("{mcp}: {var} is not stored"),
            format!("see what is stored: crux mcp auth --list {mcp}"),
        )),
        (true, _) => {
            println!("✓ Deleted {var} for '{mcp}' ({backend})");
            Ok(())
        }
        (false, true) => {
            println!(
                "✓ Deleted {var} for '{mcp}' from the index (it was already gone from {backend})"
            );
            Ok(())
        }
    }
}

fn list(home: &CruxHome, mcp: Option<&str>, json: bool) -> Result<()> {
    let filter = mcp.map(ServerName::parse).transpose()?;
    let index = Index::load(home)?;
    let registry = Registry::load_unchecked(home)?;
    let rows: Vec<_> = index
        .iter()
        .filter(|(m, _, _)| filter.as_ref().is_none_or(|f| f.as_str() == *m))
        .collect();
    // Whether the launcher hands the credential to the server's registration (OAuth tokens
    // are bound to their resource instead).
    let bound = |m: &str, c: &crate::index::Credential| -> Option<bool> {
        if c.auth_type == AuthType::Oauth {
            return None;
        }
        Some(
            registry
                .servers
                .get(m)
                .is_some_and(|r| c.bound_to.as_deref() == Some(r.fingerprint().as_str())),
        )
    };
    if json {
        let out: Vec<_> = rows
            .iter()
            .map(|(m, v, c)| {
                serde_json::json!({
                    "server": m, "variable": v, "auth_type": c.auth_type,
                    "backend": c.backend, "stored_at": c.stored_at, "bound": bound(m, c),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&out).expect("JSON of strings")
        );
        return Ok(());
    }
    if rows.is_empty() {
        match &filter {
            Some(m) => {
                eprintln!("No credentials stored for '{m}'. Store one: crux mcp auth {m} <VAR>")
            }
            None => eprintln!("No credentials stored. Store one: crux mcp auth <MCP> <VAR>"),
        }
        return Ok(());
    }
    let table: Vec<[String; 6]> = rows
        .iter()
        .map(|(m, v, c)| {
            let binding = match bound(m, c) {
                None => "-".to_owned(),
                Some(true) => "bound".to_owned(),
                Some(false) if registry.servers.contains_key(*m) => {
                    format!("unbound (crux mcp bind {})", sanitize(m))
                }
                Some(false) => "unbound (not registered)".to_owned(),
            };
            [
                sanitize(m),
                sanitize(v),
                c.auth_type.as_str().to_owned(),
                c.backend.to_string(),
                sanitize(&c.stored_at),
                binding,
            ]
        })
        .collect();
    crate::commands::print_table(
        &["SERVER", "VARIABLE", "AUTH", "BACKEND", "STORED", "BINDING"],
        &table,
    );
    Ok(())
}

/// A copy left in a backend crux no longer reads: say how to remove it by hand.
pub fn warn_leftover(backend: Backend, mcp: &ServerName, var: &VarName, e: &Error) {
    let how = match backend {
        Backend::SecretService => format!("secret-tool clear service crux.{mcp} username {var}"),
        Backend::Keychain => format!("security delete-generic-password -s crux.{mcp} -a {var}"),
        Backend::Age => format!("CRUX_BACKEND=age crux mcp auth --delete {mcp} {var}"),
    };
    eprintln!(
        "warning: the old copy of {mcp} {var} in {backend} was not removed ({}); remove it with: {how}",
        e.reason()
    );
}

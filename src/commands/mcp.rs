//! `crux mcp add | list | show | remove`: the registry of servers.

use crate::cli::AddArgs;
use crate::commands::auth::{
    check_value, parse_value_pair, prompt, read_stdin, report_stored, store_credentials,
    warn_visible,
};
use crate::error::{sanitize, Error, Result};
use crate::home::CruxHome;
use crate::index::{AuthType, Index};
use crate::names::{ServerName, VarName};
use crate::registry::{AuthSpec, Registered, Registry, ServerSpec, Source};
use crate::secret::Secret;
use crate::store::select;
use std::collections::BTreeMap;
use std::io::IsTerminal;

pub fn add(args: AddArgs, home: &CruxHome) -> Result<()> {
    let name = ServerName::parse(&args.name)?;
    let source = source_of(&args)?;
    let mut argv = match &args.args {
        Some(text) => shlex::split(text).ok_or_else(|| {
            Error::usage(
                "--args is not valid shell quoting",
                "quote it like a shell command line: --args \"--port 8080 --dir '/a b'\"",
            )
        })?,
        None => Vec::new(),
    };
    argv.extend(args.trailing.iter().cloned());

    let mut keychain: Vec<String> = Vec::new();
    for var in &args.keychain {
        let var = VarName::parse(var)?.to_string();
        if !keychain.contains(&var) {
            keychain.push(var);
        }
    }
    let mut external_cli = BTreeMap::new();
    for pair in &args.external_cli {
        let (var, command) = pair.split_once('=').ok_or_else(|| {
            Error::usage(
                "--external-cli takes VAR=COMMAND",
                "--external-cli 'GITHUB_TOKEN=gh auth token'",
            )
        })?;
        external_cli.insert(
            VarName::parse(var.trim())?.to_string(),
            command.trim().to_owned(),
        );
    }
    let spec = ServerSpec {
        source,
        args: argv,
        tags: args
            .tags
            .iter()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect(),
        auth: AuthSpec {
            keychain,
            external_cli,
            setup_cmd: args.setup_cmd.clone().filter(|c| !c.trim().is_empty()),
            oauth: args.oauth.then(|| args.oauth_args.to_spec()),
            bearer: args.bearer.as_ref().map(|var| crate::registry::BearerSpec {
                var: var.trim().to_string(),
                header_name: args.header_name.clone(),
                header_prefix: args.header_prefix.clone(),
            }),
        },
    };
    if !args.oauth && args.oauth_args.any() {
        return Err(Error::usage(
            "OAuth options (--client-id, --scopes, --grant, …) need --oauth",
            format!("crux mcp add {name} --url <URL> --oauth …"),
        ));
    }
    if let Some(oauth) = &spec.auth.oauth {
        if oauth.grant == crate::oauth::spec::Grant::ClientCredentials
            && oauth.client_id.is_none()
            && oauth.auth_method != Some(crate::oauth::spec::AuthMethod::PrivateKeyJwt)
            && !args.oauth_args.client_secret_stdin
        {
            return Err(Error::usage(
                "client credentials need a client id and its secret (or --auth-method private_key_jwt)",
                format!("printf %s \"$SECRET\" | crux mcp add {name} --url <URL> --oauth --grant client-credentials --client-id <ID> --client-secret-stdin"),
            ));
        }
        if args.oauth_args.client_secret_stdin && oauth.client_id.is_none() {
            return Err(Error::usage(
                "--client-secret-stdin goes with --client-id",
                format!("crux mcp add {name} --url <URL> --oauth --client-id <ID> --client-secret-stdin"),
            ));
        }
    }
    let remote_only = spec.auth.keychain.is_empty()
        && spec.auth.external_cli.is_empty()
        && spec.auth.setup_cmd.is_none();
    if matches!(spec.source, Source::Url { .. })
        && ((!spec.auth.is_empty() && !remote_only) || !spec.args.is_empty())
    {
        return Err(Error::usage(
            "a remote (--url) server takes no command arguments, and its credentials are not keychain, external-cli or setup-cmd variables",
            format!("register it as: crux mcp add {name} --url <URL>"),
        ));
    }
    spec.validate(name.as_str())?;
    for (var, command) in &spec.auth.external_cli {
        let program = shlex::split(command)
            .and_then(|w| w.into_iter().next())
            .unwrap_or_default();
        if which::which(&program).is_err() {
            eprintln!(
                "warning: `{}` (for {var}) is not on PATH now; the launch will fail until it is",
                sanitize(&program)
            );
        }
    }

    // Every value is gathered and checked before anything is registered or stored.
    let values = collect_add_values(&name, &spec, &args)?;
    if let Some(b) = &spec.auth.bearer {
        crate::commands::auth::check_bearer(&name, &b.var, &values)?;
    }
    let client_secret = if args.oauth_args.client_secret_stdin {
        let secret = crate::commands::auth::read_stdin()?;
        if secret.is_empty() {
            return Err(Error::usage(
                "the client secret read from standard input is empty",
                format!("printf %s \"$SECRET\" | crux mcp add {name} … --client-secret-stdin"),
            ));
        }
        Some(secret)
    } else {
        None
    };

    let previous = Registry::load(home)?.get(&name).map(|r| r.spec.clone());
    {
        let _lock = home.lock()?;
        let mut registry = Registry::load(home)?;
        if registry.get(&name).is_some() && !args.force {
            return Err(Error::failed(
                format!("'{name}' is already registered"),
                format!("see it with: crux mcp show {name}; replace it with: crux mcp add {name} --force …"),
            ));
        }
        registry.servers.insert(
            name.to_string(),
            Registered {
                spec: spec.clone(),
                added_at: crate::index::now_rfc3339(),
                setup_ran_at: None,
            },
        );
        registry.save(home)?;
    }
    println!("✓ Registered '{name}' ({})", spec.describe_source());
    if let (Some(old), Some(b)) = (&previous, &spec.auth.bearer) {
        // A token stored for another URL (or another kind of server) is not sent to this one.
        let given = values.iter().any(|(v, _)| v.as_str() == b.var);
        if old.url() != spec.url() && !given {
            let var = VarName::parse(&b.var)?;
            if Index::load(home)?.get(&name, &var).is_some() {
                crate::commands::auth::delete(home, &name, &var)?;
                println!("note: deleted {var}, stored for the previous definition; store the token for {}: crux mcp auth {name} {var}", spec.describe_source());
            }
        }
    }
    if let Some(old) = &previous {
        if (old.url() != spec.url() || old.auth.oauth != spec.auth.oauth)
            && crate::oauth::forget_session(home, &name)?
        {
            println!("✓ Deleted the OAuth tokens of the previous definition (sign in again: crux mcp auth {name})");
        }
    }

    if !values.is_empty() {
        let auth_type = if spec.auth.bearer.is_some() {
            AuthType::Bearer
        } else {
            AuthType::Keychain
        };
        let backend = store_credentials(home, &name, &values, auth_type)?;
        report_stored(&name, &values, backend);
    }
    if let (Some(oauth), Some(url)) = (&spec.auth.oauth, spec.url()) {
        let mut session = crate::oauth::Session::load(
            home,
            &name,
            url,
            oauth.clone(),
            crate::oauth::Interaction::Silent,
        )?;
        if let Some(secret) = client_secret {
            session.set_client_secret(secret)?;
            println!("✓ Stored the client secret of '{name}'");
        }
        if oauth.auth_method == Some(crate::oauth::spec::AuthMethod::PrivateKeyJwt) {
            let jwk = session.public_key()?;
            println!("Register this public key (JWK) for the client with the authorization server; the private key stays in the keystore:");
            println!("{}", serde_json::to_string_pretty(&jwk).expect("JSON"));
        }
        if args.force {
            println!(
                "Projects using '{name}' pick up the new definition with: crux project sync --all"
            );
        }
        if oauth.grant == crate::oauth::spec::Grant::ClientCredentials {
            println!("Get a token with: crux mcp auth {name}");
            return Ok(());
        }
        return crate::commands::oauth::offer_sign_in(home, &name);
    }
    let index = Index::load(home)?;
    let missing = credential_status(name.as_str(), &spec, &index)
        .iter()
        .any(|(_, c)| c.is_none());
    if !spec.auth.keychain.is_empty() && !missing {
        println!("✓ Authenticated '{name}'");
    } else if missing {
        println!("Store its credentials with: crux mcp auth {name}");
    }
    let dropped: Vec<&String> = index
        .servers
        .get(name.as_str())
        .map(|s| {
            s.credentials
                .keys()
                .filter(|v| {
                    !spec.auth.keychain.contains(v)
                        && spec.auth.bearer.as_ref().is_none_or(|b| &b.var != *v)
                })
                .collect()
        })
        .unwrap_or_default();
    for var in dropped {
        println!("note: {var} is still stored but no longer declared; delete it with: crux mcp auth --delete {name} {var}");
    }
    if args.force {
        println!(
            "Projects using '{name}' pick up the new definition with: crux project sync --all"
        );
    }
    if spec.auth.setup_cmd.is_some() {
        println!("Run its one-time setup with: crux mcp auth {name}");
    }
    Ok(())
}

fn source_of(args: &AddArgs) -> Result<Source> {
    if let Some(package) = &args.npx {
        return Ok(Source::Npx {
            package: package.clone(),
        });
    }
    if let Some(package) = &args.uvx {
        return Ok(Source::Uvx {
            package: package.clone(),
        });
    }
    if let Some(url) = &args.url {
        return Ok(Source::Url { url: url.clone() });
    }
    if let Some(path) = &args.local {
        let full = std::fs::canonicalize(path).map_err(|e| {
            Error::failed(
                format!("the local server {} cannot be used: {e}", path.display()),
                "give the path of the server's entry file (a .js or .py file, or an executable)",
            )
        })?;
        if !full.is_file() {
            return Err(Error::failed(
                format!("{} is not a file", full.display()),
                "give the path of the server's entry file (a .js or .py file, or an executable)",
            ));
        }
        return Ok(Source::Local {
            path: full.to_string_lossy().into_owned(),
        });
    }
    let mut command = args.command.clone().expect("clap requires one source");
    let found = if command.contains('/') {
        // The MCP host starts servers from its own directory: store an absolute path.
        match std::fs::canonicalize(&command) {
            Ok(full) if full.is_file() => {
                command = full.to_string_lossy().into_owned();
                true
            }
            _ => false,
        }
    } else {
        which::which(&command).is_ok()
    };
    if !found {
        return Err(Error::failed(
            format!("the command `{}` is not found", sanitize(&command)),
            "install it, or give its full path: crux mcp add <MCP> --command /path/to/server",
        ));
    }
    Ok(Source::Command { command })
}

fn collect_add_values(
    name: &ServerName,
    spec: &ServerSpec,
    args: &AddArgs,
) -> Result<Vec<(VarName, Secret)>> {
    let declared: Vec<VarName> = spec
        .auth
        .keychain
        .iter()
        .chain(spec.auth.bearer.iter().map(|b| &b.var))
        .map(|v| VarName::parse(v))
        .collect::<Result<_>>()?;
    let mut given: BTreeMap<VarName, Secret> = BTreeMap::new();
    for pair in &args.values {
        let (var, value) = parse_value_pair(pair)?;
        if !declared.contains(&var) {
            return Err(Error::usage(
                format!("--value names {var}, which is not declared with --keychain or --bearer"),
                format!("declare it: --keychain {var}"),
            ));
        }
        given.insert(var, value);
    }
    if !args.values.is_empty() {
        warn_visible();
    }
    if args.stdin {
        let [only] = declared.as_slice() else {
            return Err(Error::usage(
                "--stdin reads one value, but not exactly one --keychain or --bearer variable is declared",
                "use --value VAR=VALUE for several, or store them afterwards: crux mcp auth <MCP> <VAR> --stdin",
            ));
        };
        // Typing on a terminal must not echo the value.
        let secret = if std::io::stdin().is_terminal() {
            prompt(name, only)?
        } else {
            read_stdin()?
        };
        given.insert(only.clone(), secret);
    }
    let interactive = std::io::stdin().is_terminal();
    let mut values = Vec::new();
    for var in declared {
        let secret = match given.remove(&var) {
            Some(secret) => secret,
            None if interactive && !args.stdin => prompt(name, &var)?,
            None => continue,
        };
        check_value(name, &var, &secret)?;
        values.push((var, secret));
    }
    Ok(values)
}

/// Per keychain variable of a server: whether the index lists it.
fn credential_status(
    name: &str,
    spec: &ServerSpec,
    index: &Index,
) -> Vec<(String, Option<crate::index::Credential>)> {
    let oauth = spec
        .auth
        .oauth
        .as_ref()
        .map(|_| crate::oauth::spec::ACCESS_TOKEN.to_string());
    spec.auth
        .keychain
        .iter()
        .chain(spec.auth.bearer.iter().map(|b| &b.var))
        .chain(oauth.iter())
        .map(|var| {
            let cred = index
                .servers
                .get(name)
                .and_then(|s| s.credentials.get(var))
                .cloned();
            (var.clone(), cred)
        })
        .collect()
}

pub fn list(home: &CruxHome, json: bool) -> Result<()> {
    let registry = Registry::load(home)?;
    let index = Index::load(home)?;
    if json {
        let out: Vec<_> = registry
            .servers
            .iter()
            .map(|(name, r)| {
                let missing: Vec<String> = credential_status(name, &r.spec, &index)
                    .into_iter()
                    .filter(|(_, c)| c.is_none())
                    .map(|(v, _)| v)
                    .collect();
                serde_json::json!({
                    "name": name, "source": r.spec.source, "args": r.spec.args, "tags": r.spec.tags,
                    "auth": r.spec.auth, "missing_credentials": missing, "added_at": r.added_at,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
        return Ok(());
    }
    if registry.servers.is_empty() {
        eprintln!(
            "No servers registered. Add one: crux mcp add <MCP> --npx <package> --keychain <VAR>"
        );
        return Ok(());
    }
    let rows: Vec<[String; 5]> = registry
        .servers
        .iter()
        .map(|(name, r)| {
            let status = credential_status(name, &r.spec, &index);
            let missing: Vec<&str> = status
                .iter()
                .filter(|(_, c)| c.is_none())
                .map(|(v, _)| v.as_str())
                .collect();
            let creds = if status.is_empty() {
                "-".to_owned()
            } else if missing.is_empty() {
                format!("{} stored", status.len())
            } else {
                format!("missing {}", missing.join(","))
            };
            [
                sanitize(name),
                sanitize(&r.spec.describe_source()),
                r.spec.auth_kinds().join(","),
                creds,
                sanitize(&r.spec.tags.join(",")),
            ]
        })
        .collect();
    crate::commands::print_table(&["NAME", "SOURCE", "AUTH", "CREDENTIALS", "TAGS"], &rows);
    Ok(())
}

pub fn show(home: &CruxHome, name: &str, json: bool) -> Result<()> {
    let name = ServerName::parse(name)?;
    let registry = Registry::load(home)?;
    let r = registry.require(&name)?;
    let index = Index::load(home)?;
    let status = credential_status(name.as_str(), &r.spec, &index);
    if json {
        let creds: Vec<_> = status
            .iter()
            .map(|(v, c)| serde_json::json!({"variable": v, "stored": c.is_some(), "backend": c.as_ref().map(|c| c.backend), "stored_at": c.as_ref().map(|c| &c.stored_at)}))
            .collect();
        let out = serde_json::json!({
            "name": name.as_str(), "source": r.spec.source, "args": r.spec.args, "tags": r.spec.tags,
            "auth": r.spec.auth, "credentials": creds, "added_at": r.added_at, "setup_ran_at": r.setup_ran_at,
        });
        println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
        return Ok(());
    }
    println!("name:     {name}");
    println!("source:   {}", sanitize(&r.spec.describe_source()));
    if let Some(cmd) = r.spec.command_line() {
        println!(
            "starts:   {}",
            sanitize(&shlex::try_join(cmd.iter().map(String::as_str)).unwrap_or_default())
        );
    }
    if !r.spec.tags.is_empty() {
        println!("tags:     {}", sanitize(&r.spec.tags.join(", ")));
    }
    println!("added:    {}", r.added_at);
    for (var, cred) in &status {
        if r.spec.auth.oauth.is_some() && var == crate::oauth::spec::ACCESS_TOKEN {
            continue;
        }
        let label = if r.spec.auth.bearer.as_ref().is_some_and(|b| &b.var == var) {
            "bearer:  "
        } else {
            "keychain:"
        };
        match cred {
            Some(c) => println!("{label} {var} — stored in {} at {}", c.backend, c.stored_at),
            None => println!("{label} {var} — missing (store it: crux mcp auth {name})"),
        }
        if let Some(b) = r.spec.auth.bearer.as_ref().filter(|b| &b.var == var) {
            println!(
                "          sent as `{}: {}{}<{var}>`",
                sanitize(&b.header_name),
                sanitize(&b.header_prefix),
                if b.header_prefix.is_empty() { "" } else { " " }
            );
        }
    }
    if let Some(oauth) = &r.spec.auth.oauth {
        let grant = match oauth.grant {
            crate::oauth::spec::Grant::AuthorizationCode => "authorization code + PKCE",
            crate::oauth::spec::Grant::ClientCredentials => "client credentials",
        };
        println!("oauth:    {grant}");
        let signed_in = status
            .iter()
            .any(|(v, c)| v == crate::oauth::spec::ACCESS_TOKEN && c.is_some());
        match (signed_in, index.oauth(&name)) {
            (true, Some(state)) => {
                let expiry = state
                    .expires_at
                    .map(|at| {
                        format!(
                            "expires {} ({})",
                            crate::oauth::spec::in_words(at),
                            crate::oauth::spec::rfc3339(at)
                        )
                    })
                    .unwrap_or_else(|| "no stated expiry".into());
                println!(
                    "          signed in; token {expiry}; {}",
                    if state.has_refresh_token {
                        "refresh token stored"
                    } else {
                        "no refresh token"
                    }
                );
                if let Some(client) = &state.client_id {
                    println!("          client {}", sanitize(client));
                }
            }
            _ => println!("          not signed in (sign in: crux mcp auth {name})"),
        }
    }
    for (var, command) in &r.spec.auth.external_cli {
        println!("external: {var} ← `{}` at every launch", sanitize(command));
    }
    if let Some(cmd) = &r.spec.auth.setup_cmd {
        match &r.setup_ran_at {
            Some(at) => println!("setup:    `{}` — ran at {at}", sanitize(cmd)),
            None => println!(
                "setup:    `{}` — not run yet (run it: crux mcp auth {name})",
                sanitize(cmd)
            ),
        }
    }
    Ok(())
}

pub fn remove(home: &CruxHome, name: &str, yes: bool, keep_secrets: bool) -> Result<()> {
    let name = ServerName::parse(name)?;
    // Unchecked: removing is the fix for a broken entry.
    let registry = Registry::load_unchecked(home)?;
    registry.require(&name)?;
    let stored: Vec<(String, crate::index::Credential)> = Index::load(home)?
        .servers
        .get(name.as_str())
        .map(|s| s.credentials.clone().into_iter().collect())
        .unwrap_or_default();
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::usage(
                format!(
                    "removing '{name}' needs a confirmation, and there is no terminal to ask on"
                ),
                format!("crux mcp remove {name} --yes"),
            ));
        }
        let what = if keep_secrets || stored.is_empty() {
            String::new()
        } else {
            format!(" and delete its {} stored credential(s)", stored.len())
        };
        eprint!("Remove '{name}'{what}? [y/N] ");
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| Error::io("cannot read the answer", e))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("Nothing removed.");
            return Ok(());
        }
    }
    let _lock = home.lock()?;
    let mut registry = Registry::load_unchecked(home)?;
    let mut index = Index::load(home)?;
    if !keep_secrets {
        for (var, cred) in &stored {
            let var = VarName::parse(var)?;
            select::open(cred.backend, home)?.delete(&name, &var)?;
            index.remove(&name, &var);
            index.save(home)?;
            println!("✓ Deleted {var} ({})", cred.backend);
        }
        if index.oauth(&name).is_some() {
            index.set_oauth(&name, None);
            index.save(home)?;
        }
    }
    registry.servers.remove(name.as_str());
    registry.save(home)?;
    println!("✓ Removed '{name}'");
    let using: Vec<String> = crate::project::Projects::load(home)?
        .projects
        .iter()
        .filter(|(_, t)| t.generated.iter().any(|g| g == name.as_str()))
        .map(|(dir, _)| dir.display().to_string())
        .collect();
    if !using.is_empty() {
        println!(
            "Projects still list it: {}; remove it there with: crux project uninstall {name}",
            using.join(", ")
        );
    }
    if keep_secrets && !stored.is_empty() {
        println!(
            "Its {} credential(s) stay stored (crux mcp auth --list {name}).",
            stored.len()
        );
    }
    Ok(())
}

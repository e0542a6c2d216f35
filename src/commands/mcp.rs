//! `crux mcp add | list | show | remove`: the registry of servers.

use crate::cli::AddArgs;
use crate::commands::auth::{check_value, report_stored, store_credentials};
use crate::commands::input::{parse_value_pair, prompt, read_stdin, warn_visible};
use crate::error::{escape_all, sanitize, show_command, Error, Result};
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
    let mut env = BTreeMap::new();
    for pair in &args.env {
        let (var, value) = pair.split_once('=').ok_or_else(|| {
            Error::usage(
                "--env takes NAME=VALUE",
                "--env LOG_LEVEL=debug (a credential goes in the keystore: --keychain NAME)",
            )
        })?;
        env.insert(VarName::parse(var.trim())?.to_string(), value.to_owned());
    }
    let mut allow_env = Vec::new();
    for var in &args.allow_env {
        let var = VarName::parse(var.trim())?.to_string();
        if !allow_env.contains(&var) {
            allow_env.push(var);
        }
    }
    let mut spec = ServerSpec {
        source,
        args: argv,
        tags: args
            .tags
            .iter()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect(),
        env,
        allow_env,
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
            ..AuthSpec::default()
        },
    };
    // `--args '--api-key {crux:API_KEY}' --keychain API_KEY`: a keychain variable the arguments
    // name reaches the server there, filled in by the launcher, and not in its environment.
    if spec.url().is_none() {
        let named: Vec<String> = spec
            .args
            .iter()
            .flat_map(|a| crate::template::placeholders(a))
            .collect();
        spec.auth.in_args = spec
            .auth
            .keychain
            .iter()
            .filter(|v| named.contains(v))
            .cloned()
            .collect();
    }
    if !args.oauth && args.oauth_args.any() {
        return Err(Error::usage(
            "OAuth options (--client-id, --scopes, --grant, …) need --oauth",
            format!("crux mcp add {name} --url <URL> --oauth …"),
        ));
    }
    let package_source = matches!(spec.source, Source::Npx(_) | Source::Uvx(_));
    if (args.no_install || args.allow_scripts || args.bin.is_some()) && !package_source {
        return Err(Error::usage(
            "--no-install, --allow-scripts and --bin are for --npx and --uvx packages",
            format!("crux mcp add {name} --npx <package> …"),
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
        && ((!spec.auth.is_empty() && !remote_only)
            || !spec.args.is_empty()
            || !spec.env.is_empty()
            || !spec.allow_env.is_empty())
    {
        return Err(Error::usage(
            "a remote (--url) server takes no command arguments or settings, and its credentials are not keychain, external-cli or setup-cmd variables",
            format!("register it as: crux mcp add {name} --url <URL>"),
        ));
    }
    spec.validate(name.as_str())?;
    crate::misplaced::check(name.as_str(), &spec)?;
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
    let previous = Registry::load(home)?.get(&name).cloned();
    if previous.is_some() && !args.force {
        return Err(already_registered(&name));
    }
    if args.no_install {
        eprintln!("warning: {name} is not installed: npx/uvx fetches the package at every start, from the registry or from a project folder that ships one, and a new release gets its credentials without you approving it (let crux install it: drop --no-install)");
    }

    // Installed (into a staging folder) and resolved first; every value is gathered and
    // checked before anything is registered or stored.
    let pending = crate::registration::prepare(home, &name, spec)?;
    let spec = pending.registered.spec.clone();
    let fingerprint = pending.registered.fingerprint();
    let values = collect_add_values(&name, &spec, &args)?;
    if let Some(b) = &spec.auth.bearer {
        crate::commands::auth::check_bearer(&name, &b.var, &values)?;
    }
    let client_secret = if args.oauth_args.client_secret_stdin {
        let secret = crate::commands::input::read_stdin()?;
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
    // The keystore the values go to is reachable before anything is registered.
    if !values.is_empty() {
        select::open(select::choose(home)?.backend, home)?;
    }

    let registered = {
        let _lock = home.lock()?;
        let mut registry = Registry::load(home)?;
        if registry.get(&name).is_some() && !args.force {
            return Err(already_registered(&name));
        }
        pending.commit(home, &mut registry)?
    };
    println!(
        "✓ Registered '{name}' ({})",
        escape_all(&spec.describe_source())
    );
    if let Some(cmd) = registered.command_line() {
        println!("  runs: {}", show_command(&cmd));
    }
    if let (Some(old), Some(b)) = (&previous, &spec.auth.bearer) {
        // A token stored for another URL (or another kind of server) is not sent to this one.
        let given = values.iter().any(|(v, _)| v.as_str() == b.var);
        if old.spec.url() != spec.url() && !given {
            let var = VarName::parse(&b.var)?;
            if Index::load(home)?.get(&name, &var).is_some() {
                crate::commands::auth::delete(home, &name, &var)?;
                println!("note: deleted {var}, stored for the previous definition; store the token for {}: crux mcp auth {name} {var}", escape_all(&spec.describe_source()));
            }
        }
    }
    if let Some(old) = &previous {
        if old.spec.url() != spec.url() || old.spec.auth.oauth != spec.auth.oauth {
            if crate::oauth::forget_session(home, &name)? {
                println!("✓ Deleted the OAuth tokens of the previous definition (sign in again: crux mcp auth {name})");
            }
        } else if spec.auth.oauth.is_some() && crate::oauth::forget_registration(home, &name)? {
            // Registering again (--force) is how a user gets rid of a client the server
            // forgot; a pre-registered --client-id is the user's and stays.
            println!("✓ Forgot the dynamic client registration of '{name}' and its tokens; the next sign-in registers again");
        }
    }
    offer_binding(home, &name, &registered, &fingerprint, &values, args.yes)?;

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
    let unbound = !index.unbound(name.as_str(), &fingerprint).is_empty();
    if !spec.auth.keychain.is_empty() && !missing && !unbound {
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
                        && spec.auth.oauth.is_none()
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

fn already_registered(name: &ServerName) -> Error {
    Error::failed(
        format!("'{name}' is already registered"),
        format!(
            "see it with: crux mcp show {name}; replace it with: crux mcp add {name} --force …"
        ),
    )
}

/// Credentials stored for `name` before this registration (for another definition, or before
/// it was registered) reach it only after the user confirms it, shown in full. Values given in
/// this command are stored for it anyway and need no confirmation.
fn offer_binding(
    home: &CruxHome,
    name: &ServerName,
    registered: &Registered,
    fingerprint: &str,
    given: &[(VarName, Secret)],
    yes: bool,
) -> Result<()> {
    let inherited: Vec<String> = crate::registration::inherited(home, name.as_str(), fingerprint)?
        .into_iter()
        .filter(|v| !given.iter().any(|(g, _)| g.as_str() == v))
        .filter(|v| !crate::oauth::spec::ACCOUNTS.contains(&v.as_str()))
        .collect();
    if inherited.is_empty() {
        return Ok(());
    }
    let list = inherited.join(", ");
    let approved = if yes {
        true
    } else if std::io::stdin().is_terminal() {
        for line in crate::registration::describe(
            name.as_str(),
            &registered.spec,
            registered.command_line().as_deref(),
        ) {
            eprintln!("{line}");
        }
        crate::registration::confirm(&format!(
            "{list} {} stored for '{name}' before this registration. Hand {} to the command above?",
            if inherited.len() == 1 { "was" } else { "were" },
            if inherited.len() == 1 { "it" } else { "them" },
        ))?
    } else {
        false
    };
    if approved {
        crate::registration::bind(home, name.as_str(), fingerprint)?;
        println!(
            "✓ {list} of '{name}' now go{} to this registration",
            if inherited.len() == 1 { "es" } else { "" }
        );
    } else {
        println!("note: {list} of '{name}' stay unused: stored before this registration, they go to it only once you confirm: crux mcp bind {name}");
    }
    Ok(())
}

fn source_of(args: &AddArgs) -> Result<Source> {
    let package = |spec: &str, npm: bool| {
        let (name, version) = if npm {
            crate::registry::split_npm_spec(spec)
        } else {
            crate::registry::split_pypi_spec(spec)
        };
        let requested = version.filter(|v| !v.is_empty());
        let ok = |v: &str| {
            v.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-+_!^~<>=*".contains(c))
        };
        if requested.is_some_and(|v| !ok(v)) {
            return Err(Error::usage(
                "the package's version is not a version or a range",
                if npm {
                    "name a version: --npx <package>@1.2.3"
                } else {
                    "name a version: --uvx <package>==1.2.3"
                },
            ));
        }
        let mut p = crate::registry::Package::new(name);
        p.version = requested.map(str::to_string);
        p.no_install = args.no_install;
        p.allow_scripts = args.allow_scripts;
        p.bin = args.bin.clone();
        Ok(p)
    };
    if let Some(spec) = &args.npx {
        return Ok(Source::Npx(package(spec, true)?));
    }
    if let Some(spec) = &args.uvx {
        return Ok(Source::Uvx(package(spec, false)?));
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
    let command = args.command.clone().expect("clap requires one source");
    // The MCP host starts servers from its own directory: a path is stored absolute.
    let command = if command.contains('/') {
        crate::registration::resolve_command(&command)?
    } else {
        crate::registration::resolve_command(&command)?;
        command
    };
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
                    "command": r.command_line(), "env": r.spec.env, "allow_env": r.spec.allow_env,
                    "auth": r.spec.auth, "missing_credentials": missing,
                    "unbound_credentials": unbound_of(&index, name, r),
                    "added_at": r.added_at,
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
            let unbound = unbound_of(&index, name, r);
            let creds = if status.is_empty() {
                "-".to_owned()
            } else if !missing.is_empty() {
                format!("missing {}", missing.join(","))
            } else if !unbound.is_empty() {
                format!("unbound {} (crux mcp bind {name})", unbound.join(","))
            } else {
                format!("{} stored", status.len())
            };
            [
                escape_all(name),
                escape_all(&r.spec.source_summary()),
                r.spec.auth_kinds().join(","),
                creds,
                escape_all(&r.spec.tags.join(",")),
            ]
        })
        .collect();
    crate::commands::print_table(&["NAME", "SOURCE", "AUTH", "CREDENTIALS", "TAGS"], &rows);
    Ok(())
}

/// The stored keychain and bearer credentials of a server that its registration may not use.
fn unbound_of(index: &Index, name: &str, r: &Registered) -> Vec<String> {
    index
        .unbound(name, &r.fingerprint())
        .into_iter()
        .filter(|v| !crate::oauth::spec::ACCOUNTS.contains(&v.as_str()))
        .collect()
}

pub fn show(home: &CruxHome, name: &str, json: bool) -> Result<()> {
    let name = ServerName::parse(name)?;
    let registry = Registry::load(home)?;
    let r = registry.require(&name)?;
    let index = Index::load(home)?;
    let status = credential_status(name.as_str(), &r.spec, &index);
    let fingerprint = r.fingerprint();
    let bound = |c: &crate::index::Credential| c.bound_to.as_deref() == Some(fingerprint.as_str());
    if json {
        let creds: Vec<_> = status
            .iter()
            .map(|(v, c)| serde_json::json!({
                "variable": v, "stored": c.is_some(), "sent_in": r.spec.sent_in(v),
                "bound": c.as_ref().map(|c| bound(c) || r.spec.auth.oauth.is_some()),
                "backend": c.as_ref().map(|c| c.backend), "stored_at": c.as_ref().map(|c| &c.stored_at)}))
            .collect();
        let out = serde_json::json!({
            "name": name.as_str(), "source": r.spec.source, "args": r.spec.args, "tags": r.spec.tags,
            "command": r.command_line(), "env": r.spec.env, "allow_env": r.spec.allow_env,
            "install_dir": r.installed_at.as_ref().map(|_| crate::install::dir_of(home, &name)),
            "installed_at": r.installed_at, "fingerprint": fingerprint,
            "auth": r.spec.auth, "credentials": creds, "added_at": r.added_at, "setup_ran_at": r.setup_ran_at,
            "protocol": r.protocol,
        });
        println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
        return Ok(());
    }
    println!("name:     {name}");
    println!("source:   {}", escape_all(&r.spec.describe_source()));
    if let Source::Npx(p) | Source::Uvx(p) = &r.spec.source {
        if let Some(i) = &p.integrity {
            println!("integrity: {}", escape_all(i));
        }
        if r.installed_at.is_some() {
            println!(
                "installed: {} ({}; install scripts {})",
                crate::install::dir_of(home, &name).display(),
                r.installed_at.as_deref().unwrap_or_default(),
                if p.allow_scripts { "allowed" } else { "off" }
            );
        }
    }
    if let Some(cmd) = r.command_line() {
        println!("starts:   {}", show_command(&cmd));
        if !r.resolved() {
            println!("          (looked up in the PATH the host passes: registered before crux resolved commands; resolve it: crux mcp upgrade {name})");
        }
    }
    for (k, v) in &r.spec.env {
        println!("setting:  {}={}", escape_all(k), escape_all(v));
    }
    if !r.spec.allow_env.is_empty() {
        println!(
            "from the host: {} (let through although it loads code)",
            escape_all(&r.spec.allow_env.join(", "))
        );
    }
    if !r.spec.tags.is_empty() {
        println!("tags:     {}", escape_all(&r.spec.tags.join(", ")));
    }
    println!("added:    {}", r.added_at);
    match &r.protocol {
        Some(p) => {
            let legacy_too = p.era == "modern"
                && p.supported_versions
                    .iter()
                    .any(|v| crate::protocol::LEGACY_VERSIONS.contains(&v.as_str()));
            println!(
                "protocol: {} ({}{}), seen by crux mcp probe at {}",
                escape_all(&p.version),
                escape_all(&p.era),
                if legacy_too {
                    ", also serves legacy clients"
                } else {
                    ""
                },
                escape_all(&p.seen_at)
            );
        }
        None => println!("protocol: not probed yet (find it: crux mcp probe {name})"),
    }
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
            Some(c) if bound(c) => {
                println!("{label} {var} — stored in {} at {}", c.backend, c.stored_at)
            }
            Some(c) => println!(
                "{label} {var} — stored in {} at {}, before this registration: not handed to it until you confirm (crux mcp bind {name})",
                c.backend, c.stored_at
            ),
            None => println!("{label} {var} — missing (store it: crux mcp auth {name})"),
        }
        if let Some(place) = r.spec.sent_in(var) {
            println!("          {place}");
        }
        if let Some(b) = r.spec.auth.bearer.as_ref().filter(|b| &b.var == var) {
            println!(
                "          sent as `{}: {}{}<{var}>`",
                escape_all(&b.header_name),
                escape_all(&b.header_prefix),
                if b.header_prefix.is_empty() { "" } else { " " }
            );
        }
    }
    for header in r.spec.shown_headers() {
        println!("sent as:  {}", escape_all(&header));
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
                    println!("          client {}", escape_all(client));
                }
            }
            _ => println!("          not signed in (sign in: crux mcp auth {name})"),
        }
    }
    for (var, command) in &r.spec.auth.external_cli {
        let how = r
            .external_programs
            .get(var)
            .map(|p| {
                format!(
                    " ({} resolved to {})",
                    escape_all(command.split_whitespace().next().unwrap_or("")),
                    escape_all(p)
                )
            })
            .unwrap_or_default();
        println!(
            "external: {var} ← `{}` at every launch{how}",
            escape_all(command)
        );
    }
    if let Some(cmd) = &r.spec.auth.setup_cmd {
        match &r.setup_ran_at {
            Some(at) => println!("setup:    `{}` — ran at {at}", escape_all(cmd)),
            None => println!(
                "setup:    `{}` — not run yet (run it: crux mcp auth {name})",
                escape_all(cmd)
            ),
        }
    }
    Ok(())
}

/// `crux mcp bind <MCP>`: credentials stored before the current registration go to it once
/// the user has seen it in full and agreed.
pub fn bind(home: &CruxHome, name: &str, yes: bool) -> Result<()> {
    let name = ServerName::parse(name)?;
    let registry = Registry::load(home)?;
    let r = registry.require(&name)?;
    let index = Index::load(home)?;
    let unbound = unbound_of(&index, name.as_str(), r);
    if unbound.is_empty() {
        println!("✓ Every stored credential of '{name}' already goes to its registration");
        return Ok(());
    }
    for line in crate::registration::describe(name.as_str(), &r.spec, r.command_line().as_deref()) {
        println!("{line}");
    }
    let list = unbound.join(", ");
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::usage(
                format!("handing {list} to '{name}' needs a confirmation, and there is no terminal to ask on"),
                format!("read the registration above, then: crux mcp bind {name} --yes"),
            ));
        }
        if !crate::registration::confirm(&format!("Hand {list} to the command above?"))? {
            println!("Nothing changed.");
            return Ok(());
        }
    }
    crate::registration::bind(home, name.as_str(), &r.fingerprint())?;
    println!("✓ {list} of '{name}' now go to this registration");
    Ok(())
}

/// `crux mcp upgrade`: re-pins installed servers, pins servers registered before pinning, and
/// resolves commands registered before crux resolved them — each shown old → new first.
pub fn upgrade(
    home: &CruxHome,
    names: &[String],
    all: bool,
    to: Option<&str>,
    yes: bool,
) -> Result<()> {
    let registry = Registry::load(home)?;
    let targets: Vec<ServerName> = if all {
        registry
            .servers
            .keys()
            .map(|n| ServerName::parse(n))
            .collect::<Result<_>>()?
    } else {
        names
            .iter()
            .map(|n| ServerName::parse(n))
            .collect::<Result<_>>()?
    };
    let mut plan: Vec<(ServerName, Registered, ServerSpec, String)> = Vec::new();
    for name in &targets {
        let r = registry.require(name)?.clone();
        let mut spec = r.spec.clone();
        let change = match &mut spec.source {
            Source::Npx(p) | Source::Uvx(p) if p.no_install => {
                println!("- {name}: runs through npx/uvx by choice (--no-install); to pin it: crux mcp add {name} --npx <package> --force");
                continue;
            }
            Source::Npx(p) | Source::Uvx(p) => {
                let ecosystem = if matches!(r.spec.source, Source::Npx(_)) {
                    crate::install::Ecosystem::Npm
                } else {
                    crate::install::Ecosystem::PyPi
                };
                let (base, embedded) =
                    p.base_and_embedded(ecosystem == crate::install::Ecosystem::Npm);
                let (base, embedded) = (base.to_string(), embedded.map(str::to_string));
                let target = crate::install::newest_version(
                    home,
                    ecosystem,
                    &base,
                    to.or(embedded.as_deref()),
                )?;
                if p.pinned() && p.version.as_deref() == Some(target.as_str()) {
                    println!("✓ {name}: {} {target} is pinned already", escape_all(&base));
                    continue;
                }
                let old = match &p.version {
                    Some(v) if p.pinned() => v.clone(),
                    _ => "unpinned (fetched by npx/uvx at every start)".into(),
                };
                p.package = base;
                p.version = Some(target.clone());
                p.integrity = None;
                format!("{name}: {} {old} → {target}", escape_all(&p.package))
            }
            _ if to.is_some() => {
                return Err(Error::usage(
                    format!("'{name}' is not an npm or PyPI package, so it has no version to pin"),
                    format!("see it with: crux mcp show {name}"),
                ))
            }
            Source::Command { .. } | Source::Local { .. } if !r.resolved() => {
                let now = crate::registration::prepare(home, name, spec.clone())?;
                let resolved = now.registered.command_line().unwrap_or_default();
                let program = r
                    .command_line()
                    .unwrap_or_default()
                    .first()
                    .cloned()
                    .unwrap_or_default();
                plan.push((
                    name.clone(),
                    r.clone(),
                    spec,
                    format!(
                        "{name}: `{}` resolved once, instead of at every start: {}",
                        escape_all(&program),
                        show_command(&resolved)
                    ),
                ));
                continue;
            }
            _ => {
                if !all {
                    println!("✓ {name}: nothing to upgrade");
                }
                continue;
            }
        };
        plan.push((name.clone(), r, spec, change));
    }
    if plan.is_empty() {
        return Ok(());
    }
    for (_, _, _, change) in &plan {
        println!("{change}");
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::usage(
                "upgrading needs a confirmation, and there is no terminal to ask on",
                "read the changes above, then run the same command with --yes",
            ));
        }
        if !crate::registration::confirm("Upgrade?")? {
            println!("Nothing changed.");
            return Ok(());
        }
    }
    for (name, old, spec, change) in plan {
        let mut pending = crate::registration::prepare(home, &name, spec)?;
        pending.registered.added_at = old.added_at.clone();
        pending.registered.setup_ran_at = old.setup_ran_at.clone();
        let new_fingerprint = pending.registered.fingerprint();
        let registered = {
            let _lock = home.lock()?;
            let mut registry = Registry::load(home)?;
            if registry.get(&name).map(Registered::fingerprint) != Some(old.fingerprint()) {
                return Err(Error::failed(
                    format!("'{name}' changed while it was being upgraded; nothing was replaced"),
                    format!("run it again: crux mcp upgrade {name}"),
                ));
            }
            let registered = pending.commit(home, &mut registry)?;
            // The user approved this change: what went to the old registration goes to this one.
            let mut index = Index::load(home)?;
            index.rebind(name.as_str(), &old.fingerprint(), &new_fingerprint);
            index.save(home)?;
            registered
        };
        println!("✓ {change}");
        if registered.command_line() != old.command_line() {
            println!(
                "  runs: {}",
                show_command(&registered.command_line().unwrap_or_default())
            );
            println!("  Projects using '{name}' pick it up with: crux project sync --all");
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
        if !crate::registration::confirm(&format!("Remove '{name}'{what}?"))? {
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
    if crate::install::remove(home, &name)? {
        println!(
            "✓ Deleted its install ({})",
            crate::install::dir_of(home, &name).display()
        );
    }
    println!("✓ Removed '{name}'");
    let projects = crate::project::Projects::load(home)?;
    let using: Vec<String> = projects
        .projects
        .iter()
        .filter(|(_, t)| {
            t.generated
                .iter()
                .chain(t.hosts.values().flatten())
                .any(|g| g == name.as_str())
        })
        .map(|(dir, _)| dir.display().to_string())
        .collect();
    if !using.is_empty() {
        println!(
            "Projects still list it: {}; remove it there with: crux project uninstall {name}",
            using.join(", ")
        );
    }
    for (host, names) in &projects.user_hosts {
        if names.iter().any(|n| n == name.as_str()) {
            println!(
                "{} still lists it; remove it there with: crux host remove {host} {name}",
                host.title()
            );
        }
    }
    if keep_secrets && !stored.is_empty() {
        println!(
            "Its {} credential(s) stay stored (crux mcp auth --list {name}).",
            stored.len()
        );
    }
    Ok(())
}

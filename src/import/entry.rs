//! One server entry of a host's config, in whatever shape that host gives it, read as a crux
//! definition: where it comes from (an `npx`/`uvx` package becomes a pinned install, as
//! `crux mcp add` pins), its arguments and settings, and every credential in it — environment
//! values, headers, URL user info and query parameters, `--token`-style arguments and
//! token-shaped words — each replaced in the definition by a keychain variable. References
//! (`${VAR}`, `${VAR:-default}`, `${env:VAR}`, `${input:id}`) take their value from the
//! current environment, or become a variable to store later.

use super::classify::{self, Class, Overrides};
use crate::hosts::HostId;
use crate::registry::{AuthSpec, BearerSpec, Package, ServerSpec, Source};
use crate::secret::Secret;
use serde_json::Value;
use std::collections::BTreeMap;

/// Where a credential's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Written in the host file.
    Literal,
    /// A reference, filled from the current environment (the variable named).
    Environment(String),
    /// A reference with a default, not set: the default was in the file.
    Default(String),
    /// A reference that is not set here: the variable is to be stored later.
    Unset(String),
}

/// One credential found in an entry.
#[derive(Debug, Clone)]
pub struct Found {
    /// The keychain variable it becomes.
    pub var: String,
    /// Where in the entry: `env GITHUB_TOKEN`, `header Authorization`, `URL query api_key`…
    pub place: String,
    pub origin: Origin,
    /// Why it is a credential.
    pub why: String,
    /// The value, when there is one (masked in every output).
    pub value: Option<Secret>,
}

/// A value kept as a non-secret setting, or left out, and why.
#[derive(Debug, Clone)]
pub struct Setting {
    pub name: String,
    pub place: String,
    pub value: Option<String>,
    pub why: String,
}

/// A server read from a host file, as crux would register it.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub name: String,
    pub spec: ServerSpec,
    pub credentials: Vec<Found>,
    pub settings: Vec<Setting>,
}

/// A `${…}` reference in a value.
enum Reference<'a> {
    /// `${VAR}`, `${VAR:-default}`, `${env:VAR}`.
    Env(&'a str, Option<&'a str>),
    /// VS Code's `${input:id}`.
    Input(&'a str),
}

fn parse_reference(inner: &str) -> Option<Reference<'_>> {
    if let Some(var) = inner.strip_prefix("env:") {
        return Some(Reference::Env(var.trim(), None));
    }
    if let Some(id) = inner.strip_prefix("input:") {
        return Some(Reference::Input(id.trim()));
    }
    let (var, default) = match inner.split_once(":-") {
        Some((v, d)) => (v, Some(d)),
        None => (inner, None),
    };
    let ok = !var.is_empty()
        && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !var.starts_with(|c: char| c.is_ascii_digit());
    ok.then_some(Reference::Env(var, default))
}

/// A variable name made from any text: upper case, `_` for everything else.
pub fn var_name(text: &str) -> String {
    let mut name: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    while name.contains("__") {
        name = name.replace("__", "_");
    }
    let name = name.trim_matches('_').to_string();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("V_{name}")
    } else {
        name.chars().take(100).collect()
    }
}

/// The text with every reference filled: `Ok` with the value and the variables it came from,
/// or `Err` with the name of a variable that is not set (and has no default).
/// `None` when the text holds no reference.
fn expand(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Option<Result<(String, Origin), String>> {
    if !text.contains("${") {
        return None;
    }
    let mut out = String::new();
    let mut rest = text;
    let mut from_env: Vec<String> = Vec::new();
    let mut defaulted: Vec<String> = Vec::new();
    let mut any = false;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start + 2..].find('}') else {
            break;
        };
        let inner = &rest[start + 2..start + 2 + len];
        let Some(reference) = parse_reference(inner) else {
            out.push_str(&rest[..start + 2 + len + 1]);
            rest = &rest[start + 2 + len + 1..];
            continue;
        };
        any = true;
        out.push_str(&rest[..start]);
        let (var, default) = match reference {
            Reference::Env(v, d) => (v.to_string(), d),
            // VS Code asks for an input when it starts the server: never the environment.
            Reference::Input(id) => return Some(Err(var_name(id))),
        };
        match (lookup(&var), default) {
            (Some(value), _) => {
                out.push_str(&value);
                from_env.push(var);
            }
            (None, Some(d)) => {
                out.push_str(d);
                defaulted.push(var);
            }
            (None, None) => return Some(Err(var)),
        }
        rest = &rest[start + 2 + len + 1..];
    }
    if !any {
        return None;
    }
    out.push_str(rest);
    // Every variable the value came from is shown, so a second reference cannot hide.
    let origin = if defaulted.is_empty() {
        Origin::Environment(from_env.join(", "))
    } else {
        let mut all = from_env;
        all.extend(defaulted);
        Origin::Default(all.join(", "))
    };
    Some(Ok((out, origin)))
}

/// The only reference a text is made of, with the variable it names (`${GITHUB_TOKEN}`).
fn sole_reference(text: &str) -> Option<String> {
    let inner = text.trim().strip_prefix("${")?.strip_suffix('}')?;
    match parse_reference(inner)? {
        Reference::Env(v, _) => Some(v.to_string()),
        Reference::Input(id) => Some(var_name(id)),
    }
}

/// A header value split into the words before its credential (`Bearer `) and the credential
/// itself: before a reference when there is one, else after a short first word.
fn split_prefix(value: &str) -> (&str, &str) {
    if let Some(start) = value.find("${") {
        return value.split_at(start);
    }
    match value.split_once(' ') {
        Some((word, rest))
            if !word.is_empty()
                && word.len() < 16
                && word.chars().all(|c| c.is_ascii_alphabetic())
                && !rest.trim().is_empty()
                && !rest.contains(' ') =>
        {
            value.split_at(word.len() + 1)
        }
        _ => ("", value),
    }
}

/// A header that is not a credential, as a setting and the value sent (references filled).
fn settings_header(
    header: &str,
    value: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> (Option<Setting>, Option<String>) {
    let sent = match expand(value, lookup) {
        None => Some(value.to_string()),
        Some(Ok((v, _))) => Some(v),
        Some(Err(_)) => None,
    };
    let why = match &sent {
        Some(_) => "a header that does not look like a credential".to_string(),
        None => "refers to a variable that is not set here: left out".to_string(),
    };
    (
        Some(Setting {
            name: header.to_string(),
            place: format!("header {header}"),
            value: sent.clone(),
            why,
        }),
        sent,
    )
}

/// Where an entry's file is: what the host's own variables stand for.
pub struct Context<'a> {
    /// The project folder, for a project's file.
    pub dir: Option<&'a std::path::Path>,
    pub home: Option<std::path::PathBuf>,
}

/// A host's own syntax of references, as `${VAR}`: OpenCode's `{env:VAR}`, Gemini CLI's bare
/// `$VAR`; and the editor variables (`${workspaceFolder}`, `${userHome}`) filled in, as the
/// host would. `Err` for what crux cannot carry (`{file:…}`).
fn normalize(host: HostId, text: &str, ctx: &Context) -> Result<String, String> {
    let mut text = text.to_string();
    if host == HostId::OpenCode {
        if text.contains("{file:") {
            return Err(
                "it reads a value from a file ({file:…}): move it with crux mcp add … --keychain"
                    .into(),
            );
        }
        text = text.replace("{env:", "${");
    }
    if host == HostId::Gemini {
        let mut out = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '$'
                && chars
                    .peek()
                    .is_some_and(|n| n.is_ascii_alphabetic() || *n == '_')
            {
                let mut name = String::new();
                while let Some(n) = chars
                    .peek()
                    .filter(|n| n.is_ascii_alphanumeric() || **n == '_')
                {
                    name.push(*n);
                    chars.next();
                }
                out.push_str(&format!("${{{name}}}"));
            } else {
                out.push(c);
            }
        }
        text = out;
    }
    let folder = |what: &str| -> Result<String, String> {
        ctx.dir
            .map(|d| d.to_string_lossy().into_owned())
            .ok_or_else(|| {
                format!(
                    "it refers to ${{{what}}}, which a user-wide server has no single value for"
                )
            })
    };
    for (var, value) in [
        ("workspaceFolder", None),
        ("workspaceRoot", None),
        (
            "userHome",
            ctx.home.as_ref().map(|h| h.to_string_lossy().into_owned()),
        ),
        ("pathSeparator", Some("/".to_string())),
    ] {
        let token = format!("${{{var}}}");
        if text.contains(&token) {
            let value = match value {
                Some(v) => v,
                None => folder(var)?,
            };
            text = text.replace(&token, &value);
        }
    }
    Ok(text)
}

fn normalize_all(host: HostId, value: &Value, ctx: &Context) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => Value::String(normalize(host, s, ctx)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| normalize_all(host, v, ctx))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), normalize_all(host, v, ctx)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// The parts of a host entry crux needs, whatever the host's shape.
#[derive(Debug, Default)]
struct Raw {
    command: Option<String>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    url: Option<String>,
    headers: Vec<(String, String)>,
    /// Headers whose value comes from a host environment variable (Codex).
    env_headers: Vec<(String, String)>,
    /// Codex's `bearer_token_env_var`.
    bearer_env: Option<String>,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn pairs(v: Option<&Value>) -> Vec<(String, String)> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), v)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn raw(host: HostId, entry: &Value) -> Result<Raw, String> {
    let Some(obj) = entry.as_object() else {
        return Err("the entry is not an object".into());
    };
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
    // What crux's entries cannot carry: such an entry stays as the user wrote it.
    if obj.get("disabled").and_then(Value::as_bool) == Some(true)
        || obj.get("enabled").and_then(Value::as_bool) == Some(false)
    {
        return Err("it is disabled in the host (enable it, or delete it, then import)".into());
    }
    if obj.contains_key("cwd") {
        return Err("it sets a working directory (cwd), which crux's entries do not carry".into());
    }
    if obj.contains_key("envFile") {
        return Err("its environment comes from a file (envFile): move those values with crux mcp add … --keychain".into());
    }
    let sse = text("type").is_some_and(|t| t.eq_ignore_ascii_case("sse"))
        || (host == HostId::Gemini && obj.contains_key("url") && !obj.contains_key("httpUrl"));
    if sse {
        return Err(
            "an SSE server (the 2024-11-05 transport); crux's bridge speaks Streamable HTTP".into(),
        );
    }
    let mut raw = Raw {
        env: pairs(obj.get("env").or_else(|| obj.get("environment"))),
        headers: pairs(obj.get("headers").or_else(|| obj.get("http_headers"))),
        env_headers: pairs(obj.get("env_http_headers")),
        bearer_env: text("bearer_token_env_var"),
        url: text("url")
            .or_else(|| text("httpUrl"))
            .or_else(|| text("serverUrl")),
        ..Raw::default()
    };
    match obj.get("command") {
        Some(Value::String(c)) => {
            raw.command = Some(c.clone());
            raw.args = strings(obj.get("args"));
        }
        // OpenCode: the command line as one array.
        Some(Value::Array(_)) => {
            let mut line = strings(obj.get("command"));
            if line.is_empty() {
                return Err("its command is empty".into());
            }
            raw.command = Some(line.remove(0));
            raw.args = line;
        }
        // Zed's older shape: {"command": {"path", "args", "env"}}.
        Some(Value::Object(c)) if host == HostId::Zed => {
            raw.command = c.get("path").and_then(Value::as_str).map(str::to_string);
            raw.args = strings(c.get("args"));
            raw.env.extend(pairs(c.get("env")));
        }
        Some(_) => return Err("its command is not text".into()),
        None => {}
    }
    if raw.command.is_none() && raw.url.is_none() {
        return Err("it has neither a command nor a URL".into());
    }
    Ok(raw)
}

/// The source of a stdio command line: `npx [-y] <package> …` and `uvx <package> …` become
/// packages crux installs and pins; anything else is the command itself.
fn source_of(command: &str, args: &[String]) -> Result<(Source, Vec<String>), String> {
    let program = command.rsplit('/').next().unwrap_or(command);
    let tool = match program {
        "npx" | "npx.cmd" => Some(true),
        "uvx" => Some(false),
        _ => None,
    };
    if let Some(npm) = tool {
        let mut i = 0;
        while i < args.len() && matches!(args[i].as_str(), "-y" | "--yes" | "-q" | "--quiet") {
            i += 1;
        }
        let Some(spec) = args.get(i).filter(|a| !a.starts_with('-')) else {
            return Err(format!(
                "it runs {program} with options crux does not pin ({}): register it with crux mcp add <MCP> --{}",
                args.get(i).map(String::as_str).unwrap_or("no package"),
                if npm { "npx <package>" } else { "uvx <package>" }
            ));
        };
        {
            let (name, version) = if npm {
                crate::registry::split_npm_spec(spec)
            } else {
                crate::registry::split_pypi_spec(spec)
            };
            let mut p = Package::new(name);
            p.version = version
                .filter(|v| !v.is_empty() && *v != "latest")
                .map(str::to_string);
            let rest = args[i + 1..].to_vec();
            let source = if npm { Source::Npx(p) } else { Source::Uvx(p) };
            return Ok((source, rest));
        }
    }
    // Code found through the folder the host starts the server in: a module (`python -m`),
    // a project runner (`uv run`), which a registration for every folder must not follow.
    let python = program.starts_with("python");
    if (python && args.iter().any(|a| a == "-m" || a.starts_with("-m")))
        || (program == "uv" && args.first().is_some_and(|a| a == "run"))
    {
        return Err(format!(
            "{program} {} loads code from the folder the host starts it in: register it with crux mcp add <MCP> --uvx <package> or --command <absolute path>",
            args.first().map(String::as_str).unwrap_or_default()
        ));
    }
    Ok((
        Source::Command {
            command: command.to_string(),
        },
        args.to_vec(),
    ))
}

/// An argument that names a file next to the host file (`dist/index.js`), made absolute: a
/// registration is for every folder, and the same relative path elsewhere is other code.
fn absolute_arg(word: &str, base: Option<&std::path::Path>) -> String {
    let Some(base) = base else {
        return word.to_string();
    };
    if word.starts_with('-') || word.starts_with('/') || word.contains("://") || word.is_empty() {
        return word.to_string();
    }
    match std::fs::canonicalize(base.join(word)) {
        Ok(full) if full.is_file() => full.to_string_lossy().into_owned(),
        _ => word.to_string(),
    }
}

/// Gives every new variable a name no other variable of the server has.
struct Names(Vec<String>);

impl Names {
    fn take(&mut self, wanted: &str) -> String {
        let base = var_name(wanted);
        let mut name = base.clone();
        let mut n = 2;
        while self.0.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.0.push(name.clone());
        name
    }
}

/// Reads one entry of `host`'s file as a crux definition. `Err` says why it cannot be
/// imported (in words for the plan).
pub fn read(
    host: HostId,
    name: &str,
    entry: &Value,
    overrides: &Overrides,
    lookup: &dyn Fn(&str) -> Option<String>,
    ctx: &Context,
) -> Result<Candidate, String> {
    let entry = &normalize_all(host, entry, ctx)?;
    let raw = raw(host, entry)?;
    let mut credentials = Vec::new();
    let mut settings = Vec::new();
    let known = [
        "command",
        "args",
        "env",
        "environment",
        "type",
        "url",
        "httpUrl",
        "serverUrl",
        "headers",
        "http_headers",
        "env_http_headers",
        "bearer_token_env_var",
        "env_vars",
        "disabled",
        "enabled",
    ];
    let dropped: Vec<&str> = entry
        .as_object()
        .map(|o| {
            o.keys()
                .map(String::as_str)
                .filter(|k| !known.contains(k))
                .collect()
        })
        .unwrap_or_default();
    if !dropped.is_empty() {
        settings.push(Setting {
            name: dropped.join(", "),
            place: "entry".into(),
            value: None,
            why: "host options crux's entry does not carry: set them again in the host if you need them".into(),
        });
    }
    let mut names = Names(raw.env.iter().map(|(k, _)| var_name(k)).collect());
    let mut auth = AuthSpec::default();

    // A value found at `place`: its text after references are filled, or the variable to
    // store later. `Some(var)` when it is a credential.
    let credential = |var: String,
                      place: String,
                      text: &str,
                      header: bool,
                      forced: Option<Class>,
                      credentials: &mut Vec<Found>,
                      settings: &mut Vec<Setting>|
     -> Option<(String, Option<String>)> {
        let (value, origin) = match expand(text, lookup) {
            None => (Some(text.to_string()), Origin::Literal),
            Some(Ok((v, o))) => (Some(v), o),
            Some(Err(missing)) => (None, Origin::Unset(missing)),
        };
        let label = place.strip_prefix("header ").unwrap_or(&var);
        let said_not_secret = overrides.decide(name, label).is_some_and(|c| !c.secret);
        // A value from a reference (the environment, a default) is never written to a file as
        // a setting: the host file held only its name, and so will crux's.
        let referenced = origin != Origin::Literal && !said_not_secret;
        let class = match forced {
            Some(class) => class,
            None if referenced => Class {
                secret: true,
                why: "a reference: its value stays out of every file".into(),
            },
            None => classify::classify(
                overrides,
                name,
                label,
                value.as_deref().unwrap_or(""),
                header,
            ),
        };
        let unset_secret = value.is_none() && !said_not_secret;
        if class.secret && value.as_deref().is_some_and(|v| !v.is_empty()) || unset_secret {
            let why = if unset_secret && !class.secret {
                "a reference to a variable that is not set here".to_string()
            } else {
                class.why
            };
            credentials.push(Found {
                var: var.clone(),
                place,
                origin,
                why,
                value: value.as_deref().map(Secret::new),
            });
            return Some((var, value));
        }
        settings.push(Setting {
            name: var,
            place,
            value: value.clone(),
            why: match (&value, &origin) {
                (None, Origin::Unset(v)) => {
                    format!("${{{v}}} is not set here: left to the host's environment")
                }
                (Some(v), _) if v.is_empty() => "empty: left out".into(),
                _ => class.why,
            },
        });
        None
    };

    let spec_source;
    let mut args = Vec::new();
    let mut env = BTreeMap::new();
    if let Some(url) = &raw.url {
        // A remote server: credentials in its URL and headers.
        let mut template = url.clone();
        if let Some((scheme, rest)) = url.split_once("://") {
            let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            if let Some(at) = rest[..authority_end].rfind('@') {
                let userinfo = &rest[..at];
                let var = names.take("URL_USERINFO");
                let found = credential(
                    var.clone(),
                    "URL user info".into(),
                    userinfo,
                    false,
                    Some(Class {
                        secret: true,
                        why: "a user name and password in the URL".into(),
                    }),
                    &mut credentials,
                    &mut settings,
                );
                if let Some((var, _)) = found {
                    template = format!(
                        "{scheme}://{}@{}",
                        crate::template::placeholder(&var),
                        &rest[at + 1..]
                    );
                    auth.keychain.push(var);
                }
            }
        }
        if let Some(q) = template.find('?') {
            let (head, query) = template.split_at(q + 1);
            let (query, fragment) = match query.find('#') {
                Some(f) => (&query[..f], &query[f..]),
                None => (query, ""),
            };
            let mut parts = Vec::new();
            for part in query.split('&') {
                let Some((k, v)) = part.split_once('=') else {
                    parts.push(part.to_string());
                    continue;
                };
                let forced = overrides.decide(name, k).or_else(|| {
                    (classify::secret_query(k) && !v.is_empty()).then(|| Class {
                        secret: true,
                        why: format!("the query parameter {k}"),
                    })
                });
                let var = var_name(k);
                let found = credential(
                    var.clone(),
                    format!("URL query {k}"),
                    v,
                    false,
                    forced,
                    &mut credentials,
                    &mut settings,
                );
                match found {
                    Some(_) => {
                        let var = names.take(&var);
                        if let Some(last) = credentials.last_mut() {
                            last.var = var.clone();
                        }
                        parts.push(format!("{k}={}", crate::template::placeholder(&var)));
                        auth.keychain.push(var);
                    }
                    None => {
                        settings.pop();
                        parts.push(part.to_string());
                    }
                }
            }
            template = format!("{head}{}{fragment}", parts.join("&"));
        }
        let mut secret_headers = Vec::new();
        for (header, value) in &raw.headers {
            // The text before the credential (`Bearer `) stays in the template.
            let (prefix, body) = split_prefix(value);
            let var = match sole_reference(body) {
                Some(v) => v,
                None if header.eq_ignore_ascii_case("authorization") => {
                    format!("{}_TOKEN", var_name(name))
                }
                None => var_name(header),
            };
            let found = credential(
                var,
                format!("header {header}"),
                body,
                true,
                overrides.decide(name, header),
                &mut credentials,
                &mut settings,
            );
            match found {
                Some((var, _)) => {
                    let var = if auth.keychain.contains(&var) {
                        names.take(&var)
                    } else {
                        var
                    };
                    if let Some(last) = credentials.last_mut() {
                        last.var = var.clone();
                    }
                    secret_headers.push((header.clone(), prefix.to_string(), var.clone()));
                    auth.keychain.push(var);
                }
                None => {
                    if settings.pop().is_some() {
                        // Not a credential: the header is sent as it is written.
                        let mut kept = settings_header(header, value, lookup);
                        settings.push(kept.0.take().expect("a setting"));
                        if let Some(v) = kept.1 {
                            auth.headers.insert(header.clone(), v);
                        }
                    }
                }
            }
        }
        for (header, env_var) in &raw.env_headers {
            let found = credential(
                env_var.clone(),
                format!("header {header} (from ${env_var})"),
                &format!("${{{env_var}}}"),
                true,
                Some(Class {
                    secret: true,
                    why: format!("{header} header"),
                }),
                &mut credentials,
                &mut settings,
            );
            if let Some((var, _)) = found {
                secret_headers.push((header.clone(), String::new(), var.clone()));
                auth.keychain.push(var);
            }
        }
        if let Some(env_var) = &raw.bearer_env {
            let found = credential(
                env_var.clone(),
                format!("bearer token (from ${env_var})"),
                &format!("${{{env_var}}}"),
                true,
                Some(Class {
                    secret: true,
                    why: "Authorization header".into(),
                }),
                &mut credentials,
                &mut settings,
            );
            if let Some((var, _)) = found {
                secret_headers.push(("Authorization".into(), "Bearer ".into(), var.clone()));
                auth.keychain.push(var);
            }
        }
        // One credential header and nothing else: crux's bearer credential (the form `crux mcp
        // add --bearer` makes, which a 401 re-reads). Anything more: header templates.
        let url_vars = !auth.keychain.is_empty() && secret_headers.len() < auth.keychain.len();
        if secret_headers.len() == 1 && !url_vars && auth.headers.is_empty() {
            let (header, prefix, var) = secret_headers.remove(0);
            auth.keychain.clear();
            auth.bearer = Some(BearerSpec {
                var,
                header_name: header,
                header_prefix: prefix.trim_end().to_string(),
            });
        } else {
            for (header, prefix, var) in secret_headers {
                auth.headers.insert(
                    header,
                    format!("{prefix}{}", crate::template::placeholder(&var)),
                );
            }
        }
        spec_source = Source::Url { url: template };
        if !raw.env.is_empty() || raw.command.is_some() {
            settings.push(Setting {
                name: "command/env".into(),
                place: "entry".into(),
                value: None,
                why: "a remote server's command and environment are not used".into(),
            });
        }
    } else {
        let command = raw.command.clone().expect("raw checked it");
        let (source, rest) = source_of(&command, &raw.args)?;
        // A variable that makes the server load other code (`NODE_OPTIONS=--require ./x.js`,
        // `LD_PRELOAD`, `PYTHONPATH`, `PATH`) would become part of a registration every folder
        // shares: from a file crux did not write, it is the user's to add by hand.
        if let Some((key, _)) = raw
            .env
            .iter()
            .find(|(k, _)| crate::launch::loads_code(k) || k == "PATH")
        {
            return Err(format!(
                "it sets {}, which makes the server load other code: if you trust it, register it by hand (crux mcp add <MCP> … --env {}=…)",
                crate::error::sanitize(key),
                crate::error::sanitize(key)
            ));
        }
        let base = ctx
            .dir
            .map(std::path::Path::to_path_buf)
            .or_else(|| ctx.home.clone());
        let rest: Vec<String> = match &source {
            Source::Command { .. } => rest
                .iter()
                .map(|a| absolute_arg(a, base.as_deref()))
                .collect(),
            _ => rest,
        };
        spec_source = source;
        // Arguments: `--token X`, `--token=X`, token-shaped words and references.
        let mut i = 0;
        while i < rest.len() {
            let word = &rest[i];
            let mut push_credential =
                |var: String,
                 place: String,
                 text: &str,
                 forced: Option<Class>,
                 credentials: &mut Vec<Found>,
                 settings: &mut Vec<Setting>| {
                    let found = credential(
                        var.clone(),
                        place,
                        text,
                        false,
                        forced,
                        credentials,
                        settings,
                    );
                    match found {
                        Some(_) => {
                            let var = names.take(&var);
                            if let Some(last) = credentials.last_mut() {
                                last.var = var.clone();
                            }
                            auth.keychain.push(var.clone());
                            auth.in_args.push(var.clone());
                            Some(crate::template::placeholder(&var))
                        }
                        None => {
                            let value = settings.last().and_then(|s| s.value.clone());
                            settings.pop();
                            value
                        }
                    }
                };
            // `--header "Authorization: Bearer …"` (mcp-remote and other proxies): the header
            // whole is the credential.
            if matches!(word.as_str(), "--header" | "-H" | "--headers") {
                if let Some(next) = rest.get(i + 1) {
                    if let Some((header, value)) = next.split_once(':') {
                        let header = header.trim();
                        let why = if classify::secret_header(header) {
                            Some(format!("the {header} header"))
                        } else {
                            classify::secret_by_shape(value)
                        };
                        if let Some(why) = why.filter(|_| !value.trim().is_empty()) {
                            let var = if header.eq_ignore_ascii_case("authorization") {
                                format!("{}_TOKEN", var_name(name))
                            } else {
                                var_name(header)
                            };
                            let text = push_credential(
                                var,
                                format!("argument after {word}"),
                                next,
                                Some(Class { secret: true, why }),
                                &mut credentials,
                                &mut settings,
                            );
                            args.push(word.clone());
                            args.push(text.unwrap_or_else(|| next.clone()));
                            i += 2;
                            continue;
                        }
                    }
                }
            }
            // `--token=X` and `--token X`: the value of a credential flag.
            let inline = word
                .split_once('=')
                .filter(|(f, _)| classify::secret_flag(f));
            let separate = rest
                .get(i + 1)
                .filter(|n| classify::secret_flag(word) && !n.starts_with('-') && !n.is_empty());
            if inline.is_some() || separate.is_some() {
                let (flag, value, place) = match (inline, separate) {
                    (Some((flag, value)), _) => (flag, value, format!("argument {flag}=")),
                    (None, Some(next)) => (
                        word.as_str(),
                        next.as_str(),
                        format!("argument after {word}"),
                    ),
                    (None, None) => unreachable!("one of them"),
                };
                let bare = flag.trim_start_matches('-');
                let forced = overrides.decide(name, bare).or(Some(Class {
                    secret: true,
                    why: format!("the value of {flag}"),
                }));
                let text = push_credential(
                    var_name(bare),
                    place,
                    value,
                    forced,
                    &mut credentials,
                    &mut settings,
                )
                .unwrap_or_else(|| value.to_string());
                if inline.is_some() {
                    args.push(format!("{flag}={text}"));
                    i += 1;
                } else {
                    args.push(word.clone());
                    args.push(text);
                    i += 2;
                }
                continue;
            }
            // A token-shaped word, a reference, or a word with a reference inside
            // (`--conn=postgres://u:${PGPASSWORD}@h/db`): the whole word becomes the credential,
            // so its value stays out of every file.
            let referenced = sole_reference(word);
            let shaped = classify::secret_by_shape(word);
            let inside = match (&referenced, &shaped) {
                (None, None) => expand(word, lookup),
                _ => None,
            };
            if referenced.is_some() || shaped.is_some() || inside.is_some() {
                let var = match (referenced, &shaped, inside) {
                    (Some(v), _, _) => v,
                    (None, Some(_), _) => "ARG_TOKEN".into(),
                    (None, None, Some(Err(v))) => v,
                    (None, None, Some(Ok((_, Origin::Environment(v) | Origin::Default(v))))) => {
                        v.split(", ").next().unwrap_or("ARG").to_string()
                    }
                    (None, None, _) => "ARG".into(),
                };
                let forced = shaped.map(|why| Class { secret: true, why });
                let text = push_credential(
                    var,
                    format!("argument {}", i + 1),
                    word,
                    forced,
                    &mut credentials,
                    &mut settings,
                );
                args.push(text.unwrap_or_else(|| word.clone()));
                i += 1;
                continue;
            }
            args.push(word.clone());
            i += 1;
        }
        for (key, value) in &raw.env {
            let var = var_name(key);
            if var != *key {
                settings.push(Setting {
                    name: key.clone(),
                    place: format!("env {key}"),
                    value: None,
                    why: "not a variable name crux can use: left out".into(),
                });
                continue;
            }
            let found = credential(
                key.clone(),
                format!("env {key}"),
                value,
                false,
                None,
                &mut credentials,
                &mut settings,
            );
            match found {
                Some(_) => auth.keychain.push(key.clone()),
                None => {
                    if let Some(Setting { value: Some(v), .. }) = settings.last() {
                        if !v.is_empty() {
                            env.insert(key.clone(), v.clone());
                        }
                    }
                }
            }
        }
        if let Some(env_vars) = entry.get("env_vars") {
            // Codex passes the server these variables of its own environment: each is a
            // reference, its value taken from the environment now (or stored later).
            for v in strings(Some(env_vars)) {
                if var_name(&v) != v || env.contains_key(&v) || auth.keychain.contains(&v) {
                    continue;
                }
                let found = credential(
                    v.clone(),
                    format!("env_vars {v}"),
                    &format!("${{{v}}}"),
                    false,
                    None,
                    &mut credentials,
                    &mut settings,
                );
                if found.is_some() {
                    auth.keychain.push(v);
                }
            }
        }
    }
    let spec = ServerSpec {
        source: spec_source,
        args,
        tags: Vec::new(),
        env,
        allow_env: Vec::new(),
        auth,
    };
    Ok(Candidate {
        name: name.to_string(),
        spec,
        credentials,
        settings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read_with(host: HostId, entry: Value, env: &[(&str, &str)]) -> Candidate {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let lookup = move |v: &str| env.iter().find(|(k, _)| k == v).map(|(_, x)| x.clone());
        let ctx = Context {
            dir: Some(std::path::Path::new("/nonexistent-project")),
            home: Some("/nonexistent-home".into()),
        };
        read(host, "srv", &entry, &Overrides::default(), &lookup, &ctx).unwrap()
    }

    fn token() -> String {
        format!("ghp_{}", "Zq8Lr2Vp0Nx7Tw4Kb9Jc1Hd6Fs3")
    }

    #[test]
    fn stdio_env_args_and_references() {
        let t = token();
        let c = read_with(
            HostId::ClaudeCode,
            json!({"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github@2025.4.8", "--api-key", t, "--port", "8"],
                   "env": {"GITHUB_TOKEN": t, "LOG_LEVEL": "debug", "OTHER_TOKEN": "${FROM_ENV}", "UNSET_KEY": "${NOPE}", "MODE": "${NOPE2:-fast}"}}),
            &[("FROM_ENV", "env-value")],
        );
        match &c.spec.source {
            Source::Npx(p) => {
                assert_eq!(p.package, "@modelcontextprotocol/server-github");
                assert_eq!(p.version.as_deref(), Some("2025.4.8"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            c.spec.args,
            vec!["--api-key", "{crux:API_KEY}", "--port", "8"]
        );
        assert_eq!(c.spec.auth.in_args, vec!["API_KEY"]);
        assert_eq!(
            c.spec.env.get("LOG_LEVEL").map(String::as_str),
            Some("debug")
        );
        // A reference's value (here its default) stays out of the files too.
        assert!(!c.spec.env.contains_key("MODE"));
        let vars: Vec<&str> = c.credentials.iter().map(|f| f.var.as_str()).collect();
        assert_eq!(
            vars,
            vec![
                "API_KEY",
                "GITHUB_TOKEN",
                "OTHER_TOKEN",
                "UNSET_KEY",
                "MODE"
            ]
        );
        assert_eq!(c.credentials[4].origin, Origin::Default("NOPE2".into()));
        let other = &c.credentials[2];
        assert_eq!(other.origin, Origin::Environment("FROM_ENV".into()));
        assert_eq!(other.value.as_ref().unwrap().expose(), "env-value");
        assert!(c.credentials[3].value.is_none());
        assert!(c.spec.auth.keychain.contains(&"UNSET_KEY".to_string()));
        assert!(!format!("{:?}", c.spec).contains(&t));
    }

    #[test]
    fn remote_headers_url_and_bearer() {
        let t = token();
        let c = read_with(
            HostId::ClaudeCode,
            json!({"type": "http", "url": "https://mcp.example.com/mcp", "headers": {"Authorization": format!("Bearer {t}")}}),
            &[],
        );
        let b = c.spec.auth.bearer.as_ref().unwrap();
        assert_eq!(
            (
                b.var.as_str(),
                b.header_name.as_str(),
                b.header_prefix.as_str()
            ),
            ("SRV_TOKEN", "Authorization", "Bearer")
        );
        assert_eq!(c.credentials[0].value.as_ref().unwrap().expose(), t);

        let c = read_with(
            HostId::Gemini,
            json!({"httpUrl": "https://user:pw@mcp.example.com/mcp?region=eu&api_key=abc123", "headers": {"X-Api-Key": "k-1", "X-Region": "eu"}}),
            &[],
        );
        assert_eq!(
            c.spec.url(),
            Some(
                "https://{crux:URL_USERINFO}@mcp.example.com/mcp?region=eu&api_key={crux:API_KEY}"
            )
        );
        assert_eq!(
            c.spec.auth.headers.get("X-Api-Key").map(String::as_str),
            Some("{crux:X_API_KEY}")
        );
        assert_eq!(
            c.spec.auth.headers.get("X-Region").map(String::as_str),
            Some("eu")
        );
        assert!(c.spec.auth.bearer.is_none());
        let values: Vec<&str> = c
            .credentials
            .iter()
            .map(|f| f.value.as_ref().unwrap().expose())
            .collect();
        assert_eq!(values, vec!["user:pw", "abc123", "k-1"]);
    }

    #[test]
    fn host_syntaxes_and_commands_that_follow_the_folder() {
        let c = read_with(
            HostId::OpenCode,
            json!({"type": "local", "command": ["srv"], "environment": {"K": "{env:OPENAI_API_KEY}"}}),
            &[("OPENAI_API_KEY", "from-env")],
        );
        assert_eq!(
            c.credentials[0].value.as_ref().unwrap().expose(),
            "from-env"
        );
        let c = read_with(
            HostId::Gemini,
            json!({"command": "srv", "env": {"K": "$GEMINI_KEY", "DIR": "${workspaceFolder}/x"}}),
            &[("GEMINI_KEY", "g-1")],
        );
        assert_eq!(c.credentials[0].value.as_ref().unwrap().expose(), "g-1");
        assert_eq!(c.spec.env["DIR"], "/nonexistent-project/x");
        let lookup = |_: &str| None;
        let ctx = Context {
            dir: None,
            home: None,
        };
        for (host, entry) in [
            (
                HostId::OpenCode,
                json!({"command": ["srv"], "environment": {"K": "{file:~/.key}"}}),
            ),
            (
                HostId::ClaudeCode,
                json!({"command": "python3", "args": ["-m", "srv"], "env": {"K_TOKEN": "x"}}),
            ),
            (
                HostId::ClaudeCode,
                json!({"command": "uv", "args": ["run", "s.py"], "env": {"K_TOKEN": "x"}}),
            ),
            (
                HostId::ClaudeCode,
                json!({"command": "npx", "args": ["-p", "pkg", "bin"], "env": {"K_TOKEN": "x"}}),
            ),
            (
                HostId::VsCode,
                json!({"command": "node", "args": ["${workspaceFolder}/s.js"]}),
            ),
        ] {
            assert!(
                read(host, "s", &entry, &Overrides::default(), &lookup, &ctx).is_err(),
                "{entry}"
            );
        }
        // A VS Code input is asked for by the editor: never taken from the environment.
        let c = read_with(
            HostId::VsCode,
            json!({"command": "srv", "env": {"K": "${input:github_token}"}}),
            &[("GITHUB_TOKEN", "must-not-be-used")],
        );
        assert!(c.credentials[0].value.is_none());
        // `--flag=value` keeps its form.
        let c = read_with(
            HostId::ClaudeCode,
            json!({"command": "srv", "args": ["--auth-token=abc", "-v"]}),
            &[],
        );
        assert_eq!(c.spec.args, vec!["--auth-token={crux:AUTH_TOKEN}", "-v"]);
        assert_eq!(c.spec.auth.in_args, vec!["AUTH_TOKEN"]);
        // mcp-remote's header argument.
        let c = read_with(
            HostId::ClaudeCode,
            json!({"command": "npx", "args": ["mcp-remote", "https://h/mcp", "--header", "Authorization: Bearer abc"]}),
            &[],
        );
        assert_eq!(
            c.spec.args,
            vec!["https://h/mcp", "--header", "{crux:SRV_TOKEN}"]
        );
        assert_eq!(
            c.credentials[0].value.as_ref().unwrap().expose(),
            "Authorization: Bearer abc"
        );
        // A word with a reference inside is a credential whole.
        let c = read_with(
            HostId::ClaudeCode,
            json!({"command": "srv", "args": ["--conn=postgres://u:${PGPASSWORD}@h/db"]}),
            &[("PGPASSWORD", "pw")],
        );
        assert_eq!(c.spec.args, vec!["{crux:PGPASSWORD}"]);
        assert_eq!(
            c.credentials[0].value.as_ref().unwrap().expose(),
            "--conn=postgres://u:pw@h/db"
        );
    }

    #[test]
    fn host_shapes() {
        let c = read_with(
            HostId::OpenCode,
            json!({"type": "local", "command": ["node", "/srv/s.js", "--x"], "environment": {"API_TOKEN": "abc"}}),
            &[],
        );
        assert_eq!(
            c.spec.source,
            Source::Command {
                command: "node".into()
            }
        );
        assert_eq!(c.spec.args, vec!["/srv/s.js", "--x"]);
        assert_eq!(c.spec.auth.keychain, vec!["API_TOKEN"]);
        let c = read_with(
            HostId::Codex,
            json!({"url": "https://h/mcp", "bearer_token_env_var": "H_TOKEN"}),
            &[("H_TOKEN", "from-env")],
        );
        assert_eq!(c.spec.auth.bearer.as_ref().unwrap().var, "H_TOKEN");
        let c = read_with(
            HostId::VsCode,
            json!({"type": "stdio", "command": "srv", "env": {"KEY": "${input:api-key}"}}),
            &[],
        );
        assert_eq!(c.credentials[0].origin, Origin::Unset("API_KEY".into()));
    }
}

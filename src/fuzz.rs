//! Fuzzing entry points: one function per parser of input crux does not control (files users
//! edit, files other programs write, what servers and hosts send), shared by the cargo-fuzz
//! targets in `fuzz/` and by the stable corpus test (`tests/fuzz_corpus.rs`), which replays
//! every corpus and regression file through the same function.
//!
//! Each function hands the bytes to crux's own parsing code, never to a copy of it, and
//! asserts what must hold of whatever parses (what crux writes back reads back the same; an
//! edit of a host file keeps the user's entries): a failed assertion is a finding, as a panic
//! is. They never touch the filesystem, the network or a keystore: paths are only names for
//! error messages.

use crate::hosts::{json as host_json_file, toml as host_toml_file, HostId};
use crate::mcp_client::{Client, Transport};
use crate::oauth::discovery;
use crate::protocol::{self, ClientMeta, ToolHeaders};
use serde_json::{json, Map, Value};
use std::io::BufRead;
use std::path::Path;

/// The entry each host-file edit adds: named as no user would name theirs.
const ADDED: &str = "crux-fuzz-added";

fn added_entry() -> Value {
    json!({"command": "/fuzz/bin/crux-launch", "args": ["--server", "fuzz"], "env": {"CRUX_FUZZ": "1"}})
}

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// What crux writes of `value`, as JSON, to compare two loads of the same file.
fn as_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("crux's own files serialize")
}

/// `CRUX_HOME/registry.json`: [`crate::registry::Registry`] as `Registry::load` reads and
/// checks it; what it saves reads back the same.
pub fn registry(data: &[u8]) {
    use crate::registry::{Registry, VERSION};
    let path = Path::new("/fuzz/.crux/registry.json");
    let Ok(registry) = crate::jsonfile::parse::<Registry>(path, data, VERSION) else {
        return;
    };
    let checked = registry.check(path).is_ok();
    for entry in registry.servers.values() {
        let _ = entry.fingerprint();
        let _ = entry.command_line();
        let spec = &entry.spec;
        let _ = (spec.auth_kinds(), spec.remote_vars(), spec.shown_headers());
        let _ = (spec.describe_source(), spec.source_summary(), spec.url());
    }
    let saved = serde_json::to_vec_pretty(&registry).expect("the registry serializes");
    let again: Registry =
        crate::jsonfile::parse(path, &saved, VERSION).expect("a saved registry loads");
    assert_eq!(as_json(&registry), as_json(&again));
    assert_eq!(checked, again.check(path).is_ok());
    for (name, entry) in &registry.servers {
        assert_eq!(entry.fingerprint(), again.servers[name].fingerprint());
    }
}

/// `CRUX_HOME/secrets.json`, the values-free index: [`crate::index::Index`].
pub fn index(data: &[u8]) {
    use crate::index::{Index, VERSION};
    let path = Path::new("/fuzz/.crux/secrets.json");
    let Ok(index) = crate::jsonfile::parse::<Index>(path, data, VERSION) else {
        return;
    };
    let _ = index.counts_by_backend();
    for (mcp, _, _) in index.iter() {
        let _ = index.unbound(mcp, "sha256:fuzz");
    }
    let saved = serde_json::to_vec_pretty(&index).expect("the index serializes");
    let again: Index = crate::jsonfile::parse(path, &saved, VERSION).expect("a saved index loads");
    assert_eq!(as_json(&index), as_json(&again));
}

/// `CRUX_HOME/projects.json`: [`crate::project::Projects`].
pub fn projects(data: &[u8]) {
    use crate::project::{Projects, PROJECTS_VERSION};
    let path = Path::new("/fuzz/.crux/projects.json");
    let Ok(projects) = crate::jsonfile::parse::<Projects>(path, data, PROJECTS_VERSION) else {
        return;
    };
    for tracked in projects.projects.values() {
        for host in HostId::project_hosts() {
            let _ = tracked.generated_for(host);
        }
    }
    let saved = serde_json::to_vec_pretty(&projects).expect("projects.json serializes");
    let again: Projects = crate::jsonfile::parse(path, &saved, PROJECTS_VERSION)
        .expect("a saved projects.json loads");
    assert_eq!(as_json(&projects), as_json(&again));
}

/// A project's committed `crux.json`: [`crate::project::ProjectFile`], with the checks
/// `ProjectFile::load` makes of untrusted input.
pub fn project_config(data: &[u8]) {
    use crate::project::{ProjectFile, PROJECT_VERSION};
    let dir = Path::new("/fuzz/project");
    let path = dir.join(crate::project::PROJECT_FILE);
    let Ok(mut file) = crate::jsonfile::parse::<ProjectFile>(&path, data, PROJECT_VERSION) else {
        return;
    };
    file.version = PROJECT_VERSION;
    let checked = file.check(&path).is_ok();
    if file.hosts.is_some() {
        // With a "hosts" list the answer comes from the file alone (without one, from the
        // folders on disk).
        let _ = file.hosts_in(dir);
    }
    let saved = serde_json::to_vec_pretty(&file).expect("crux.json serializes");
    let again: ProjectFile =
        crate::jsonfile::parse(&path, &saved, PROJECT_VERSION).expect("a saved crux.json loads");
    assert_eq!(as_json(&file), as_json(&again));
    assert_eq!(checked, again.check(&path).is_ok());
}

/// Where a JSON host file keeps its servers, and whether the host reads comments.
const JSON_LAYOUTS: &[(&[&str], bool)] = &[
    // `.mcp.json`, Cursor, Roo, Claude Desktop: strict JSON.
    (&["mcpServers"], false),
    // VS Code, Zed, OpenCode, Gemini: JSONC.
    (&["servers"], true),
    (&["context_servers"], true),
    (&["mcp"], true),
    // `~/.claude.json`'s local scope: `projects.<dir>.mcpServers`.
    (&["projects", "/fuzz/project", "mcpServers"], false),
];

/// JSON and JSONC host files (`src/hosts/json.rs`): what crux reads of them, and an edit that
/// adds an entry, replaces nothing else and is undone by removing it.
pub fn host_json(data: &[u8]) {
    let path = Path::new("/fuzz/project/.mcp.json");
    let Ok((bytes, text)) = host_json_file::decode(path, data.to_vec()) else {
        return;
    };
    let wanted = vec![(ADDED.to_string(), added_entry())];
    let owned = vec![ADDED.to_string()];
    for &(keys, jsonc) in JSON_LAYOUTS {
        let Ok(before) = host_json_file::entries_in(path, &text, keys, jsonc) else {
            continue;
        };
        let plan = |current: &[u8], text: &str, entries: &[(String, Value)]| {
            host_json_file::plan_in(
                path,
                current,
                text,
                keys,
                jsonc,
                Map::new(),
                entries,
                &owned,
            )
        };
        let read = |bytes: &[u8]| {
            let (_, text) =
                host_json_file::decode(path, bytes.to_vec()).expect("crux writes UTF-8");
            let entries = host_json_file::entries_in(path, &text, keys, jsonc)
                .expect("crux's edit of a host file reads back");
            (text, entries)
        };
        if before.iter().any(|(n, _)| n == ADDED) {
            // The user's entry of that name: crux's edit is refused or changes nothing.
            continue;
        }
        let added = plan(&bytes, &text, &wanted)
            .expect("a file crux reads, it can edit")
            .expect("adding an entry changes the file");
        let (added_text, after) = read(&added);
        let mut expected = before.clone();
        expected.extend(wanted.iter().cloned());
        assert_eq!(after, expected, "the edit keeps every other entry");
        assert_eq!(
            plan(&added, &added_text, &wanted).expect("the edited file edits"),
            None,
            "an entry that already holds what crux wants is not touched"
        );
        let removed = plan(&added, &added_text, &[])
            .expect("the edited file edits")
            .expect("removing the entry changes the file");
        assert_eq!(
            read(&removed).1,
            before,
            "removing crux's entry restores the others"
        );
    }
}

/// Codex's `config.toml` (`src/hosts/toml.rs`): the same edits as [`host_json`].
pub fn host_toml(data: &[u8]) {
    let path = Path::new("/fuzz/project/.codex/config.toml");
    let key = HostId::Codex.servers_key();
    let Ok((bytes, text)) = host_json_file::decode(path, data.to_vec()) else {
        return;
    };
    let Ok(before) = host_toml_file::entries_in(path, &text, key) else {
        return;
    };
    if before.iter().any(|(n, _)| n == ADDED) {
        return;
    }
    let wanted = vec![(ADDED.to_string(), added_entry())];
    let owned = vec![ADDED.to_string()];
    let plan = |current: &[u8], text: &str, entries: &[(String, Value)]| {
        host_toml_file::plan_in(path, current, text, key, entries, &owned)
    };
    let read = |bytes: &[u8]| {
        let text = String::from_utf8(bytes.to_vec()).expect("crux writes UTF-8");
        let entries = host_toml_file::entries_in(path, &text, key)
            .expect("crux's edit of config.toml reads back");
        (text, entries)
    };
    let added = plan(&bytes, &text, &wanted)
        .expect("a file crux reads, it can edit")
        .expect("adding an entry changes the file");
    let (added_text, after) = read(&added);
    let mut expected = before.clone();
    expected.extend(wanted.iter().cloned());
    let sorted = |mut v: Vec<(String, Value)>| {
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    assert_eq!(
        sorted(after),
        sorted(expected),
        "the edit keeps every other entry"
    );
    assert_eq!(
        plan(&added, &added_text, &wanted).expect("the edited file edits"),
        None,
        "an entry that already holds what crux wants is not touched"
    );
    let removed = plan(&added, &added_text, &[])
        .expect("the edited file edits")
        .expect("removing the entry changes the file");
    assert_eq!(
        sorted(read(&removed).1),
        sorted(before),
        "removing crux's entry restores the others"
    );
}

/// `crux import` (`src/import/entry.rs`): every entry of a host file read as each host's
/// entry would be, into a definition crux would register.
pub fn host_import(data: &[u8]) {
    use crate::hosts::Syntax;
    use crate::import::classify::Overrides;
    use crate::import::entry::{read, Context};
    let path = Path::new("/fuzz/project/.mcp.json");
    let Ok((_, text)) = host_json_file::decode(path, data.to_vec()) else {
        return;
    };
    let ctx = Context {
        dir: Some(Path::new("/fuzz/project")),
        home: Some("/fuzz/home".into()),
    };
    let lookup = |name: &str| (name == "FUZZ_SET").then(|| "test-token-1".to_string());
    let overrides = Overrides::default();
    for &host in <HostId as clap::ValueEnum>::value_variants() {
        let key = host.servers_key();
        let entries = match host.syntax() {
            Syntax::Toml => host_toml_file::entries_in(path, &text, key),
            syntax => host_json_file::entries_in(path, &text, &[key], syntax == Syntax::Jsonc),
        };
        for (name, entry) in entries.into_iter().flatten() {
            if let Ok(candidate) = read(host, &name, &entry, &overrides, &lookup, &ctx) {
                let _ = candidate.spec.validate(&candidate.name);
                let _ = crate::misplaced::check(&candidate.name, &candidate.spec);
            }
        }
    }
}

/// crux-cli's (the Python tool's) files that `crux import --from crux-cli` converts
/// (`src/import/crux_cli/files.rs`, `convert.rs`): each read as the file it could be.
pub fn crux_cli(data: &[u8]) {
    use crate::import::crux_cli::{convert, files};
    use std::collections::BTreeMap;
    let root = Path::new("/fuzz/.crux");
    for name in [
        "registry.json",
        "secrets.json",
        "projects.json",
        "crux.json",
    ] {
        let _ = crate::legacy_files::is_crux_cli_json(&root.join(name), data);
    }
    let registry_path = root.join("registry.json");
    if let Ok(registry) = files::parse::<files::CliRegistry>(&registry_path, data) {
        for (name, mcp) in &registry.mcp_definitions {
            let _ = mcp.auth.as_ref().map(|a| a.kind());
            if let Ok(converted) = convert::server(name, mcp, Path::new("/fuzz"), &registry_path) {
                assert!(
                    converted.spec.validate(name).is_ok(),
                    "a converted definition passes crux's checks"
                );
                let token = files::CliToken::default();
                let _ = convert::oauth_state(&converted.spec, &token, false, mcp);
            }
        }
    }
    let _ = files::parse::<BTreeMap<String, Vec<String>>>(&root.join("secrets.json"), data);
    if let Ok(tokens) =
        files::parse::<BTreeMap<String, files::CliToken>>(&root.join("tokens.json"), data)
    {
        for token in tokens.values() {
            let _ = token.scopes.joined();
            let _ = token.expires_at.as_deref().and_then(convert::unix_time);
        }
    }
    let _ = files::parse::<files::CliProjects>(&root.join("projects.json"), data);
    if let Ok(project) =
        files::parse::<files::CliProjectFile>(Path::new("/fuzz/project/crux.json"), data)
    {
        for mcp in &project.mcps {
            let _ = (mcp.name(), mcp.args());
        }
    }
    let _ = files::config_backend(&root.join("config.toml"), data);
}

/// The age store's plaintext, after decryption (`src/store/age_file.rs`; the age format itself
/// is the `age` crate's): what crux re-encrypts reads back the same.
pub fn age_payload(data: &[u8]) {
    use crate::store::age_file::{parse_contents, serialize_contents};
    let Ok(contents) = parse_contents(data) else {
        return;
    };
    let written = serialize_contents(&contents);
    let again = parse_contents(&written).expect("what crux writes it reads");
    assert_eq!(contents, again);
}

/// `WWW-Authenticate` (`src/oauth/discovery.rs`, `Challenge`): a challenge's parameters,
/// written back as quoted strings, parse to the same challenge.
pub fn www_authenticate(data: &[u8]) {
    let Some(header) = text(data) else {
        return;
    };
    let lines: Vec<&str> = header.split('\n').collect();
    let _ = discovery::Challenge::from_headers(&lines);
    let Some(challenge) = discovery::parse_bearer_challenge(header) else {
        return;
    };
    let quoted = |v: &str| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""));
    let mut params = Vec::new();
    for (name, value) in [
        ("resource_metadata", &challenge.resource_metadata),
        ("scope", &challenge.scope),
        ("error", &challenge.error),
    ] {
        if let Some(v) = value {
            params.push(format!("{name}={}", quoted(v)));
        }
    }
    let written = format!("Bearer {}", params.join(", "));
    assert_eq!(
        discovery::parse_bearer_challenge(&written),
        Some(challenge),
        "{written:?}"
    );
}

/// The JSON document a metadata URL answers with, as `get_json` takes it (an object or
/// nothing).
fn metadata_doc(data: &[u8]) -> Option<Value> {
    match serde_json::from_slice::<Value>(data) {
        Ok(v @ Value::Object(_)) => Some(v),
        _ => None,
    }
}

/// RFC 8414 / OpenID Connect authorization-server metadata (`parse_server_metadata`), and
/// what discovery does with it next.
pub fn as_metadata(data: &[u8]) {
    let Some(doc) = metadata_doc(data) else {
        return;
    };
    let issuer = "https://as.example/tenant";
    let url = "https://as.example/.well-known/oauth-authorization-server/tenant";
    let Ok(meta) = discovery::parse_server_metadata(url, &doc) else {
        return;
    };
    let _ = discovery::issuer_fit(meta.issuer.as_deref(), issuer);
    let _ = discovery::issuer_changed(meta.issuer.as_deref(), Some(issuer));
    if let Some(Ok(declared)) = meta.issuer.as_deref().map(url::Url::parse) {
        let _ = discovery::metadata_candidates(&declared);
    }
    for endpoint in [
        Some(meta.token_endpoint.as_str()),
        meta.authorization_endpoint.as_deref(),
        meta.registration_endpoint.as_deref(),
        meta.revocation_endpoint.as_deref(),
    ]
    .into_iter()
    .flatten()
    {
        let _ = discovery::is_secure(endpoint);
        let _ = crate::oauth::http::redact_url(endpoint);
    }
}

/// RFC 9728 protected-resource metadata (`parse_resource_metadata`), and the checks discovery
/// makes of it.
pub fn resource_metadata(data: &[u8]) {
    let Some(doc) = metadata_doc(data) else {
        return;
    };
    let url = "https://mcp.example/.well-known/oauth-protected-resource/mcp".to_string();
    let Ok(prm) = discovery::parse_resource_metadata(url, &doc) else {
        return;
    };
    assert!(!prm.authorization_servers.is_empty());
    let resource = discovery::canonical_resource("https://mcp.example/mcp").expect("a valid URL");
    if let Some(declared) = &prm.resource {
        let _ = discovery::resource_matches(declared, &resource);
        let _ = crate::oauth::http::redact_url(declared);
    }
    for server in &prm.authorization_servers {
        let _ = discovery::canonical_resource(server);
        if let Ok(issuer) = url::Url::parse(server) {
            let _ = discovery::metadata_candidates(&issuer);
        }
    }
}

/// One item of an event stream, owned, to compare two reads.
#[derive(Debug, PartialEq)]
enum SseItem {
    Retry(u64),
    Event(Option<String>, String),
}

fn sse_items(data: &[u8]) -> (Vec<SseItem>, bool) {
    let mut items = Vec::new();
    let ended = crate::sse::read(&mut std::io::Cursor::new(data), |item| {
        items.push(match item {
            crate::sse::Item::Retry(ms) => SseItem::Retry(ms),
            crate::sse::Item::Event { id, data } => SseItem::Event(id, data),
        });
        false
    });
    (items, ended.is_ok())
}

/// Server-sent events (`src/sse.rs`): the items of a stream, written back as a stream, read
/// the same.
pub fn sse(data: &[u8]) {
    let (items, complete) = sse_items(data);
    if !complete {
        return;
    }
    // A lone CR is not a line end to crux (servers end lines with LF or CRLF; JSON data
    // never holds a raw CR): such items cannot be written back line by line.
    let lone_cr = items.iter().any(|i| match i {
        SseItem::Event(id, data) => {
            data.contains('\r') || id.as_deref().is_some_and(|i| i.contains('\r'))
        }
        SseItem::Retry(_) => false,
    });
    if lone_cr {
        return;
    }
    let mut written = String::new();
    for item in &items {
        match item {
            SseItem::Retry(ms) => written.push_str(&format!("retry: {ms}\n")),
            SseItem::Event(id, data) => {
                if let Some(id) = id {
                    written.push_str(&format!("id: {id}\n"));
                }
                for line in data.split('\n') {
                    written.push_str(&format!("data: {line}\n"));
                }
                written.push('\n');
            }
        }
    }
    assert_eq!(sse_items(written.as_bytes()), (items, true), "{written:?}");
}

/// What the transport page's encoding makes of a header value: visible ASCII, decodable back.
fn check_header_value(name: &str, value: &str, original: &str) {
    assert!(
        value.bytes().all(|b| (0x20..=0x7e).contains(&b)),
        "{name}: {value:?} is not a header value"
    );
    if let Some(b64) = value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
    {
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("crux's base64");
        assert_eq!(decoded, original.as_bytes());
    } else {
        assert_eq!(value, original);
    }
}

/// The bridge's input from the host (`src/bridge/mod.rs`: newline-delimited JSON-RPC on
/// stdin, batches split), and what the bridge derives from each message for a modern server
/// (`src/protocol.rs`: `_meta`, the standard headers).
pub fn jsonrpc_from_host(data: &[u8]) {
    let mut input = std::io::Cursor::new(data);
    let mut line = String::new();
    loop {
        line.clear();
        // As the bridge reads: a line that is not UTF-8 is a read error that ends it.
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let Ok(messages) = crate::bridge::host_messages(&line) else {
            continue;
        };
        for mut message in messages {
            let _ = protocol::is_modern_message(&message);
            let _ = protocol::message_version(&message);
            for (name, value) in protocol::standard_headers(&message) {
                let original = match name.as_str() {
                    "Mcp-Method" => message.get("method"),
                    "Mcp-Name" if message["method"] == "resources/read" => {
                        message.pointer("/params/uri")
                    }
                    "Mcp-Name" => message.pointer("/params/name"),
                    _ => continue,
                };
                let original = original
                    .and_then(Value::as_str)
                    .expect("a header mirrors the body");
                check_header_value(&name, &value, original);
            }
            if message.is_object() {
                let meta = ClientMeta::crux();
                meta.apply(&mut message);
                assert!(protocol::is_modern_message(&message));
                assert_eq!(
                    protocol::message_version(&message),
                    Some(meta.version.as_str())
                );
            }
        }
    }
}

/// A server that answers each request with the next message of a script.
struct Scripted {
    answers: std::vec::IntoIter<Value>,
    tools: ToolHeaders,
}

impl Transport for Scripted {
    fn exchange(
        &mut self,
        _message: &Value,
        id: Option<u64>,
    ) -> crate::error::Result<Option<Value>> {
        let Some(id) = id else {
            return Ok(None);
        };
        let mut answer = self
            .answers
            .next()
            .ok_or_else(|| crate::error::Error::failed("the script ended", "none: a fuzz input"))?;
        if let Some(object) = answer.as_object_mut() {
            object.insert("id".into(), json!(id));
        }
        Ok(Some(answer))
    }

    fn tools_listed(&mut self, result: &mut Value) {
        let _ = self.tools.absorb(result);
    }
}

/// What crux checks of a server's message wherever it reads one.
fn server_message(message: &Value) {
    let _ = protocol::error_code(message);
    let _ = protocol::supported_from_error(message);
    if let Some(error) = message.get("error") {
        let _ = crate::mcp_client::launcher_error(error);
    }
    let Some(result) = message.get("result") else {
        return;
    };
    if let Some(versions) = protocol::discover_versions(result) {
        assert!(versions.len() <= 16);
        assert!(versions.iter().all(|v| protocol::is_version_text(v)));
        let _ = protocol::pick_modern(&versions);
    }
    let _ = protocol::discover_server_info(result);
    let mut result = result.clone();
    let mut tools = ToolHeaders::default();
    let _ = tools.absorb(&mut result);
    // What is left is what the host sees: every tool's annotations are valid, and a call
    // gets header values a request can carry (the arguments: the input's `arguments` of the
    // tool, not an MCP field, so the fuzzer shapes them beside the schema).
    for tool in result
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let schema = tool.get("inputSchema").cloned().unwrap_or(Value::Null);
        assert!(protocol::param_headers(&schema).is_ok());
        let call = json!({"method": "tools/call", "params": {"name": tool.get("name"), "arguments": tool.get("arguments")}});
        for (name, value) in tools.for_call(&call) {
            assert!(name.starts_with("Mcp-Param-"));
            assert!(
                value.bytes().all(|b| (0x20..=0x7e).contains(&b)),
                "{value:?}"
            );
        }
    }
}

/// The bridge's and the probe's input from the server (`src/mcp_client.rs`,
/// `src/bridge/`): a JSON body (a message or a batch), an SSE stream of messages, stdio lines;
/// then `crux mcp probe`'s conversation (`Client::probe`) with a server that answers with
/// those messages in turn.
pub fn jsonrpc_from_server(data: &[u8]) {
    let mut messages = Vec::new();
    match serde_json::from_slice::<Value>(data) {
        Ok(Value::Array(items)) => messages.extend(items),
        Ok(other) => messages.push(other),
        Err(_) => {
            let _ = crate::mcp_client::read_sse(data, |m| {
                messages.push(m);
                false
            });
        }
    }
    if let Some(text) = text(data) {
        for line in text.lines() {
            if let Some(answer) = crate::mcp_client::stdio_answer(line, 1) {
                assert_eq!(answer.get("id"), Some(&json!(1)));
            }
        }
    }
    for message in &messages {
        server_message(message);
    }
    let mut client = Client::new(Scripted {
        answers: messages.into_iter(),
        tools: ToolHeaders::default(),
    });
    if let Ok(probe) = client.probe() {
        assert!(probe.supported_versions.len() <= 16);
        assert!(probe
            .supported_versions
            .iter()
            .all(|v| protocol::is_version_text(v)));
        assert!(
            probe.protocol_version.is_empty() || protocol::is_version_text(&probe.protocol_version)
        );
    }
    client.finish();
}

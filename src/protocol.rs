//! The two wire eras of MCP, as the bridge and the probe speak them.
//!
//! - **Legacy** (2025-11-25 and earlier): an `initialize` handshake, `Mcp-Session-Id`, the GET
//!   stream, server-to-client requests on SSE streams.
//! - **Modern** (2026-07-28): stateless. Every request carries `_meta` (protocol version,
//!   client capabilities, client info) and, on Streamable HTTP, the headers
//!   `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name` and `Mcp-Param-*` that mirror its body;
//!   servers answer `server/discover`; `subscriptions/listen` replaces the GET stream; results
//!   carry `resultType`, and `input_required` results replace server-to-client requests.
//!
//! An era is a property of a server: found once per process by sending a modern request first
//! and falling back on a rejection that is not a modern error (the spec's versioning page).
//! 401 and 403 are never era evidence.

use base64::Engine;
use serde_json::{json, Map, Value};

/// The legacy version crux offers in `initialize`.
pub const LEGACY_VERSION: &str = "2025-11-25";
/// The modern version crux speaks.
pub const MODERN_VERSION: &str = "2026-07-28";
/// Modern versions crux can speak, most preferred first.
pub const MODERN_VERSIONS: &[&str] = &[MODERN_VERSION];
/// Legacy versions a host may ask for in `initialize`, which the bridge can answer with.
pub const LEGACY_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

pub const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
pub const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
pub const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
pub const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
pub const META_SUBSCRIPTION: &str = "io.modelcontextprotocol/subscriptionId";

/// Error codes the 2026-07-28 specification defines: their presence identifies a modern server.
pub const HEADER_MISMATCH: i64 = -32020;
pub const MISSING_CAPABILITY: i64 = -32021;
pub const UNSUPPORTED_VERSION: i64 = -32022;

/// The method-not-found code: what a bridge answers a modern host's `server/discover` with
/// when the server is legacy (any non-modern error makes the host fall back).
pub const METHOD_NOT_FOUND: i64 = -32601;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    Legacy,
    Modern,
}

impl Era {
    pub fn as_str(self) -> &'static str {
        match self {
            Era::Legacy => "legacy",
            Era::Modern => "modern",
        }
    }
}

/// Whether a JSON-RPC error code is one the modern specification defines.
pub fn is_modern_code(code: i64) -> bool {
    matches!(
        code,
        HEADER_MISMATCH | MISSING_CAPABILITY | UNSUPPORTED_VERSION
    )
}

/// The JSON-RPC error code of a message, if it is an error response.
pub fn error_code(message: &Value) -> Option<i64> {
    message.pointer("/error/code").and_then(Value::as_i64)
}

/// The modern versions an `UnsupportedProtocolVersion` error lists that crux speaks, in
/// crux's order of preference.
pub fn supported_from_error(message: &Value) -> Vec<&'static str> {
    let listed: Vec<&str> = message
        .pointer("/error/data/supported")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    MODERN_VERSIONS
        .iter()
        .copied()
        .filter(|v| listed.contains(v))
        .collect()
}

/// Whether a message is a request or notification of the modern era: it declares a
/// protocol version in `_meta`, or is `server/discover`.
pub fn is_modern_message(message: &Value) -> bool {
    message.get("method").and_then(Value::as_str) == Some("server/discover")
        || message
            .pointer("/params/_meta")
            .and_then(|m| m.get(META_VERSION))
            .is_some()
}

/// The protocol version a modern message declares.
pub fn message_version(message: &Value) -> Option<&str> {
    message
        .pointer("/params/_meta")?
        .get(META_VERSION)?
        .as_str()
}

/// What a modern client says about itself on every request.
#[derive(Debug, Clone)]
pub struct ClientMeta {
    pub version: String,
    pub capabilities: Value,
    pub info: Value,
    pub log_level: Option<String>,
}

impl ClientMeta {
    /// crux's own identity, with no optional capability.
    pub fn crux() -> ClientMeta {
        ClientMeta {
            version: MODERN_VERSION.to_string(),
            capabilities: json!({}),
            info: json!({"name": "crux", "version": env!("CARGO_PKG_VERSION")}),
            log_level: None,
        }
    }

    /// Adds the per-request `_meta` fields to a request, keeping any `_meta` it has (a
    /// progress token, trace context).
    pub fn apply(&self, message: &mut Value) {
        let Some(obj) = message.as_object_mut() else {
            return;
        };
        let params = obj
            .entry("params")
            .or_insert_with(|| Value::Object(Map::new()));
        if !params.is_object() {
            *params = Value::Object(Map::new());
        }
        let meta = params
            .as_object_mut()
            .expect("object")
            .entry("_meta")
            .or_insert_with(|| Value::Object(Map::new()));
        if !meta.is_object() {
            *meta = Value::Object(Map::new());
        }
        let meta = meta.as_object_mut().expect("object");
        meta.insert(META_VERSION.into(), json!(self.version));
        meta.insert(META_CAPABILITIES.into(), self.capabilities.clone());
        meta.insert(META_CLIENT_INFO.into(), self.info.clone());
        if let Some(level) = &self.log_level {
            meta.insert(META_LOG_LEVEL.into(), json!(level));
        }
    }
}

/// A header value as the transport page's value encoding wants it: as it is when it is plain
/// visible ASCII (inner spaces allowed), else `=?base64?…?=`. A plain value that looks like
/// the sentinel is encoded too.
pub fn encode_header_value(value: &str) -> String {
    let plain = !value.is_empty()
        && value.bytes().all(|b| (0x20..=0x7e).contains(&b))
        && value.trim() == value
        && !(value.starts_with("=?base64?") && value.ends_with("?="));
    if plain || value.is_empty() {
        return value.to_string();
    }
    format!(
        "=?base64?{}?=",
        base64::engine::general_purpose::STANDARD.encode(value.as_bytes())
    )
}

/// One `x-mcp-header` annotation of a tool: the header's name part and the property path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamHeader {
    pub name: String,
    pub path: Vec<String>,
}

/// The `x-mcp-header` annotations of a tool's input schema, or why the tool is invalid.
pub fn param_headers(schema: &Value) -> Result<Vec<ParamHeader>, String> {
    let mut found = Vec::new();
    collect_headers(schema, &mut Vec::new(), true, &mut found)?;
    let mut seen = std::collections::HashSet::new();
    for h in &found {
        if !seen.insert(h.name.to_ascii_lowercase()) {
            return Err(format!(
                "x-mcp-header '{}' appears twice (names are case-insensitive)",
                h.name
            ));
        }
    }
    Ok(found)
}

/// `tchar` of RFC 9110 §5.6.2.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn collect_headers(
    schema: &Value,
    path: &mut Vec<String>,
    reachable: bool,
    found: &mut Vec<ParamHeader>,
) -> Result<(), String> {
    let Some(obj) = schema.as_object() else {
        if let Some(items) = schema.as_array() {
            for item in items {
                collect_headers(item, path, false, found)?;
            }
        }
        return Ok(());
    };
    if let Some(header) = obj.get("x-mcp-header") {
        let where_ = if path.is_empty() {
            "the schema root".to_string()
        } else {
            path.join(".")
        };
        if !reachable || path.is_empty() {
            return Err(format!(
                "x-mcp-header at {where_} is not reachable through properties alone"
            ));
        }
        let Some(name) = header.as_str() else {
            return Err(format!("x-mcp-header at {where_} is not a string"));
        };
        if name.is_empty() {
            return Err(format!("x-mcp-header at {where_} is empty"));
        }
        if !name.chars().all(is_tchar) {
            return Err(format!(
                "x-mcp-header at {where_} is not an HTTP header name"
            ));
        }
        let ty = obj.get("type").and_then(Value::as_str).unwrap_or("");
        if !matches!(ty, "string" | "integer" | "boolean") {
            return Err(format!(
                "x-mcp-header at {where_} is on a '{}' property (only string, integer and boolean are allowed)",
                if ty.is_empty() { "untyped" } else { ty }
            ));
        }
        found.push(ParamHeader {
            name: name.to_string(),
            path: path.clone(),
        });
    }
    for (key, value) in obj {
        if key == "x-mcp-header" {
            continue;
        }
        if key == "properties" && reachable {
            if let Some(props) = value.as_object() {
                for (name, sub) in props {
                    path.push(name.clone());
                    collect_headers(sub, path, true, found)?;
                    path.pop();
                }
                continue;
            }
        }
        if key == "properties" {
            if let Some(props) = value.as_object() {
                for sub in props.values() {
                    collect_headers(sub, path, false, found)?;
                }
                continue;
            }
        }
        if value.is_object() || value.is_array() {
            collect_headers(value, path, false, found)?;
        }
    }
    Ok(())
}

/// The `Mcp-Param-*` headers of a `tools/call`'s arguments.
pub fn param_header_values(headers: &[ParamHeader], arguments: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for h in headers {
        let mut v = arguments;
        let mut found = true;
        for key in &h.path {
            match v.get(key) {
                Some(next) => v = next,
                None => {
                    found = false;
                    break;
                }
            }
        }
        if !found {
            continue;
        }
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            _ => continue,
        };
        out.push((format!("Mcp-Param-{}", h.name), encode_header_value(&text)));
    }
    out
}

/// The standard headers of a modern request: `MCP-Protocol-Version`, `Mcp-Method`, and
/// `Mcp-Name` for the methods that name something.
pub fn standard_headers(message: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(v) = message_version(message) {
        out.push(("MCP-Protocol-Version".to_string(), v.to_string()));
    }
    let method = message.get("method").and_then(Value::as_str).unwrap_or("");
    if !method.is_empty() {
        out.push(("Mcp-Method".to_string(), encode_header_value(method)));
    }
    let name = match method {
        "tools/call" | "prompts/get" => message.pointer("/params/name"),
        "resources/read" => message.pointer("/params/uri"),
        _ => None,
    };
    if let Some(name) = name.and_then(Value::as_str) {
        out.push(("Mcp-Name".to_string(), encode_header_value(name)));
    }
    out
}

/// Tool schemas seen in `tools/list` results: the `x-mcp-header` annotations of each valid
/// tool, by name.
#[derive(Default)]
pub struct ToolHeaders {
    tools: std::collections::HashMap<String, Vec<ParamHeader>>,
}

impl ToolHeaders {
    /// Records the tools of a `tools/list` result and removes the invalid ones from it (the
    /// spec: a client excludes a tool whose `x-mcp-header` annotations break the rules).
    /// Returns a line per removed tool, for stderr.
    pub fn absorb(&mut self, result: &mut Value) -> Vec<String> {
        let mut removed = Vec::new();
        let Some(tools) = result.get_mut("tools").and_then(Value::as_array_mut) else {
            return removed;
        };
        tools.retain(|tool| {
            let name = tool
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let schema = tool.get("inputSchema").cloned().unwrap_or(Value::Null);
            match param_headers(&schema) {
                Ok(headers) => {
                    self.tools.insert(name, headers);
                    true
                }
                Err(why) => {
                    self.tools.remove(&name);
                    removed.push(format!(
                        "left out tool '{}': {why}",
                        crate::error::sanitize(&name)
                    ));
                    false
                }
            }
        });
        removed
    }

    /// The `Mcp-Param-*` headers of a `tools/call` message.
    pub fn for_call(&self, message: &Value) -> Vec<(String, String)> {
        if message.get("method").and_then(Value::as_str) != Some("tools/call") {
            return Vec::new();
        }
        let name = message
            .pointer("/params/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let args = message.pointer("/params/arguments").unwrap_or(&Value::Null);
        self.tools
            .get(name)
            .map(|h| param_header_values(h, args))
            .unwrap_or_default()
    }
}

/// The versions a `server/discover` result lists; `None` when it lists none (not a discover
/// result: a legacy server that answers any method with an empty result). What a server says
/// is kept and shown, so it is bounded: at most 16 version-shaped entries.
pub fn discover_versions(result: &Value) -> Option<Vec<String>> {
    let listed = result.get("supportedVersions")?.as_array()?;
    Some(
        listed
            .iter()
            .filter_map(Value::as_str)
            .filter(|v| is_version_text(v))
            .take(16)
            .map(str::to_string)
            .collect(),
    )
}

/// Whether text looks like a protocol version (`2026-07-28`, `DRAFT-2026-v1`): short, and
/// nothing a terminal or a file would treat specially.
pub fn is_version_text(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 32
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

/// The modern version crux prefers among those a server lists.
pub fn pick_modern(versions: &[String]) -> Option<&'static str> {
    MODERN_VERSIONS
        .iter()
        .copied()
        .find(|v| versions.iter().any(|s| s == v))
}

/// The server's identity in a `server/discover` result (in `_meta`, or top-level as some
/// servers put it).
pub fn discover_server_info(result: &Value) -> Value {
    result
        .pointer("/_meta")
        .and_then(|m| m.get(META_SERVER_INFO))
        .or_else(|| result.get("serverInfo"))
        .cloned()
        .unwrap_or_else(|| json!({"name": "unknown", "version": "0"}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_follow_the_encoding_table() {
        assert_eq!(encode_header_value("us-west1"), "us-west1");
        assert_eq!(encode_header_value("us west 1"), "us west 1");
        assert_eq!(
            encode_header_value("Hello, 世界"),
            "=?base64?SGVsbG8sIOS4lueVjA==?="
        );
        assert_eq!(encode_header_value(" padded "), "=?base64?IHBhZGRlZCA=?=");
        assert_eq!(
            encode_header_value("line1\nline2"),
            "=?base64?bGluZTEKbGluZTI=?="
        );
        assert_eq!(
            encode_header_value("=?base64?literal?="),
            "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="
        );
        assert_eq!(encode_header_value("\tx"), "=?base64?CXg=?=");
    }

    #[test]
    fn invalid_annotations_are_refused() {
        let tool = |prop: Value| json!({"type": "object", "properties": {"p": prop}});
        assert!(param_headers(&tool(json!({"type": "string", "x-mcp-header": "Region"}))).is_ok());
        for bad in [
            json!({"type": "string", "x-mcp-header": ""}),
            json!({"type": "object", "x-mcp-header": "D"}),
            json!({"type": "array", "x-mcp-header": "D"}),
            json!({"type": "null", "x-mcp-header": "D"}),
            json!({"type": "number", "x-mcp-header": "D"}),
            json!({"type": "string", "x-mcp-header": "A B"}),
            json!({"type": "string", "x-mcp-header": "A:B"}),
            json!({"type": "string", "x-mcp-header": "Ä"}),
            json!({"type": "string", "x-mcp-header": "A\rB"}),
        ] {
            assert!(param_headers(&tool(bad.clone())).is_err(), "{bad}");
        }
        let dup = json!({"type": "object", "properties": {
            "a": {"type": "string", "x-mcp-header": "Region"},
            "b": {"type": "string", "x-mcp-header": "region"}}});
        assert!(param_headers(&dup).is_err());
        let in_items = json!({"type": "object", "properties": {"a": {"type": "array",
            "items": {"type": "object", "properties": {"x": {"type": "string", "x-mcp-header": "X"}}}}}});
        assert!(param_headers(&in_items).is_err());
        let nested = json!({"type": "object", "properties": {"a": {"type": "object",
            "properties": {"x": {"type": "string", "x-mcp-header": "X"}}}}});
        assert_eq!(
            param_headers(&nested).unwrap(),
            vec![ParamHeader {
                name: "X".into(),
                path: vec!["a".into(), "x".into()]
            }]
        );
    }

    #[test]
    fn param_values_are_mirrored_and_nulls_omitted() {
        let schema = json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "priority": {"type": "integer", "x-mcp-header": "Priority"},
            "verbose": {"type": "boolean", "x-mcp-header": "Verbose"},
            "query": {"type": "string"}}});
        let h = param_headers(&schema).unwrap();
        let got = param_header_values(
            &h,
            &json!({"region": "us-west1", "priority": 42, "verbose": null, "query": "x"}),
        );
        assert_eq!(
            got,
            vec![
                ("Mcp-Param-Region".to_string(), "us-west1".to_string()),
                ("Mcp-Param-Priority".to_string(), "42".to_string()),
            ]
        );
    }

    #[test]
    fn standard_headers_mirror_the_body() {
        let mut m = json!({"jsonrpc": "2.0", "id": 1, "method": "resources/read",
            "params": {"uri": "file:///a b"}});
        ClientMeta::crux().apply(&mut m);
        let h = standard_headers(&m);
        assert_eq!(h[0], ("MCP-Protocol-Version".into(), MODERN_VERSION.into()));
        assert_eq!(h[1], ("Mcp-Method".into(), "resources/read".into()));
        assert_eq!(h[2], ("Mcp-Name".into(), "file:///a b".into()));
        assert!(is_modern_message(&m));
    }

    #[test]
    fn a_modern_error_names_the_versions_to_retry_with() {
        let e = json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32022, "message": "x",
            "data": {"supported": ["2026-07-28", "2099-01-01"]}}});
        assert!(is_modern_code(error_code(&e).unwrap()));
        assert_eq!(supported_from_error(&e), vec![MODERN_VERSION]);
        assert!(!is_modern_code(-32601));
    }
}

//! JSON and JSONC host files (`.mcp.json`, `.vscode/mcp.json`, Gemini's and Zed's settings,
//! `opencode.json`, `~/.claude.json`…): crux's entries go into one object of the document
//! through its syntax tree, so every other byte — the user's entries, other settings, comments,
//! number spellings, order and formatting — stays as it was.

use crate::error::{sanitize, Error, Result};
use crate::fsutil;
use jsonc_parser::cst::{CstInputValue, CstObjectProp, CstRootNode};
use serde_json::{Map, Value};
use std::path::Path;

pub(super) fn broken(path: &Path, reason: String) -> Error {
    Error::Corrupt {
        path: path.to_path_buf(),
        reason,
        fix: "repair it by hand (crux changed nothing), then run the crux command again".into(),
    }
}

/// The error for an entry of the user's that crux would have to overwrite.
pub fn foreign(path: &Path, name: &str) -> Error {
    Error::failed(
        format!(
            "{} already has an entry '{}' that crux did not write",
            path.display(),
            sanitize(name)
        ),
        "rename or remove that entry (crux keeps entries it did not write), then run the crux command again",
    )
}

/// The file's bytes and text: `None` when it does not exist, an empty text when it holds only
/// whitespace.
pub(super) fn text_of(path: &Path) -> Result<Option<(Vec<u8>, String)>> {
    let Some(bytes) = fsutil::read_optional(path)? else {
        return Ok(None);
    };
    decode(path, bytes).map(Some)
}

/// [`text_of`] for bytes already read (the fuzz targets' way in).
pub(crate) fn decode(path: &Path, bytes: Vec<u8>) -> Result<(Vec<u8>, String)> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok((bytes, String::new()));
    }
    let text = String::from_utf8(bytes.clone())
        .map_err(|_| broken(path, "it is not UTF-8 text".into()))?;
    Ok((bytes, text))
}

/// Parses the document and checks its shape: an object, the servers key at most once and an
/// object. Strict files must be strict JSON, as their hosts read them.
fn parse(path: &Path, text: &str, keys: &[&str], jsonc: bool) -> Result<CstRootNode> {
    let key = keys[0];
    if !jsonc {
        let doc: Value = serde_json::from_str(text).map_err(|e| {
            broken(
                path,
                format!("invalid JSON ({})", crate::error::json_error(&e)),
            )
        })?;
        if !doc.is_object() {
            return Err(broken(path, "it is not a JSON object".into()));
        }
    }
    let root = CstRootNode::parse(text, &jsonc_parser::ParseOptions::default())
        .map_err(|e| broken(path, format!("invalid JSON ({})", sanitize(&e.to_string()))))?;
    let top = root
        .object_value()
        .ok_or_else(|| broken(path, "it is not a JSON object".into()))?;
    let lists: Vec<CstObjectProp> = top
        .properties()
        .into_iter()
        .filter(|p| p.decoded_name().as_deref() == Some(key))
        .collect();
    if lists.len() > 1 {
        // Hosts read the last one; crux would edit the first.
        return Err(broken(path, format!("it has \"{key}\" more than once")));
    }
    if let Some(list) = lists.first() {
        let Some(mut object) = list.value().and_then(|v| v.as_object()) else {
            return Err(broken(path, format!("\"{key}\" is not an object")));
        };
        // A nested servers object (Claude Code's local scope: projects.<dir>.mcpServers).
        for (depth, inner) in keys.iter().enumerate().skip(1) {
            let props: Vec<CstObjectProp> = object
                .properties()
                .into_iter()
                .filter(|p| p.decoded_name().as_deref() == Some(*inner))
                .collect();
            let shown = keys[..=depth].join(".");
            if props.len() > 1 {
                return Err(broken(path, format!("it has \"{shown}\" more than once")));
            }
            let Some(prop) = props.first() else { break };
            object = prop
                .value()
                .and_then(|v| v.as_object())
                .ok_or_else(|| broken(path, format!("\"{shown}\" is not an object")))?;
        }
    }
    Ok(root)
}

/// The object at `keys` below `top`, if every level is there.
fn object_at(
    top: jsonc_parser::cst::CstObject,
    keys: &[&str],
) -> Option<jsonc_parser::cst::CstObject> {
    let mut object = top;
    for key in keys {
        object = object.object_value(key)?;
    }
    Some(object)
}

/// The servers in a host file, by name; `None` when the file does not exist.
pub fn entries(path: &Path, key: &str, jsonc: bool) -> Result<Option<Vec<(String, Value)>>> {
    entries_at(path, &[key], jsonc)
}

/// [`entries`] of a servers object nested at `keys`.
pub fn entries_at(path: &Path, keys: &[&str], jsonc: bool) -> Result<Option<Vec<(String, Value)>>> {
    let Some((_, text)) = text_of(path)? else {
        return Ok(None);
    };
    entries_in(path, &text, keys, jsonc).map(Some)
}

/// [`entries_at`] of a file's text (as [`decode`] gives it).
pub(crate) fn entries_in(
    path: &Path,
    text: &str,
    keys: &[&str],
    jsonc: bool,
) -> Result<Vec<(String, Value)>> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let root = parse(path, text, keys, jsonc)?;
    let top = root.object_value().expect("parse checked it");
    let Some(servers) = object_at(top, keys) else {
        return Ok(Vec::new());
    };
    Ok(servers
        .properties()
        .into_iter()
        .filter_map(|p| Some((p.decoded_name()?, p.value()?.to_serde_value()?)))
        .collect())
}

/// The new content of the file at `path` with `entries` merged into its `key` object: those
/// replaced, the ones crux wrote before (`owned`) and no longer wants removed, everything else
/// kept byte for byte. Refuses to replace an entry crux did not write. A new file is `new_doc`
/// with the servers added. `None` when nothing changes.
pub fn plan(
    path: &Path,
    key: &str,
    jsonc: bool,
    new_doc: Map<String, Value>,
    entries: &[(String, Value)],
    owned: &[String],
) -> Result<Option<Vec<u8>>> {
    plan_at(path, &[key], jsonc, new_doc, entries, owned)
}

/// [`plan`] for a servers object nested at `keys` (created, level by level, when missing).
pub fn plan_at(
    path: &Path,
    keys: &[&str],
    jsonc: bool,
    new_doc: Map<String, Value>,
    entries: &[(String, Value)],
    owned: &[String],
) -> Result<Option<Vec<u8>>> {
    let (current, text) = text_of(path)?.unwrap_or_default();
    plan_in(path, &current, &text, keys, jsonc, new_doc, entries, owned)
}

/// [`plan_at`] of a file's bytes and text (as [`decode`] gives them; both empty for a file
/// that does not exist).
#[allow(clippy::too_many_arguments)]
pub(crate) fn plan_in(
    path: &Path,
    current: &[u8],
    text: &str,
    keys: &[&str],
    jsonc: bool,
    new_doc: Map<String, Value>,
    entries: &[(String, Value)],
    owned: &[String],
) -> Result<Option<Vec<u8>>> {
    let key = keys[0];
    if text.is_empty() {
        if entries.is_empty() {
            return Ok(None);
        }
        let mut doc = new_doc;
        let mut servers = Value::Object(entries.iter().cloned().collect());
        for inner in keys[1..].iter().rev() {
            servers = serde_json::json!({ *inner: servers });
        }
        doc.insert(key.to_owned(), servers);
        let mut bytes = serde_json::to_vec_pretty(&doc).expect("JSON serializes");
        bytes.push(b'\n');
        return Ok(Some(bytes));
    }
    let root = parse(path, text, keys, jsonc)?;
    let top = root.object_value().expect("parse checked it");
    if entries.is_empty() && object_at(top.clone(), keys).is_none() {
        return Ok(None);
    }
    let mut servers = top.object_value_or_set(key);
    for inner in &keys[1..] {
        servers = servers.object_value_or_set(inner);
    }
    let props = |name: &str| -> Vec<CstObjectProp> {
        servers
            .properties()
            .into_iter()
            .filter(|p| p.decoded_name().as_deref() == Some(name))
            .collect()
    };
    let value_of = |p: &CstObjectProp| p.value().and_then(|v| v.to_serde_value());
    for (name, entry) in entries {
        let current = props(name);
        if current.len() > 1 {
            return Err(foreign(path, name));
        }
        let differs = current
            .first()
            .is_some_and(|p| value_of(p).as_ref() != Some(entry));
        if differs && !owned.contains(name) {
            return Err(foreign(path, name));
        }
    }
    let mut changed = false;
    for name in owned {
        if !entries.iter().any(|(n, _)| n == name) {
            for prop in props(name) {
                prop.remove();
                changed = true;
            }
        }
    }
    for (name, entry) in entries {
        match props(name).into_iter().next() {
            Some(prop) => {
                if value_of(&prop).as_ref() != Some(entry) {
                    prop.set_value(cst_value(entry));
                    changed = true;
                }
            }
            None => {
                servers.append(name, cst_value(entry));
                changed = true;
            }
        }
    }
    if !changed {
        return Ok(None);
    }
    let mut bytes = root.to_string().into_bytes();
    if !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    Ok((current != bytes).then_some(bytes))
}

fn cst_value(value: &Value) -> CstInputValue {
    match value {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(items) => CstInputValue::Array(items.iter().map(cst_value).collect()),
        Value::Object(map) => {
            CstInputValue::Object(map.iter().map(|(k, v)| (k.clone(), cst_value(v))).collect())
        }
    }
}

//! Codex's `config.toml`: crux's servers are `[mcp_servers.<name>]` tables (`command`, `args`,
//! `env`, or `url`). The document is edited, not regenerated: the user's comments, other tables
//! and formatting stay, and an entry that already holds what crux wants is not touched.

use super::json::{broken, foreign, text_of};
use crate::error::Result;
use serde_json::{Map, Value};
use std::path::Path;
use toml_edit::{DocumentMut, Item, Table, TableLike};

fn parse(path: &Path, text: &str, key: &str) -> Result<DocumentMut> {
    let doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        broken(
            path,
            format!("invalid TOML ({})", crate::error::sanitize(e.message())),
        )
    })?;
    if doc.get(key).is_some_and(|i| i.as_table_like().is_none()) {
        return Err(broken(path, format!("`{key}` is not a table")));
    }
    Ok(doc)
}

/// A TOML item as JSON, to compare with the entry crux wants.
fn to_json(item: &Item) -> Value {
    match item {
        Item::None => Value::Null,
        Item::Value(v) => value_to_json(v),
        Item::Table(t) => table_to_json(t),
        Item::ArrayOfTables(a) => Value::Array(a.iter().map(|t| table_to_json(t)).collect()),
    }
}

fn table_to_json(t: &dyn TableLike) -> Value {
    Value::Object(
        t.iter()
            .map(|(k, v)| (k.to_owned(), to_json(v)))
            .collect::<Map<_, _>>(),
    )
}

fn value_to_json(v: &toml_edit::Value) -> Value {
    use toml_edit::Value as V;
    match v {
        V::String(s) => Value::String(s.value().clone()),
        V::Integer(i) => Value::from(*i.value()),
        V::Float(f) => serde_json::Number::from_f64(*f.value())
            .map(Value::Number)
            .unwrap_or(Value::Null),
        V::Boolean(b) => Value::Bool(*b.value()),
        V::Datetime(d) => Value::String(d.value().to_string()),
        V::Array(a) => Value::Array(a.iter().map(value_to_json).collect()),
        V::InlineTable(t) => table_to_json(t),
    }
}

/// A JSON value of crux's entries as a TOML value (objects become inline tables).
fn to_toml(v: &Value) -> Option<toml_edit::Value> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64()?.into(),
        },
        Value::String(s) => s.as_str().into(),
        Value::Array(items) => items
            .iter()
            .filter_map(to_toml)
            .collect::<toml_edit::Array>()
            .into(),
        Value::Object(map) => {
            let mut t = toml_edit::InlineTable::new();
            for (k, v) in map {
                if let Some(v) = to_toml(v) {
                    t.insert(k, v);
                }
            }
            t.into()
        }
    })
}

/// Makes `target` hold `entry`'s fields: values that already match keep their formatting.
fn set_fields(target: &mut dyn TableLike, entry: &Value) {
    let wanted = entry.as_object().cloned().unwrap_or_default();
    let stale: Vec<String> = target
        .iter()
        .map(|(k, _)| k.to_owned())
        .filter(|k| !wanted.contains_key(k))
        .collect();
    for k in stale {
        target.remove(&k);
    }
    for (k, v) in &wanted {
        if target.get(k).map(to_json).as_ref() == Some(v) {
            continue;
        }
        match to_toml(v) {
            Some(v) => {
                target.insert(k, Item::Value(v));
            }
            None => {
                target.remove(k);
            }
        }
    }
}

/// The servers in a Codex config, by name; `None` when the file does not exist.
pub fn entries(path: &Path, key: &str) -> Result<Option<Vec<(String, Value)>>> {
    let Some((_, text)) = text_of(path)? else {
        return Ok(None);
    };
    let doc = parse(path, &text, key)?;
    let Some(servers) = doc.get(key).and_then(Item::as_table_like) else {
        return Ok(Some(Vec::new()));
    };
    Ok(Some(
        servers
            .iter()
            .map(|(k, v)| (k.to_owned(), to_json(v)))
            .collect(),
    ))
}

/// The new content of a Codex config with `entries` merged into its `key` table, like
/// [`super::json::plan`]. `None` when nothing changes.
pub fn plan(
    path: &Path,
    key: &str,
    entries: &[(String, Value)],
    owned: &[String],
) -> Result<Option<Vec<u8>>> {
    let (current, text) = text_of(path)?.unwrap_or_default();
    let mut doc = parse(path, &text, key)?;
    if entries.is_empty() && doc.get(key).is_none() {
        return Ok(None);
    }
    let inline = doc.get(key).is_some_and(Item::is_inline_table);
    if doc.get(key).is_none() {
        let mut servers = Table::new();
        // Only the `[mcp_servers.<name>]` headers are written, as Codex's documentation shows.
        servers.set_implicit(true);
        doc.insert(key, Item::Table(servers));
    }
    let servers = doc
        .get_mut(key)
        .and_then(Item::as_table_like_mut)
        .expect("parse checked it");
    for (name, entry) in entries {
        let differs = servers.get(name).is_some_and(|i| &to_json(i) != entry);
        if differs && !owned.contains(name) {
            return Err(foreign(path, name));
        }
    }
    for name in owned {
        if !entries.iter().any(|(n, _)| n == name) {
            servers.remove(name);
        }
    }
    for (name, entry) in entries {
        match servers.get_mut(name).and_then(Item::as_table_like_mut) {
            Some(existing) => set_fields(existing, entry),
            None if inline => {
                servers.insert(name, Item::Value(to_toml(entry).expect("an object")));
            }
            None => {
                let mut table = Table::new();
                set_fields(&mut table, entry);
                servers.insert(name, Item::Table(table));
            }
        }
    }
    let mut bytes = doc.to_string().into_bytes();
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    Ok((current != bytes).then_some(bytes))
}

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

/// The comments above a table crux removed belong to the user: they move to the table that
/// followed it (or the end of the document).
fn keep_comments(doc: &mut DocumentMut, removed: &Table) {
    let prefix = removed
        .decor()
        .prefix()
        .and_then(|p| p.as_str())
        .unwrap_or_default()
        .to_owned();
    if !prefix.contains('#') {
        return;
    }
    let Some(at) = removed.position() else {
        return;
    };
    fn next_after(table: &Table, at: isize) -> Option<isize> {
        table
            .iter()
            .filter_map(|(_, item)| item.as_table())
            .flat_map(|t| {
                let own = t.position().filter(|p| *p > at);
                own.into_iter().chain(next_after(t, at))
            })
            .min()
    }
    fn prepend(table: &mut Table, position: isize, prefix: &str) -> bool {
        for (_, item) in table.iter_mut() {
            if let Item::Table(t) = item {
                if t.position() == Some(position) {
                    let own = t
                        .decor()
                        .prefix()
                        .and_then(|p| p.as_str())
                        .unwrap_or_default()
                        .to_owned();
                    t.decor_mut().set_prefix(format!("{prefix}{own}"));
                    return true;
                }
                if prepend(t, position, prefix) {
                    return true;
                }
            }
        }
        false
    }
    match next_after(doc.as_table(), at) {
        Some(position) => {
            prepend(doc.as_table_mut(), position, &prefix);
        }
        None => {
            let trailing = doc.trailing().as_str().unwrap_or_default().to_owned();
            doc.set_trailing(format!("{trailing}{prefix}"));
        }
    }
}

/// The servers in a Codex config, by name; `None` when the file does not exist.
pub fn entries(path: &Path, key: &str) -> Result<Option<Vec<(String, Value)>>> {
    let Some((_, text)) = text_of(path)? else {
        return Ok(None);
    };
    entries_in(path, &text, key).map(Some)
}

/// [`entries`] of a file's text (as [`super::json::decode`] gives it).
pub(crate) fn entries_in(path: &Path, text: &str, key: &str) -> Result<Vec<(String, Value)>> {
    let doc = parse(path, text, key)?;
    let Some(servers) = doc.get(key).and_then(Item::as_table_like) else {
        return Ok(Vec::new());
    };
    Ok(servers
        .iter()
        .map(|(k, v)| (k.to_owned(), to_json(v)))
        .collect())
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
    plan_in(path, &current, &text, key, entries, owned)
}

/// [`plan`] of a file's bytes and text (both empty for a file that does not exist).
pub(crate) fn plan_in(
    path: &Path,
    current: &[u8],
    text: &str,
    key: &str,
    entries: &[(String, Value)],
    owned: &[String],
) -> Result<Option<Vec<u8>>> {
    let mut doc = parse(path, text, key)?;
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
    let mut orphaned = Vec::new();
    for name in owned {
        if !entries.iter().any(|(n, _)| n == name) {
            if let Some(Item::Table(t)) = servers.remove(name) {
                orphaned.push(t);
            }
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
    for table in orphaned {
        keep_comments(&mut doc, &table);
    }
    let mut bytes = doc.to_string().into_bytes();
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    Ok((current != bytes).then_some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan_text(text: &str, entries: &[(String, Value)], owned: &[&str]) -> Option<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        let owned: Vec<String> = owned.iter().map(|s| s.to_string()).collect();
        plan(&path, "mcp_servers", entries, &owned)
            .unwrap()
            .map(|b| String::from_utf8(b).unwrap())
    }

    fn entry(command: &str) -> Value {
        json!({"command": command, "args": ["a b", "-x"], "env": {"CRUX_MCP_NAME": "n", "CRUX_AUTH_ENV_VARS": "T"}})
    }

    #[test]
    fn names_that_need_quotes_and_round_trips() {
        let wanted = vec![("my.server".to_string(), entry("/l"))];
        let text = plan_text("", &wanted, &[]).unwrap();
        assert!(text.starts_with("[mcp_servers.\"my.server\"]\n"), "{text}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, &text).unwrap();
        assert_eq!(entries(&path, "mcp_servers").unwrap().unwrap(), wanted);
        assert_eq!(
            plan(
                &path,
                "mcp_servers",
                &[("my.server".into(), entry("/l"))],
                &[]
            )
            .unwrap(),
            None
        );
    }

    #[test]
    fn an_owned_entry_is_updated_in_place_and_the_rest_kept() {
        let text = "# top\n[mcp_servers.a]\ncommand = \"/old\" # old\nargs = [\"a b\", \"-x\"]\nenv = { CRUX_MCP_NAME = \"n\", CRUX_AUTH_ENV_VARS = \"T\" }\n\n[other]\nk = 1 # mine\n";
        let next = plan_text(text, &[("a".into(), entry("/new"))], &["a"]).unwrap();
        assert_eq!(next, text.replace("\"/old\" # old", "\"/new\""));
        // Not owned: refused.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, text).unwrap();
        let err = plan(&path, "mcp_servers", &[("a".into(), entry("/new"))], &[]).unwrap_err();
        assert!(err.to_string().contains("did not write"), "{err}");
        // Removed when no longer wanted.
        let next = plan_text(text, &[], &["a"]).unwrap();
        assert_eq!(next, "# top\n\n[other]\nk = 1 # mine\n");
    }

    #[test]
    fn inline_server_tables_stay_inline() {
        let text = "mcp_servers = { mine = { command = \"m\" } }\n";
        let next = plan_text(
            text,
            &[("a".into(), json!({"url": "https://x.test/mcp"}))],
            &[],
        )
        .unwrap();
        assert!(
            next.starts_with("mcp_servers = { mine = { command = \"m\" }"),
            "{next}"
        );
        assert!(
            next.contains("a = { url = \"https://x.test/mcp\" }"),
            "{next}"
        );
    }

    #[test]
    fn broken_or_odd_documents_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        for text in ["[mcp_servers\n", "mcp_servers = 3\n", "a = 1\na = 2\n"] {
            std::fs::write(&path, text).unwrap();
            assert!(
                plan(&path, "mcp_servers", &[("a".into(), entry("/l"))], &[]).is_err(),
                "{text}"
            );
        }
    }
}

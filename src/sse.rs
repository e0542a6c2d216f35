//! Server-sent events (the `text/event-stream` format Streamable HTTP answers in), parsed
//! once for the probe's client and the bridge.

use std::io::BufRead;

pub enum Item {
    /// A `retry:` field: the reconnection delay in ms, effective at once.
    Retry(u64),
    /// A dispatched event: its `id:` (if it had one) and its `data:` lines joined by `\n`
    /// (empty for an event that only carries an id, like a priming event).
    Event { id: Option<String>, data: String },
}

/// Reads `reader` to its end, handing each item to `each`, which returns `true` to stop.
/// A read error ends the stream and is returned.
pub fn read(reader: &mut dyn BufRead, mut each: impl FnMut(Item) -> bool) -> std::io::Result<()> {
    let mut data = String::new();
    let mut id: Option<String> = None;
    for line in reader.lines() {
        let line = line?;
        if line.is_empty() {
            if (id.is_some() || !data.is_empty())
                && each(Item::Event {
                    id: id.take(),
                    data: std::mem::take(&mut data),
                })
            {
                return Ok(());
            }
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_str(), ""),
        };
        match field {
            "data" => {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(value);
            }
            "id" => id = Some(value.to_string()),
            "retry" => {
                if let Ok(ms) = value.trim().parse() {
                    if each(Item::Retry(ms)) {
                        return Ok(());
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_ids_and_retry() {
        let stream = "id: e1\nretry: 500\ndata: \n\nevent: message\nid: e2\ndata: {\"a\":\ndata: 1}\n\n: comment\n\n";
        let mut seen = Vec::new();
        read(&mut stream.as_bytes(), |item| {
            seen.push(match item {
                Item::Retry(ms) => format!("retry {ms}"),
                Item::Event { id, data } => format!("{id:?} {data}"),
            });
            false
        })
        .unwrap();
        assert_eq!(
            seen,
            ["retry 500", "Some(\"e1\") ", "Some(\"e2\") {\"a\":\n1}"]
        );
    }
}

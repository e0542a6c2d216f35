//! A remote server's `{crux:VAR}` placeholders: the keychain variables its URL and extra headers
//! name, read from the keystore (only when bound to the registration, like a bearer token) and
//! filled in. The filled URL and headers go on the wire and nowhere else: what crux prints,
//! logs or compares is the placeholder form.

use crate::error::{Error, Result};
use crate::home::CruxHome;
use crate::index::Index;
use crate::names::{ServerName, VarName};
use crate::registry::{Registered, ServerSpec};
use crate::secret::Secret;
use crate::store::select;
use std::collections::BTreeMap;

/// The URL and extra headers of a remote server with its credentials filled in.
pub struct Filled {
    /// The URL requests go to.
    pub url: Secret,
    /// The registration's extra headers, by name, with their values filled in.
    pub headers: Vec<(String, Secret)>,
    /// The values, by variable: compared after a 401 to see whether the user stored new ones.
    pub values: BTreeMap<String, Secret>,
}

impl Filled {
    /// Nothing to fill: the registered URL as it is, no extra headers.
    pub fn plain(url: &str) -> Filled {
        Filled {
            url: Secret::new(url),
            headers: Vec::new(),
            values: BTreeMap::new(),
        }
    }
}

/// Reads the variables a remote server's URL and headers name, in one batch per backend.
/// Each must be stored, non-empty and bound to this registration.
pub fn read(home: &CruxHome, mcp: &ServerName, registered: &Registered) -> Result<Filled> {
    let url = registered.spec.url().unwrap_or_default();
    let vars = registered.spec.remote_vars();
    if vars.is_empty() && registered.spec.auth.headers.is_empty() {
        return Ok(Filled::plain(url));
    }
    let index = Index::load(home)?;
    let fingerprint = registered.fingerprint();
    let vars = vars
        .iter()
        .map(|v| VarName::parse(v))
        .collect::<Result<Vec<_>>>()?;
    let values = select::read_bound(
        home,
        &index,
        mcp,
        &fingerprint,
        &vars,
        |var| {
            Error::failed(
                format!("{mcp}: {var} was stored before this registration of '{mcp}' (for another definition, or before it was registered), so crux does not send it"),
                format!("review the registration and confirm it: crux mcp bind {mcp}"),
            )
        },
        |var, _| Error::NotStored {
            mcp: mcp.to_string(),
            var: var.to_string(),
        },
    )?
    .into_iter()
    .map(|(v, s)| (v.to_string(), s))
    .collect();
    fill(mcp, &registered.spec, values)
}

/// The URL and headers of `spec` filled with `values`, checked: a value that cannot go in a
/// header, or that would send the request to another origin, is refused (unseen).
pub fn fill(
    mcp: &ServerName,
    spec: &ServerSpec,
    values: BTreeMap<String, Secret>,
) -> Result<Filled> {
    let url = spec.url().unwrap_or_default();
    let refuse = |var: &str, why: &str| {
        Error::failed(
            format!("{mcp}: the stored {var} {why} (it is not shown)"),
            format!("store it again: crux mcp auth {mcp} {var}"),
        )
    };
    let mut headers = Vec::new();
    for (name, template) in &spec.auth.headers {
        for var in crate::template::placeholders(template) {
            if values
                .get(&var)
                .is_some_and(|v| !super::header_safe(v.expose()))
            {
                return Err(refuse(&var, "contains a line break, control or non-ASCII character, which cannot go in an HTTP header"));
            }
        }
        let value = crate::template::fill(template, &values);
        crate::redact::remember(&value);
        headers.push((name.clone(), value));
    }
    let in_url = crate::template::placeholders(url);
    for var in &in_url {
        if values
            .get(var)
            .is_some_and(|v| !v.expose().chars().all(|c| c.is_ascii_graphic()))
        {
            return Err(refuse(
                var,
                "contains a space, control or non-ASCII character, which cannot go in a URL",
            ));
        }
    }
    let filled = crate::template::fill(url, &values);
    if !in_url.is_empty() {
        let origin = |u: &str| url::Url::parse(u).ok().map(|u| u.origin());
        let same = origin(url).is_some_and(|o| o.is_tuple() && Some(o) == origin(filled.expose()));
        if !same {
            let var = in_url.join(", ");
            return Err(refuse(
                &var,
                "would send the request to another server than the registered URL names",
            ));
        }
    }
    for value in values.values() {
        crate::redact::remember(value);
    }
    Ok(Filled {
        url: filled,
        headers,
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Source;

    fn spec(url: &str, headers: &[(&str, &str)], keychain: &[&str]) -> ServerSpec {
        let mut s: ServerSpec = serde_json::from_value(serde_json::json!({
            "source": {"type": "url", "url": url},
        }))
        .unwrap();
        s.auth.keychain = keychain.iter().map(|k| k.to_string()).collect();
        s.auth.headers = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert!(matches!(s.source, Source::Url { .. }));
        s
    }

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, Secret> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Secret::new(*v)))
            .collect()
    }

    #[test]
    fn fills_url_and_headers_on_the_same_origin_only() {
        let mcp = ServerName::parse("r").unwrap();
        let s = spec(
            "https://h.example/mcp?api_key={crux:API_KEY}",
            &[("X-Team", "t-{crux:TEAM}")],
            &["API_KEY", "TEAM"],
        );
        let f = fill(
            &mcp,
            &s,
            values(&[("API_KEY", "k-1"), ("TEAM", "secret-team")]),
        )
        .unwrap();
        assert_eq!(f.url.expose(), "https://h.example/mcp?api_key=k-1");
        assert_eq!(f.headers[0].0, "X-Team");
        assert_eq!(f.headers[0].1.expose(), "t-secret-team");

        let s = spec("https://{crux:U}@h.example/mcp", &[], &["U"]);
        let f = fill(&mcp, &s, values(&[("U", "user:pw")])).unwrap();
        assert_eq!(f.url.expose(), "https://user:pw@h.example/mcp");
        let e = fill(&mcp, &s, values(&[("U", "x@evil.example/")]))
            .err()
            .unwrap()
            .render();
        assert!(e.contains("another server") && !e.contains("evil"), "{e}");

        let s = spec("https://h.example/mcp", &[("X-K", "{crux:K}")], &["K"]);
        let e = fill(&mcp, &s, values(&[("K", "a\r\nX-Evil: 1")]))
            .err()
            .unwrap()
            .render();
        assert!(e.contains("HTTP header") && !e.contains("Evil"), "{e}");
    }
}

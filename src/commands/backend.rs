//! `crux backend`: which keystore is active and why; saving a choice; moving every credential
//! from one keystore to another without losing any.

use crate::cli::{BackendArgs, BackendCommand};
use crate::error::{Error, Result};
use crate::home::CruxHome;
use crate::index::Index;
use crate::names::{ServerName, VarName};
use crate::settings::Settings;
use crate::store::select::{self, Reason};
use crate::store::{Backend, SecretStore};
use std::collections::BTreeMap;

pub fn run(args: BackendArgs, home: &CruxHome) -> Result<()> {
    match args.command {
        None => show(home, args.json),
        Some(BackendCommand::Set { backend }) => set(home, backend),
        Some(BackendCommand::Migrate { to }) => migrate(home, to),
    }
}

fn show(home: &CruxHome, json: bool) -> Result<()> {
    let choice = select::choose(home)?;
    let index = Index::load(home)?;
    let counts = index.counts_by_backend();
    if json {
        let reason = match choice.reason {
            Reason::Env => "env",
            Reason::Saved => "saved",
            Reason::Automatic(_) => "automatic",
        };
        let out = serde_json::json!({
            "backend": choice.backend,
            "reason": reason,
            "explanation": choice.explain(),
            "credentials": counts,
        });
        println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
        return Ok(());
    }
    println!("backend: {} ({})", choice.backend, choice.explain());
    let stored: Vec<String> = counts.iter().map(|(b, n)| format!("{n} in {b}")).collect();
    if stored.is_empty() {
        println!("stored:  no credentials yet");
    } else {
        println!("stored:  {}", stored.join(", "));
    }
    let elsewhere: usize = counts
        .iter()
        .filter(|(b, _)| **b != choice.backend)
        .map(|(_, n)| n)
        .sum();
    if elsewhere > 0 {
        println!(
            "note:    {elsewhere} credential(s) are not in {0}; move them with: crux backend migrate {0}",
            choice.backend
        );
    }
    Ok(())
}

/// Opens `backend` and makes sure it can take credentials now.
fn open_usable(backend: Backend, home: &CruxHome) -> Result<Box<dyn SecretStore>> {
    #[cfg(target_os = "linux")]
    if backend == Backend::SecretService {
        crate::store::secret_service::probe()
            .map_err(|reason| Error::StoreUnavailable { backend, reason })?;
    }
    select::open(backend, home)
}

fn set(home: &CruxHome, backend: Backend) -> Result<()> {
    open_usable(backend, home)?;
    let _lock = home.lock()?;
    let mut settings = Settings::load(home)?;
    settings.backend = Some(backend);
    settings.save(home)?;
    println!("✓ Saved backend: {backend}");
    warn_env_override(backend);
    let elsewhere: usize = Index::load(home)?
        .counts_by_backend()
        .iter()
        .filter(|(b, _)| **b != backend)
        .map(|(_, n)| n)
        .sum();
    if elsewhere > 0 {
        println!("{elsewhere} credential(s) stay where they are; move them with: crux backend migrate {backend}");
    }
    Ok(())
}

fn migrate(home: &CruxHome, to: Backend) -> Result<()> {
    let target = open_usable(to, home)?;
    let _lock = home.lock()?;
    let mut index = Index::load(home)?;

    // (from, server) -> variables to move.
    let mut groups: BTreeMap<(Backend, String), Vec<VarName>> = BTreeMap::new();
    for (mcp, var, cred) in index.iter() {
        if cred.backend != to {
            groups
                .entry((cred.backend, mcp.to_owned()))
                .or_default()
                .push(VarName::parse(var)?);
        }
    }

    let mut sources: BTreeMap<Backend, Box<dyn SecretStore>> = BTreeMap::new();
    let mut moved: Vec<(Backend, ServerName, VarName)> = Vec::new();
    let mut missing = 0;
    for ((from, mcp), vars) in &groups {
        let mcp = ServerName::parse(mcp)?;
        if !sources.contains_key(from) {
            sources.insert(*from, select::open(*from, home)?);
        }
        let source = &sources[from];
        let values = source.get_many(&mcp, vars)?;
        for var in vars.iter().filter(|v| !values.contains_key(*v)) {
            missing += 1;
            eprintln!(
                "warning: {mcp} {var} is in the index but not in {from}; left as it is (store it again: crux mcp auth {mcp} {var})"
            );
        }
        if values.is_empty() {
            continue;
        }
        let batch: Vec<_> = values.iter().map(|(v, s)| (v.clone(), s.clone())).collect();
        target.set_many(&mcp, &batch)?;
        // Read back before anything old is deleted.
        let names: Vec<VarName> = values.keys().cloned().collect();
        let copied = target.get_many(&mcp, &names)?;
        if copied != values {
            return Err(Error::StoreFailed {
                backend: to,
                reason: format!(
                    "{mcp}: the copies read back differ from the originals; nothing was deleted"
                ),
            });
        }
        moved.extend(names.into_iter().map(|v| (*from, mcp.clone(), v)));
    }

    if missing > 0 {
        // A migration is whole or not at all: take the copies back, and leave the index and
        // the saved backend as they were.
        for (_, mcp, var) in &moved {
            if let Err(e) = target.delete(mcp, var) {
                crate::commands::auth::warn_leftover(to, mcp, var, &e);
            }
        }
        let from: Vec<String> = groups.keys().map(|(b, _)| b.to_string()).collect();
        return Err(Error::failed(
            format!(
                "{missing} credential(s) are in the index but not in their backend ({}), so nothing was moved and the saved backend is unchanged",
                from.join(", ")
            ),
            format!("store each one again or delete it (see the warnings above), then run: crux backend migrate {to}"),
        ));
    }

    for (_, mcp, var) in &moved {
        let cred = index
            .servers
            .get_mut(mcp.as_str())
            .and_then(|s| s.credentials.get_mut(var.as_str()))
            .expect("moved credentials come from the index");
        cred.backend = to;
    }
    index.save(home)?;
    let mut settings = Settings::load(home)?;
    settings.backend = Some(to);
    settings.save(home)?;

    let mut leftovers = 0;
    for (from, mcp, var) in &moved {
        if let Err(e) = sources[from].delete(mcp, var) {
            leftovers += 1;
            crate::commands::auth::warn_leftover(*from, mcp, var, &e);
        }
    }
    println!(
        "✓ Moved {} credential(s) to {to}{}; {to} is now the saved backend",
        moved.len(),
        if leftovers > 0 {
            " (partly, see the warnings)"
        } else {
            ""
        }
    );
    warn_env_override(to);
    if leftovers > 0 {
        return Err(Error::failed(
            format!("{leftovers} old copies could not be deleted from their old backend (see the warnings above)"),
            "delete them there by hand, or run the migration again once that backend is reachable",
        ));
    }
    Ok(())
}

fn warn_env_override(saved: Backend) {
    if let Some(env) = std::env::var_os("CRUX_BACKEND")
        .filter(|v| !v.is_empty() && v.to_str() != Some(saved.as_str()))
    {
        eprintln!(
            "warning: CRUX_BACKEND={} overrides the saved backend in this environment",
            crate::error::sanitize(&env.to_string_lossy())
        );
    }
}

//! The crux side: its binary, the installed launchers, `CRUX_HOME`'s permissions, and the
//! backends that hold (or will hold) the credentials.

use super::Check;
use crate::error::sanitize;
use crate::home::CruxHome;
use crate::index::Index;
use crate::project::Projects;
use crate::registry::{Registered, Registry};
use crate::store::{select, Backend};
use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// What every later check reads: loaded once.
pub struct Context {
    pub registry: Registry,
    pub index: Index,
    pub projects: Projects,
}

impl Context {
    /// Loads the registry, the index and the projects; a file that cannot be read is a
    /// failed check (and the checks that need it are skipped).
    pub fn load(home: &CruxHome, checks: &mut Vec<Check>) -> Option<Context> {
        let loaded = (|| {
            Ok::<_, crate::error::Error>(Context {
                registry: Registry::load(home)?,
                index: Index::load(home)?,
                projects: Projects::load(home)?,
            })
        })();
        match loaded {
            Ok(cx) => Some(cx),
            Err(e) => {
                checks.push(Check::from_error(
                    "crux",
                    "files",
                    home.root().display().to_string(),
                    &e,
                    "repair or move aside the file named above",
                ));
                None
            }
        }
    }
}

/// Whether a server's entry goes through a launcher (it has credentials to fetch).
pub fn needs_launcher(r: &Registered) -> bool {
    let auth = &r.spec.auth;
    !auth.launch_vars().is_empty() || auth.oauth.is_some() || auth.bearer.is_some()
}

pub fn binary(checks: &mut Vec<Check>) {
    let version = env!("CARGO_PKG_VERSION");
    match std::env::current_exe() {
        Ok(exe) => checks.push(Check::ok(
            "crux",
            "binary",
            "crux",
            format!("version {version} at {}", exe.display()),
        )),
        Err(e) => checks.push(Check::failed(
            "crux",
            "binary",
            "crux",
            format!("cannot find its own path: {e}"),
            "run crux by its full path",
        )),
    }
    if which::which("crux").is_err() {
        checks.push(Check::warn(
            "crux",
            "binary",
            "crux",
            "crux is not on PATH; the launchers run it by the path they were installed with",
            Some("put the directory holding crux on PATH (e.g. cargo install puts it in ~/.cargo/bin)".into()),
        ));
    }
}

/// A shell word for a path, for fix commands.
pub fn quoted(path: &Path) -> String {
    let text = path.to_string_lossy();
    shlex::try_quote(&text)
        .map(|q| q.into_owned())
        .unwrap_or_else(|_| text.into_owned())
}

/// CRUX_HOME, its folders and its files: the user's own, and private (folders 0700, files
/// 0600, the launchers 0700). The installed servers under `mcps/` keep their packages' modes.
pub fn home_permissions(home: &CruxHome, checks: &mut Vec<Check>) {
    let root = home.root();
    let subject = format!("CRUX_HOME {}", root.display());
    let Ok(meta) = std::fs::symlink_metadata(root) else {
        checks.push(Check::warn(
            "crux",
            "permissions",
            subject,
            "does not exist yet (nothing is registered)",
            Some("register a server: crux mcp add <name> …".into()),
        ));
        return;
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let mut bad = Vec::new();
    let mut seen = 0;
    let mut look = |path: &Path, meta: &std::fs::Metadata, want: u32| {
        seen += 1;
        let mode = meta.permissions().mode() & 0o777;
        if meta.uid() != me {
            bad.push((
                path.to_path_buf(),
                format!("belongs to another user (uid {})", meta.uid()),
                format!("chown \"$(id -u)\" {}", quoted(path)),
            ));
        } else if mode & 0o077 != 0 {
            bad.push((
                path.to_path_buf(),
                format!(
                    "is {} by other users (mode {mode:o})",
                    if mode & 0o022 != 0 {
                        "writable"
                    } else {
                        "readable"
                    }
                ),
                format!("chmod {want:o} {}", quoted(path)),
            ));
        }
    };
    look(root, &meta, 0o700);
    let entries = std::fs::read_dir(root).into_iter().flatten().flatten();
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if name.contains(".tmp.") {
            continue;
        }
        if meta.is_dir() {
            look(&path, &meta, 0o700);
            if name == "launchers" {
                for script in std::fs::read_dir(&path).into_iter().flatten().flatten() {
                    if let Ok(m) = std::fs::symlink_metadata(script.path()) {
                        look(&script.path(), &m, 0o700);
                    }
                }
            }
        } else {
            look(&path, &meta, 0o600);
        }
    }
    if bad.is_empty() {
        checks.push(Check::ok(
            "crux",
            "permissions",
            subject,
            format!("yours and private ({seen} folders and files checked)"),
        ));
    }
    for (path, problem, fix) in bad {
        checks.push(Check::failed(
            "crux",
            "permissions",
            path.display().to_string(),
            problem,
            fix,
        ));
    }
}

/// The installed launchers: present when a server needs one, the same as this binary would
/// install, and naming a crux binary that runs.
pub fn launchers(home: &CruxHome, cx: &Context, checks: &mut Vec<Check>) {
    // Needed by the entries crux wrote in tracked projects (`crux project sync` installs them).
    let in_projects: BTreeSet<&str> = cx
        .projects
        .projects
        .values()
        .flat_map(|t| t.generated.iter().map(String::as_str))
        .collect();
    let needed: Vec<&str> = cx
        .registry
        .servers
        .iter()
        .filter(|(n, r)| needs_launcher(r) && in_projects.contains(n.as_str()))
        .map(|(n, _)| n.as_str())
        .collect();
    let dir = home.launchers_dir();
    if needed.is_empty() && !dir.exists() {
        return;
    }
    let fix = "crux project sync --all (reinstalls the launchers for this crux)";
    let expected = match crate::sync::launcher_scripts(home) {
        Ok(e) => e,
        Err(e) => {
            checks.push(Check::from_error("crux", "launcher", "launchers", &e, fix));
            return;
        }
    };
    for (name, script) in expected {
        let path = dir.join(name);
        let subject = format!("launcher {}", path.display());
        let current = match crate::fsutil::read_optional(&path) {
            Ok(c) => c,
            Err(e) => {
                checks.push(Check::from_error("crux", "launcher", subject, &e, fix));
                continue;
            }
        };
        let Some(current) = current else {
            if !needed.is_empty() {
                checks.push(Check::failed(
                    "crux",
                    "launcher",
                    subject,
                    format!("is missing (needed by {})", needed.join(", ")),
                    fix,
                ));
            }
            continue;
        };
        let text = String::from_utf8_lossy(&current);
        let named = installed_bin(&text);
        let runs = named.as_deref().is_some_and(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        });
        if !runs {
            checks.push(Check::failed(
                "crux",
                "launcher",
                subject.clone(),
                format!(
                    "runs crux from {}, which is not an executable file",
                    sanitize(named.as_deref().unwrap_or("(no path)"))
                ),
                fix,
            ));
        }
        let mode = std::fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        if current != script.as_bytes() {
            checks.push(Check::failed(
                "crux",
                "launcher",
                subject,
                "is stale: it differs from what this crux installs (another version, binary or CRUX_HOME)",
                fix,
            ));
        } else if mode != 0o700 {
            checks.push(Check::failed(
                "crux",
                "launcher",
                subject,
                format!("has mode {mode:o}, not 700"),
                format!("chmod 700 {}", quoted(&path)),
            ));
        } else if runs {
            checks.push(Check::ok(
                "crux",
                "launcher",
                subject,
                "current with this crux",
            ));
        }
    }
}

/// The crux binary an installed launcher runs (its `installed_bin=` line).
fn installed_bin(script: &str) -> Option<String> {
    let line = script
        .lines()
        .find_map(|l| l.trim().strip_prefix("installed_bin="))?;
    shlex::split(line)?.into_iter().next()
}

/// The active backend, and every backend the index has credentials in: reachable, and (as far
/// as can be told without unlocking) usable.
pub fn backends(home: &CruxHome, cx: &Context, checks: &mut Vec<Check>) {
    let counts = cx.index.counts_by_backend();
    let mut backends: BTreeSet<Backend> = counts.keys().copied().collect();
    match select::choose(home) {
        Ok(choice) => {
            checks.push(Check::ok(
                "backend",
                "backend",
                format!("backend {}", choice.backend),
                format!("active ({})", choice.explain()),
            ));
            backends.insert(choice.backend);
        }
        Err(e) => checks.push(Check::from_error(
            "backend",
            "backend",
            "backend",
            &e,
            "set a backend: crux backend set age",
        )),
    }
    for backend in backends {
        let count = counts.get(&backend).copied().unwrap_or(0);
        checks.push(backend_check(home, backend, count));
    }
}

fn backend_check(home: &CruxHome, backend: Backend, count: usize) -> Check {
    let subject = format!("{backend} keystore");
    let holds = format!("{count} credential(s) in the index");
    match backend {
        Backend::Age => {
            let store = home.age_store_path();
            let identity = home.age_identity_path();
            match (store.exists(), identity.exists()) {
                (true, true) => match crate::fsutil::check_private(&identity) {
                    Ok(()) => Check::ok(
                        "backend",
                        "keystore",
                        subject,
                        format!("{} and its identity are in place; {holds}", store.display()),
                    ),
                    Err(e) => Check::from_error("backend", "keystore", subject, &e, "chmod 600"),
                },
                (true, false) => {
                    let e = crate::error::Error::MissingIdentity { store, identity };
                    Check::from_error("backend", "keystore", subject, &e, "")
                }
                (false, _) if count > 0 => Check::failed(
                    "backend",
                    "keystore",
                    subject,
                    format!("{} is missing, but {holds}", store.display()),
                    "restore it from your backup, or store the credentials again: crux mcp auth --all",
                ),
                (false, _) => Check::ok(
                    "backend",
                    "keystore",
                    subject,
                    "no secrets.age yet; it is created with the first credential",
                ),
            }
        }
        #[cfg(target_os = "linux")]
        Backend::SecretService => match crate::store::secret_service::probe() {
            Ok(why) => Check::ok("backend", "keystore", subject, format!("{why}; {holds}")),
            Err(reason) => {
                let e = crate::error::Error::StoreUnavailable { backend, reason };
                Check::from_error("backend", "keystore", subject, &e, "")
            }
        },
        #[allow(unreachable_patterns)]
        other => match select::open(other, home) {
            Ok(_) => Check::ok("backend", "keystore", subject, holds),
            Err(e) => Check::from_error("backend", "keystore", subject, &e, ""),
        },
    }
}

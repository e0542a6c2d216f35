//! Every tracked project: its host files present and current, and each host's own gate.

use super::setup::Context;
use super::Check;
use crate::home::CruxHome;
use crate::hosts::{FileState, HostFile};
use crate::project::{ProjectFile, ProjectServer, PROJECT_FILE};
use std::path::Path;

const SYNC_FIX: &str = "crux project sync --all";

pub fn check(home: &CruxHome, cx: &Context, checks: &mut Vec<Check>) {
    for (dir, tracked) in &cx.projects.projects {
        let subject = dir.display().to_string();
        let project = match ProjectFile::load(dir) {
            Ok(Some(p)) => p,
            Ok(None) => {
                checks.push(Check::warn(
                    "projects",
                    "project",
                    subject,
                    format!("its {PROJECT_FILE} is gone; crux still tracks it"),
                    Some(format!("{SYNC_FIX} (drops it)")),
                ));
                continue;
            }
            Err(e) => {
                checks.push(Check::from_error(
                    "projects", "project", subject, &e, SYNC_FIX,
                ));
                continue;
            }
        };
        unregistered(dir, &project, cx, checks);
        let hosts = match crate::sync::check_project(home, dir) {
            Ok(h) => h,
            Err(e) => {
                checks.push(Check::from_error(
                    "projects",
                    "host-file",
                    subject,
                    &e,
                    SYNC_FIX,
                ));
                Vec::new()
            }
        };
        checks.extend(hosts.iter().map(host_file));
        super::gates::check(dir, tracked, checks);
    }
}

/// One host file's state as a check.
fn host_file(file: &HostFile) -> Check {
    let subject = file.path.display().to_string();
    let host = file.host.name();
    match file.state {
        FileState::Current => Check::ok(
            "projects",
            "host-file",
            subject,
            format!("current ({host})"),
        ),
        FileState::Stale => Check::failed(
            "projects",
            "host-file",
            subject,
            format!("stale: a sync would change crux's entries in it ({host})"),
            SYNC_FIX,
        ),
        FileState::Missing => Check::failed(
            "projects",
            "host-file",
            subject,
            format!("missing ({host} is configured for this project)"),
            SYNC_FIX,
        ),
    }
}

/// Servers `crux.json` defines that this machine has not registered (the registered ones are
/// checked under "servers").
fn unregistered(dir: &Path, project: &ProjectFile, cx: &Context, checks: &mut Vec<Check>) {
    for (name, server) in &project.servers {
        if let (None, ProjectServer::Spec(spec)) = (cx.registry.servers.get(name), server) {
            for gap in crate::gaps::server_gaps(name, spec, &cx.index, &cx.registry) {
                checks.push(Check::failed(
                    "projects",
                    "ready",
                    format!("{} ({name})", dir.display()),
                    gap.problem,
                    gap.fix,
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_files_report_their_state_with_the_sync_fix() {
        let file = |state| HostFile {
            host: crate::hosts::HostId::Codex,
            path: "/p/.codex/config.toml".into(),
            state,
        };
        let current = host_file(&file(FileState::Current));
        assert_eq!(current.status, super::super::Status::Ok);
        assert!(current
            .line()
            .starts_with("✓ /p/.codex/config.toml: current (codex)"));
        for state in [FileState::Stale, FileState::Missing] {
            let c = host_file(&file(state));
            assert_eq!(c.status, super::super::Status::Failed);
            assert!(
                c.line().ends_with("— fix: crux project sync --all"),
                "{}",
                c.line()
            );
        }
    }
}

//! `crux doctor`: every check a server's start depends on, one line each, with the fix.
//!
//! Reads only: nothing is written, and without `--live` no keystore is unlocked and no server
//! is started (credentials are checked in the index). `--live` reads every credential (the
//! values are dropped at once and never printed), refreshes OAuth tokens, and starts each
//! server through its generated entry.

mod gates;
mod live;
mod projects;
mod servers;
mod setup;

use crate::error::{Error, Result};
use crate::home::CruxHome;
use serde_json::json;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Works, but deserves a look.
    Warn,
    Failed,
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Check {
    /// The section it is printed under.
    group: &'static str,
    /// What kind of check it is (stable, for `--json`): `launcher`, `credentials`, …
    check: &'static str,
    /// What was checked: a path, a server, a project.
    subject: String,
    status: Status,
    /// What was found: on success what is fine, otherwise what is wrong.
    text: String,
    fix: Option<String>,
}

impl Check {
    pub fn ok(
        group: &'static str,
        check: &'static str,
        subject: impl Into<String>,
        text: impl Into<String>,
    ) -> Check {
        Check {
            group,
            check,
            subject: subject.into(),
            status: Status::Ok,
            text: text.into(),
            fix: None,
        }
    }

    pub fn failed(
        group: &'static str,
        check: &'static str,
        subject: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            status: Status::Failed,
            fix: Some(fix.into()),
            ..Check::ok(group, check, subject, problem)
        }
    }

    pub fn warn(
        group: &'static str,
        check: &'static str,
        subject: impl Into<String>,
        problem: impl Into<String>,
        fix: Option<String>,
    ) -> Check {
        Check {
            status: Status::Warn,
            fix,
            ..Check::ok(group, check, subject, problem)
        }
    }

    /// A failure from an error: its message, and its fix (or `fallback`).
    pub fn from_error(
        group: &'static str,
        check: &'static str,
        subject: impl Into<String>,
        e: &Error,
        fallback: &str,
    ) -> Check {
        let subject = subject.into();
        let message = e.to_string();
        // Errors name their server; the line does already.
        let problem = message
            .strip_prefix(&format!("{subject}: "))
            .unwrap_or(&message)
            .to_string();
        Check::failed(
            group,
            check,
            subject,
            problem,
            e.fix().unwrap_or_else(|| fallback.to_string()),
        )
    }

    fn line(&self) -> String {
        let text = match (self.status, &self.fix) {
            (Status::Ok, _) => format!("✓ {}: {}", self.subject, self.text),
            (Status::Failed, fix) => format!(
                "✗ {}: {} — fix: {}",
                self.subject,
                self.text,
                fix.as_deref().unwrap_or("")
            ),
            (Status::Warn, Some(fix)) => format!("! {}: {} — fix: {fix}", self.subject, self.text),
            (Status::Warn, None) => format!("! {}: {}", self.subject, self.text),
        };
        one_line(&text)
    }

    fn to_json(&self) -> serde_json::Value {
        let ok = self.status != Status::Failed;
        json!({
            "group": self.group,
            "check": self.check,
            "subject": mask(&self.subject),
            "ok": ok,
            "warning": self.status == Status::Warn,
            "detail": if self.status == Status::Ok { Some(mask(&self.text)) } else { None },
            "problem": if self.status == Status::Ok { None } else { Some(mask(&self.text)) },
            "fix": self.fix.as_deref().map(mask),
        })
    }
}

/// Printed text stays on one line, and no credential this process read shows.
fn one_line(text: &str) -> String {
    mask(&crate::error::one_line(text))
}

fn mask(text: &str) -> String {
    crate::redact::mask(text).into_owned()
}

pub fn run(home: &CruxHome, live: bool, json: bool) -> Result<()> {
    let mut checks = Vec::new();
    let context = setup::Context::load(home, &mut checks);
    setup::binary(&mut checks);
    setup::home_permissions(home, &mut checks);
    if let Some(cx) = &context {
        setup::launchers(home, cx, &mut checks);
        setup::backends(home, cx, &mut checks);
        servers::check(home, cx, live, &mut checks);
        projects::check(home, cx, &mut checks);
        if live {
            live::start_all(home, cx, &mut checks);
        }
    }
    report(&checks, json)
}

const GROUPS: [(&str, &str); 6] = [
    ("crux", "crux"),
    ("backend", "backend"),
    ("servers", "servers"),
    ("projects", "projects"),
    ("hosts", "host gates"),
    ("live", "servers started (--live)"),
];

fn report(checks: &[Check], json: bool) -> Result<()> {
    let failed = checks.iter().filter(|c| c.status == Status::Failed).count();
    let warnings = checks.iter().filter(|c| c.status == Status::Warn).count();
    if json {
        let out = json!({
            "checks": checks.iter().map(Check::to_json).collect::<Vec<_>>(),
            "summary": { "checks": checks.len(), "failed": failed, "warnings": warnings },
        });
        println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
    } else {
        for (group, title) in GROUPS {
            let lines: Vec<&Check> = checks.iter().filter(|c| c.group == group).collect();
            if lines.is_empty() {
                continue;
            }
            println!("{title}");
            for c in lines {
                println!("  {}", c.line());
            }
        }
        println!(
            "{} checks, {failed} failed{}",
            checks.len(),
            if warnings > 0 {
                format!(", {warnings} warning(s)")
            } else {
                String::new()
            }
        );
    }
    if failed > 0 {
        return Err(Error::failed(
            format!("{failed} of {} checks failed", checks.len()),
            "run the fixes listed above, then: crux doctor",
        ));
    }
    Ok(())
}

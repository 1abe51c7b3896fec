//! `nook doctor`: is this host ready for containers run by this user? Each
//! check is a small function (checks.rs) returning ok / warn / fail with what
//! it found and, when not ok, the exact fix. Two checks are tried rather than
//! guessed (probe.rs): a user namespace and an overlay mount inside one, made
//! by a fresh copy of this binary so nothing here changes namespace.
//!
//! `nook` itself calls [`require_rootless`] before it needs a user namespace,
//! so a missing prerequisite reads the same as the doctor's line, with its fix.
#![forbid(unsafe_code)]

mod checks;
pub mod probe;

use crate::error::{Error, Result};
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// The exact fix (empty when ok).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fix: String,
}

impl Check {
    pub fn ok(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Ok,
            detail: detail.into(),
            fix: String::new(),
        }
    }

    pub fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Warn,
            detail: detail.into(),
            fix: fix.into(),
        }
    }

    pub fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Fail,
            detail: detail.into(),
            fix: fix.into(),
        }
    }

    /// `NAME: DETAIL; fix: FIX` on one line.
    pub fn one_line(&self) -> String {
        if self.fix.is_empty() {
            format!("{}: {}", self.name, self.detail)
        } else {
            format!("{}: {}; fix: {}", self.name, self.detail, self.fix)
        }
    }
}

/// Every check, in the order printed. `store` is where `nook` keeps images.
pub fn run_all(store: &Path) -> Vec<Check> {
    let who = checks::Who::current();
    let tried = probe::run(store);
    vec![
        checks::user_namespaces(&tried),
        checks::subids(&who, crate::subid::Kind::Uid),
        checks::subids(&who, crate::subid::Kind::Gid),
        checks::helper(&who, crate::subid::Kind::Uid),
        checks::helper(&who, crate::subid::Kind::Gid),
        checks::cgroups(&who),
        checks::runtime_dir(&who),
        checks::overlay(&tried),
        checks::fuse_overlayfs(&tried),
        checks::network(),
        checks::disk(store),
    ]
}

/// The checks a rootless `nook` needs to map the user's ranges (sysctls,
/// subuid/subgid, the helpers), without the tried probes: the first failure
/// becomes the error, worded as the doctor words it.
pub fn require_rootless() -> Result<()> {
    let who = checks::Who::current();
    let found = [
        checks::user_namespace_sysctls(),
        checks::subids(&who, crate::subid::Kind::Uid),
        checks::subids(&who, crate::subid::Kind::Gid),
        checks::helper(&who, crate::subid::Kind::Uid),
        checks::helper(&who, crate::subid::Kind::Gid),
    ];
    match found.into_iter().find(|c| c.status == Status::Fail) {
        Some(c) => Err(Error::Unsupported {
            field: "rootless".into(),
            msg: format!("{} (see `nook doctor`)", c.one_line()),
        }),
        None => Ok(()),
    }
}

/// A refused unshare(CLONE_NEWUSER), with the doctor's reason and fix when a
/// sysctl explains it.
pub fn explain_userns(e: Error) -> Error {
    let c = checks::user_namespace_sysctls();
    let why = if c.status == Status::Fail {
        c.one_line()
    } else {
        "see `nook doctor`".to_string()
    };
    Error::Context {
        context: format!("creating the user namespace ({why})"),
        inner: Box::new(e),
    }
}

/// The report as text: one line per check, the fix indented below it.
pub fn render_text(checks: &[Check]) -> String {
    let mut out = String::new();
    for c in checks {
        let tag = match c.status {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        };
        out.push_str(&format!("{tag:<5} {:<22} {}\n", c.name, c.detail));
        if !c.fix.is_empty() {
            out.push_str(&format!("      {:<22} fix: {}\n", "", c.fix));
        }
    }
    let fails = checks.iter().filter(|c| c.status == Status::Fail).count();
    let warns = checks.iter().filter(|c| c.status == Status::Warn).count();
    out.push_str(&format!("{fails} failed, {warns} warnings\n"));
    out
}

/// The report as JSON: `{"ok": bool, "checks": [...]}`.
pub fn render_json(checks: &[Check]) -> serde_json::Value {
    serde_json::json!({
        "ok": checks.iter().all(|c| c.status != Status::Fail),
        "checks": checks,
    })
}

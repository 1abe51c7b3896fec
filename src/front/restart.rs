//! Restart policies (`run --restart no|on-failure[:N]|always|unless-stopped`),
//! applied by the container's monitor: when the container ends, the monitor
//! decides (`Policy::wants`), waits docker's backoff (100 ms doubling each
//! time, at most 1 minute, back to 100 ms after a run of 10 s or more) and
//! creates and starts it again. `stop` and `rm -f` leave the `stopped`
//! marker first, which the monitor honours (docker's "manually stopped").
//! While it waits the monitor keeps `restart.json`, from which the status
//! is `Restarting (N) ... ago`.

use super::containers;
use crate::error::{Error, Result};
use crate::image::store::Store;
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub const RESTART_FILE: &str = "restart.json";
/// Left by `stop` and `rm -f`: the monitor must not restart the container.
pub const STOPPED_MARK: &str = "stopped";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    #[default]
    No,
    OnFailure(u32),
    Always,
    UnlessStopped,
}

impl Policy {
    /// docker's grammar; `rm` is `--rm` (the two conflict, as in docker).
    pub fn parse(s: &str, rm: bool) -> Result<Policy> {
        let bad = |why: &str| Error::Usage(format!("--restart {s:?}: {why}"));
        let (name, count) = match s.split_once(':') {
            Some((n, c)) => (n, Some(c)),
            None => (s, None),
        };
        let p = match (name, count) {
            ("" | "no", None) => Policy::No,
            ("always", None) => Policy::Always,
            ("unless-stopped", None) => Policy::UnlessStopped,
            ("on-failure", None) => Policy::OnFailure(0),
            ("on-failure", Some(c)) => Policy::OnFailure(
                c.parse::<u32>()
                    .map_err(|_| bad("maximum retry count must be a number from 0"))?,
            ),
            ("no" | "always" | "unless-stopped", Some(_)) => {
                return Err(bad(&format!(
                    "maximum retry count cannot be used with restart policy '{name}'"
                )))
            }
            _ => {
                return Err(bad(
                    "invalid restart policy (no, on-failure[:N], always, unless-stopped)",
                ))
            }
        };
        if rm && p != Policy::No {
            return Err(Error::Usage(
                "Conflicting options: --restart and --rm".into(),
            ));
        }
        Ok(p)
    }

    /// As it is stored and shown (docker's Name and MaximumRetryCount).
    pub fn name(self) -> (&'static str, u32) {
        match self {
            Policy::No => ("no", 0),
            Policy::OnFailure(n) => ("on-failure", n),
            Policy::Always => ("always", 0),
            Policy::UnlessStopped => ("unless-stopped", 0),
        }
    }

    pub fn to_spec(self) -> String {
        match self {
            Policy::OnFailure(n) if n > 0 => format!("on-failure:{n}"),
            p => p.name().0.to_string(),
        }
    }

    /// Restart after exit `code`, this being restart number `count + 1`?
    pub fn wants(self, code: i32, count: u32) -> bool {
        match self {
            Policy::No => false,
            Policy::OnFailure(max) => code != 0 && (max == 0 || count < max),
            Policy::Always | Policy::UnlessStopped => true,
        }
    }
}

/// docker's backoff before restart number `n` (1-based): 100 ms doubling, at most 1 min.
pub fn backoff(n: u32) -> Duration {
    let ms = 100u64.saturating_mul(1u64 << n.saturating_sub(1).min(20));
    Duration::from_millis(ms.min(60_000))
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RestartFile {
    pub restart_count: u32,
    /// Waiting to restart (status Restarting), with the last exit.
    pub restarting: bool,
    pub exit_code: i32,
    pub finished_at: String,
}

pub fn read(store: &Store, id: &str) -> Option<RestartFile> {
    let bytes = std::fs::read(containers::dir(store, id).join(RESTART_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

pub fn write(store: &Store, id: &str, f: &RestartFile) -> Result<()> {
    containers::write_json(&containers::dir(store, id).join(RESTART_FILE), f)
}

/// `stop`/`rm -f`: no more restarts of this container.
pub fn mark_stopped(store: &Store, id: &str) {
    let _ = std::fs::write(containers::dir(store, id).join(STOPPED_MARK), b"");
}

pub fn stopped(store: &Store, id: &str) -> bool {
    containers::dir(store, id).join(STOPPED_MARK).exists()
}

/// `start`: a new run, restart count and marker cleared (as docker).
pub fn clear(store: &Store, id: &str) {
    let dir = containers::dir(store, id);
    let _ = std::fs::remove_file(dir.join(STOPPED_MARK));
    let _ = std::fs::remove_file(dir.join(RESTART_FILE));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_policies_and_backoff() {
        assert_eq!(Policy::parse("no", true).unwrap(), Policy::No);
        assert_eq!(
            Policy::parse("on-failure:3", false).unwrap(),
            Policy::OnFailure(3)
        );
        assert_eq!(
            Policy::parse("on-failure", false).unwrap(),
            Policy::OnFailure(0)
        );
        assert_eq!(Policy::parse("always", false).unwrap(), Policy::Always);
        assert_eq!(
            Policy::parse("unless-stopped", false).unwrap().to_spec(),
            "unless-stopped"
        );
        for bad in ["sometimes", "always:2", "on-failure:x", "on-failure:-1"] {
            let e = Policy::parse(bad, false).unwrap_err().one_line();
            assert!(e.starts_with("--restart"), "{bad}: {e}");
        }
        let e = Policy::parse("always", true).unwrap_err().one_line();
        assert!(e.contains("Conflicting options: --restart and --rm"), "{e}");
        assert!(Policy::OnFailure(2).wants(1, 1) && !Policy::OnFailure(2).wants(1, 2));
        assert!(!Policy::OnFailure(0).wants(0, 0) && Policy::OnFailure(0).wants(3, 99));
        assert!(Policy::Always.wants(0, 5) && !Policy::No.wants(1, 0));
        assert_eq!(backoff(1), Duration::from_millis(100));
        assert_eq!(backoff(4), Duration::from_millis(800));
        assert_eq!(backoff(30), Duration::from_secs(60));
    }
}

//! Commands that act on a container's cgroup: update, pause, resume, ps, events.

use super::lifecycle::current;
use super::state::Status;
use super::store::Store;
use crate::error::{Error, Result};
use crate::kernel::cgroup::{stats, Cgroup};
use oci_spec::runtime::LinuxResources;

/// Write new limits into a live container's cgroup.
pub fn update(store: &Store, id: &str, res: &LinuxResources) -> Result<Vec<String>> {
    let (entry, saved) = store.open(id)?;
    if current(&entry, &saved) == Status::Stopped {
        return Err(Error::State("container not running".into()));
    }
    let writes = match &saved.cgroup {
        Cgroup::V1 { .. } => crate::plan::cgroup::v1_writes(res),
        Cgroup::V2 { .. } => crate::plan::cgroup::v2_writes(res)?,
        Cgroup::None { reason } => {
            return Err(Error::unsupported(
                "update",
                format!("the container has no cgroup: {reason}"),
            ))
        }
    };
    saved.cgroup.apply(&writes)
}

pub fn pause(store: &Store, id: &str) -> Result<()> {
    let (entry, saved) = store.open(id)?;
    match current(&entry, &saved) {
        Status::Running | Status::Created => saved.cgroup.freeze(true),
        Status::Paused => Err(Error::State("container already paused".into())),
        _ => Err(Error::State("container not running".into())),
    }
}

pub fn resume(store: &Store, id: &str) -> Result<()> {
    let (entry, saved) = store.open(id)?;
    match current(&entry, &saved) {
        Status::Paused => saved.cgroup.freeze(false),
        _ => Err(Error::State("container not paused".into())),
    }
}

/// Host pids of every process in the container's cgroup.
pub fn pids(store: &Store, id: &str) -> Result<Vec<i32>> {
    let (entry, saved) = store.open(id)?;
    if current(&entry, &saved) == Status::Stopped {
        return Err(Error::State("container not running".into()));
    }
    Ok(match &saved.cgroup {
        Cgroup::None { .. } => vec![saved.pid],
        cg => cg.procs(),
    })
}

/// One `events --stats` object (runc's shape: type, id, data).
pub fn stats_event(store: &Store, id: &str) -> Result<serde_json::Value> {
    let (entry, saved) = store.open(id)?;
    if current(&entry, &saved) == Status::Stopped {
        return Err(Error::State("container not running".into()));
    }
    Ok(serde_json::json!({"type": "stats", "id": id, "data": stats::stats(&saved.cgroup)}))
}

/// `events`: a stats line every `interval`, an `oom` line whenever the OOM-kill
/// count grows; ends when the container stops.
pub fn events(
    store: &Store,
    id: &str,
    interval: std::time::Duration,
    out: &mut dyn std::io::Write,
) -> Result<()> {
    let mut kills: Option<u64> = None;
    let mut next = std::time::Instant::now();
    loop {
        let ev = match stats_event(store, id) {
            Ok(ev) => ev,
            Err(Error::State(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        let now_kills = ev["data"]["memory"]["oomKill"].as_u64().unwrap_or(0);
        if kills.is_some_and(|k| now_kills > k) {
            line(out, &serde_json::json!({"type": "oom", "id": id}))?;
        }
        kills = Some(now_kills);
        if std::time::Instant::now() >= next {
            line(out, &ev)?;
            next = std::time::Instant::now() + interval;
        }
        std::thread::sleep(interval.min(std::time::Duration::from_millis(200)));
    }
}

fn line(out: &mut dyn std::io::Write, v: &serde_json::Value) -> Result<()> {
    writeln!(out, "{v}")
        .and_then(|_| out.flush())
        .map_err(|e| Error::io("write", "stdout", e))
}

/// `ps` table: ps(1)'s output (default `-ef`) limited to the container's pids.
pub fn ps_table(pids: &[i32], args: &[String]) -> Result<String> {
    let args: Vec<String> = if args.is_empty() {
        vec!["-ef".into()]
    } else {
        args.to_vec()
    };
    let out = std::process::Command::new("ps")
        .args(&args)
        .output()
        .map_err(|e| Error::io("run", "ps", e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| Error::Usage("ps: the output has no PID column".into()))?;
    let mut table = format!("{header}\n");
    for l in lines {
        let pid = l
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            table.push_str(l);
            table.push('\n');
        }
    }
    Ok(table)
}

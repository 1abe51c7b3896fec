//! Entering a running container to look around: fork, join the namespaces of
//! its init (the user namespace first when it has its own, so the rest may be
//! joined with the capabilities that gives), fork again so the pid namespace
//! applies, gather the report in-process, and send it back as JSON over a pipe.

use crate::error::{Error, Result};
use crate::kernel::namespace;
use crate::launch::clone::fork_into;
use crate::report::Report;
use nix::sched::CloneFlags;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// The kinds joined, user first, mount last (its /proc is the container's after).
const KINDS: [(&str, CloneFlags); 7] = [
    ("user", CloneFlags::CLONE_NEWUSER),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("net", CloneFlags::CLONE_NEWNET),
    ("pid", CloneFlags::CLONE_NEWPID),
    ("mnt", CloneFlags::CLONE_NEWNS),
];

fn ino(path: &str) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.ino())
}

/// Open every namespace of `pid` that differs from ours (a shared one need not,
/// and sometimes may not, be joined).
fn open_all(pid: i32) -> Result<Vec<(CloneFlags, OwnedFd, PathBuf)>> {
    let mut out = Vec::new();
    for (kind, flag) in KINDS {
        let theirs = format!("/proc/{pid}/ns/{kind}");
        if ino(&theirs).is_none() || ino(&theirs) == ino(&format!("/proc/self/ns/{kind}")) {
            continue;
        }
        out.push((
            flag,
            namespace::open_ns(theirs.as_ref())?,
            PathBuf::from(theirs),
        ));
    }
    Ok(out)
}

fn wait_code(pid: i32) -> i32 {
    loop {
        match waitpid(Pid::from_raw(pid), None) {
            Ok(WaitStatus::Exited(_, c)) => return c,
            Ok(WaitStatus::Signaled(_, s, _)) => return 128 + s as i32,
            Err(nix::errno::Errno::EINTR) | Ok(_) => continue,
            Err(_) => return 1,
        }
    }
}

/// The grandchild: in every namespace of the container; report, write, exit.
fn gather(w: OwnedFd) -> ! {
    let mut r = crate::report::collect();
    // Our own process is not one of the container's.
    r.processes.retain(|p| *p != u64::from(r.pid));
    let text = serde_json::to_vec(&r).unwrap_or_default();
    let mut f = std::fs::File::from(w);
    let ok = f.write_all(&text).is_ok();
    std::process::exit(if ok { 0 } else { 1 })
}

/// What a process inside the container's namespaces sees (per-process fields
/// are the helper's own; the caller replaces them with init's).
pub fn inside(pid: i32) -> Result<Report> {
    let opened = open_all(pid)?;
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::sys("pipe2", "isolation", e))?;
    let child = fork_into(|| {
        let w = w.try_clone().map_err(|e| Error::io("dup", "pipe", e))?;
        let joined = opened
            .iter()
            .try_for_each(|(flag, fd, path)| namespace::join_fd(fd, *flag, path));
        if let Err(e) = joined {
            let msg = serde_json::json!({ "error": e.one_line() }).to_string();
            let _ = std::fs::File::from(w).write_all(msg.as_bytes());
            std::process::exit(1)
        }
        let grandchild = fork_into(move || gather(w))?;
        std::process::exit(wait_code(grandchild))
    })?;
    drop(w);
    let mut text = Vec::new();
    let read = std::fs::File::from(r).read_to_end(&mut text);
    let code = wait_code(child);
    read.map_err(|e| Error::io("read", "the isolation helper's pipe", e))?;
    let v: serde_json::Value = serde_json::from_slice(&text).unwrap_or_default();
    if let Some(msg) = v["error"].as_str() {
        return Err(Error::Child(format!("entering the container: {msg}")));
    }
    if code != 0 || text.is_empty() {
        return Err(Error::Child(format!(
            "entering the container (init pid {pid}) failed: the helper exited with status {code}"
        )));
    }
    serde_json::from_slice(&text).map_err(|e| Error::format("isolation report", e.to_string()))
}

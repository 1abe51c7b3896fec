//! `nook exec [-i] [-t] [-d] [-e] [-u] [-w] C CMD...`: the runtime library's
//! exec into the running container (from the sealed copy of nook). Without
//! `-i` the process's stdin is /dev/null; with `-d` all its stdio is.

use super::containers;
use super::status;
use crate::cli::front_ctr::ExecArgs;
use crate::container::exec::ExecOptions;
use crate::error::{Error, Result};
use crate::image::store::Store;
use crate::spec::ExecOverrides;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

pub fn exec(store: &Store, a: &ExecArgs) -> Result<i32> {
    let id = containers::lookup(store, &a.container)?;
    let l = status::live(store, &id);
    if !l.running() {
        return Err(Error::Usage(format!("container {id} is not running")));
    }
    // As a user: the container lives in a user namespace of ours; enter it
    // first (its namespaces are then joined with the rights it gives).
    // The monitor's namespace when it is there: with --userns=keep-id, init's
    // own is nested in it, and from the monitor's this process is root.
    crate::userns::join_container(l.monitor.unwrap_or(l.pid))?;
    let user = match &a.user {
        Some(u) if !is_numeric(u) => {
            let root = PathBuf::from(format!("/proc/{}/root", l.pid));
            let r = crate::image::config::resolve_user(u, &root)?;
            Some(format!("{}:{}", r.uid, r.gid))
        }
        other => other.clone(),
    };
    let null = std::fs::File::options()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| Error::io("open", "/dev/null", e))?;
    let quiet: &[i32] = match (a.detach, a.interactive || a.tty) {
        (true, _) => &[0, 1, 2],
        (false, false) => &[0],
        (false, true) => &[],
    };
    for fd in quiet {
        crate::kernel::process::dup_onto(null.as_raw_fd(), *fd)?;
    }
    let opts = ExecOptions {
        overrides: ExecOverrides {
            args: a.command.clone(),
            terminal: a.tty,
            cwd: a.workdir.as_ref().map(PathBuf::from),
            env: a.env.clone(),
            user,
            ..Default::default()
        },
        detach: a.detach,
        ..Default::default()
    };
    match crate::container::exec::exec(&containers::runtime(store), &id, &opts) {
        Ok(code) => Ok(code),
        Err(e) => match super::run::describe_failure(&e) {
            (msg, 125) => Err(Error::Child(msg)),
            (msg, code) => {
                eprintln!("nook: {msg}");
                Ok(code)
            }
        },
    }
}

fn is_numeric(u: &str) -> bool {
    u.split(':')
        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

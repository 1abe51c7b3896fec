//! `nook exec [-i] [-t] [-d] [-e] [-u] [-w] C CMD...`: the runtime library's
//! exec into the running container (from the sealed copy of nook). Without
//! `-i` the process's stdin is /dev/null; with `-d` all its stdio is. With
//! `-d -t` the terminal's master comes back on a console socket and is
//! handed to the container's monitor (a HOLD frame), which drains it until
//! the process closes its terminal, as docker's daemon does.

use super::containers;
use super::status;
use crate::cli::front_ctr::ExecArgs;
use crate::container::exec::ExecOptions;
use crate::error::{Error, Result};
use crate::image::store::Store;
use crate::spec::ExecOverrides;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::{UnixListener, UnixStream};
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
    let hold = (a.detach && a.tty).then(console_socket).transpose()?;
    let opts = ExecOptions {
        console_socket: hold.as_ref().map(|h| h.0.clone()),
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
    let result = crate::container::exec::exec(&containers::runtime(store), &id, &opts);
    if let Some((path, listener)) = hold {
        let _ = std::fs::remove_file(&path);
        if result.is_ok() {
            hand_to_monitor(store, &id, &listener)?;
        }
    }
    match result {
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

/// A console socket for `exec -dt` (a short path: sun_path holds 108 bytes).
fn console_socket() -> Result<(PathBuf, UnixListener)> {
    let path = std::env::temp_dir().join(format!("nook-exec-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let l = UnixListener::bind(&path).map_err(|e| Error::io("bind", &path, e))?;
    Ok((path, l))
}

/// The pty master the runtime sent on the console socket goes to the
/// container's monitor, which keeps it open while the process runs.
fn hand_to_monitor(store: &Store, id: &str, listener: &UnixListener) -> Result<()> {
    let (conn, _) = listener
        .accept()
        .map_err(|e| Error::io("accept", "console socket", e))?;
    let mut buf = [0u8; 4096];
    let (_, master) = crate::kernel::fdpass::recv_fd(conn.as_fd(), &mut buf)?;
    let master = master.ok_or_else(|| Error::Child("no terminal came back from exec".into()))?;
    let dir = containers::dir(store, id);
    let dir_fd = super::proto::open_dir(&dir)?;
    let sock = UnixStream::connect(super::proto::socket_path(&dir_fd)).map_err(|e| {
        Error::io(
            "connect (the container's monitor holds exec -dt terminals)",
            dir.join("attach.sock"),
            e,
        )
    })?;
    let frame = super::proto::encode(super::proto::HOLD, &[]);
    crate::kernel::fdpass::send_fd(sock.as_fd(), &frame, master.as_raw_fd())
}

fn is_numeric(u: &str) -> bool {
    u.split(':')
        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

//! The per-container monitor (a built-in conmon). `nook run`/`start` spawn
//! `nook __monitor ID`, which calls `setsid` and forks stage 2 (the double
//! fork: the monitor is nobody's child but init's); stage 1 exits:
//!
//! 1. becomes a child subreaper, binds `<dir>/attach.sock`, writes monitor.json;
//! 2. makes the stdio pipes (or none with a terminal) and spawns the sealed
//!    `nook __create ID` helper (create.rs), which creates the container and
//!    sends back init's pid and the pty master; the helper exits, so init,
//!    orphaned, becomes the monitor's child;
//! 3. starts the container now (`-d`) or when the first client asks;
//! 4. reports readiness (one JSON line on its stdout, which the spawning
//!    command reads), then serves: output → log + attached clients, client
//!    stdin/resize/signal frames → the container;
//! 5. when init is reaped and its output drained: exit.json (atomically),
//!    the runtime's state deleted (cgroup too), `--rm` removal, EXIT frames.

mod clients;
mod restart;
mod setup;

use super::containers::{self, Record};
use super::logfile::LogWriter;
use super::proto;
use super::status;
use crate::image::store::Store;
use crate::kernel::process;
use clients::Client;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

/// Stage 1: a new session, stage 2 forked (no second exec), gone. Returns
/// the exit status.
pub fn stage1(store: &Store, id: &str, attach: bool) -> i32 {
    let _ = process::setsid();
    // Pin no directory of the caller's (the store path is absolute).
    let _ = std::env::set_current_dir("/");
    match crate::launch::clone::fork_into(|| std::process::exit(stage2(store, id, attach))) {
        Ok(_) => 0,
        Err(e) => {
            ready(&serde_json::json!({"error": format!("fork monitor: {e}"), "code": 125}));
            125
        }
    }
}

/// One JSON line on stdout (the spawning command reads it), then stdout closed.
fn ready(v: &serde_json::Value) {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

fn close_stdio() {
    if let Ok(null) = std::fs::File::options()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for fd in 0..3 {
            let _ = process::dup_onto(null.as_raw_fd(), fd);
        }
    }
}

/// Stage 2: the monitor proper.
fn stage2(store: &Store, id: &str, attach: bool) -> i32 {
    let mut m = match Monitor::setup(store, id, attach) {
        Ok(m) => m,
        Err((msg, code)) => {
            ready(&serde_json::json!({"error": msg, "code": code}));
            return 0;
        }
    };
    ready(&serde_json::json!({"ok": true, "pid": m.init}));
    close_stdio();
    m.serve();
    0
}

struct Monitor<'a> {
    store: &'a Store,
    rec: Record,
    init: i32,
    started: bool,
    started_at: String,
    sfd: SignalFd,
    listener: UnixListener,
    clients: Vec<Client>,
    /// Container output: the pty master (as stdout) or the two pipes.
    outputs: Vec<(OwnedFd, u8)>,
    /// Where client stdin goes: the pty master or the stdin pipe.
    stdin: Option<OwnedFd>,
    master: Option<OwnedFd>,
    log: LogWriter,
    /// `exec -dt` terminals: drained (output discarded, as docker) until closed.
    held: Vec<OwnedFd>,
    status: Option<i32>,
    error: String,
    /// `--restart`: restarts so far, the backoff step, this run's start.
    restarts: u32,
    backoff: u32,
    run_since: Instant,
}

impl<'a> Monitor<'a> {
    fn serve(&mut self) {
        loop {
            self.serve_run();
            if !self.restart_wanted() || !self.restart() {
                break;
            }
        }
        self.finish();
    }

    /// Until this run of the container has ended and its output is read.
    fn serve_run(&mut self) {
        let mut drained_at: Option<Instant> = None;
        loop {
            self.reap();
            if self.status.is_some()
                && (self.outputs.is_empty()
                    || drained_at.is_some_and(|t| t.elapsed() > Duration::from_secs(2)))
            {
                return;
            }
            if self.status.is_some() && drained_at.is_none() {
                drained_at = Some(Instant::now());
            }
            self.poll_once();
        }
    }

    fn poll_once(&mut self) {
        let n_out = self.outputs.len();
        // Clients and held terminals may be added below: index what was polled.
        let (n_cl, n_held) = (self.clients.len(), self.held.len());
        let mut fds = vec![
            PollFd::new(self.sfd.as_fd(), PollFlags::POLLIN),
            PollFd::new(self.listener.as_fd(), PollFlags::POLLIN),
        ];
        fds.extend(
            self.outputs
                .iter()
                .map(|(fd, _)| PollFd::new(fd.as_fd(), PollFlags::POLLIN)),
        );
        fds.extend(
            self.clients
                .iter()
                .map(|c| PollFd::new(c.sock.as_fd(), PollFlags::POLLIN)),
        );
        fds.extend(
            self.held
                .iter()
                .map(|fd| PollFd::new(fd.as_fd(), PollFlags::POLLIN)),
        );
        let timeout = if self.status.is_some() {
            PollTimeout::from(100u16)
        } else {
            PollTimeout::NONE
        };
        match poll(&mut fds, timeout) {
            Ok(0) if self.status.is_some() => {
                // Nothing more is coming: output closed or held by a stray process.
                self.outputs.clear();
                return;
            }
            Ok(_) => {}
            Err(_) => return,
        }
        let ready = proto::ready(fds);
        if ready[0] {
            let _ = self.sfd.read_signal();
        }
        if ready[1] {
            self.accept();
        }
        let mut closed = Vec::new();
        for i in 0..n_out {
            if ready[2 + i] && !self.read_output(i) {
                closed.push(i);
            }
        }
        let mut gone = Vec::new();
        for i in 0..n_cl {
            if self.clients[i].gone || (ready[2 + n_out + i] && !self.read_client(i)) {
                gone.push(i);
            }
        }
        let mut drained = Vec::new();
        for (j, fd) in self.held.iter().enumerate().take(n_held) {
            let mut buf = [0u8; 4096];
            if ready[2 + n_out + n_cl + j]
                && !matches!(
                    nix::unistd::read(fd.as_fd(), &mut buf),
                    Ok(1..) | Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR)
                )
            {
                drained.push(j);
            }
        }
        for j in drained.into_iter().rev() {
            self.held.remove(j);
        }
        for i in closed.into_iter().rev() {
            self.outputs.remove(i);
        }
        for i in gone.into_iter().rev() {
            self.drop_client(i);
        }
    }

    fn reap(&mut self) {
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(p, c)) if p.as_raw() == self.init => self.status = Some(c),
                Ok(WaitStatus::Signaled(p, s, _)) if p.as_raw() == self.init => {
                    self.status = Some(128 + s as i32)
                }
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    }

    /// Move one read's worth of output to the log and the clients; false at its end.
    fn read_output(&mut self, i: usize) -> bool {
        let mut buf = [0u8; 16 * 1024];
        let (fd, stream) = (&self.outputs[i].0, self.outputs[i].1);
        let n = match nix::unistd::read(fd.as_fd(), &mut buf) {
            Ok(0) | Err(nix::errno::Errno::EIO) => return false,
            Ok(n) => n,
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => return true,
            Err(_) => return false,
        };
        self.log.write(stream, &buf[..n]);
        let frame = proto::encode(stream, &buf[..n]);
        // A client that cannot take the output is marked here and removed by
        // poll_once once its round is over (removing it now would shift the
        // indices that round still uses).
        for c in self.clients.iter_mut().filter(|c| c.hello && !c.gone) {
            if c.sock.write_all(&frame).is_err() {
                c.gone = true;
            }
        }
        true
    }

    fn finish(&mut self) {
        self.log.flush();
        let code = self.status.unwrap_or(status::UNKNOWN_EXIT);
        let id = self.rec.id.clone();
        let _ = status::write_exit(self.store, &id, code, &self.started_at, &self.error);
        self.end_restarting();
        let _ = crate::container::delete(&containers::runtime(self.store), &id, true);
        let exit = proto::encode(proto::EXIT, &proto::i32_payload(code));
        let tell = |clients: &mut Vec<Client>| {
            for c in clients.iter_mut() {
                let _ = c.sock.write_all(&exit);
            }
            clients.clear();
        };
        if !self.rec.auto_remove {
            return tell(&mut self.clients);
        }
        // --rm: remove, then tell (so `run --rm` returns with nothing left
        // that any command sees; the files in the trash are deleted after);
        // if someone holds the lock (rm -f, say), tell first and wait for it.
        match containers::try_lock(self.store, &id) {
            Some(lock) => {
                let retired = super::remove::retire(self.store, &self.rec);
                if retired.is_err() {
                    let _ = super::remove::remove_files(self.store, &self.rec, true);
                }
                drop(lock);
                tell(&mut self.clients);
                if let Ok(trash) = retired {
                    let _ = crate::image::remove_all(&trash);
                }
            }
            None => {
                tell(&mut self.clients);
                if let Ok(_lock) = containers::lock(self.store, &id) {
                    let _ = super::remove::remove_files(self.store, &self.rec, true);
                }
            }
        }
    }
}

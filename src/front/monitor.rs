//! The per-container monitor (a built-in conmon). `nook run`/`start` spawn
//! `nook __monitor ID`, which calls `setsid` and spawns itself again with
//! `--stage2` (the double fork: the monitor is nobody's child but init's).
//! Stage 2 runs from the on-disk binary, not the sealed memfd copy:
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

use super::containers::{self, Record};
use super::logfile::{LogWriter, DEFAULT_MAX, LOG};
use super::proto::{self, MAX_FRAME};
use super::status::{self, MonitorFile};
use crate::error::{Error, Result, SysResult};
use crate::image::store::Store;
use crate::kernel::{fdpass, process};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Stage 1: a new session, stage 2 spawned, gone. Returns the exit status.
pub fn stage1(store: &Store, id: &str, attach: bool) -> i32 {
    let _ = process::setsid();
    // Pin no directory of the caller's (the store path is absolute).
    let _ = std::env::set_current_dir("/");
    let Ok(exe) = std::env::current_exe() else {
        return 125;
    };
    let mut cmd = Command::new(exe);
    cmd.arg("--root")
        .arg(store.root())
        .args(["__monitor", id, "--stage2"]);
    if attach {
        cmd.arg("--attach");
    }
    match cmd.spawn() {
        Ok(_) => 0,
        Err(e) => {
            ready(&serde_json::json!({"error": format!("spawn monitor: {e}"), "code": 125}));
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
pub fn stage2(store: &Store, id: &str, attach: bool) -> i32 {
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

struct Client {
    sock: UnixStream,
    buf: Vec<u8>,
    hello: bool,
    stdin: bool,
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
    status: Option<i32>,
    error: String,
}

type SetupError = (String, i32);

fn fail(e: Error) -> SetupError {
    (e.one_line(), 125)
}

impl<'a> Monitor<'a> {
    fn setup(store: &'a Store, id: &str, attach: bool) -> Result<Monitor<'a>, SetupError> {
        process::set_child_subreaper().map_err(fail)?;
        let mut mask = SigSet::empty();
        for s in [
            Signal::SIGCHLD,
            Signal::SIGTERM,
            Signal::SIGINT,
            Signal::SIGHUP,
            Signal::SIGQUIT,
        ] {
            mask.add(s);
        }
        mask.thread_block()
            .sys("sigprocmask", "monitor")
            .map_err(fail)?;
        let sfd = SignalFd::with_flags(&mask, nix::sys::signalfd::SfdFlags::SFD_CLOEXEC)
            .sys("signalfd", "monitor")
            .map_err(fail)?;
        let rec = containers::read_record(store, id).map_err(fail)?;
        let dir = containers::dir(store, id);
        let dir_fd = proto::open_dir(&dir).map_err(fail)?;
        let sock = proto::socket_path(&dir_fd);
        let _ = std::fs::remove_file(dir.join("attach.sock"));
        let listener = UnixListener::bind(&sock)
            .map_err(|e| fail(Error::io("bind", dir.join("attach.sock"), e)))?;
        let me = std::process::id() as i32;
        let mf = MonitorFile {
            pid: me,
            pid_start: crate::kernel::procfs::process_stat(me)
                .map(|s| s.1)
                .unwrap_or(0),
            started_at: String::new(),
        };
        containers::write_json(&dir.join(status::MONITOR_FILE), &mf).map_err(fail)?;
        let log = LogWriter::open(&dir.join(LOG), DEFAULT_MAX).map_err(fail)?;
        let mut m = Monitor {
            store,
            rec,
            init: 0,
            started: false,
            started_at: String::new(),
            sfd,
            listener,
            clients: Vec::new(),
            outputs: Vec::new(),
            stdin: None,
            master: None,
            log,
            status: None,
            error: String::new(),
        };
        m.create()?;
        if !attach {
            m.start().map_err(|e| {
                let _ = process::kill(m.init, Signal::SIGKILL);
                let _ = crate::container::delete(&containers::runtime(store), id, true);
                fail(e)
            })?;
        }
        Ok(m)
    }

    /// The sealed helper creates the container; we keep our ends of its stdio.
    fn create(&mut self) -> Result<(), SetupError> {
        let pipe = || nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).sys("pipe2", "stdio");
        let exe =
            std::env::current_exe().map_err(|e| fail(Error::io("resolve", "/proc/self/exe", e)))?;
        let mut cmd = Command::new(exe);
        cmd.arg("--root")
            .arg(self.store.root())
            .args(["__create", &self.rec.id]);
        if self.rec.tty {
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
        } else {
            let (out_r, out_w) = pipe().map_err(fail)?;
            let (err_r, err_w) = pipe().map_err(fail)?;
            cmd.stdout(Stdio::from(out_w)).stderr(Stdio::from(err_w));
            if self.rec.open_stdin {
                let (in_r, in_w) = pipe().map_err(fail)?;
                cmd.stdin(Stdio::from(in_r));
                self.stdin = Some(in_w);
            } else {
                cmd.stdin(Stdio::null());
            }
            self.outputs = vec![(out_r, proto::STDOUT), (err_r, proto::STDERR)];
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| fail(Error::io("spawn", "nook __create", e)))?;
        drop(cmd); // our copies of the container's ends
        let reply = self.helper_reply(&mut child);
        let _ = child.wait();
        let (v, master) = reply?;
        if let Some(msg) = v["error"].as_str() {
            return Err((msg.to_string(), v["code"].as_i64().unwrap_or(125) as i32));
        }
        self.init = v["pid"].as_i64().unwrap_or(0) as i32;
        if let Some(m) = master {
            let dup = m
                .try_clone()
                .map_err(|e| fail(Error::io("dup", "pty", e)))?;
            self.stdin = Some(dup);
            self.master = Some(
                m.try_clone()
                    .map_err(|e| fail(Error::io("dup", "pty", e)))?,
            );
            self.outputs = vec![(m, proto::STDOUT)];
        }
        Ok(())
    }

    fn helper_reply(
        &self,
        child: &mut std::process::Child,
    ) -> Result<(serde_json::Value, Option<OwnedFd>), SetupError> {
        let deadline = Instant::now() + Duration::from_secs(120);
        let lfd = self.listener.as_fd();
        loop {
            let mut fds = [PollFd::new(lfd, PollFlags::POLLIN)];
            let _ = poll(&mut fds, PollTimeout::from(100u16));
            if fds[0]
                .revents()
                .is_some_and(|r| r.contains(PollFlags::POLLIN))
            {
                break;
            }
            if let Ok(Some(st)) = child.try_wait() {
                return Err((format!("the create helper ended with {st}"), 125));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err(("the create helper did not answer".into(), 125));
            }
        }
        let (stream, _) = self
            .listener
            .accept()
            .map_err(|e| fail(Error::io("accept", "attach.sock", e)))?;
        let mut buf = vec![0u8; 8192];
        let (n, fd) = fdpass::recv_fd(stream.as_fd(), &mut buf).map_err(fail)?;
        let v: serde_json::Value = serde_json::from_slice(&buf[..n])
            .map_err(|e| (format!("the create helper's answer: {e}"), 125))?;
        Ok((v, fd))
    }

    fn start(&mut self) -> Result<()> {
        crate::container::start(&containers::runtime(self.store), &self.rec.id)?;
        self.started = true;
        self.started_at = crate::log::rfc3339_now();
        let dir = containers::dir(self.store, &self.rec.id);
        let mut mf: MonitorFile =
            status::monitor_file(self.store, &self.rec.id).unwrap_or_default();
        mf.started_at = self.started_at.clone();
        containers::write_json(&dir.join(status::MONITOR_FILE), &mf)
    }

    fn serve(&mut self) {
        let mut drained_at: Option<Instant> = None;
        loop {
            self.reap();
            if self.status.is_some()
                && (self.outputs.is_empty()
                    || drained_at.is_some_and(|t| t.elapsed() > Duration::from_secs(2)))
            {
                break;
            }
            if self.status.is_some() && drained_at.is_none() {
                drained_at = Some(Instant::now());
            }
            self.poll_once();
        }
        self.finish();
    }

    fn poll_once(&mut self) {
        let n_out = self.outputs.len();
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
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
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
        for i in 0..self.clients.len().min(ready.len() - 2 - n_out) {
            if ready[2 + n_out + i] && !self.read_client(i) {
                gone.push(i);
            }
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
        let mut gone = Vec::new();
        for (k, c) in self.clients.iter_mut().enumerate().filter(|(_, c)| c.hello) {
            if c.sock.write_all(&frame).is_err() {
                gone.push(k);
            }
        }
        for k in gone.into_iter().rev() {
            self.drop_client(k);
        }
        true
    }

    fn accept(&mut self) {
        if let Ok((sock, _)) = self.listener.accept() {
            let _ = sock.set_write_timeout(Some(Duration::from_secs(10)));
            self.clients.push(Client {
                sock,
                buf: Vec::new(),
                hello: false,
                stdin: false,
            });
        }
    }

    /// Read and act on a client's frames; false when it has gone.
    fn read_client(&mut self, i: usize) -> bool {
        let mut buf = [0u8; 16 * 1024];
        let n = match nix::sys::socket::recv(
            self.clients[i].sock.as_raw_fd(),
            &mut buf,
            nix::sys::socket::MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => return true,
            Err(_) => return false,
        };
        self.clients[i].buf.extend_from_slice(&buf[..n]);
        if self.clients[i].buf.len() > MAX_FRAME + 5 {
            return false;
        }
        while let Some((kind, payload)) = proto::take_frame(&mut self.clients[i].buf) {
            self.frame(i, kind, &payload);
        }
        self.clients[i].buf.shrink_to(4096);
        true
    }

    fn frame(&mut self, i: usize, kind: u8, payload: &[u8]) {
        match kind {
            proto::HELLO => {
                let v: serde_json::Value = serde_json::from_slice(payload).unwrap_or_default();
                self.clients[i].hello = true;
                self.clients[i].stdin = v["stdin"] == true;
                if v["start"] == true && !self.started && self.status.is_none() {
                    if let Err(e) = self.start() {
                        self.error = e.one_line();
                        let f = proto::encode(proto::ERROR, self.error.as_bytes());
                        let _ = self.clients[i].sock.write_all(&f);
                        let _ = process::kill(self.init, Signal::SIGKILL);
                    }
                }
            }
            proto::STDIN => {
                if let Some(fd) = &self.stdin {
                    let mut done = 0;
                    while done < payload.len() {
                        match nix::unistd::write(fd, &payload[done..]) {
                            Ok(n) => done += n,
                            Err(nix::errno::Errno::EINTR) => {}
                            Err(_) => break,
                        }
                    }
                }
            }
            proto::STDIN_EOF if self.master.is_none() => self.stdin = None,
            proto::RESIZE => {
                if let (Some(m), [r0, r1, c0, c1, ..]) = (&self.master, payload) {
                    let rows = u16::from_be_bytes([*r0, *r1]);
                    let cols = u16::from_be_bytes([*c0, *c1]);
                    let _ = crate::kernel::tty::set_winsize(m, rows, cols);
                }
            }
            proto::SIGNAL => {
                if let (Some(sig), true) = (proto::payload_i32(payload), self.started) {
                    let _ = process::kill_raw(self.init, sig);
                }
            }
            _ => {}
        }
    }

    /// A client went away: with `-i` and no terminal, its stdin was the
    /// container's (docker's StdinOnce), so the container sees end of input.
    fn drop_client(&mut self, i: usize) {
        let c = self.clients.remove(i);
        if c.stdin && self.master.is_none() {
            self.stdin = None;
        }
    }

    fn finish(&mut self) {
        self.log.flush();
        let code = self.status.unwrap_or(status::UNKNOWN_EXIT);
        let id = self.rec.id.clone();
        let _ = status::write_exit(self.store, &id, code, &self.started_at, &self.error);
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
        // --rm: remove, then tell (so `run --rm` returns with nothing left);
        // if someone holds the lock (rm -f, say), tell first and wait for it.
        match containers::try_lock(self.store, &id) {
            Some(lock) => {
                let _ = super::remove::remove_files(self.store, &self.rec);
                drop(lock);
                tell(&mut self.clients);
            }
            None => {
                tell(&mut self.clients);
                if let Ok(_lock) = containers::lock(self.store, &id) {
                    let _ = super::remove::remove_files(self.store, &self.rec);
                }
            }
        }
    }
}

//! The monitor's first steps: socket, monitor.json, log, stdio, the sealed
//! `__create` helper and its answer, and starting the container.

use super::Monitor;
use crate::error::{Error, Result, SysResult};
use crate::front::containers;
use crate::front::logfile::{LogWriter, LOG};
use crate::front::proto;
use crate::front::status::{self, MonitorFile};
use crate::image::store::Store;
use crate::kernel::{fdpass, process};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::SignalFd;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub(super) type SetupError = (String, i32);

pub(super) fn fail(e: Error) -> SetupError {
    (e.one_line(), 125)
}

impl<'a> Monitor<'a> {
    pub(super) fn setup(
        store: &'a Store,
        id: &str,
        attach: bool,
    ) -> Result<Monitor<'a>, SetupError> {
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
        let log = LogWriter::open(&dir.join(LOG), &rec.log).map_err(fail)?;
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
            held: Vec::new(),
            status: None,
            error: String::new(),
            restarts: 0,
            backoff: 0,
            run_since: Instant::now(),
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
    pub(super) fn create(&mut self) -> Result<(), SetupError> {
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

    pub(super) fn start(&mut self) -> Result<()> {
        crate::container::start(&containers::runtime(self.store), &self.rec.id)?;
        self.started = true;
        self.started_at = crate::log::rfc3339_now();
        let dir = containers::dir(self.store, &self.rec.id);
        let mut mf: MonitorFile =
            status::monitor_file(self.store, &self.rec.id).unwrap_or_default();
        mf.started_at = self.started_at.clone();
        containers::write_json(&dir.join(status::MONITOR_FILE), &mf)
    }
}

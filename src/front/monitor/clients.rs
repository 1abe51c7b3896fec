//! The monitor's clients: accepting them, their frames (HELLO, STDIN,
//! STDIN_EOF, RESIZE, SIGNAL) and what happens when one goes away.

use super::Monitor;
use crate::front::proto::{self, MAX_FRAME};
use crate::kernel::process;
use nix::sys::signal::Signal;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

pub(super) struct Client {
    pub(super) sock: UnixStream,
    pub(super) buf: Vec<u8>,
    pub(super) hello: bool,
    pub(super) stdin: bool,
    /// Its stdin's end is the container's (`run -i`; not `attach`).
    pub(super) stdin_once: bool,
    /// A write to it failed: removed at the end of this poll round (never in
    /// the middle, where the round still indexes the clients it polled).
    pub(super) gone: bool,
}

impl Monitor<'_> {
    pub(super) fn accept(&mut self) {
        if let Ok((sock, _)) = self.listener.accept() {
            let _ = sock.set_write_timeout(Some(Duration::from_secs(10)));
            self.clients.push(Client {
                sock,
                buf: Vec::new(),
                hello: false,
                stdin: false,
                stdin_once: true,
                gone: false,
            });
        }
    }

    /// Read and act on a client's frames; false when it has gone.
    pub(super) fn read_client(&mut self, i: usize) -> bool {
        let mut buf = [0u8; 16 * 1024];
        // recvmsg: an `exec -dt` client sends a pty master with its HOLD frame.
        let n = match crate::kernel::fdpass::recv_fd(self.clients[i].sock.as_fd(), &mut buf) {
            Ok((0, _)) => return false,
            Ok((n, fd)) => {
                self.held.extend(fd);
                n
            }
            Err(e) => {
                return matches!(
                    e.errno(),
                    Some(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR)
                )
            }
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
                self.clients[i].stdin_once = v["stdinOnce"] != false;
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
            proto::STDIN_EOF if self.master.is_none() && self.clients[i].stdin_once => {
                self.stdin = None
            }
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

    /// A client went away: with `run -i` and no terminal, its stdin was the
    /// container's (docker's StdinOnce), so the container sees end of input
    /// (not for `nook attach`, which says `stdinOnce: false`).
    pub(super) fn drop_client(&mut self, i: usize) {
        let c = self.clients.remove(i);
        if c.stdin && c.stdin_once && self.master.is_none() {
            self.stdin = None;
        }
    }
}

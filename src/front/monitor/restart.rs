//! The monitor's side of `--restart` (front/restart.rs): after the
//! container ended, decide, wait docker's backoff while still serving
//! clients, then create and start it again in the same monitor.

use super::Monitor;
use crate::front::restart::{self, Policy, RestartFile};
use crate::front::{containers, proto, status};
use crate::kernel::process;
use nix::sys::signal::Signal;
use std::io::Write;
use std::time::{Duration, Instant};

/// A run this long resets the backoff (docker's 10 s).
const RESET_AFTER: Duration = Duration::from_secs(10);

impl Monitor<'_> {
    /// Restart after this end? Not when `stop`/`rm -f` left their marker.
    pub(super) fn restart_wanted(&self) -> bool {
        let policy = Policy::parse(&self.rec.restart_policy, false).unwrap_or_default();
        let code = self.status.unwrap_or(status::UNKNOWN_EXIT);
        self.started
            && !restart::stopped(self.store, &self.rec.id)
            && policy.wants(code, self.restarts)
    }

    /// Wait the backoff and run the container again; false when it is to
    /// end instead (stopped meanwhile, or it could not be made again).
    pub(super) fn restart(&mut self) -> bool {
        let code = self.status.unwrap_or(status::UNKNOWN_EXIT);
        let id = self.rec.id.clone();
        self.log.flush();
        // Attached clients see this run end, as docker's attach does.
        let exit = proto::encode(proto::EXIT, &proto::i32_payload(code));
        for c in self.clients.iter_mut() {
            let _ = c.sock.write_all(&exit);
        }
        self.clients.clear();
        let _ = crate::container::delete(&containers::runtime(self.store), &id, true);
        if self.run_since.elapsed() >= RESET_AFTER {
            self.backoff = 0;
        }
        self.restarts += 1;
        self.backoff += 1;
        let mut file = RestartFile {
            restart_count: self.restarts,
            restarting: true,
            exit_code: code,
            finished_at: crate::log::rfc3339_now(),
        };
        let _ = restart::write(self.store, &id, &file);
        let deadline = Instant::now() + restart::backoff(self.backoff);
        while Instant::now() < deadline {
            if restart::stopped(self.store, &id) {
                return false;
            }
            self.poll_once();
        }
        if restart::stopped(self.store, &id) {
            return false;
        }
        self.status = None;
        self.outputs.clear();
        self.stdin = None;
        self.master = None;
        self.started = false;
        if let Err((msg, code)) = self.create() {
            self.error = msg;
            self.status = Some(code);
            return false;
        }
        if let Err(e) = self.start() {
            self.error = e.one_line();
            let _ = process::kill(self.init, Signal::SIGKILL);
            self.status = Some(125);
            return false;
        }
        self.run_since = Instant::now();
        file.restarting = false;
        let _ = restart::write(self.store, &id, &file);
        true
    }

    /// At the end: the count stays for inspect, not the Restarting state.
    pub(super) fn end_restarting(&self) {
        if let Some(mut f) = restart::read(self.store, &self.rec.id) {
            f.restarting = false;
            let _ = restart::write(self.store, &self.rec.id, &f);
        }
    }
}

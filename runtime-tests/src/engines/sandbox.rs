//! `Sandbox`: one engine's temp dir, its daemons, the runtime wrapper that records every
//! runtime argv, commands with a timeout, and the cleanup of everything it started.

use std::cell::{Cell, RefCell};
use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::env::{runtime_binary, test_tmp, unique_name};
use crate::output::Output;

pub struct Sandbox {
    dir: PathBuf,
    cgroup_parent: String,
    runtime: PathBuf,
    daemons: RefCell<Vec<(String, Child)>>,
    seq: Cell<usize>,
    timeout: Duration,
}

impl Sandbox {
    /// A fresh dir `$NOOK_TEST_TMP/nke-<engine>-<pid>/` (short: podman refuses a runroot
    /// longer than 50 characters) with `runtime-wrapper` in it: a shell script appending its
    /// argv to `runtime-calls.log`, then exec'ing the runtime.
    pub fn new(engine: &str) -> Sandbox {
        let dir = test_tmp().join(format!("nke-{engine}-{}", std::process::id()));
        if dir.exists() {
            super::cleanup::unmount_under(&dir);
            super::cleanup::remove_dir(&dir);
        }
        fs::create_dir_all(dir.join("io")).expect("mkdir io");
        let runtime = runtime_binary();
        assert!(
            runtime.is_file(),
            "runtime {} not built: run `make build`",
            runtime.display()
        );
        let wrapper = dir.join("runtime-wrapper");
        let script = format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            dir.join("runtime-calls.log").display(),
            runtime.display()
        );
        fs::write(&wrapper, script).expect("write runtime wrapper");
        fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).expect("chmod wrapper");
        let secs = std::env::var("NOOK_TEST_TIMEOUT")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60);
        Sandbox {
            cgroup_parent: format!("/{}", unique_name("nke-")),
            dir,
            runtime,
            daemons: RefCell::new(Vec::new()),
            seq: Cell::new(0),
            timeout: Duration::from_secs(secs),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A path inside the sandbox, as a string (for config files and flags).
    pub fn path(&self, rel: &str) -> String {
        self.dir.join(rel).to_string_lossy().into_owned()
    }

    /// The runtime under test (what the wrapper execs).
    pub fn runtime(&self) -> &Path {
        &self.runtime
    }

    /// Copy the runtime into the sandbox and point the wrapper at the copy (for an
    /// engine run by another user, who may not reach the checkout).
    pub fn own_runtime_copy(&self) -> Result<(), String> {
        let copy = self.dir.join("runtime-bin");
        fs::copy(&self.runtime, &copy).map_err(|e| format!("copy runtime: {e}"))?;
        fs::set_permissions(&copy, fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("chmod runtime copy: {e}"))?;
        let script = format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            self.dir.join("runtime-calls.log").display(),
            copy.display()
        );
        fs::write(self.wrapper(), script).map_err(|e| format!("write wrapper: {e}"))
    }

    /// The wrapper engines are given as their runtime.
    pub fn wrapper(&self) -> String {
        self.path("runtime-wrapper")
    }

    /// Every runtime argv the engine used so far, one per line.
    pub fn runtime_calls(&self) -> String {
        fs::read_to_string(self.dir.join("runtime-calls.log")).unwrap_or_default()
    }

    /// The cgroup parent the engine is told to use (removed at the end).
    pub fn cgroup_parent(&self) -> &str {
        &self.cgroup_parent
    }

    /// Run a client command to completion with the timeout; stdout/stderr via files.
    pub fn run(&self, mut cmd: Command) -> Output {
        let n = self.seq.get();
        self.seq.set(n + 1);
        cmd.stdin(Stdio::null());
        crate::output::run_to_files(cmd, &self.dir, n, self.timeout)
    }

    /// Start a daemon (output to `<name>.log`) and wait until `ready()` or 30 s.
    pub fn spawn_daemon(
        &self,
        name: &str,
        mut cmd: Command,
        ready: impl Fn() -> bool,
    ) -> Result<(), String> {
        let log = self.dir.join(format!("{name}.log"));
        let f = File::create(&log).map_err(|e| format!("create {}: {e}", log.display()))?;
        cmd.stdin(Stdio::null())
            .stdout(f.try_clone().expect("dup log fd"))
            .stderr(f);
        let child = cmd.spawn().map_err(|e| format!("spawn {name}: {e}"))?;
        self.daemons.borrow_mut().push((name.to_string(), child));
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if ready() {
                return Ok(());
            }
            if let Some((_, c)) = self.daemons.borrow_mut().last_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    return Err(format!("{name} exited ({st}): {}", self.daemon_log(name)));
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!(
            "{name} not ready in 30 s: {}",
            self.daemon_log(name)
        ))
    }

    /// The tail of a daemon's log, for messages.
    pub fn daemon_log(&self, name: &str) -> String {
        let text = fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    fn stop_daemons(&self) {
        for (_, child) in self.daemons.borrow_mut().iter_mut().rev() {
            let pid = Pid::from_raw(child.id() as i32);
            let _ = kill(pid, Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop_daemons();
        super::cleanup::remove_cgroup_tree(&self.cgroup_parent);
        super::cleanup::unmount_under(&self.dir);
        super::cleanup::remove_dir(&self.dir);
    }
}

//! `Runtime`: a runtime binary (nook-runtime or runc) with a private `--root` per test,
//! driven exactly as an engine would, one command at a time.
//!
//! Every command's stdout and stderr go to files, not pipes: after `create` or
//! `run --detach` the container keeps its stdio open, and a pipe would never reach EOF.

use std::cell::{Cell, RefCell};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::bundle::{force_delete, remove_tree, Bundle};
use crate::env::{fresh_dir, runc_binary, runtime_binary, unique_name};
pub use crate::output::{last_json_line, Output};

/// What runc 1.1 prints when copying its own binary before nsexec fails.
const RUNC_SELF_COPY_RACE: &str = "could not ensure we are a cloned binary";

pub struct Runtime {
    binary: PathBuf,
    /// Holds `root/` (the `--root`) and `io/` (captured output).
    dir: PathBuf,
    ids: RefCell<Vec<String>>,
    seq: Cell<usize>,
    timeout: Duration,
}

impl Runtime {
    /// The runtime under test (`$NOOK_RUNTIME`).
    pub fn under_test() -> Self {
        Self::with_binary(&runtime_binary())
    }

    /// The oracle (`$RUNC`).
    pub fn runc() -> Self {
        Self::with_binary(&runc_binary())
    }

    pub fn with_binary(binary: &Path) -> Self {
        assert!(
            binary.is_file(),
            "runtime binary {} not found (build it, or set NOOK_RUNTIME / RUNC)",
            binary.display()
        );
        let dir = fresh_dir("nook-rt-");
        fs::create_dir_all(dir.join("root")).expect("mkdir root");
        fs::create_dir_all(dir.join("io")).expect("mkdir io");
        let secs = std::env::var("NOOK_TEST_TIMEOUT")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60);
        Runtime {
            binary: binary.to_path_buf(),
            dir,
            ids: RefCell::new(Vec::new()),
            seq: Cell::new(0),
            timeout: Duration::from_secs(secs),
        }
    }

    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// The runtime's private directory (`root/` and `io/` are inside).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The `--root` state directory.
    pub fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    /// A fresh container id (test name + pid + counter), remembered for cleanup.
    pub fn new_id(&self) -> String {
        let id = unique_name("");
        self.ids.borrow_mut().push(id.clone());
        id
    }

    /// A short id (`c<pid>-<n>`), for paths that must stay under sun_path's
    /// 108 bytes (runc binds sockets in its state dir by full path).
    pub fn new_short_id(&self) -> String {
        let long = unique_name("");
        let n = long.rsplit('-').next().unwrap_or("0");
        let id = format!("c{}-{n}", std::process::id());
        self.ids.borrow_mut().push(id.clone());
        id
    }

    /// `<binary> --root <root> ARGS...`, ready for the caller to adjust (fds, env).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("--root").arg(self.root()).args(args);
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Run a prepared command to completion (with the timeout), capturing its output.
    pub fn output_of(&self, cmd: Command) -> Output {
        let n = self.seq.get();
        self.seq.set(n + 1);
        crate::output::run_to_files(cmd, &self.dir, n, self.timeout)
    }

    /// Run `<binary> --root <root> ARGS...`. The oracle is run once more when it fails
    /// on its own start-up race (runc 1.1's read-only bind of its binary meets EBUSY now
    /// and then, before any container state exists; runc removed it in
    /// opencontainers/runc#3931), so its flake is not read as a difference.
    pub fn exec(&self, args: &[&str]) -> Output {
        let out = self.output_of(self.command(args));
        if !out.success() && out.stderr.contains(RUNC_SELF_COPY_RACE) {
            eprintln!(
                "note: runc lost its self-copy race, running it again: {}",
                out.command
            );
            return self.output_of(self.command(args));
        }
        out
    }

    fn remember(&self, bundle: &Bundle, id: &str) {
        bundle.register(&self.binary, &self.root(), id);
        if !self.ids.borrow().iter().any(|i| i == id) {
            self.ids.borrow_mut().push(id.to_string());
        }
    }

    /// `create --bundle B [EXTRA...] ID` (the config is saved first).
    pub fn create(&self, bundle: &Bundle, id: &str, extra: &[&str]) -> Output {
        bundle.save();
        self.create_saved(bundle, id, extra)
    }

    /// `create` with config.json as it is on disk (after [`Bundle::save_probe_args`], or a
    /// raw config).
    pub fn create_saved(&self, bundle: &Bundle, id: &str, extra: &[&str]) -> Output {
        self.remember(bundle, id);
        let b = bundle.path().to_string_lossy().into_owned();
        let mut args = vec!["create", "--bundle", &b];
        args.extend_from_slice(extra);
        args.push(id);
        self.exec(&args)
    }

    /// `run --bundle B [EXTRA...] ID` (the config is saved first).
    pub fn run(&self, bundle: &Bundle, id: &str, extra: &[&str]) -> Output {
        bundle.save();
        self.run_saved(bundle, id, extra)
    }

    /// `run` with config.json as it is on disk.
    pub fn run_saved(&self, bundle: &Bundle, id: &str, extra: &[&str]) -> Output {
        self.remember(bundle, id);
        let b = bundle.path().to_string_lossy().into_owned();
        let mut args = vec!["run", "--bundle", &b];
        args.extend_from_slice(extra);
        args.push(id);
        self.exec(&args)
    }

    pub fn start(&self, id: &str) -> Output {
        self.exec(&["start", id])
    }

    /// Create and start container `id` from `bundle` running `/probe sleep 100`;
    /// returns init's pid once it is running (a started init is dumpable again,
    /// so an unprivileged user can reach its /proc/PID/ns).
    pub fn start_sleeper(&self, bundle: &Bundle, id: &str) -> String {
        bundle.save_probe_args(&["sleep", "100"]);
        self.create_saved(bundle, id, &[]).ok();
        self.start(id).ok();
        assert_eq!(
            self.wait_status(id, "running", std::time::Duration::from_secs(5))
                .as_deref(),
            Some("running")
        );
        self.state_json(id)["pid"]
            .as_i64()
            .expect("pid")
            .to_string()
    }

    pub fn state(&self, id: &str) -> Output {
        self.exec(&["state", id])
    }

    /// `state ID` parsed; panics if the command fails or prints no JSON.
    pub fn state_json(&self, id: &str) -> Value {
        let out = self.state(id);
        out.ok();
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("state JSON: {e}\n{out}"))
    }

    /// The `status` field of `state ID`, or None when `state` fails.
    pub fn status_of(&self, id: &str) -> Option<String> {
        let out = self.state(id);
        if !out.success() {
            return None;
        }
        let v: Value = serde_json::from_str(&out.stdout).ok()?;
        v["status"].as_str().map(str::to_string)
    }

    /// Poll `state` until the status is `want` (or the timeout passes); returns the last seen.
    pub fn wait_status(&self, id: &str, want: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let st = self.status_of(id);
            if st.as_deref() == Some(want) || Instant::now() > deadline {
                return st;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `kill ID [SIGNAL]`.
    pub fn kill(&self, id: &str, signal: Option<&str>) -> Output {
        match signal {
            Some(s) => self.exec(&["kill", id, s]),
            None => self.exec(&["kill", id]),
        }
    }

    pub fn delete(&self, id: &str) -> Output {
        self.exec(&["delete", id])
    }

    pub fn delete_force(&self, id: &str) -> Output {
        self.exec(&["delete", "--force", id])
    }

    /// `list` (table format).
    pub fn list(&self) -> Output {
        self.exec(&["list"])
    }

    /// `list --format json` parsed into an array (runc prints `null` for none).
    pub fn list_json(&self) -> Vec<Value> {
        let out = self.exec(&["list", "--format", "json"]);
        out.ok();
        match serde_json::from_str::<Value>(out.stdout.trim()) {
            Ok(Value::Array(items)) => items,
            Ok(Value::Null) => Vec::new(),
            other => panic!("list --format json: not an array ({other:?})\n{out}"),
        }
    }

    /// `run` the bundle with `args = ["/probe", SUB...]` under a fresh id; asserts a zero
    /// exit and returns the probe's JSON line.
    pub fn run_probe(&self, bundle: &Bundle, sub: &[&str]) -> Value {
        let (out, json) = self.run_probe_output(bundle, sub);
        out.ok();
        json.unwrap_or_else(|| panic!("no JSON line from the probe:\n{out}"))
    }

    /// Like [`Runtime::run_probe`] but returns the output whatever the exit status.
    pub fn run_probe_output(&self, bundle: &Bundle, sub: &[&str]) -> (Output, Option<Value>) {
        bundle.save_probe_args(sub);
        let id = self.new_id();
        let out = self.run_saved(bundle, &id, &[]);
        let json = out.json();
        (out, json)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        for id in self.ids.borrow().iter() {
            force_delete(&self.binary, &self.root(), id);
        }
        remove_tree(&self.dir);
    }
}

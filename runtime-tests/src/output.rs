//! `Output`: what one runtime command did, and finding the probe's JSON line in it.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

/// What one runtime command did.
#[derive(Debug, Clone)]
pub struct Output {
    /// The command line, for messages.
    pub command: String,
    /// Exit status; 128+N when killed by signal N.
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    /// The file that received stdout; a detached container keeps writing to it.
    pub stdout_path: PathBuf,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status == 0
    }

    /// Panic with the whole output unless the command succeeded.
    pub fn ok(&self) -> &Self {
        assert!(self.success(), "command failed:\n{self}");
        self
    }

    /// Panic unless the command failed.
    pub fn failed(&self) -> &Self {
        assert!(!self.success(), "command unexpectedly succeeded:\n{self}");
        self
    }

    /// stdout as it is now (a detached container may have written more since).
    pub fn stdout_now(&self) -> String {
        fs::read_to_string(&self.stdout_path).unwrap_or_default()
    }

    /// stderr as it is now (a detached container may have written more since).
    pub fn stderr_now(&self) -> String {
        fs::read_to_string(self.stdout_path.with_extension("err")).unwrap_or_default()
    }

    /// The last line of stdout that parses as a JSON object (the probe's report).
    pub fn json(&self) -> Option<Value> {
        last_json_line(&self.stdout)
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "$ {}\nexit status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.status, self.stdout, self.stderr
        )
    }
}

/// The last line of `text` that is a JSON object (carriage returns from a tty ignored).
pub fn last_json_line(text: &str) -> Option<Value> {
    text.lines().rev().find_map(|l| {
        let l = l.trim();
        l.starts_with('{')
            .then(|| serde_json::from_str::<Value>(l).ok())
            .flatten()
            .filter(Value::is_object)
    })
}

/// Run `cmd` to completion, its stdout and stderr in `<dir>/io/<n>.out` and `.err`
/// (files, not pipes: a detached container keeps its stdio open, and a pipe would
/// never reach EOF); killed, with a panic showing both, after `timeout`.
pub fn run_to_files(mut cmd: Command, dir: &Path, n: usize, timeout: Duration) -> Output {
    let out_path = dir.join(format!("io/{n}.out"));
    let err_path = dir.join(format!("io/{n}.err"));
    cmd.stdout(File::create(&out_path).expect("create stdout file"))
        .stderr(File::create(&err_path).expect("create stderr file"));
    let command = format!("{cmd:?}").replace('"', "");
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {command}: {e}"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait().expect("wait for the command") {
            Some(st) => break st,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "timed out after {timeout:?}: {command}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                    fs::read_to_string(&out_path).unwrap_or_default(),
                    fs::read_to_string(&err_path).unwrap_or_default()
                );
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    use std::os::unix::process::ExitStatusExt;
    Output {
        command,
        status: status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        stdout: fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: fs::read_to_string(&err_path).unwrap_or_default(),
        stdout_path: out_path,
    }
}

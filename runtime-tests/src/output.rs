//! `Output`: what one runtime command did, and finding the probe's JSON line in it.

use std::fs;
use std::path::PathBuf;

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

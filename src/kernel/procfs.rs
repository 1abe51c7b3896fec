//! Knobs written through /proc.

use crate::error::{Error, Result};
use std::fs;
use std::path::PathBuf;

/// `kernel.shmmax` → /proc/sys/kernel/shmmax. Keys with `/` are taken as paths.
pub fn sysctl_path(key: &str) -> Result<PathBuf> {
    if key.contains("..") || key.starts_with('/') || key.starts_with('.') {
        return Err(Error::config(
            format!("linux.sysctl.{key}"),
            "not a sysctl name",
        ));
    }
    Ok(PathBuf::from("/proc/sys").join(key.replace('.', "/")))
}

pub fn write_sysctl(key: &str, value: &str) -> Result<()> {
    let path = sysctl_path(key)?;
    fs::write(&path, value).map_err(|e| Error::io("write", path, e))
}

/// A non-dumpable process's /proc files belong to root of the user namespace
/// its memory was made in (the host's, for a runtime that exec'd there): a
/// rootless runtime in a new user namespace gets EACCES from its own file.
/// Dumpable for the one write, the file is its own (nothing of the container
/// runs yet to take advantage), then non-dumpable again.
pub fn set_oom_score_adj(value: i32) -> Result<()> {
    let path = "/proc/self/oom_score_adj";
    match fs::write(path, value.to_string()) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            super::process::set_dumpable(true)?;
            let res = fs::write(path, value.to_string());
            super::process::set_dumpable(false)?;
            res
        }
        other => other,
    }
    .map_err(|e| Error::io("write", path, e))
}

/// (state, start time in clock ticks) from /proc/PID/stat, or None if gone.
pub fn process_stat(pid: i32) -> Option<(char, u64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// Parse the fields after the command name, which may itself hold spaces and parens.
pub fn parse_stat(text: &str) -> Option<(char, u64)> {
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    // Field 22 (starttime) is the 20th after the command name.
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_line_with_odd_comm() {
        let line = "42 (a b) c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 10";
        assert_eq!(parse_stat(line), Some(('S', 123456)));
    }

    #[test]
    fn sysctl_names_map_to_paths() {
        assert_eq!(
            sysctl_path("kernel.shmmax").unwrap(),
            PathBuf::from("/proc/sys/kernel/shmmax")
        );
        assert!(sysctl_path("../../etc/passwd").is_err());
    }
}

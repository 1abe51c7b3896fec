//! File operations on cgroupfs with errors that name the file and the value.

use crate::error::{Error, Result};
use std::path::Path;
use std::time::{Duration, Instant};

/// Write `value` to an existing cgroup file (opened without O_CREAT/O_TRUNC: cgroupfs
/// files exist or not, and a missing one is ENOENT, not a refused create).
pub fn write(path: &Path, value: &str) -> Result<()> {
    Writes::default().write(path, value)
}

fn write_error(path: &Path, value: &str, e: std::io::Error) -> Error {
    match e.raw_os_error() {
        Some(n) => Error::sys(
            "write",
            format!("{} = {value:?}", path.display()),
            nix::errno::Errno::from_raw(n),
        ),
        None => Error::io("write", path, e),
    }
}

/// Writes to cgroup files in order, the last file kept open while the next
/// write is to it too: each write(2) to a cgroup file is taken on its own,
/// and runc's default device rules are a dozen writes to devices.allow (an
/// open and close of a cgroupfs file each saved).
#[derive(Default)]
pub struct Writes {
    open: Option<(std::path::PathBuf, std::fs::File)>,
}

impl Writes {
    pub fn write(&mut self, path: &Path, value: &str) -> Result<()> {
        use std::io::Write as _;
        let f = match &mut self.open {
            Some((p, f)) if p == path => f,
            slot => {
                *slot = None;
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| write_error(path, value, e))?;
                &mut slot.insert((path.to_path_buf(), f)).1
            }
        };
        f.write_all(value.as_bytes())
            .map_err(|e| write_error(path, value, e))
    }

    /// `write`, a permission refusal or a file this kernel lacks being
    /// `Some(reason)` (see `refusal`).
    pub fn write_or_denied(&mut self, path: &Path, value: &str) -> Result<Option<String>> {
        refusal(self.write(path, value), path)
    }
}

/// Open an existing cgroup file for writing (close-on-exec), to write later.
pub fn open_write(path: &Path) -> Result<(std::path::PathBuf, std::os::fd::OwnedFd)> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map(|f| (path.to_path_buf(), f.into()))
        .map_err(|e| Error::io("open", path, e))
}

/// Write `value` to a cgroup file opened by `open_write`; errors name `path`.
pub fn write_fd(fd: &std::os::fd::OwnedFd, path: &Path, value: &str) -> Result<()> {
    nix::unistd::write(fd, value.as_bytes())
        .map(drop)
        .map_err(|e| Error::sys("write", format!("{} = {value:?}", path.display()), e))
}

/// A write's outcome with a permission refusal (rootless, or in a user
/// namespace) as `Some(reason)` instead of a failure: the caller records it
/// as not applied.
fn refusal(res: Result<()>, path: &Path) -> Result<Option<String>> {
    match res {
        // The file is missing from a directory that is there: this kernel lacks it.
        Err(e)
            if e.errno() == Some(nix::errno::Errno::ENOENT)
                && path.parent().is_some_and(Path::is_dir) =>
        {
            Ok(Some("not supported by this kernel".into()))
        }
        Err(e)
            if matches!(
                e.errno(),
                Some(nix::errno::Errno::EPERM) | Some(nix::errno::Errno::EACCES)
            ) =>
        {
            Ok(Some(format!(
                "permission denied ({})",
                e.errno().map(|n| n.desc()).unwrap_or_default()
            )))
        }
        Err(e) => Err(e),
        Ok(()) => Ok(None),
    }
}

pub fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

pub fn mkdir(path: &Path) -> Result<bool> {
    match std::fs::create_dir(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(Error::io("mkdir", path, e)),
    }
}

/// rmdir, retrying while the last processes finish leaving.
pub fn remove_dir(path: &Path) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match std::fs::remove_dir(path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(e) => return Err(Error::io("rmdir", path, e)),
        }
    }
}

/// One rmdir: was the directory removed (or already gone)? A refusal (sub-
/// cgroups, or a process still leaving) is for the caller's slower path.
pub fn removed_at_once(path: &Path) -> bool {
    match std::fs::remove_dir(path) {
        Ok(()) => true,
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// Remove the sub-cgroups a container created below its own directory.
pub fn remove_subtree(dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            remove_subtree(&e.path())?;
            remove_dir(&e.path())?;
        }
    }
    Ok(())
}

pub fn collect_procs(dir: &Path, out: &mut Vec<i32>) {
    if let Some(text) = read(&dir.join("cgroup.procs")) {
        out.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                collect_procs(&e.path(), out);
            }
        }
    }
}

/// Poll `check` until it holds (freezing takes a moment).
pub fn wait_for(what: &str, check: impl Fn() -> bool) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        if Instant::now() > deadline {
            return Err(Error::State(format!("timed out waiting for {what}")));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

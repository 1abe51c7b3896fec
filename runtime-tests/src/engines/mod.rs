//! Engines (podman, containerd via `ctr`, dockerd) driving the runtime under test, each
//! started with private state dirs and sockets under one temp dir, offline: the image is
//! built locally from the fixture rootfs ([`image`]). Used by `tests/engines.rs`.
//!
//! Every engine is an [`Engine`]: the same verbs (run, exec, stop, kill, rm, ...) mapped to
//! its client. Dropping an engine removes its containers, stops its daemon, unmounts what
//! is left under its temp dir, removes the cgroup parent it was told to use and the dir.

pub mod cleanup;
pub mod containerd;
pub mod docker;
pub mod image;
pub mod podman;
pub mod sandbox;

use std::path::{Path, PathBuf};

pub use crate::output::Output;
pub use sandbox::Sandbox;

/// The image every engine loads (built by [`image::build`]).
pub const IMAGE: &str = "localhost/nook-busybox:test";

/// What the tests ask of an engine. Names are the engine's container names.
pub trait Engine {
    /// `podman`, `containerd`, `docker`.
    fn name(&self) -> &'static str;
    /// Run to completion and remove: stdout and the exit status of `cmd`.
    /// `flags` are engine run flags from [`Engine::memory_flags`] / [`Engine::tty_flags`].
    fn run_rm(&self, flags: &[String], cmd: &[&str]) -> Output;
    /// Start `cmd` detached as container `name`.
    fn run_detached(&self, name: &str, cmd: &[&str]) -> Output;
    /// Run `cmd` in the running container; status is the exec'd process's.
    fn exec(&self, name: &str, cmd: &[&str]) -> Output;
    /// Run `cmd` in the running container with a terminal.
    fn exec_tty(&self, name: &str, cmd: &[&str]) -> Output;
    /// The container's status in the engine's words, lower-case (`running`, `paused`, ...).
    fn status(&self, name: &str) -> String;
    fn pause(&self, name: &str) -> Output;
    fn unpause(&self, name: &str) -> Output;
    /// The processes of the container (`top` / `task ps`).
    fn top(&self, name: &str) -> Output;
    /// Graceful stop (SIGTERM, then SIGKILL after a second).
    fn stop(&self, name: &str) -> Output;
    /// SIGKILL.
    fn kill(&self, name: &str) -> Output;
    /// Remove a stopped container.
    fn rm(&self, name: &str) -> Output;
    /// Whether the engine still knows the container.
    fn exists(&self, name: &str) -> bool;
    /// Change the running container's memory limit (`update`), or None when the engine's
    /// client has no such command.
    fn update_memory(&self, name: &str, bytes: u64) -> Option<Output>;
    /// Run flags limiting memory to `bytes`.
    fn memory_flags(&self, bytes: u64) -> Vec<String>;
    /// Run flags giving the container a terminal.
    fn tty_flags(&self) -> Vec<String>;
    /// The sandbox (temp dir, runtime record).
    fn sandbox(&self) -> &Sandbox;
    /// Whether the engine can limit and freeze containers here (not rootless podman on
    /// a host without a delegated cgroup v2 subtree).
    fn limits(&self) -> bool {
        true
    }
}

/// The first executable named `name` in `$PATH` (or `/usr/sbin`, `/sbin`, which a root
/// shell has but a test environment may lack).
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin"])
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(name))
        .find(|p| is_executable(p));
    found
}

/// A preferred absolute path if it is executable, else [`which`].
pub fn which_prefer(preferred: &str, name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(preferred);
    if is_executable(&p) {
        Some(p)
    } else {
        which(name)
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The first of `names` that cannot be found, for a skip reason.
pub fn first_missing(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find(|n| which(n).is_none())
        .map(|n| n.to_string())
}

/// Owned strings from string slices.
pub fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

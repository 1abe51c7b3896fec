//! sd_notify passthrough (`NOTIFY_SOCKET`), as runc does it: `create` bind-mounts
//! `<state>/<id>/notify/` read-only at /run/notify in the container and points
//! the container's NOTIFY_SOCKET there; `start` (and `run`) listens on
//! `notify.sock` in that directory and, once the container says `READY=1`,
//! tells the caller's socket `READY=1` and `MAINPID=`.

use crate::error::{Error, Result};
use oci_spec::runtime::{MountBuilder, Spec};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

const DIR: &str = "notify";
const SOCKET: &str = "notify.sock";
/// Where the directory appears in the container (runc's place).
const INSIDE: &str = "/run/notify";

/// The caller's NOTIFY_SOCKET, when it has one (a path; abstract sockets are
/// not passed through).
pub fn host_socket() -> Option<PathBuf> {
    std::env::var_os("NOTIFY_SOCKET")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

/// `create`: the mount and the environment variable (added to the config the
/// container is created from). `state_dir` is `<root>/<id>`.
pub fn add_to_spec(spec: &mut Spec, state_dir: &Path) -> Result<()> {
    let mount = MountBuilder::default()
        .destination(INSIDE)
        .typ("bind")
        .source(state_dir.join(DIR))
        .options(
            ["rbind", "ro", "nosuid", "nodev", "noexec"]
                .map(String::from)
                .to_vec(),
        )
        .build()
        .map_err(|e| Error::config("mounts", e.to_string()))?;
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    mounts.push(mount);
    spec.set_mounts(Some(mounts));
    if let Some(p) = spec.process_mut() {
        let mut env = p.env().clone().unwrap_or_default();
        env.retain(|e| !e.starts_with("NOTIFY_SOCKET="));
        env.push(format!("NOTIFY_SOCKET={INSIDE}/{SOCKET}"));
        p.set_env(Some(env));
    }
    Ok(())
}

/// `create`: the directory the mount shows (before init mounts it).
pub fn make_dir(state_dir: &Path) -> Result<()> {
    let dir = state_dir.join(DIR);
    std::fs::create_dir(&dir).map_err(|e| Error::io("create", &dir, e))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io("chmod", &dir, e))
}

/// A bound notify socket waiting for the container's READY=1.
pub struct Pending {
    socket: UnixDatagram,
    host: PathBuf,
}

/// `start`: bind the container's socket, if `create` made its directory and
/// this caller has a NOTIFY_SOCKET. Before the gate opens, so nothing is missed.
pub fn listen(state_dir: &Path) -> Result<Option<Pending>> {
    let (Some(host), true) = (host_socket(), state_dir.join(DIR).is_dir()) else {
        return Ok(None);
    };
    let path = state_dir.join(DIR).join(SOCKET);
    let _ = std::fs::remove_file(&path);
    let (_dir, short) = short_path(&path)?;
    let socket = UnixDatagram::bind(&short).map_err(|e| Error::io("bind", &path, e))?;
    // Any user in the container may notify (its root may not be ours).
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777))
        .map_err(|e| Error::io("chmod", &path, e))?;
    Ok(Some(Pending { socket, host }))
}

impl Pending {
    /// Wait until a datagram has a `READY=1` line (or `alive` turns false),
    /// then send `READY=1` and `MAINPID=<mainpid>` to the caller's socket.
    pub fn forward(self, mainpid: i32, alive: impl Fn() -> bool) -> Result<()> {
        self.socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .map_err(|e| Error::io("set timeout on", &self.host, e))?;
        let mut buf = vec![0u8; 4096];
        loop {
            match self.socket.recv(&mut buf) {
                Ok(n) if is_ready(&buf[..n]) => break,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if !alive() {
                        return Ok(());
                    }
                }
                Err(e) => return Err(Error::io("receive on", &self.host, e)),
            }
        }
        let msg = format!("READY=1\nMAINPID={mainpid}\n");
        let (_dir, short) = short_path(&self.host)?;
        UnixDatagram::unbound()
            .and_then(|s| s.send_to(msg.as_bytes(), &short))
            .map_err(|e| Error::io("notify", &self.host, e))?;
        Ok(())
    }
}

/// A socket path may be longer than sun_path allows (108 bytes): name it
/// through an O_PATH handle on its directory instead, kept open meanwhile.
fn short_path(path: &Path) -> Result<(Option<std::os::fd::OwnedFd>, PathBuf)> {
    if path.as_os_str().len() < 100 {
        return Ok((None, path.to_path_buf()));
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok((None, path.to_path_buf()));
    };
    use std::os::fd::AsRawFd;
    let fd = nix::fcntl::open(
        dir,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Error::sys("open", dir.display(), e))?;
    let short = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd())).join(name);
    Ok((Some(fd), short))
}

fn is_ready(msg: &[u8]) -> bool {
    msg.split(|b| *b == b'\n').any(|l| l == b"READY=1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_is_any_line() {
        assert!(is_ready(b"READY=1"));
        assert!(is_ready(b"STATUS=up\nREADY=1\n"));
        assert!(!is_ready(b"STATUS=READY=1"));
        assert!(!is_ready(b"READY=0"));
    }

    #[test]
    fn forwards_ready_with_mainpid() {
        let dir = std::env::temp_dir().join(format!("nook-notify-{}", std::process::id()));
        let state = dir.join("state");
        std::fs::create_dir_all(&state).unwrap();
        make_dir(&state).unwrap();
        let host_path = dir.join("host.sock");
        let host = UnixDatagram::bind(&host_path).unwrap();
        let pending = Pending {
            socket: UnixDatagram::bind(state.join(DIR).join(SOCKET)).unwrap(),
            host: host_path,
        };
        let inside = UnixDatagram::unbound().unwrap();
        inside
            .send_to(b"STATUS=starting", state.join(DIR).join(SOCKET))
            .unwrap();
        inside
            .send_to(b"STATUS=up\nREADY=1", state.join(DIR).join(SOCKET))
            .unwrap();
        pending.forward(42, || true).unwrap();
        let mut buf = [0u8; 64];
        let n = host.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nMAINPID=42\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

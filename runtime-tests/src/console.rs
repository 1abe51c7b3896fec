//! The engine's side of `--console-socket`: listen on a unix socket, receive the pty
//! master the runtime sends with SCM_RIGHTS, and read the container's terminal output.

use std::fs::File;
use std::io::{IoSliceMut, Read};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};

pub struct ConsoleSocket {
    path: PathBuf,
    listener: UnixListener,
}

impl ConsoleSocket {
    /// Listen at `path` (which must not exist; keep it short: 108 bytes at most).
    pub fn bind(path: &Path) -> Self {
        let listener =
            UnixListener::bind(path).unwrap_or_else(|e| panic!("bind {}: {e}", path.display()));
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        ConsoleSocket {
            path: path.to_path_buf(),
            listener,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Accept the runtime's connection and receive the one fd it sends (the pty master),
    /// with the text it sent alongside (runc sends the pty's name).
    pub fn receive_master(&self, timeout: Duration) -> Result<(OwnedFd, String), String> {
        let deadline = Instant::now() + timeout;
        let stream = loop {
            match self.listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        return Err("no connection on the console socket".into());
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(format!("accept: {e}")),
            }
        };
        stream.set_nonblocking(false).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4096];
        let mut iov = [IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([RawFd; 4]);
        let msg = recvmsg::<()>(
            stream.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(|e| format!("recvmsg: {e}"))?;
        let text_len = msg.bytes;
        let mut fds = Vec::new();
        for c in msg.cmsgs().map_err(|e| format!("cmsgs: {e}"))? {
            if let ControlMessageOwned::ScmRights(list) = c {
                fds.extend(list);
            }
        }
        let text = String::from_utf8_lossy(&buf[..text_len]).into_owned();
        let mut owned: Vec<OwnedFd> = fds
            .into_iter()
            // SAFETY: the kernel just installed these fds in our table for us alone.
            .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
            .collect();
        match owned.len() {
            1 => Ok((owned.remove(0), text)),
            n => Err(format!("expected one fd on the console socket, got {n}")),
        }
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Read from a pty master until `done(text so far)` is true, the slave side closes (EIO),
/// or the timeout passes. Returns everything read.
pub fn read_master(master: &OwnedFd, timeout: Duration, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + timeout;
    let mut file = File::from(master.try_clone().expect("dup master"));
    let mut text = Vec::new();
    let mut chunk = [0u8; 4096];
    while Instant::now() < deadline && !done(&String::from_utf8_lossy(&text)) {
        let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(50u16)) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(_) => break,
        }
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => text.extend_from_slice(&chunk[..n]),
            // EIO: every slave fd is closed (the container exited).
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

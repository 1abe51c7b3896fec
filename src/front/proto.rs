//! What the monitor and its clients say over `<dir>/attach.sock`: frames of
//! one kind byte, a 4-byte big-endian length and the payload.
//!
//! ```text
//! client  → monitor   HELLO {"stdin":bool,"start":bool}   first frame
//!                     STDIN bytes | STDIN_EOF | RESIZE rows,cols | SIGNAL signo
//! monitor → client    STDOUT bytes | STDERR bytes | EXIT code | ERROR text
//! ```
//!
//! The `__create` helper connects once, before any client, and sends one
//! message (JSON, with the pty master attached by SCM_RIGHTS when there is one).

use std::io::{Read, Write};

pub const HELLO: u8 = 0x10;
pub const STDIN: u8 = 0x11;
pub const STDIN_EOF: u8 = 0x12;
pub const RESIZE: u8 = 0x13;
pub const SIGNAL: u8 = 0x14;
/// `exec -dt`: hold the pty master sent with this frame (SCM_RIGHTS) and
/// drain it until the exec'd process has closed its terminal.
pub const HOLD: u8 = 0x15;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const EXIT: u8 = 3;
pub const ERROR: u8 = 4;

/// Frames larger than this are refused (a monitor keeps no big buffers).
pub const MAX_FRAME: usize = 64 * 1024;

pub fn encode(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(5 + payload.len());
    f.push(kind);
    f.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

pub fn write_frame(w: &mut impl Write, kind: u8, payload: &[u8]) -> std::io::Result<()> {
    w.write_all(&encode(kind, payload))
}

/// Take one complete frame off the front of `buf`, if there is one.
pub fn take_frame(buf: &mut Vec<u8>) -> Option<(u8, Vec<u8>)> {
    if buf.len() < 5 {
        return None;
    }
    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    if buf.len() < 5 + len {
        return None;
    }
    let kind = buf[0];
    let payload = buf[5..5 + len].to_vec();
    buf.drain(..5 + len);
    Some((kind, payload))
}

/// Blocking read of one frame; None at end of stream.
pub fn read_frame(r: &mut impl Read) -> std::io::Result<Option<(u8, Vec<u8>)>> {
    let mut head = [0u8; 5];
    match r.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::other("frame too large"));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok(Some((head[0], payload)))
}

/// Which of the polled fds have something to say (consumes them, so the
/// borrows end before the fds are used).
pub fn ready(fds: Vec<nix::poll::PollFd>) -> Vec<bool> {
    fds.iter()
        .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
        .collect()
}

pub fn i32_payload(v: i32) -> [u8; 4] {
    v.to_be_bytes()
}

pub fn payload_i32(p: &[u8]) -> Option<i32> {
    Some(i32::from_be_bytes(p.get(..4)?.try_into().ok()?))
}

/// `/proc/self/fd/N/attach.sock`: a socket path short enough for sun_path
/// however deep the store is (N is an open handle on the container dir).
pub fn socket_path(dir_fd: &std::os::fd::OwnedFd) -> std::path::PathBuf {
    use std::os::fd::AsRawFd;
    std::path::PathBuf::from(format!("/proc/self/fd/{}/attach.sock", dir_fd.as_raw_fd()))
}

pub fn open_dir(dir: &std::path::Path) -> crate::error::Result<std::os::fd::OwnedFd> {
    use nix::fcntl::OFlag;
    nix::fcntl::open(
        dir,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| crate::error::Error::sys("open", dir.display(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_split() {
        let mut buf = encode(STDOUT, b"hello");
        buf.extend(encode(EXIT, &i32_payload(3)));
        buf.extend(&encode(STDERR, b"partial")[..4]);
        assert_eq!(take_frame(&mut buf), Some((STDOUT, b"hello".to_vec())));
        let (k, p) = take_frame(&mut buf).unwrap();
        assert_eq!((k, payload_i32(&p)), (EXIT, Some(3)));
        assert_eq!(take_frame(&mut buf), None, "an incomplete frame stays");
        let mut r = std::io::Cursor::new(encode(ERROR, b"x"));
        assert_eq!(read_frame(&mut r).unwrap(), Some((ERROR, b"x".to_vec())));
        assert_eq!(read_frame(&mut r).unwrap(), None);
    }
}

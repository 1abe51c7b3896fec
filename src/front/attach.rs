//! The client side of a container's monitor: `run` in the foreground and
//! `start -a`. Output frames go to our stdout/stderr, our stdin (with `-i`)
//! goes to the container; with `-t` our terminal is raw (restored on the
//! way out) and SIGWINCH becomes a resize; without `-t` the signals a user
//! sends (INT, TERM, HUP, QUIT, USR1, USR2) are forwarded (docker's
//! sig-proxy). Killing this process detaches it; the container runs on.

use super::containers;
use super::proto;
use super::status;
use crate::container::console::RawGuard;
use crate::error::{Error, Result, SysResult};
use crate::image::store::Store;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::io::IsTerminal;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;

#[derive(Debug, Clone, Default)]
pub struct AttachOptions {
    pub stdin: bool,
    pub tty: bool,
    /// Ask the monitor to start the container (it waits for us).
    pub start: bool,
    /// Forward the user's signals (docker's `--sig-proxy`; never with `-t`).
    pub sig_proxy: bool,
    /// With `-t` and stdin: the key sequence that detaches (docker's ctrl-p ctrl-q).
    pub detach_keys: Option<Vec<u8>>,
    /// Our end of stdin closes the container's (docker's StdinOnce: `run -i`, not `attach`).
    pub stdin_once: bool,
}

/// How an attached client ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The container ended with this status (or we were told to go: 128+N).
    Exit(i32),
    /// The user typed the detach keys: the container runs on.
    Detached,
}

const FORWARDED: [Signal; 6] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

pub fn attach(store: &Store, id: &str, o: &AttachOptions) -> Result<Outcome> {
    let dir = containers::dir(store, id);
    let dir_fd = proto::open_dir(&dir)?;
    let mut sock = UnixStream::connect(proto::socket_path(&dir_fd))
        .map_err(|e| Error::io("connect", dir.join("attach.sock"), e))?;
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGWINCH);
    // Without the proxy the user's signals keep their default action: they
    // end this client, never the container.
    if o.sig_proxy || o.tty {
        FORWARDED.iter().for_each(|s| mask.add(*s));
    }
    mask.thread_block().sys("sigprocmask", "attach")?;
    let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC).sys("signalfd", "attach")?;
    let stdin = std::io::stdin();
    let _raw = (o.tty && stdin.is_terminal()).then(RawGuard::new);
    let hello = serde_json::json!({"stdin": o.stdin, "start": o.start, "stdinOnce": o.stdin_once})
        .to_string();
    send(&mut sock, proto::HELLO, hello.as_bytes())?;
    let mut escape = o
        .detach_keys
        .clone()
        .filter(|_| o.tty && o.stdin)
        .map(super::detach::Escape::new);
    if o.tty {
        resize(&mut sock)?;
    }
    let mut stdin_open = o.stdin;
    let mut buf = Vec::new();
    let mut error = None;
    loop {
        let mut fds = vec![
            PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
            PollFd::new(sock.as_fd(), PollFlags::POLLIN),
        ];
        if stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(Error::sys("poll", "attach", e)),
        }
        let ready = proto::ready(fds);
        if ready[0] {
            if let Some(info) = sfd.read_signal().sys("read", "signalfd")? {
                let sig = info.ssi_signo as i32;
                if sig == libc::SIGWINCH {
                    if o.tty {
                        resize(&mut sock)?;
                    }
                } else if o.tty {
                    // No sig-proxy with a terminal (docker's rule): we detach.
                    return Ok(Outcome::Exit(128 + sig));
                } else {
                    send(&mut sock, proto::SIGNAL, &proto::i32_payload(sig))?;
                }
            }
        }
        if ready.get(2) == Some(&true) {
            let mut chunk = [0u8; 16 * 1024];
            match nix::unistd::read(stdin.as_fd(), &mut chunk) {
                Ok(0) | Err(nix::errno::Errno::EIO) => {
                    stdin_open = false;
                    send(&mut sock, proto::STDIN_EOF, &[])?;
                }
                Ok(n) => {
                    let (data, detached) = match escape.as_mut() {
                        Some(e) => e.feed(&chunk[..n]),
                        None => (chunk[..n].to_vec(), false),
                    };
                    if !data.is_empty() {
                        send(&mut sock, proto::STDIN, &data)?;
                    }
                    if detached {
                        return Ok(Outcome::Detached);
                    }
                }
                Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(Error::sys("read", "stdin", e)),
            }
        }
        if ready[1] {
            let mut chunk = [0u8; 32 * 1024];
            let n = match nix::unistd::read(sock.as_fd(), &mut chunk) {
                Ok(n) => n,
                Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => continue,
                Err(_) => 0,
            };
            if n == 0 {
                return gone(store, id, error);
            }
            buf.extend_from_slice(&chunk[..n]);
            while let Some((kind, payload)) = proto::take_frame(&mut buf) {
                match kind {
                    proto::STDOUT => out(std::io::stdout().as_fd(), &payload),
                    proto::STDERR => out(std::io::stderr().as_fd(), &payload),
                    proto::ERROR => error = Some(String::from_utf8_lossy(&payload).into_owned()),
                    proto::EXIT => {
                        if let Some(e) = error {
                            eprintln!("nook: {e}");
                        }
                        return Ok(Outcome::Exit(proto::payload_i32(&payload).unwrap_or(125)));
                    }
                    _ => {}
                }
            }
        }
    }
}

/// `nook attach [--no-stdin] [--sig-proxy=BOOL] [--detach-keys K] C`: a
/// running container's output, and its input when it was made with `-i`.
/// Typing the detach keys prints docker's `read escape sequence` and exits 1
/// (as `docker attach` does); otherwise the container's exit status.
pub fn command(store: &Store, a: &crate::cli::front_ctr::AttachArgs) -> Result<i32> {
    let keys = super::detach::parse(a.stream.detach_keys.as_deref())?;
    let id = containers::lookup(store, &a.container)?;
    let rec = containers::read_record(store, &id)?;
    match status::live(store, &id).phase {
        status::Phase::Running => {}
        status::Phase::Paused => {
            return Err(Error::Usage(
                "You cannot attach to a paused container, unpause it first".into(),
            ))
        }
        status::Phase::Restarting => {
            return Err(Error::Usage(
                "You cannot attach to a restarting container, wait until it is running".into(),
            ))
        }
        _ => {
            return Err(Error::Usage(
                "You cannot attach to a stopped container, start it first".into(),
            ))
        }
    }
    let stdin = rec.open_stdin && !a.no_stdin;
    if stdin && rec.tty && !std::io::stdin().is_terminal() {
        return Err(Error::Usage("the input device is not a TTY".into()));
    }
    let o = AttachOptions {
        stdin,
        tty: rec.tty,
        start: false,
        sig_proxy: a.stream.sig_proxy,
        detach_keys: Some(keys),
        stdin_once: false,
    };
    match attach(store, &id, &o)? {
        Outcome::Exit(code) => Ok(code),
        Outcome::Detached => {
            eprintln!("read escape sequence");
            Ok(1)
        }
    }
}

/// Ask a waiting monitor to start its container, without attaching.
pub fn poke_start(store: &Store, id: &str) -> Result<()> {
    let dir = containers::dir(store, id);
    let dir_fd = proto::open_dir(&dir)?;
    let mut sock = UnixStream::connect(proto::socket_path(&dir_fd))
        .map_err(|e| Error::io("connect", dir.join("attach.sock"), e))?;
    let hello = serde_json::json!({"stdin": false, "start": true}).to_string();
    send(&mut sock, proto::HELLO, hello.as_bytes())
}

/// The monitor hung up without an exit frame (it was killed): the exit
/// file if it has one, else an error.
fn gone(store: &Store, id: &str, error: Option<String>) -> Result<Outcome> {
    if let Some(e) = status::exit_file(store, id) {
        return Ok(Outcome::Exit(e.exit_code));
    }
    Err(Error::Child(error.unwrap_or_else(|| {
        "the container's monitor went away (the container may still run: see nook ps -a)".into()
    })))
}

fn send(sock: &mut UnixStream, kind: u8, payload: &[u8]) -> Result<()> {
    proto::write_frame(sock, kind, payload).map_err(|e| Error::io("write", "attach.sock", e))
}

fn resize(sock: &mut UnixStream) -> Result<()> {
    let size = crate::kernel::tty::winsize(std::io::stdin().as_fd())
        .or_else(|| crate::kernel::tty::winsize(std::io::stdout().as_fd()));
    match size {
        Some((rows, cols)) => {
            let mut p = rows.to_be_bytes().to_vec();
            p.extend_from_slice(&cols.to_be_bytes());
            send(sock, proto::RESIZE, &p)
        }
        None => Ok(()),
    }
}

fn out(fd: BorrowedFd, mut data: &[u8]) {
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

//! The single-purpose subcommands: access, run, write, open-write, cat, tty. Each returns
//! the JSON value to print; failures are errno names inside that value.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Map, Value};

use crate::{errno, sys};
use nook::report::parse;

fn kind(ft: &fs::FileType) -> &'static str {
    if ft.is_symlink() {
        "symlink"
    } else if ft.is_dir() {
        "dir"
    } else if ft.is_file() {
        "file"
    } else if ft.is_char_device() {
        "char"
    } else if ft.is_block_device() {
        "block"
    } else if ft.is_fifo() {
        "fifo"
    } else if ft.is_socket() {
        "socket"
    } else {
        "other"
    }
}

fn status(result: Result<(), String>) -> String {
    match result {
        Ok(()) => "ok".to_string(),
        Err(e) => e,
    }
}

/// Read access, following symlinks: (result, bytes). For a directory, "bytes" is the
/// number of entries. O_NONBLOCK keeps fifos and terminals from blocking the probe, and
/// O_NOCTTY keeps a terminal from becoming our controlling one.
fn try_read(path: &Path) -> (String, Option<u64>) {
    if fs::metadata(path).map(|m| m.is_dir()).unwrap_or(false) {
        return match fs::read_dir(path) {
            Ok(dir) => ("ok".into(), Some(dir.filter(|e| e.is_ok()).count() as u64)),
            Err(e) => (errno::of(&e), None),
        };
    }
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path);
    let mut file = match opened {
        Ok(f) => f,
        Err(e) => return (errno::of(&e), None),
    };
    let mut buf = vec![0u8; 4096];
    match file.read(&mut buf) {
        Ok(n) => ("ok".into(), Some(n as u64)),
        // Opened fine, nothing to read yet (an empty fifo, a quiet terminal, a ptmx).
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => ("ok".into(), Some(0)),
        Err(e) => (errno::of(&e), None),
    }
}

/// Write access without ever writing: open O_WRONLY (no O_TRUNC, no O_CREAT) and close.
/// For a directory, create and remove a scratch file inside it.
fn try_write(path: &Path) -> String {
    if fs::metadata(path).map(|m| m.is_dir()).unwrap_or(false) {
        let scratch = path.join(format!(".probe-w-{}", std::process::id()));
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&scratch);
        return match created {
            Ok(_) => status(fs::remove_file(&scratch).map_err(|e| errno::of(&e))),
            Err(e) => errno::of(&e),
        };
    }
    let opened = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path);
    status(opened.map(drop).map_err(|e| errno::of(&e)))
}

fn access_one(path: &Path) -> Value {
    let meta = fs::symlink_metadata(path).ok();
    let (read, bytes) = try_read(path);
    let rdev = meta.as_ref().and_then(|m| {
        let ft = m.file_type();
        (ft.is_char_device() || ft.is_block_device()).then(|| {
            let (major, minor) = parse::dev_major_minor(m.rdev());
            json!([major, minor])
        })
    });
    json!({
        "exists": meta.is_some(),
        "kind": meta.as_ref().map(|m| kind(&m.file_type())),
        "mode": meta.as_ref().map(|m| m.mode() & 0o7777),
        "uid": meta.as_ref().map(|m| m.uid()),
        "gid": meta.as_ref().map(|m| m.gid()),
        "rdev": rdev,
        "read": read,
        "bytes": bytes,
        "write": try_write(path),
        "exec": status(sys::access_exec(path)),
    })
}

/// `probe access PATH...`
pub fn access(paths: &[String]) -> Value {
    let map: Map<String, Value> = paths
        .iter()
        .map(|p| (p.clone(), access_one(Path::new(p))))
        .collect();
    Value::Object(map)
}

/// `probe run PATH [ARGS...]`: fork + execve and wait. The child's stdout goes to our
/// stderr so that stdout carries only the one JSON line.
pub fn run(path: &str, args: &[String]) -> Value {
    let child_out = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map(Stdio::from)
        .unwrap_or_else(|_| Stdio::null());
    let spawned = Command::new(path).args(args).stdout(child_out).spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => return json!({"exec_errno": errno::of(&e), "status": null, "signal": null}),
    };
    match child.wait() {
        Ok(st) => json!({"exec_errno": null, "status": st.code(), "signal": st.signal()}),
        Err(e) => json!({"exec_errno": null, "status": null, "signal": null,
                         "wait_error": errno::of(&e)}),
    }
}

fn result(r: std::io::Result<()>) -> Value {
    json!({ "result": status(r.map_err(|e| errno::of(&e))) })
}

/// `probe write PATH TEXT`: create or truncate with mode 0644 and write TEXT.
pub fn write(path: &str, text: &str) -> Value {
    let r = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    result(r)
}

/// `probe open-write PATH`: only open(PATH, O_WRONLY); nothing is truncated or written.
pub fn open_write(path: &str) -> Value {
    result(OpenOptions::new().write(true).open(path).map(drop))
}

/// `probe cat PATH`: the whole content (lossy UTF-8) or the errno name.
pub fn cat(path: &str) -> Value {
    let mut bytes = Vec::new();
    match File::open(path).and_then(|mut f| f.read_to_end(&mut bytes)) {
        Ok(_) => json!({"content": String::from_utf8_lossy(&bytes), "error": null}),
        Err(e) => json!({"content": null, "error": errno::of(&e)}),
    }
}

/// `probe tty`: terminal facts of fds 0-2 and whether /dev/tty (the controlling
/// terminal) can be opened.
pub fn tty() -> Value {
    let winsize = (0..3).find_map(sys::winsize);
    let ctty = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open("/dev/tty")
        .is_ok();
    json!({
        "isatty": [sys::isatty(0), sys::isatty(1), sys::isatty(2)],
        "ttyname": fs::read_link("/proc/self/fd/0").ok().map(|p| p.to_string_lossy().into_owned()),
        "winsize": winsize,
        "ctty": ctty,
    })
}

/// `probe notify TEXT`: send TEXT (`\n` written as the two characters is turned
/// into a newline) as one datagram to the socket named by $NOTIFY_SOCKET, as
/// sd_notify(3) does.
pub fn notify(text: &str) -> Value {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return json!({"notify": text, "error": "NOTIFY_SOCKET is not set"});
    };
    let msg = text.replace("\\n", "\n");
    let sent =
        std::os::unix::net::UnixDatagram::unbound().and_then(|s| s.send_to(msg.as_bytes(), &path));
    match sent {
        Ok(n) => json!({"notify": text, "socket": path.to_string_lossy(), "sent": n}),
        Err(e) => json!({"notify": text, "socket": path.to_string_lossy(), "error": e.to_string()}),
    }
}

//! The few libc calls std does not wrap. Every `unsafe` block of the probe lives here
//! and in raw.rs (raw system calls for the seccomp tests).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::errno;

pub fn isatty(fd: i32) -> bool {
    // SAFETY: isatty only inspects the descriptor number; an invalid fd returns 0.
    unsafe { libc::isatty(fd) == 1 }
}

fn cpath(path: &Path) -> Result<CString, String> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| "EINVAL".to_string())
}

/// faccessat(AT_FDCWD, path, X_OK, 0): "may I execute this?" including noexec mounts.
pub fn access_exec(path: &Path) -> Result<(), String> {
    let c = cpath(path)?;
    // SAFETY: `c` is a valid NUL-terminated path kept alive across the call.
    if unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), libc::X_OK, 0) } != 0 {
        return Err(errno::last());
    }
    Ok(())
}

/// [rows, cols] of the terminal on `fd`, if it is one.
pub fn winsize(fd: i32) -> Option<[u16; 2]> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the valid pointer we pass.
    if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } != 0 {
        return None;
    }
    Some([ws.ws_row, ws.ws_col])
}

//! The few libc calls std does not wrap. Every `unsafe` block of the probe lives here
//! and in raw.rs (raw system calls for the seccomp tests).

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::errno;

fn field_to_string(field: &[libc::c_char]) -> String {
    // SAFETY: utsname fields are NUL-terminated arrays filled by the kernel; the slice
    // lives as long as this borrow and CStr::from_ptr stops at the first NUL.
    let cstr = unsafe { CStr::from_ptr(field.as_ptr()) };
    cstr.to_string_lossy().into_owned()
}

/// (nodename, domainname) from uname(2).
pub fn uname() -> Result<(String, String), String> {
    // SAFETY: utsname is plain old data; all-zero is a valid value.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `uts` is a valid, writable utsname for the duration of the call.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return Err(errno::last());
    }
    Ok((
        field_to_string(&uts.nodename),
        field_to_string(&uts.domainname),
    ))
}

/// Supplementary group ids from getgroups(2), sorted.
pub fn groups() -> Result<Vec<u32>, String> {
    // SAFETY: size 0 with a null list only asks for the count.
    let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    if n < 0 {
        return Err(errno::last());
    }
    let mut list: Vec<libc::gid_t> = vec![0; n as usize];
    // SAFETY: `list` has room for exactly `n` gid_t values.
    let got = unsafe { libc::getgroups(n, list.as_mut_ptr()) };
    if got < 0 {
        return Err(errno::last());
    }
    list.truncate(got as usize);
    list.sort_unstable();
    Ok(list)
}

/// [soft, hard] of one resource limit; RLIM_INFINITY stays u64::MAX.
pub fn getrlimit(resource: libc::__rlimit_resource_t) -> Result<[u64; 2], String> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(resource, &mut lim) } != 0 {
        return Err(errno::last());
    }
    Ok([lim.rlim_cur, lim.rlim_max])
}

pub fn isatty(fd: i32) -> bool {
    // SAFETY: isatty only inspects the descriptor number; an invalid fd returns 0.
    unsafe { libc::isatty(fd) == 1 }
}

/// Whether `fd` is an open descriptor of this process.
pub fn fd_is_open(fd: i32) -> bool {
    // SAFETY: F_GETFD takes no argument and only reads descriptor flags.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
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

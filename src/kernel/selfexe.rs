//! Running the runtime from a sealed in-memory copy of its binary, so that no
//! process inside a container can ever reach the host's binary through
//! /proc/<pid>/exe and overwrite it (the CVE-2019-5736 class).

use crate::error::{Error, Result, SysResult};
use nix::fcntl::{FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;

/// The memfd's name, as /proc/<pid>/exe shows it: `/memfd:nook-sealed (deleted)`.
const NAME: &str = "nook-sealed";

/// Are we already running from the sealed copy?
pub fn is_sealed_copy() -> bool {
    std::fs::read_link("/proc/self/exe")
        .is_ok_and(|p| p.as_os_str().as_bytes().starts_with(b"/memfd:nook-sealed"))
}

/// Copy /proc/self/exe into a sealed memfd and execve it with the same argv
/// and environment. Returns only on failure. File descriptors are kept
/// (the copy's own fd is close-on-exec).
pub fn reexec_sealed() -> Result<std::convert::Infallible> {
    // MFD_EXEC (kernel 6.3+) keeps it executable where vm.memfd_noexec is set; older
    // kernels refuse the flag with EINVAL, and their memfds are executable anyway.
    let base = MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING;
    let fd = memfd_create(NAME, base | MFdFlags::from_bits_retain(libc::MFD_EXEC))
        .or_else(|_| memfd_create(NAME, base))
        .sys("memfd_create", NAME)?;
    let mut src = std::fs::File::open("/proc/self/exe")
        .map_err(|e| Error::io("open", "/proc/self/exe", e))?;
    let mut dst = std::fs::File::from(fd);
    // A plain read/write copy: std::io::copy would splice, and pages still
    // referenced by a pipe make F_SEAL_WRITE fail with EBUSY.
    copy_plain(&mut src, &mut dst).map_err(|e| Error::io("copy", "/proc/self/exe", e))?;
    let seals = SealFlag::F_SEAL_SEAL
        | SealFlag::F_SEAL_SHRINK
        | SealFlag::F_SEAL_GROW
        | SealFlag::F_SEAL_WRITE;
    let mut tries = 0;
    loop {
        match nix::fcntl::fcntl(&dst, FcntlArg::F_ADD_SEALS(seals)) {
            Err(nix::errno::Errno::EBUSY) if tries < 50 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            other => break other.map(drop).sys("fcntl(F_ADD_SEALS)", NAME)?,
        }
    }
    let args: Vec<CString> = std::env::args_os()
        .filter_map(|a| CString::new(a.as_bytes()).ok())
        .collect();
    let env: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| CString::new([k.as_bytes(), b"=", v.as_bytes()].concat()).ok())
        .collect();
    nix::unistd::fexecve(&dst, &args, &env).sys("fexecve", NAME)
}

fn copy_plain(src: &mut impl std::io::Read, dst: &mut impl std::io::Write) -> std::io::Result<()> {
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = src.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        dst.write_all(&buf[..n])?;
    }
}

//! Running the runtime from a sealed view of its binary, so that no process
//! inside a container can ever reach the host's binary through /proc/<pid>/exe
//! and overwrite it (the CVE-2019-5736 class).
//!
//! Fast path (real root, kernel 5.2+): re-exec through a detached, read-only
//! overlayfs mount whose only layers are the binary's directory and, below it,
//! the host's /dev (an overlay without an upper layer needs two; only the
//! binary's own name is ever looked up, in the top layer, so what the second
//! holds never matters; an empty detached tmpfs where /dev would nest with
//! the binary's directory, which some kernels refuse: 6.1 does, 6.18 not). An overlay
//! without an upper layer can never be made writable (not even by a remount
//! with CAP_SYS_ADMIN), the mount is in no mount namespace so nothing can reach
//! it except through the process's own exe link, and the page cache is the
//! host file's (no copy, nothing charged per container). Fallback (user
//! namespaces, old kernels, odd paths): copy the binary into a sealed memfd,
//! as runc 1.1 does.

use crate::error::{Error, Result, SysResult};
use nix::fcntl::{FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

/// The memfd's name, as /proc/<pid>/exe shows it: `/memfd:nook-sealed (deleted)`.
const NAME: &str = "nook-sealed";
/// Set for the re-exec'd process (and removed by it at once): with the checks
/// on the file below, tells it that it already runs from the sealed view.
const MARK: &str = "_NOOK_SEALED_EXE";

/// Are we already running from a sealed view of the binary? (The mark is
/// removed from the environment at the first call, so that nothing we start
/// inherits it; the answer is kept for later calls.)
pub fn is_sealed_copy() -> bool {
    static SEALED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SEALED.get_or_init(check_sealed)
}

fn check_sealed() -> bool {
    let marked = std::env::var_os(MARK).is_some();
    std::env::remove_var(MARK);
    let exe = std::fs::read_link("/proc/self/exe").unwrap_or_default();
    if exe
        .as_os_str()
        .as_bytes()
        .starts_with(b"/memfd:nook-sealed")
    {
        return true;
    }
    marked
        && nix::sys::statfs::statfs("/proc/self/exe").is_ok_and(|s| {
            s.filesystem_type() == nix::sys::statfs::OVERLAYFS_SUPER_MAGIC
                && s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY)
        })
}

/// Re-execute this binary (same argv and environment) from a sealed view of
/// it: the read-only overlay if we may mount one, else a sealed memfd copy.
/// Returns only on failure. File descriptors are kept.
pub fn reexec_sealed() -> Result<std::convert::Infallible> {
    let args: Vec<CString> = std::env::args_os()
        .filter_map(|a| CString::new(a.as_bytes()).ok())
        .collect();
    let mut env: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| CString::new([k.as_bytes(), b"=", v.as_bytes()].concat()).ok())
        .collect();
    if let Some(exe) = readonly_overlay_exe() {
        env.push(CString::new(format!("{MARK}=1")).unwrap_or_default());
        // On failure (e.g. noexec somewhere), fall back to the copy.
        let _ = nix::unistd::execveat(&exe, c"", &args, &env, nix::fcntl::AtFlags::AT_EMPTY_PATH);
        env.pop();
    }
    reexec_memfd(&args, &env)
}

/// An O_PATH fd on this binary inside a fresh detached read-only overlayfs
/// mount, or None if one cannot be made here.
fn readonly_overlay_exe() -> Option<OwnedFd> {
    let exe = std::fs::read_link("/proc/self/exe").ok()?;
    let (dir, name) = (exe.parent()?, exe.file_name()?);
    let dir = dir.as_os_str().as_bytes();
    // The lowerdir option separates layers with ':' and options with ','.
    if dir.is_empty() || dir.iter().any(|b| matches!(b, b':' | b',' | b'\\')) {
        return None;
    }
    // The second layer, below the binary's directory (only the binary's name
    // is looked up, and it is found in the top layer, so what the second holds
    // never matters): the host's /dev, a directory on every Linux system,
    // unless it nests with the binary's directory (overlayfs refuses that);
    // then the root of an empty detached tmpfs, which some kernels refuse as a
    // layer (6.1 does, 6.18 not; each refusal a line in the kernel log: "failed
    // to clone lowerpath"), hence not first.
    let attached = ATTACHED_SECOND_LAYER.as_bytes();
    let nested = |a: &[u8], b: &[u8]| a == b || a.starts_with(&[b, b"/"].concat());
    if !(nested(dir, attached) || nested(attached, dir) || dir == b"/") {
        if let Some(exe) = overlay_file(dir, attached, name) {
            return Some(exe);
        }
    }
    let empty = sys_fsopen(c"tmpfs")?;
    sys_fsconfig_create(&empty)?;
    let empty = sys_fsmount(&empty)?;
    let second = format!("/proc/self/fd/{}", empty.as_raw_fd());
    overlay_file(dir, second.as_bytes(), name)
}

/// The second layer, where it does not nest with the binary's directory.
const ATTACHED_SECOND_LAYER: &str = "/dev";

/// `name` in a new detached read-only overlayfs of the directory `top` over
/// `below` (both lower layers: with no upper layer it is never writable),
/// opened O_PATH.
fn overlay_file(top: &[u8], below: &[u8], name: &std::ffi::OsStr) -> Option<OwnedFd> {
    let layers = CString::new([top, b":", below].concat()).ok()?;
    let fs = sys_fsopen(c"overlay")?;
    sys_fsconfig_string(&fs, c"lowerdir", &layers)?;
    sys_fsconfig_create(&fs)?;
    let mnt = sys_fsmount(&fs)?;
    nix::fcntl::openat(
        &mnt,
        name,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ok()
}

const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const MOUNT_ATTR_RDONLY: libc::c_uint = 0x1;
const MOUNT_ATTR_NOSUID: libc::c_uint = 0x2;
const MOUNT_ATTR_NODEV: libc::c_uint = 0x4;

fn owned(ret: libc::c_long) -> Option<OwnedFd> {
    // SAFETY: `ret` is a new file descriptor the kernel just returned to us
    // (checked non-negative), owned by nothing else.
    (ret >= 0).then(|| unsafe { OwnedFd::from_raw_fd(ret as i32) })
}

fn sys_fsopen(fstype: &CStr) -> Option<OwnedFd> {
    // SAFETY: fsopen reads a NUL-terminated string that outlives the call.
    owned(unsafe { libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), FSOPEN_CLOEXEC) })
}

fn sys_fsconfig_string(fs: &OwnedFd, key: &CStr, value: &CStr) -> Option<()> {
    // SAFETY: both strings are NUL-terminated and outlive the call; the fd is open.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_SET_STRING,
            key.as_ptr(),
            value.as_ptr(),
            0,
        )
    };
    (ret == 0).then_some(())
}

fn sys_fsconfig_create(fs: &OwnedFd) -> Option<()> {
    // SAFETY: FSCONFIG_CMD_CREATE takes no pointers; the fd is open.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    };
    (ret == 0).then_some(())
}

fn sys_fsmount(fs: &OwnedFd) -> Option<OwnedFd> {
    let attrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    // SAFETY: fsmount takes the fs context fd and two flag words, no pointers.
    owned(unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, attrs) })
}

/// Copy /proc/self/exe into a sealed memfd and execve it.
fn reexec_memfd(args: &[CString], env: &[CString]) -> Result<std::convert::Infallible> {
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
    nix::unistd::fexecve(&dst, args, env).sys("fexecve", NAME)
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

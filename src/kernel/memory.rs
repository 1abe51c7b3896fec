//! Giving back the pages of a process that will wait a long time (a container's
//! init between `create` and `start`).

use nix::fcntl::OFlag;
use std::ffi::CStr;
use std::os::fd::{FromRawFd, OwnedFd};

/// Drop this process's mappings of its own binary's read-only segments (text
/// and read-only data): they are identical to the file, so MADV_DONTNEED only
/// unmaps the pages, and what is used again is faulted back from the page cache
/// (the file stays cached: nothing is read from disk). RSS counts every mapped
/// page, and a fault maps the 64 KiB around it (fault-around), so a phase of
/// the runtime that touched scattered code holds much of the binary mapped:
/// called between phases (after argument parsing, before the container's
/// processes are forked), it keeps the peak to what one phase touches. A
/// waiting init releases at the start gate itself (`release_then_open`), or
/// with this before loading a seccomp filter that would refuse the release. The segments come
/// from the program headers (`dl_iterate_phdr`: no file to read, so no spike of
/// its own). Only PT_LOAD segments without PF_W: their pages are never written
/// (a debugger's breakpoints would be; they would be dropped). Best effort.
pub fn release_clean_file_pages() {
    clean_file_pages().release();
}

/// The binary's read-only segments, found ahead of a release that must run as
/// little code as possible after it (`release_then_open`).
pub struct CleanPages {
    found: Segments,
}

/// Find the segments now (`dl_iterate_phdr`, a walk of the program headers).
pub fn clean_file_pages() -> CleanPages {
    let mut found = Segments {
        ranges: [(0, 0); MAX_SEGMENTS],
        count: 0,
    };
    // SAFETY: the callback only reads the headers the loader hands it and writes
    // into `found`, which outlives the call; it returns 1 after the first object
    // (the main program), which ends the iteration.
    unsafe {
        libc::dl_iterate_phdr(
            Some(collect),
            &mut found as *mut Segments as *mut libc::c_void,
        );
    }
    CleanPages { found }
}

impl CleanPages {
    /// (start, length) of each segment, page-aligned.
    pub fn ranges(&self) -> &[(usize, usize)] {
        &self.found.ranges[..self.found.count]
    }

    /// Drop the mappings of all the segments (see `release_clean_file_pages`).
    pub fn release(&self) {
        for &(start, len) in self.ranges() {
            madvise_dontneed(start, len);
        }
    }
}

/// Give the allocator's free pages back to the kernel (glibc's malloc_trim:
/// the top of the heap, and whole free pages inside it).
pub fn trim_heap() {
    // SAFETY: malloc_trim only releases memory the allocator holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn madvise_dontneed(start: usize, len: usize) {
    // SAFETY: the range is page-aligned and lies inside a read-only, private
    // mapping of our own binary whose pages are never written: DONTNEED
    // discards nothing that cannot be read back from the file, and no
    // pointer into it changes.
    unsafe {
        libc::madvise(start as *mut libc::c_void, len, libc::MADV_DONTNEED);
    }
}

/// Give back `pages`, then open `path` with `flags`, for a process that blocks
/// in that open for long (a waiting container's init on its start gate). Code
/// run after a release is faulted back, 64 KiB around each page touched, so
/// the segment holding this code is released last, and between that madvise
/// and the open no code of the binary runs but the few instructions from one
/// `syscall` to the next: the wait holds one window of text. The path must be
/// built beforehand (no allocation in between).
pub fn release_then_open(pages: &CleanPages, path: &CStr, flags: OFlag) -> nix::Result<OwnedFd> {
    let here = release_then_open as *const () as usize;
    let holds_here = |&(s, l): &(usize, usize)| s <= here && here < s + l;
    for &(start, len) in pages.ranges().iter().filter(|r| !holds_here(r)) {
        madvise_dontneed(start, len);
    }
    let last = pages.ranges().iter().copied().find(holds_here);
    let fd = match last {
        Some((start, len)) => madvise_then_openat(start, len, path, flags.bits()),
        None => {
            // SAFETY: open(2) on a NUL-terminated path; the fd returned is ours.
            unsafe { libc::open(path.as_ptr(), flags.bits()) as isize }
        }
    };
    if fd < 0 {
        return Err(nix::errno::Errno::last());
    }
    // SAFETY: a new fd from open(2) that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// madvise(start, len, MADV_DONTNEED) then openat(AT_FDCWD, path, flags, 0),
/// back to back: the open's result (a negative errno on failure, and then
/// errno is set). The madvise's own result is not looked at (best effort).
#[cfg(target_arch = "x86_64")]
fn madvise_then_openat(start: usize, len: usize, path: &CStr, flags: i32) -> isize {
    let ret: isize;
    // SAFETY: two raw syscalls. The madvise range is a read-only segment of our
    // binary (see `madvise_dontneed`): the instructions after it are faulted
    // back from the page cache unchanged. openat reads the NUL-terminated
    // `path`, which outlives the call. The registers the kernel and the code
    // overwrite (rax, rcx, rdx, rsi, rdi, r10, r11) are declared clobbered;
    // nothing touches the stack or memory of ours.
    unsafe {
        std::arch::asm!(
            "syscall",
            "mov eax, {openat}",
            "mov rdi, {at_fdcwd}",
            "mov rsi, r8",
            "mov edx, r9d",
            "xor r10d, r10d",
            "syscall",
            openat = const libc::SYS_openat,
            at_fdcwd = const libc::AT_FDCWD,
            inlateout("rax") libc::SYS_madvise as isize => ret,
            inlateout("rdi") start => _,
            inlateout("rsi") len => _,
            inlateout("rdx") libc::MADV_DONTNEED as usize => _,
            in("r8") path.as_ptr(),
            in("r9") flags,
            out("r10") _,
            out("rcx") _,
            out("r11") _,
            options(nostack),
        );
    }
    if ret < 0 {
        nix::errno::Errno::set_raw(-ret as i32);
        return -1;
    }
    ret
}

#[cfg(not(target_arch = "x86_64"))]
fn madvise_then_openat(start: usize, len: usize, path: &CStr, flags: i32) -> isize {
    madvise_dontneed(start, len);
    // SAFETY: open(2) on a NUL-terminated path; the fd returned is ours.
    unsafe { libc::open(path.as_ptr(), flags) as isize }
}

/// At most this many read-only segments are looked at (a linker makes two or three).
const MAX_SEGMENTS: usize = 8;

struct Segments {
    ranges: [(usize, usize); MAX_SEGMENTS],
    count: usize,
}

unsafe extern "C" fn collect(
    info: *mut libc::dl_phdr_info,
    _size: usize,
    data: *mut libc::c_void,
) -> libc::c_int {
    // SAFETY: dl_iterate_phdr passes a valid info for the current object and
    // our `data` pointer unchanged (see `own_read_only_segments`).
    let (info, found) = unsafe { (&*info, &mut *(data as *mut Segments)) };
    let page = 4096usize;
    if !info.dlpi_phdr.is_null() {
        // SAFETY: dlpi_phdr points to dlpi_phnum program headers of this object.
        let headers =
            unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) };
        for h in headers {
            if h.p_type != libc::PT_LOAD
                || h.p_flags & libc::PF_W != 0
                || found.count == MAX_SEGMENTS
            {
                continue;
            }
            let start = (info.dlpi_addr as usize + h.p_vaddr as usize).div_ceil(page) * page;
            let end = (info.dlpi_addr as usize + (h.p_vaddr + h.p_memsz) as usize) / page * page;
            if end > start {
                found.ranges[found.count] = (start, end - start);
                found.count += 1;
            }
        }
    }
    1
}

#[cfg(test)]
mod tests {
    fn rss_file_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("RssFile:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn finds_the_text_segment() {
        let here = finds_the_text_segment as *const () as usize;
        let pages = super::clean_file_pages();
        assert!(
            pages
                .ranges()
                .iter()
                .any(|&(s, l)| s <= here && here < s + l),
            "{here:#x} not in {:x?}",
            pages.ranges()
        );
    }

    #[test]
    fn gives_back_mapped_text_and_keeps_running() {
        let before = rss_file_kib();
        super::release_clean_file_pages();
        let after = rss_file_kib();
        assert!(after < before, "RssFile {before} -> {after} kB");
        // The code is faulted back in: this still runs and allocates.
        assert_eq!(format!("{}", 40 + 2), "42");
    }

    #[test]
    fn releases_then_opens_and_reports_the_open_error() {
        use nix::fcntl::OFlag;
        let pages = super::clean_file_pages();
        let fd = super::release_then_open(&pages, c"/dev/null", OFlag::O_RDONLY | OFlag::O_CLOEXEC)
            .unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(nix::unistd::read(&fd, &mut buf), Ok(0));
        let err = super::release_then_open(&pages, c"/nonexistent/x", OFlag::O_RDONLY).err();
        assert_eq!(err, Some(nix::errno::Errno::ENOENT));
    }
}

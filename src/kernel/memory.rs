//! Giving back the pages of a process that will wait a long time (a container's
//! init between `create` and `start`).

/// Drop this process's mappings of its own binary's read-only segments (text
/// and read-only data): they are identical to the file, so MADV_DONTNEED only
/// unmaps the pages, and what is used again is faulted back from the page cache
/// (the file stays cached: nothing is read from disk). RSS counts every mapped
/// page, and a fault maps the 64 KiB around it (fault-around), so a phase of
/// the runtime that touched scattered code holds much of the binary mapped:
/// called between phases (after argument parsing, before the container's
/// processes are forked) and by the container's init before it waits at the
/// start gate, it keeps the peak to what one phase touches. The segments come
/// from the program headers (`dl_iterate_phdr`: no file to read, so no spike of
/// its own). Only PT_LOAD segments without PF_W: their pages are never written
/// (a debugger's breakpoints would be; they would be dropped). Best effort.
pub fn release_clean_file_pages() {
    for (start, len) in own_read_only_segments() {
        // SAFETY: the range is page-aligned and lies inside a read-only, private
        // mapping of our own binary whose pages are never written: DONTNEED
        // discards nothing that cannot be read back from the file, and no
        // pointer into it changes.
        unsafe {
            libc::madvise(start as *mut libc::c_void, len, libc::MADV_DONTNEED);
        }
    }
}

/// At most this many read-only segments are looked at (a linker makes two or three).
const MAX_SEGMENTS: usize = 8;

/// (start, length), page-aligned, of the main program's PT_LOAD segments that
/// are not writable.
fn own_read_only_segments() -> Vec<(usize, usize)> {
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
    found.ranges[..found.count].to_vec()
}

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
        let segments = super::own_read_only_segments();
        assert!(
            segments.iter().any(|&(s, l)| s <= here && here < s + l),
            "{here:#x} not in {segments:x?}"
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
}

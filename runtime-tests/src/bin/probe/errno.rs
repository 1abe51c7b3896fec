//! errno numbers to their symbolic names, so reports say "EACCES" rather than "13".

use std::io;

/// The symbolic name of an errno value, or `E<number>` for ones not in the table.
pub fn name(errno: i32) -> String {
    let known = match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::ENOEXEC => "ENOEXEC",
        libc::EBADF => "EBADF",
        libc::ECHILD => "ECHILD",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ENOTTY => "ENOTTY",
        libc::ETXTBSY => "ETXTBSY",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::ESPIPE => "ESPIPE",
        libc::EROFS => "EROFS",
        libc::EMLINK => "EMLINK",
        libc::EPIPE => "EPIPE",
        libc::ERANGE => "ERANGE",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOSYS => "ENOSYS",
        libc::ENOTEMPTY => "ENOTEMPTY",
        libc::ELOOP => "ELOOP",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::ENOTSOCK => "ENOTSOCK",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::ELIBBAD => "ELIBBAD",
        libc::EDQUOT => "EDQUOT",
        _ => return format!("E{errno}"),
    };
    known.to_string()
}

/// The symbolic name for an I/O error: the errno name when the error came from the
/// kernel, otherwise the error's own text (e.g. invalid UTF-8 in a path).
pub fn of(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(n) => name(n),
        None => err.to_string(),
    }
}

/// The errno left by the last failing libc call, as a name.
pub fn last() -> String {
    of(&io::Error::last_os_error())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_common_errnos() {
        assert_eq!(name(13), "EACCES");
        assert_eq!(name(30), "EROFS");
        assert_eq!(name(26), "ETXTBSY");
        assert_eq!(name(6), "ENXIO");
        assert_eq!(name(1), "EPERM");
        assert_eq!(name(2), "ENOENT");
    }

    #[test]
    fn unknown_errno_falls_back_to_number() {
        assert_eq!(name(4000), "E4000");
    }

    #[test]
    fn io_error_uses_errno_name() {
        assert_eq!(of(&io::Error::from_raw_os_error(21)), "EISDIR");
    }
}

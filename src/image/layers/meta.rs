//! An entry's metadata (owner, mode incl. setuid/setgid/sticky, mtime, xattrs),
//! read from the tar header and its PAX records, and applied to what was made.
#![forbid(unsafe_code)]

use super::{Options, Owners, Report};
use crate::error::{Error, Result};
use nix::errno::Errno;
use nix::fcntl::AtFlags;
use nix::sys::stat::{fchmodat, utimensat, FchmodatFlags, Mode, UtimensatFlags};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchownat, Gid, Uid};
use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use xattr::FileExt;

#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub xattrs: Vec<(OsString, Vec<u8>)>,
}

impl Meta {
    /// Header fields, overridden by PAX `uid`, `gid`, `mtime`; `SCHILY.xattr.*`.
    pub fn read<R: Read>(e: &mut tar::Entry<R>, shown: &str) -> Result<Meta> {
        let bad = |what: &str| Error::layer(shown, format!("bad {what} in header"));
        let h = e.header();
        let mut m = Meta {
            mode: h.mode().map_err(|_| bad("mode"))? & 0o7777,
            uid: id(h.uid().map_err(|_| bad("uid"))?).ok_or_else(|| bad("uid"))?,
            gid: id(h.gid().map_err(|_| bad("gid"))?).ok_or_else(|| bad("gid"))?,
            mtime: h.mtime().map_err(|_| bad("mtime"))? as i64,
            xattrs: Vec::new(),
        };
        let Some(pax) = e.pax_extensions().map_err(|_| bad("pax record"))? else {
            return Ok(m);
        };
        for rec in pax {
            let rec = rec.map_err(|_| bad("pax record"))?;
            let (k, v) = (rec.key_bytes(), rec.value_bytes());
            let num = || {
                std::str::from_utf8(v)
                    .ok()
                    .and_then(|s| s.split('.').next()?.parse().ok())
            };
            match k {
                b"uid" => m.uid = num().and_then(id).ok_or_else(|| bad("pax uid"))?,
                b"gid" => m.gid = num().and_then(id).ok_or_else(|| bad("pax gid"))?,
                b"mtime" => m.mtime = num().map(|n: u64| n as i64).unwrap_or(m.mtime),
                _ => {
                    if let Some(name) = k.strip_prefix(b"SCHILY.xattr.") {
                        m.xattrs.push((OsStr::from_bytes(name).into(), v.to_vec()));
                    }
                }
            }
        }
        Ok(m)
    }
}

fn id(n: u64) -> Option<u32> {
    u32::try_from(n).ok()
}

fn lenient(e: Errno) -> bool {
    matches!(e, Errno::EPERM | Errno::EINVAL | Errno::EACCES)
}

/// chown `dir/name` (never through a symlink) as the owner policy says.
pub fn chown_at(
    dir: &impl AsFd,
    name: &OsStr,
    m: &Meta,
    opts: &Options,
    report: &mut Report,
    shown: &str,
) -> Result<()> {
    if opts.owners == Owners::Ignore {
        return Ok(());
    }
    let r = fchownat(
        dir,
        name,
        Some(Uid::from_raw(m.uid)),
        Some(Gid::from_raw(m.gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    );
    match r {
        Ok(()) => Ok(()),
        Err(e) if opts.owners == Owners::BestEffort && lenient(e) => {
            report.owners_not_kept += 1;
            Ok(())
        }
        Err(e) => Err(Error::sys("chown", shown, e)),
    }
}

/// Mode bits of `dir/name`, a node this unpacker just made. A symlink is left
/// alone (Linux has no lchmod, and following it could leave the root).
pub fn chmod_at(dir: &impl AsFd, name: &OsStr, mode: u32, shown: &str) -> Result<()> {
    match super::fsops::lstat(dir, name) {
        Ok(Some(st)) if st.st_mode & libc::S_IFMT != libc::S_IFLNK => {}
        _ => return Ok(()),
    }
    let mode = Mode::from_bits_truncate(mode);
    fchmodat(dir, name, mode, FchmodatFlags::FollowSymlink)
        .map_err(|e| Error::sys("chmod", shown, e))
}

/// atime and mtime of `dir/name` set to the entry's mtime (never through a symlink).
pub fn times_at(dir: &impl AsFd, name: &OsStr, mtime: i64, shown: &str) -> Result<()> {
    let t = TimeSpec::new(mtime, 0);
    utimensat(dir, name, &t, &t, UtimensatFlags::NoFollowSymlink)
        .map_err(|e| Error::sys("utimensat", shown, e))
}

/// Extended attributes on an open file or directory; refused ones are counted.
pub fn xattrs(f: &std::fs::File, m: &Meta, report: &mut Report, shown: &str) -> Result<()> {
    for (name, value) in &m.xattrs {
        if let Err(e) = f.set_xattr(name, value) {
            let errno = Errno::from_raw(e.raw_os_error().unwrap_or(0));
            if matches!(
                errno,
                Errno::EPERM | Errno::ENOTSUP | Errno::EACCES | Errno::EINVAL
            ) {
                report.warn(format!(
                    "{shown}: xattr {} not set ({errno})",
                    name.to_string_lossy()
                ));
            } else {
                return Err(Error::io("setxattr", shown, e));
            }
        }
    }
    Ok(())
}

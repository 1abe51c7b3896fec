//! `USER` / `-u` resolution against the image's /etc/passwd and /etc/group,
//! both opened beneath the rootfs (openat2 RESOLVE_IN_ROOT): a symlinked
//! /etc/passwd in a hostile image can never make nook read the host's.
#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use crate::kernel::resolve;
use std::io::Read;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    /// Groups of /etc/group that list the user by name (sorted, primary excluded).
    pub additional_gids: Vec<u32>,
    /// From /etc/passwd; `/` when unknown.
    pub home: String,
}

fn read_in_root(rootfs: &Path, file: &str) -> Result<String> {
    let root = resolve::open_root(rootfs)?;
    let Ok(fd) = resolve::resolve(&root, rootfs, Path::new(file), None) else {
        return Ok(String::new());
    };
    let mut s = String::new();
    // Re-open the O_PATH handle for reading; the magic link refers to the same file.
    let mut f = std::fs::File::open(resolve::fd_path(&fd))
        .map_err(|e| Error::io("open", rootfs.join(&file[1..]), e))?;
    f.by_ref()
        .take(4 << 20)
        .read_to_string(&mut s)
        .map_err(|e| Error::io("read", rootfs.join(&file[1..]), e))?;
    Ok(s)
}

/// Lines of a colon-separated database, skipping comments and short lines.
fn records(text: &str, fields: usize) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(move |f| f.len() >= fields)
}

/// Resolve `spec` (`""`, `name`, `uid`, `name:group`, `uid:gid`, ...) in the image.
pub fn resolve_user(spec: &str, rootfs: &Path) -> Result<User> {
    let (u, g) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let u = if u.is_empty() { "0" } else { u };
    let passwd = read_in_root(rootfs, "/etc/passwd")?;
    let entry = records(&passwd, 7).find(|f| f[0] == u || (u.parse::<u32>().is_ok() && f[2] == u));
    let (uid, mut gid, name, home) = match (entry, u.parse::<u32>()) {
        (Some(f), _) => {
            let num = |s: &str, what: &str| {
                s.parse::<u32>()
                    .map_err(|_| Error::format("/etc/passwd", format!("bad {what} for {}", f[0])))
            };
            (
                num(f[2], "uid")?,
                num(f[3], "gid")?,
                Some(f[0].to_string()),
                f[5].to_string(),
            )
        }
        (None, Ok(n)) => (n, 0, None, "/".to_string()),
        (None, Err(_)) => {
            return Err(Error::Usage(format!(
                "unable to find user {u}: no matching entries in passwd file"
            )))
        }
    };
    let group = read_in_root(rootfs, "/etc/group")?;
    if let Some(g) = g {
        gid = match records(&group, 3).find(|f| f[0] == g) {
            Some(f) => f[2]
                .parse()
                .map_err(|_| Error::format("/etc/group", format!("bad gid for {g}")))?,
            None => g.parse().map_err(|_| {
                Error::Usage(format!(
                    "unable to find group {g}: no matching entries in group file"
                ))
            })?,
        };
    }
    let mut additional: Vec<u32> = match (&name, g) {
        (Some(n), None) => records(&group, 4)
            .filter(|f| f[3].split(',').any(|m| m.trim() == n))
            .filter_map(|f| f[2].parse().ok())
            .filter(|&x| x != gid)
            .collect(),
        _ => Vec::new(),
    };
    additional.sort_unstable();
    additional.dedup();
    let home = if home.is_empty() { "/".into() } else { home };
    Ok(User {
        uid,
        gid,
        additional_gids: additional,
        home,
    })
}

//! What an unprivileged user may map into a user namespace: their own ids,
//! the ranges delegated in `/etc/subuid` and `/etc/subgid`, and the setuid
//! helpers (`newuidmap`, `newgidmap`) that write such maps. Shared by the
//! runtime's plan (to refuse early with the fix) and by `nook doctor`.
//!
//! `NOOK_SUBUID_FILE` / `NOOK_SUBGID_FILE` replace the two paths: they change
//! only what nook *believes* (its checks and messages); the helpers read the
//! real files, so nothing is granted by them.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

/// One delegated range: host ids `start .. start + count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: u32,
    pub count: u32,
}

impl Range {
    /// Does the range hold `host .. host + size`?
    pub fn holds(&self, host: u32, size: u32) -> bool {
        host >= self.start && u64::from(host) + u64::from(size) <= self.end()
    }

    pub fn end(&self) -> u64 {
        u64::from(self.start) + u64::from(self.count)
    }
}

/// Which of the two files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Uid,
    Gid,
}

impl Kind {
    pub fn file(self) -> PathBuf {
        let (var, default) = match self {
            Kind::Uid => ("NOOK_SUBUID_FILE", "/etc/subuid"),
            Kind::Gid => ("NOOK_SUBGID_FILE", "/etc/subgid"),
        };
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(default))
    }

    /// The helper program that writes this kind of map.
    pub fn helper(self) -> &'static str {
        match self {
            Kind::Uid => "newuidmap",
            Kind::Gid => "newgidmap",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Kind::Uid => "uid",
            Kind::Gid => "gid",
        }
    }
}

/// What the invoking (unprivileged) user may map, gathered once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delegation {
    pub name: String,
    pub subuid: Vec<Range>,
    pub subgid: Vec<Range>,
    pub newuidmap: Option<PathBuf>,
    pub newgidmap: Option<PathBuf>,
}

impl Delegation {
    pub fn detect(uid: u32) -> Delegation {
        let name = user_name(uid);
        Delegation {
            subuid: ranges(Kind::Uid, &name, uid),
            subgid: ranges(Kind::Gid, &name, uid),
            newuidmap: which(Kind::Uid.helper()),
            newgidmap: which(Kind::Gid.helper()),
            name,
        }
    }

    pub fn ranges(&self, kind: Kind) -> &[Range] {
        match kind {
            Kind::Uid => &self.subuid,
            Kind::Gid => &self.subgid,
        }
    }

    pub fn helper(&self, kind: Kind) -> Option<&PathBuf> {
        match kind {
            Kind::Uid => self.newuidmap.as_ref(),
            Kind::Gid => self.newgidmap.as_ref(),
        }
    }
}

/// The ranges of `/etc/sub?id` text that belong to the user, named either by
/// login name or by numeric id (both forms are valid in those files).
pub fn parse(text: &str, name: &str, id: u32) -> Vec<Range> {
    let id = id.to_string();
    text.lines()
        .filter_map(|l| {
            let mut f = l.trim().split(':');
            let (who, start, count) = (f.next()?, f.next()?, f.next()?);
            if who.is_empty() || (who != name && who != id) {
                return None;
            }
            Some(Range {
                start: start.trim().parse().ok()?,
                count: count.trim().parse().ok()?,
            })
        })
        .filter(|r| r.count > 0)
        .collect()
}

/// The user's ranges of one kind, from the (possibly overridden) file.
pub fn ranges(kind: Kind, name: &str, id: u32) -> Vec<Range> {
    std::fs::read_to_string(kind.file())
        .map(|t| parse(&t, name, id))
        .unwrap_or_default()
}

/// The login name of `uid` from /etc/passwd (or the number itself).
pub fn user_name(uid: u32) -> String {
    let text = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    text.lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_string())
        })
        .unwrap_or_else(|| uid.to_string())
}

/// `prog` found in `$PATH` (an executable regular file), as execvp would.
pub fn which(prog: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(prog))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The fix for a missing or too small range, as `nook doctor` prints it.
pub fn range_fix(kind: Kind, name: &str) -> String {
    format!(
        "as root: usermod --add-sub{}s 100000-165535 {name} (or add `{name}:100000:65536` to {})",
        kind.word(),
        kind.file().display()
    )
}

/// The fix for a missing helper.
pub fn helper_fix(kind: Kind) -> String {
    format!(
        "as root: apt-get install uidmap (it provides {}, setuid root)",
        kind.helper()
    )
}

/// Is `path` setuid root, or does it carry file capabilities?
pub fn helper_is_privileged(path: &Path) -> bool {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let setuid_root =
        std::fs::metadata(path).is_ok_and(|m| m.uid() == 0 && m.permissions().mode() & 0o4000 != 0);
    setuid_root || xattr::get(path, "security.capability").is_ok_and(|v| v.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_by_name_or_number() {
        let text = "alice:100000:65536\n1001:200000:1000\nbob:300000:0\n#x\nalice:500000:10\n";
        assert_eq!(
            parse(text, "alice", 1000),
            vec![
                Range {
                    start: 100000,
                    count: 65536
                },
                Range {
                    start: 500000,
                    count: 10
                }
            ]
        );
        assert_eq!(parse(text, "carol", 1001).len(), 1);
        assert!(
            parse(text, "bob", 7).is_empty(),
            "an empty range counts for nothing"
        );
        let r = Range {
            start: 100000,
            count: 65536,
        };
        assert!(r.holds(100000, 65536));
        assert!(!r.holds(100000, 65537));
        assert!(!r.holds(99999, 1));
    }
}

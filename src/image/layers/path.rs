//! Entry names: cleaned to a relative path of plain components, or refused.
//! Whiteouts (`.wh.NAME`, `.wh..wh..opq`) are recognised here.
#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};

pub const WHITEOUT_PREFIX: &str = ".wh.";
pub const OPAQUE: &str = ".wh..wh..opq";

/// What an entry's name asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Name {
    /// An ordinary path (empty for the root directory itself).
    Plain(PathBuf),
    /// `.wh.NAME`: hide `dir/NAME` of lower layers.
    Whiteout { dir: PathBuf, name: OsString },
    /// `.wh..wh..opq`: hide everything lower layers have in `dir`.
    Opaque(PathBuf),
    /// Other aufs bookkeeping (`.wh..wh.plnk`, ...): ignored.
    Ignored,
}

/// Clean a path from the archive: `./a//b/` → `a/b`. `..` and absolute paths are
/// refused, never clamped, so a hostile name is reported rather than reinterpreted.
pub fn clean(raw: &[u8]) -> Result<PathBuf> {
    let shown = String::from_utf8_lossy(raw);
    if raw.contains(&0) {
        return Err(Error::layer(shown, "name contains a NUL byte"));
    }
    let path = Path::new(OsStr::from_bytes(raw));
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => {
                return Err(Error::layer(shown, "absolute path refused"))
            }
            Component::ParentDir => {
                return Err(Error::layer(
                    shown,
                    "'..' component refused (escapes the root)",
                ))
            }
        }
    }
    Ok(out)
}

/// Classify a cleaned path.
pub fn classify(path: PathBuf) -> Result<Name> {
    let Some(base) = path.file_name().map(|b| b.as_bytes().to_vec()) else {
        return Ok(Name::Plain(path));
    };
    if !base.starts_with(WHITEOUT_PREFIX.as_bytes()) {
        return Ok(Name::Plain(path));
    }
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    if base == OPAQUE.as_bytes() {
        return Ok(Name::Opaque(dir));
    }
    if base.starts_with(b".wh..wh.") {
        return Ok(Name::Ignored);
    }
    let name = base[WHITEOUT_PREFIX.len()..].to_vec();
    if name.is_empty() {
        return Err(Error::layer(path.display(), "whiteout names nothing"));
    }
    Ok(Name::Whiteout {
        dir,
        name: OsString::from_vec(name),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_dots_and_slashes() {
        assert_eq!(clean(b"./a//b/").unwrap(), PathBuf::from("a/b"));
        assert_eq!(clean(b"./").unwrap(), PathBuf::new());
        assert_eq!(clean(b"a/./b").unwrap(), PathBuf::from("a/b"));
    }

    #[test]
    fn refuses_parent_and_absolute() {
        let e = clean(b"a/../../etc/passwd").unwrap_err().to_string();
        assert_eq!(
            e,
            "layer entry a/../../etc/passwd: '..' component refused (escapes the root)"
        );
        let e = clean(b"/etc/passwd").unwrap_err().to_string();
        assert_eq!(e, "layer entry /etc/passwd: absolute path refused");
        assert!(clean(b"a/..").is_err());
    }

    #[test]
    fn classifies_whiteouts() {
        assert_eq!(
            classify(PathBuf::from("etc/.wh.motd")).unwrap(),
            Name::Whiteout {
                dir: PathBuf::from("etc"),
                name: "motd".into()
            }
        );
        assert_eq!(
            classify(PathBuf::from("var/.wh..wh..opq")).unwrap(),
            Name::Opaque(PathBuf::from("var"))
        );
        assert_eq!(
            classify(PathBuf::from(".wh..wh..opq")).unwrap(),
            Name::Opaque(PathBuf::new())
        );
        assert_eq!(
            classify(PathBuf::from(".wh..wh.plnk")).unwrap(),
            Name::Ignored
        );
        assert!(classify(PathBuf::from("x/.wh.")).is_err());
        assert_eq!(
            classify(PathBuf::from("a/b.wh.c")).unwrap(),
            Name::Plain(PathBuf::from("a/b.wh.c"))
        );
    }
}

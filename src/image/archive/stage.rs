//! The archive's files, staged once: a tar stream (file or stdin) is copied
//! entry by entry into the load's temporary directory while each file is
//! hashed, so every later digest check is against bytes already on disk and
//! nothing is held in memory. A directory (an OCI layout) is read in place.
#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use crate::image::digest::{Digest, HashReader};
use crate::image::layers::path::clean;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One file of the archive.
#[derive(Debug, Clone)]
pub struct Staged {
    pub path: PathBuf,
    pub digest: Digest,
    pub size: u64,
    /// True when the file is ours to rename into the store (staged from a tar).
    pub movable: bool,
}

pub enum Source {
    Tar {
        files: HashMap<PathBuf, Staged>,
        links: HashMap<PathBuf, PathBuf>,
    },
    Dir(PathBuf),
}

impl Source {
    /// Copy every regular file of the tar into `dir`, hashing as it goes.
    pub fn stage_tar<R: Read>(input: R, dir: &Path, what: &str) -> Result<Source> {
        let fmt = |e: std::io::Error| Error::format(what, format!("tar: {e}"));
        let mut ar = tar::Archive::new(input);
        let (mut files, mut links) = (HashMap::new(), HashMap::new());
        for (n, entry) in ar.entries().map_err(fmt)?.enumerate() {
            let mut entry = entry.map_err(fmt)?;
            let name = clean(&entry.path_bytes()).map_err(|e| Error::format(what, e))?;
            match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let path = dir.join(format!("f{n}"));
                    let mut out =
                        std::fs::File::create(&path).map_err(|e| Error::io("create", &path, e))?;
                    let mut h = HashReader::new(&mut entry);
                    std::io::copy(&mut h, &mut out)
                        .map_err(|e| Error::format(format!("{what}: {}", name.display()), e))?;
                    let (digest, size) = h.finish().map_err(fmt)?;
                    files.insert(
                        name,
                        Staged {
                            path,
                            digest,
                            size,
                            movable: true,
                        },
                    );
                }
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    let target = entry.link_name_bytes().unwrap_or_default().into_owned();
                    let target = link_target(
                        &name,
                        &target,
                        entry.header().entry_type() == tar::EntryType::Symlink,
                    );
                    links.insert(name, target.map_err(|e| Error::format(what, e))?);
                }
                _ => {}
            }
        }
        Ok(Source::Tar { files, links })
    }

    /// A file by its path in the archive (links followed, at most 8 deep).
    pub fn get(&self, name: &str) -> Result<Staged> {
        let missing = || Error::format(name, "not in the archive");
        let mut p = clean(name.as_bytes())?;
        match self {
            Source::Tar { files, links } => {
                for _ in 0..8 {
                    if let Some(f) = files.get(&p) {
                        return Ok(f.clone());
                    }
                    p = links.get(&p).ok_or_else(missing)?.clone();
                }
                Err(missing())
            }
            Source::Dir(dir) => {
                let path = dir.join(&p);
                let f = std::fs::File::open(&path).map_err(|_| missing())?;
                let (digest, size) = HashReader::new(f)
                    .finish()
                    .map_err(|e| Error::io("read", &path, e))?;
                Ok(Staged {
                    path,
                    digest,
                    size,
                    movable: false,
                })
            }
        }
    }

    pub fn has(&self, name: &str) -> bool {
        match self {
            Source::Tar { files, links } => clean(name.as_bytes())
                .is_ok_and(|p| files.contains_key(&p) || links.contains_key(&p)),
            Source::Dir(d) => clean(name.as_bytes()).is_ok_and(|p| d.join(p).is_file()),
        }
    }

    /// A small document (manifest, index, config), at most 16 MiB.
    pub fn read_small(&self, name: &str) -> Result<(Vec<u8>, Digest)> {
        let f = self.get(name)?;
        read_small(&f, name)
    }
}

pub fn read_small(f: &Staged, what: &str) -> Result<(Vec<u8>, Digest)> {
    if f.size > 16 << 20 {
        return Err(Error::format(
            what,
            format!("{} bytes is too large for a JSON document", f.size),
        ));
    }
    let data = std::fs::read(&f.path).map_err(|e| Error::io("read", &f.path, e))?;
    Ok((data, f.digest.clone()))
}

/// A link's target as a path in the archive: hardlink targets are archive
/// paths, symlink targets are relative to the link's directory. `..` beyond
/// the archive root is refused.
fn link_target(name: &Path, target: &[u8], symlink: bool) -> Result<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let t = Path::new(std::ffi::OsStr::from_bytes(target));
    let joined = if symlink && !t.is_absolute() {
        name.parent().unwrap_or(Path::new("")).join(t)
    } else {
        t.to_path_buf()
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            std::path::Component::Normal(n) => out.push(n),
            std::path::Component::ParentDir if out.pop() => {}
            std::path::Component::ParentDir => {
                return Err(Error::layer(name.display(), "link leaves the archive"))
            }
            _ => {}
        }
    }
    Ok(out)
}

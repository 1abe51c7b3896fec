//! Applying a layer tar to a directory, streamed entry by entry (never buffered
//! whole): regular files, directories, symlinks, hardlinks, device nodes and
//! fifos, with owners, modes (setuid/setgid/sticky), mtimes and xattrs, and the
//! OCI whiteouts either applied (a flattened rootfs) or converted to overlayfs
//! form (one directory per layer).
//!
//! Path safety: names with `..` or a leading `/` are refused; every parent is
//! resolved beneath the root (openat2 RESOLVE_IN_ROOT), so a symlink placed by
//! an earlier entry or layer is followed only inside the root; final names are
//! created with O_EXCL/NOFOLLOW after removing what was there; hardlink targets
//! are resolved beneath the root too. Symlink *targets* are stored as written:
//! they are only ever resolved beneath the root.
#![forbid(unsafe_code)]

mod fsops;
mod meta;
pub mod path;
mod write;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_hostile;
#[cfg(test)]
pub(crate) mod testutil;

use crate::error::{Error, Result};
use fsops::Root;
use meta::Meta;
use path::Name;
use std::collections::HashSet;
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// What to do with whiteout entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whiteouts {
    /// Delete what lower layers put there (the directory holds all layers so far).
    Apply,
    /// Record them as overlayfs does: a 0/0 character device for `.wh.NAME`, the
    /// `overlay.opaque` xattr (`trusted.` or, for `userxattr` mounts, `user.`).
    Overlay { user_xattr: bool },
}

/// Owner policy: rootless unpacking without a subuid mapping cannot chown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owners {
    /// chown to the archive's ids; failure is an error.
    Keep,
    /// Try; count the entries whose owner could not be kept.
    BestEffort,
    /// Leave everything owned by the unpacking user.
    Ignore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub whiteouts: Whiteouts,
    pub owners: Owners,
}

/// What happened while applying a layer.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub entries: u64,
    /// Bytes of regular-file content written.
    pub bytes: u64,
    pub owners_not_kept: u64,
    /// Device nodes skipped, xattrs refused (first 20, then a count).
    pub warnings: Vec<String>,
    pub more_warnings: u64,
}

impl Report {
    pub fn warn(&mut self, w: String) {
        if self.warnings.len() < 20 {
            self.warnings.push(w);
        } else {
            self.more_warnings += 1;
        }
    }
}

/// Apply the (uncompressed) layer tar read from `layer` to `dest`.
pub fn apply<R: Read>(layer: R, dest: &Path, opts: &Options) -> Result<Report> {
    let mut a = Applier {
        root: Root::open(dest)?,
        opts: *opts,
        written: HashSet::new(),
        dirs: Vec::new(),
        report: Report::default(),
    };
    let mut archive = tar::Archive::new(layer);
    let entries = archive
        .entries()
        .map_err(|e| Error::format("layer", format!("tar: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| Error::format("layer", format!("tar: {e}")))?;
        a.entry(&mut entry)?;
        a.report.entries += 1;
    }
    // The digest covers the end-of-archive blocks too: read to the end.
    std::io::copy(&mut archive.into_inner(), &mut std::io::sink())
        .map_err(|e| Error::format("layer", format!("read: {e}")))?;
    a.finish_dirs()?;
    Ok(a.report)
}

struct Applier {
    root: Root,
    opts: Options,
    /// Paths made by this layer, with all their ancestors: whiteouts in the same
    /// layer never hide them (image-spec: whiteouts apply to lower layers only).
    written: HashSet<PathBuf>,
    /// Directories whose mode and mtime are set last (children change mtime, and
    /// a read-only directory must stay writable while it is filled).
    dirs: Vec<(PathBuf, Meta)>,
    report: Report,
}

impl Applier {
    fn entry<R: Read>(&mut self, e: &mut tar::Entry<R>) -> Result<()> {
        let raw = e.path_bytes().into_owned();
        let rel = path::clean(&raw)?;
        let shown = self.root.shown(&rel);
        match path::classify(rel)? {
            Name::Ignored => Ok(()),
            Name::Whiteout { dir, name } => self.whiteout(&dir, &name),
            Name::Opaque(dir) => self.opaque(&dir),
            Name::Plain(rel) => {
                let meta = Meta::read(e, &shown)?;
                self.plain(e, &rel, meta, &shown)?;
                self.mark_written(rel);
                Ok(())
            }
        }
    }

    fn plain<R: Read>(
        &mut self,
        e: &mut tar::Entry<R>,
        rel: &Path,
        m: Meta,
        shown: &str,
    ) -> Result<()> {
        use tar::EntryType as T;
        match e.header().entry_type() {
            T::Regular | T::Continuous => self.file(e, rel, &m, shown),
            T::Directory => self.dir(rel, m, shown),
            T::Symlink => {
                let target = e
                    .link_name_bytes()
                    .ok_or_else(|| Error::layer(shown, "symlink without a target"))?;
                self.symlink(rel, OsStr::from_bytes(&target), &m, shown)
            }
            T::Link => {
                let target = e
                    .link_name_bytes()
                    .ok_or_else(|| Error::layer(shown, "hardlink without a target"))?;
                let target = path::clean(&target).map_err(|err| {
                    Error::layer(shown, format!("hardlink target refused: {err}"))
                })?;
                self.hardlink(rel, &target, shown)
            }
            T::Char | T::Block | T::Fifo => self.node(e.header(), rel, &m, shown),
            T::XGlobalHeader => Ok(()),
            other => Err(Error::layer(
                shown,
                format!("unsupported entry type '{}'", other.as_byte() as char),
            )),
        }
    }

    fn mark_written(&mut self, rel: PathBuf) {
        let mut p = rel;
        while !p.as_os_str().is_empty() && self.written.insert(p.clone()) {
            if !p.pop() {
                break;
            }
        }
    }

    fn whiteout(&mut self, dir: &Path, name: &OsStr) -> Result<()> {
        let target = dir.join(name);
        if self.written.contains(&target) {
            return Ok(());
        }
        let shown = self.root.shown(&target);
        let parent = self.root.dir(dir, true)?;
        match self.opts.whiteouts {
            Whiteouts::Apply => {
                fsops::remove_tree(&parent, name).map_err(|e| Error::sys("remove", &shown, e))
            }
            Whiteouts::Overlay { .. } => write::overlay_whiteout(&parent, name, &shown),
        }
    }

    fn opaque(&mut self, dir: &Path) -> Result<()> {
        let shown = self.root.shown(dir);
        let (parent, name) = self.root.parent(dir)?;
        if !dir.as_os_str().is_empty()
            && !fsops::clear(&parent, &name, true).map_err(|e| Error::sys("remove", &shown, e))?
        {
            nix::sys::stat::mkdirat(
                &parent,
                name.as_os_str(),
                nix::sys::stat::Mode::from_bits_truncate(0o755),
            )
            .map_err(|e| Error::sys("mkdir", &shown, e))?;
        }
        match self.opts.whiteouts {
            Whiteouts::Apply => self.empty_lower(dir, &parent, &name, &shown),
            Whiteouts::Overlay { user_xattr } => {
                write::overlay_opaque(&parent, &name, user_xattr, &shown)
            }
        }
    }

    /// Opaque directory, flattened: remove every child this layer did not make.
    fn empty_lower(
        &mut self,
        dir: &Path,
        parent: &impl std::os::fd::AsFd,
        name: &OsStr,
        shown: &str,
    ) -> Result<()> {
        let flags = nix::fcntl::OFlag::O_RDONLY
            | nix::fcntl::OFlag::O_DIRECTORY
            | nix::fcntl::OFlag::O_NOFOLLOW;
        let mut d = nix::dir::Dir::openat(parent, name, flags, nix::sys::stat::Mode::empty())
            .map_err(|e| Error::sys("open", shown, e))?;
        for child in fsops::children(&mut d).map_err(|e| Error::sys("readdir", shown, e))? {
            if !self.written.contains(&dir.join(&child)) {
                fsops::remove_tree(&d, &child).map_err(|e| Error::sys("remove", shown, e))?;
            }
        }
        Ok(())
    }
}

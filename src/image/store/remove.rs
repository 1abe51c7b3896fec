//! `rmi`, `image prune` and the garbage collection of blobs and layers that
//! no image references any more.
#![forbid(unsafe_code)]

use super::Store;
use crate::error::{Error, Result};
use crate::image::digest::Digest;
use crate::image::reference::Reference;
use std::collections::HashSet;

/// What one `rmi` argument did, in docker's words.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub untagged: Vec<String>,
    pub deleted: Vec<Digest>,
}

impl Store {
    /// Names of the containers holding a reference on the image (`refs/<id>/*`).
    pub fn users(&self, id: &Digest) -> Result<Vec<String>> {
        let dir = self.refs_dir(id);
        let Ok(rd) = std::fs::read_dir(&dir) else {
            return Ok(Vec::new());
        };
        let mut out: Vec<String> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        out.sort();
        Ok(out)
    }

    /// `nook rmi [-f] WHAT`: a tag is removed; the image goes with its last tag.
    /// An id with several tags, or an image in use, needs `force` (and an image
    /// in use is then only untagged: its files stay under the container).
    pub fn remove(&self, what: &str, force: bool) -> Result<Removed> {
        let _l = self.lock()?;
        let id = self.resolve(what)?;
        let mut tags = self.tags()?;
        let mine = self.tags_of(&tags, &id);
        let by_tag = Reference::parse(what)
            .ok()
            .map(|r| r.to_string())
            .filter(|t| mine.contains(t));
        let users = self.users(&id)?;
        let conflict = |why: String| {
            Error::State(format!(
                "conflict: unable to remove {what} (must be forced) - {why}"
            ))
        };
        if !users.is_empty() && !force {
            return Err(conflict(format!(
                "image {} is in use by container {}",
                id.short(),
                users.join(", ")
            )));
        }
        if by_tag.is_none() && mine.len() > 1 && !force {
            return Err(conflict(format!(
                "image {} is referenced in multiple repositories",
                id.short()
            )));
        }
        let mut out = Removed::default();
        let untag: Vec<String> = match by_tag {
            Some(t) => vec![t],
            None => mine.clone(),
        };
        for t in &untag {
            tags.remove(t);
            out.untagged.push(t.clone());
        }
        self.write_tags(&tags)?;
        if self.tags_of(&tags, &id).is_empty() && users.is_empty() {
            std::fs::remove_file(self.image_path(&id))
                .map_err(|e| Error::io("remove", self.image_path(&id), e))?;
            out.deleted.push(id);
            self.gc()?;
        }
        Ok(out)
    }

    /// `nook image prune`: untagged images no container uses.
    pub fn prune(&self) -> Result<Vec<Digest>> {
        let _l = self.lock()?;
        let tags = self.tags()?;
        let mut out = Vec::new();
        for img in self.images()? {
            if self.tags_of(&tags, &img.id).is_empty() && self.users(&img.id)?.is_empty() {
                let p = self.image_path(&img.id);
                std::fs::remove_file(&p).map_err(|e| Error::io("remove", p, e))?;
                out.push(img.id);
            }
        }
        self.gc()?;
        Ok(out)
    }

    /// Delete blobs and layers no image references. Caller holds the lock.
    pub(crate) fn gc(&self) -> Result<()> {
        let mut blobs = HashSet::new();
        let mut layers = HashSet::new();
        for img in self.images()? {
            blobs.insert(img.config.hex().to_string());
            if let Some(m) = &img.manifest {
                blobs.insert(m.hex().to_string());
            }
            for l in &img.layers {
                blobs.insert(l.blob.hex().to_string());
                layers.insert(l.diff_id.hex().to_string());
            }
        }
        sweep(&self.root.join("blobs/sha256"), &blobs)?;
        sweep(&self.root.join("layers"), &layers)
    }
}

fn sweep(dir: &std::path::Path, keep: &HashSet<String>) -> Result<()> {
    for e in std::fs::read_dir(dir).map_err(|e| Error::io("read", dir, e))? {
        let e = e.map_err(|e| Error::io("read", dir, e))?;
        if keep.contains(e.file_name().to_string_lossy().as_ref()) {
            continue;
        }
        let p = e.path();
        let r = if p.is_dir() {
            crate::image::remove_all(&p)
        } else {
            std::fs::remove_file(&p).map_err(|e| Error::io("remove", &p, e))
        };
        r?;
    }
    Ok(())
}

//! The content-addressed image store (layout in docs/images.md):
//!
//! ```text
//! <root>/blobs/sha256/<hex>        configs, manifests, layer blobs as they arrived
//! <root>/layers/<diff id hex>/     diff/ (unpacked, overlay form) + layer.json
//! <root>/images/<id hex>.json      ImageRecord (id = config digest)
//! <root>/repositories.json         name:tag → id
//! <root>/refs/<id hex>/<user>      containers using an image (rmi refuses)
//! <root>/tmp/                      work in progress; renamed into place when complete
//! <root>/images.lock               flock held by every writer
//! ```
#![forbid(unsafe_code)]

pub mod record;
mod remove;
#[cfg(test)]
mod tests;

use crate::error::{Error, Result};
use crate::image::digest::Digest;
use crate::image::layers::{Options, Owners, Whiteouts};
use crate::image::reference::Reference;
use nix::fcntl::{Flock, FlockArg};
use record::{read_json, write_json, ImageRecord, Tags};
use std::fs::File;
use std::path::{Path, PathBuf};

pub struct Store {
    root: PathBuf,
    pub layer_options: Options,
}

/// An exclusive hold on the store, released on drop.
pub struct Lock(#[allow(dead_code)] Flock<File>);

impl Store {
    /// `/var/lib/nook` for root, `$XDG_DATA_HOME/nook` (or `~/.local/share/nook`) otherwise.
    pub fn default_root() -> PathBuf {
        if nix::unistd::geteuid().is_root() {
            return PathBuf::from("/var/lib/nook");
        }
        match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            Some(d) => PathBuf::from(d).join("nook"),
            None => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/".into()))
                .join(".local/share/nook"),
        }
    }

    /// Open (creating the directories) the store at `root`. Root outside a
    /// user namespace keeps owners and uses `trusted.` overlay xattrs; anyone
    /// else keeps owners where the id map allows and uses `user.` xattrs.
    pub fn open(root: &Path) -> Result<Store> {
        for d in ["blobs/sha256", "layers", "images", "refs", "tmp"] {
            let p = root.join(d);
            std::fs::create_dir_all(&p).map_err(|e| Error::io("create", &p, e))?;
        }
        // Unpacked layers hold setuid files of other owners: only the store's
        // owner may walk into them (as docker's 0710 data root).
        for d in ["layers", "tmp"] {
            let p = root.join(d);
            std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o700))
                .map_err(|e| Error::io("chmod", &p, e))?;
        }
        let host = crate::host::Host::detect();
        let real_root = host.euid == 0 && !host.in_userns;
        let layer_options = Options {
            whiteouts: Whiteouts::Overlay {
                user_xattr: !real_root,
            },
            owners: if real_root {
                Owners::Keep
            } else {
                Owners::BestEffort
            },
        };
        Ok(Store {
            root: root.to_path_buf(),
            layer_options,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn lock(&self) -> Result<Lock> {
        let path = self.root.join("images.lock");
        let f = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        let l = Flock::lock(f, FlockArg::LockExclusive)
            .map_err(|(_, e)| Error::sys("flock", path.display(), e))?;
        Ok(Lock(l))
    }

    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(d.hex())
    }

    pub fn layer_dir(&self, diff_id: &Digest) -> PathBuf {
        self.root.join("layers").join(diff_id.hex())
    }

    /// The unpacked tree of a layer (an overlay lower directory).
    pub fn layer_diff(&self, diff_id: &Digest) -> PathBuf {
        self.layer_dir(diff_id).join("diff")
    }

    fn image_path(&self, id: &Digest) -> PathBuf {
        self.root.join("images").join(format!("{}.json", id.hex()))
    }

    pub fn refs_dir(&self, id: &Digest) -> PathBuf {
        self.root.join("refs").join(id.hex())
    }

    /// A fresh directory under `tmp/` for work in progress.
    pub fn temp_dir(&self, what: &str) -> Result<PathBuf> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let p = self
            .root
            .join("tmp")
            .join(format!("{what}-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&p).map_err(|e| Error::io("create", &p, e))?;
        Ok(p)
    }

    pub fn tags(&self) -> Result<Tags> {
        let p = self.root.join("repositories.json");
        if !p.exists() {
            return Ok(Tags::new());
        }
        read_json(&p)
    }

    pub fn write_tags(&self, tags: &Tags) -> Result<()> {
        write_json(&self.root.join("repositories.json"), tags)
    }

    pub fn image(&self, id: &Digest) -> Result<ImageRecord> {
        read_json(&self.image_path(id))
    }

    pub fn write_image(&self, rec: &ImageRecord) -> Result<()> {
        write_json(&self.image_path(&rec.id), rec)
    }

    /// Every image, newest first.
    pub fn images(&self) -> Result<Vec<ImageRecord>> {
        let dir = self.root.join("images");
        let mut out = Vec::new();
        for e in std::fs::read_dir(&dir).map_err(|e| Error::io("read", &dir, e))? {
            let e = e.map_err(|e| Error::io("read", &dir, e))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(hex) = name.strip_suffix(".json") {
                if Digest::parse(&format!("sha256:{hex}")).is_ok() {
                    out.push(read_json::<ImageRecord>(&e.path())?);
                }
            }
        }
        out.sort_by(|a, b| b.loaded.cmp(&a.loaded).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// `name[:tag]`, a full id (`sha256:…`), or a unique id prefix (≥ 1 hex digit).
    pub fn resolve(&self, what: &str) -> Result<Digest> {
        if let Ok(r) = Reference::parse(what) {
            if let Some(id) = self.tags()?.get(&r.to_string()) {
                return Ok(id.clone());
            }
        }
        let hex = what.strip_prefix("sha256:").unwrap_or(what);
        let is_hex =
            !hex.is_empty() && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
        if is_hex {
            let hex = hex.to_ascii_lowercase();
            let found: Vec<_> = self
                .images()?
                .into_iter()
                .filter(|i| i.id.hex().starts_with(&hex))
                .collect();
            match found.len() {
                1 => return Ok(found[0].id.clone()),
                0 => {}
                _ => return Err(Error::Usage(format!("ambiguous image id prefix {what:?}"))),
            }
        }
        Err(Error::NoImage(what.to_string()))
    }

    /// Tags pointing at `id`, sorted.
    pub fn tags_of(&self, tags: &Tags, id: &Digest) -> Vec<String> {
        tags.iter()
            .filter(|(_, v)| *v == id)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// `nook tag SRC DST`.
    pub fn tag(&self, src: &str, dst: &str) -> Result<()> {
        let dst = Reference::parse(dst)?;
        let _l = self.lock()?;
        let id = self.resolve(src)?;
        let mut tags = self.tags()?;
        tags.insert(dst.to_string(), id);
        self.write_tags(&tags)
    }
}

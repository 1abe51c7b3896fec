//! `nook load` and `nook import`: stage, verify, unpack into the store's
//! temporary area, then commit with renames under the store lock. A failure
//! before the commit leaves the store exactly as it was (the temporary
//! directory is removed); the commit writes blobs and layers first and the
//! image records and tags last, so no image ever refers to missing content.
#![forbid(unsafe_code)]

use super::archive::{find_images, Found, Source, Staged};
use super::digest::{Digest, HashReader};
use super::reference::Reference;
use super::store::record::{write_json, ImageRecord, LayerRecord, LayerRef};
use super::store::Store;
use super::{compress, layers};
use crate::error::{Context, Error, Result};
use serde::Deserialize;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One image the load brought in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub id: Digest,
    pub tags: Vec<Reference>,
}

/// Progress: per-layer bytes and lines (see `progress.rs`).
pub type Log<'a> = &'a mut dyn super::progress::Progress;

/// The load's temporary directory, removed however the load ends.
pub(crate) struct Temp(pub PathBuf);

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = super::remove_all(&self.0);
    }
}

#[derive(Deserialize)]
struct ConfigRootfs {
    #[serde(default)]
    created: Option<String>,
    rootfs: RootfsField,
}

#[derive(Deserialize)]
struct RootfsField {
    diff_ids: Vec<String>,
}

/// Everything one load will commit.
#[derive(Default)]
pub(crate) struct Pending {
    blobs: HashMap<Digest, Staged>,
    layers: HashMap<Digest, PathBuf>,
    images: Vec<(ImageRecord, Vec<Reference>)>,
}

/// Load a docker-archive or OCI-layout tar (a file or stdin).
pub fn load_tar<R: Read>(store: &Store, input: R, log: Log) -> Result<Vec<Loaded>> {
    let tmp = Temp(store.temp_dir("load")?);
    let staged = tmp.0.join("staged");
    std::fs::create_dir(&staged).map_err(|e| Error::io("create", &staged, e))?;
    let src = Source::stage_tar(input, &staged, "archive")?;
    load_source(store, &src, &tmp.0, log)
}

/// Load an OCI image layout directory.
pub fn load_dir(store: &Store, dir: &Path, log: Log) -> Result<Vec<Loaded>> {
    let tmp = Temp(store.temp_dir("load")?);
    load_source(store, &Source::Dir(dir.to_path_buf()), &tmp.0, log)
}

fn load_source(store: &Store, src: &Source, tmp: &Path, log: Log) -> Result<Vec<Loaded>> {
    let mut pending = Pending::default();
    for found in find_images(src)? {
        prepare(store, found, tmp, &mut pending, log)?;
    }
    commit(store, pending)
}

/// Verify one image's config and layers and unpack the layers the store lacks.
pub(crate) fn prepare(
    store: &Store,
    f: Found,
    tmp: &Path,
    p: &mut Pending,
    log: Log,
) -> Result<()> {
    let what = format!("config {}", f.config.digest);
    let (data, id) = super::archive::stage::read_small(&f.config, &what)?;
    let cfg: ConfigRootfs = serde_json::from_slice(&data).map_err(|e| Error::format(&what, e))?;
    if cfg.rootfs.diff_ids.len() != f.layers.len() {
        let msg = format!(
            "{} diff_ids for {} layers",
            cfg.rootfs.diff_ids.len(),
            f.layers.len()
        );
        return Err(Error::format(what, msg));
    }
    let mut refs = Vec::new();
    for (blob, diff) in f.layers.iter().zip(&cfg.rootfs.diff_ids) {
        let diff_id = Digest::parse(diff)?;
        let size = layer(store, blob, &diff_id, tmp, p, log)
            .context(|| format!("layer {}", blob.digest))?;
        refs.push(LayerRef {
            diff_id,
            blob: blob.digest.clone(),
            blob_size: blob.size,
            size,
        });
        p.blobs.insert(blob.digest.clone(), blob.clone());
    }
    p.blobs.insert(id.clone(), f.config.clone());
    let manifest = f.manifest.map(|m| {
        p.blobs.insert(m.digest.clone(), m.clone());
        m.digest
    });
    let rec = ImageRecord {
        id: id.clone(),
        config: id,
        manifest,
        layers: refs,
        created: cfg.created.unwrap_or_default(),
        loaded: super::time::now(),
    };
    p.images.push((rec, f.tags));
    Ok(())
}

/// Unpack one layer unless the store (or this load) has it; its size.
fn layer(
    store: &Store,
    blob: &Staged,
    diff_id: &Digest,
    tmp: &Path,
    p: &mut Pending,
    log: Log,
) -> Result<u64> {
    let known = store.layer_dir(diff_id).join("layer.json");
    if known.exists() {
        return Ok(super::store::record::read_json::<LayerRecord>(&known)?.size);
    }
    if let Some(dir) = p.layers.get(diff_id) {
        return Ok(super::store::record::read_json::<LayerRecord>(&dir.join("layer.json"))?.size);
    }
    log.start_layer(diff_id.short(), blob.size);
    let dir = tmp.join("layers").join(diff_id.hex());
    let diff = dir.join("diff");
    std::fs::create_dir_all(&diff).map_err(|e| Error::io("create", &diff, e))?;
    let file = std::fs::File::open(&blob.path).map_err(|e| Error::io("open", &blob.path, e))?;
    let mut plain = HashReader::new(compress::decompress(file, blob.digest.as_str())?);
    let report = layers::apply(&mut plain, &diff, &store.layer_options)?;
    let (got, _) = plain
        .finish()
        .map_err(|e| Error::io("read", &blob.path, e))?;
    if got != *diff_id {
        return Err(Error::Blob {
            blob: blob.digest.to_string(),
            msg: format!("diff id mismatch (config says {diff_id}, content is {got})"),
        });
    }
    for w in &report.warnings {
        log.line(format!("warning: layer {}: {w}", diff_id.short()));
    }
    let form = match store.layer_options.whiteouts {
        layers::Whiteouts::Overlay { user_xattr: true } => "overlay-user",
        _ => "overlay",
    };
    let rec = LayerRecord {
        diff_id: diff_id.clone(),
        size: report.bytes,
        entries: report.entries,
        form: form.into(),
        warnings: report.warnings,
    };
    write_json(&dir.join("layer.json"), &rec)?;
    p.layers.insert(diff_id.clone(), dir);
    Ok(report.bytes)
}

/// Move everything into place under the lock; records and tags last.
pub(crate) fn commit(store: &Store, p: Pending) -> Result<Vec<Loaded>> {
    let _l = store.lock()?;
    for (d, f) in &p.blobs {
        put_blob(store, d, f)?;
    }
    for (diff_id, dir) in &p.layers {
        let to = store.layer_dir(diff_id);
        if !to.join("layer.json").exists() {
            let _ = super::remove_all(&to);
            std::fs::rename(dir, &to).map_err(|e| Error::io("rename", &to, e))?;
        }
    }
    let mut tags = store.tags()?;
    let mut out = Vec::new();
    for (rec, names) in p.images {
        if let Some(l) = rec
            .layers
            .iter()
            .find(|l| !store.layer_dir(&l.diff_id).join("layer.json").exists())
        {
            return Err(Error::State(format!(
                "layer {} vanished from the store during the load; load again",
                l.diff_id
            )));
        }
        store.write_image(&rec)?;
        for n in &names {
            tags.insert(n.to_string(), rec.id.clone());
        }
        out.push(Loaded {
            id: rec.id,
            tags: names,
        });
    }
    store.write_tags(&tags)?;
    Ok(out)
}

fn put_blob(store: &Store, d: &Digest, f: &Staged) -> Result<()> {
    let to = store.blob_path(d);
    if to.exists() {
        return Ok(());
    }
    if f.movable {
        return std::fs::rename(&f.path, &to).map_err(|e| Error::io("rename", &to, e));
    }
    let tmp = to.with_extension("part");
    let src = std::fs::File::open(&f.path).map_err(|e| Error::io("open", &f.path, e))?;
    let mut h = HashReader::new(src);
    let mut out = std::fs::File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
    std::io::copy(&mut h, &mut out).map_err(|e| Error::io("copy", &tmp, e))?;
    if let Err(e) = h.verify(d, Some(f.size)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, &to).map_err(|e| Error::io("rename", &to, e))
}

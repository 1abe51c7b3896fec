//! `nook import ROOTFS.tar NAME[:TAG]`: a plain (optionally compressed) rootfs
//! tar becomes a one-layer image with a minimal config.
#![forbid(unsafe_code)]

use super::archive::{Found, Staged};
use super::digest::{Digest, HashReader};
use super::load::{commit, prepare, Loaded, Log, Pending, Temp};
use super::reference::Reference;
use super::store::Store;
use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;

pub fn import<R: Read>(
    store: &Store,
    input: R,
    name: Option<&Reference>,
    log: Log,
) -> Result<Loaded> {
    let tmp = Temp(store.temp_dir("import")?);
    let blob = stage(input, &tmp.0.join("layer"))?;
    let file = std::fs::File::open(&blob.path).map_err(|e| Error::io("open", &blob.path, e))?;
    let (diff_id, _) = HashReader::new(super::compress::decompress(file, "rootfs")?)
        .finish()
        .map_err(|e| Error::format("rootfs", e))?;
    let now = super::time::rfc3339(super::time::now());
    let cfg = format!(
        r#"{{"architecture":"{}","os":"linux","created":"{now}","config":{{}},"rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}},"history":[{{"created":"{now}","created_by":"nook import"}}]}}"#,
        super::archive::formats::host_arch()
    );
    let cfg_path = tmp.0.join("config");
    std::fs::write(&cfg_path, &cfg).map_err(|e| Error::io("write", &cfg_path, e))?;
    let config = Staged {
        path: cfg_path,
        digest: Digest::of_bytes(cfg.as_bytes()),
        size: cfg.len() as u64,
        movable: true,
    };
    let found = Found {
        config,
        manifest: None,
        layers: vec![blob],
        tags: name.cloned().into_iter().collect(),
    };
    let mut pending = Pending::default();
    prepare(store, found, &tmp.0, &mut pending, log)?;
    Ok(commit(store, pending)?.remove(0))
}

/// Copy the input to `path`, hashing it: the layer blob as given.
fn stage<R: Read>(input: R, path: &Path) -> Result<Staged> {
    let mut out = std::fs::File::create(path).map_err(|e| Error::io("create", path, e))?;
    let mut h = HashReader::new(input);
    std::io::copy(&mut h, &mut out).map_err(|e| Error::io("read", "rootfs", e))?;
    let (digest, size) = h.finish().map_err(|e| Error::io("read", "rootfs", e))?;
    Ok(Staged {
        path: path.to_path_buf(),
        digest,
        size,
        movable: true,
    })
}

//! What the store writes besides blobs: one record per image, the tag table,
//! and a record per unpacked layer. All replaced atomically (write + rename).
#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use crate::image::digest::Digest;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// `images/<id hex>.json`. The id is the digest of the config blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    pub id: Digest,
    pub config: Digest,
    /// The OCI manifest blob the image came with, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Digest>,
    pub layers: Vec<LayerRef>,
    /// From the config (RFC 3339), empty when absent.
    #[serde(default)]
    pub created: String,
    /// Unix time of the load or import.
    pub loaded: u64,
}

impl ImageRecord {
    /// Unpacked size (what `docker images` shows).
    pub fn size(&self) -> u64 {
        self.layers.iter().map(|l| l.size).sum()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRef {
    pub diff_id: Digest,
    /// The blob as it arrived (possibly compressed).
    pub blob: Digest,
    pub blob_size: u64,
    /// Bytes of file content once unpacked.
    pub size: u64,
}

/// `layers/<diff id hex>/layer.json`, next to `diff/` (the unpacked tree).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRecord {
    pub diff_id: Digest,
    pub size: u64,
    pub entries: u64,
    /// "overlay" (whiteouts as 0/0 devices, `trusted.overlay.opaque`) or
    /// "overlay-user" (`user.overlay.opaque`, for `userxattr` mounts).
    pub form: String,
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// `repositories.json`: `name:tag` → image id.
pub type Tags = BTreeMap<String, Digest>;

pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let data = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    serde_json::from_slice(&data).map_err(|e| Error::format(path.display().to_string(), e))
}

/// Write `value` to `path` atomically: a temporary file in the same directory,
/// fsync, rename over the old one.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let data = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::format(path.display().to_string(), e))?;
    let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
    f.write_all(&data)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io("write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io("rename", path, e))
}

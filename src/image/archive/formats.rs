//! Reading the two archive formats into the same shape: for each image, its
//! config, layer blobs and names, every blob checked against what refers to it.
//!
//! - docker-archive: `manifest.json` = `[{Config, RepoTags, Layers}]`; layers
//!   are checked later against the config's `rootfs.diff_ids`.
//! - OCI image layout: `oci-layout`, `index.json` → manifests (or nested
//!   indexes, of which the host's platform is taken) → `blobs/sha256/<hex>`,
//!   each checked against its descriptor's digest and size.
#![forbid(unsafe_code)]

use super::stage::{Source, Staged};
use crate::error::{Error, Result};
use crate::image::digest::Digest;
use crate::image::reference::Reference;
use serde::Deserialize;
use std::collections::HashMap;

/// One image found in an archive.
#[derive(Debug)]
pub struct Found {
    pub config: Staged,
    pub manifest: Option<Staged>,
    pub layers: Vec<Staged>,
    pub tags: Vec<Reference>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: String,
    digest: String,
    size: u64,
    #[serde(default)]
    annotations: HashMap<String, String>,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Deserialize, Clone)]
struct Platform {
    architecture: String,
    os: String,
}

#[derive(Deserialize)]
struct Index {
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct Manifest {
    config: Descriptor,
    layers: Vec<Descriptor>,
}

/// docker-archive if `manifest.json` is there, else an OCI layout.
pub fn find_images(src: &Source) -> Result<Vec<Found>> {
    if src.has("manifest.json") {
        docker(src)
    } else if src.has("index.json") {
        oci(src)
    } else {
        Err(Error::format(
            "archive",
            "neither manifest.json (docker-archive) nor index.json (OCI layout) found",
        ))
    }
}

fn parse<'a, T: Deserialize<'a>>(data: &'a [u8], what: &str) -> Result<T> {
    serde_json::from_slice(data).map_err(|e| Error::format(what, e))
}

fn docker(src: &Source) -> Result<Vec<Found>> {
    let (data, _) = src.read_small("manifest.json")?;
    let entries: Vec<DockerEntry> = parse(&data, "manifest.json")?;
    let mut out = Vec::new();
    for e in entries {
        let tags = e
            .repo_tags
            .unwrap_or_default()
            .iter()
            .map(|t| Reference::parse(t))
            .collect::<Result<_>>()?;
        let layers = e.layers.iter().map(|l| src.get(l)).collect::<Result<_>>()?;
        out.push(Found {
            config: src.get(&e.config)?,
            manifest: None,
            layers,
            tags,
        });
    }
    Ok(out)
}

/// The blob a descriptor names, checked against its digest and size.
fn blob(src: &Source, d: &Descriptor) -> Result<Staged> {
    let want = Digest::parse(&d.digest)?;
    let f = src
        .get(&format!("blobs/sha256/{}", want.hex()))
        .map_err(|_| Error::Blob {
            blob: want.to_string(),
            msg: "missing from the archive".into(),
        })?;
    if f.digest != want {
        return Err(Error::Blob {
            blob: want.to_string(),
            msg: format!("digest mismatch (got {})", f.digest),
        });
    }
    if f.size != d.size {
        return Err(Error::Blob {
            blob: want.to_string(),
            msg: format!("size mismatch (want {} bytes, got {})", d.size, f.size),
        });
    }
    Ok(f)
}

fn oci(src: &Source) -> Result<Vec<Found>> {
    let (data, _) = src.read_small("index.json")?;
    let index: Index = parse(&data, "index.json")?;
    let mut out = Vec::new();
    for d in &index.manifests {
        let tags = oci_tags(&d.annotations)?;
        let m = pick_manifest(src, d, 0)?;
        let (data, _) = super::stage::read_small(&m, &d.digest)?;
        let man: Manifest = parse(&data, &format!("manifest {}", d.digest))?;
        let layers = man
            .layers
            .iter()
            .map(|l| blob(src, l))
            .collect::<Result<_>>()?;
        out.push(Found {
            config: blob(src, &man.config)?,
            manifest: Some(m),
            layers,
            tags,
        });
    }
    Ok(out)
}

fn is_index(media_type: &str) -> bool {
    media_type.ends_with("image.index.v1+json") || media_type.ends_with("manifest.list.v2+json")
}

/// Follow nested indexes down to the manifest for this host's platform.
fn pick_manifest(src: &Source, d: &Descriptor, depth: u32) -> Result<Staged> {
    let f = blob(src, d)?;
    if !is_index(&d.media_type) {
        return Ok(f);
    }
    if depth > 4 {
        return Err(Error::format(&d.digest, "indexes nested too deep"));
    }
    let (data, _) = super::stage::read_small(&f, &d.digest)?;
    let idx: Index = parse(&data, &format!("index {}", d.digest))?;
    let arch = host_arch();
    let chosen = idx
        .manifests
        .iter()
        .find(|m| {
            m.platform
                .as_ref()
                .is_some_and(|p| p.os == "linux" && p.architecture == arch)
        })
        .or_else(|| (idx.manifests.len() == 1).then(|| &idx.manifests[0]))
        .ok_or_else(|| Error::format(&d.digest, format!("no manifest for linux/{arch}")))?;
    pick_manifest(src, chosen, depth + 1)
}

pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

/// `io.containerd.image.name` (a full name) or `org.opencontainers.image.ref.name`
/// (a full name, or a bare word taken as the name with tag `latest`).
fn oci_tags(ann: &HashMap<String, String>) -> Result<Vec<Reference>> {
    let name = ann
        .get("io.containerd.image.name")
        .or_else(|| ann.get("org.opencontainers.image.ref.name"));
    name.map(|n| Reference::parse(n))
        .transpose()
        .map(|r| r.into_iter().collect())
}

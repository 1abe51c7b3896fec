//! `nook save -o FILE IMAGE...`: a docker-archive (`manifest.json`,
//! `repositories`, `<config hex>.json`, `<diff id hex>/layer.tar`) that docker,
//! podman and skopeo load. Layers are written uncompressed (their digests are
//! then the diff ids); the config blob is written byte for byte, so loading
//! the archive again gives the same image id.
#![forbid(unsafe_code)]

use super::compress::decompress;
use super::digest::Digest;
use super::reference::Reference;
use super::store::Store;
use crate::error::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};

/// Write the images named by `what` as one docker-archive to `out`.
pub fn save<W: Write>(store: &Store, what: &[String], out: W) -> Result<W> {
    let tags = store.tags()?;
    let mut b = tar::Builder::new(out);
    let mut manifest = Vec::new();
    let mut repos: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut written = BTreeSet::new();
    for w in what {
        let id = store.resolve(w)?;
        let rec = store.image(&id)?;
        let named: Vec<String> = match Reference::parse(w) {
            Ok(r) if tags.get(&r.to_string()) == Some(&id) => vec![r.to_string()],
            _ => store.tags_of(&tags, &id),
        };
        for t in &named {
            let r = Reference::parse(t)?;
            repos
                .entry(r.name)
                .or_default()
                .insert(r.tag, id.hex().to_string());
        }
        let cfg_name = format!("{}.json", id.hex());
        if written.insert(cfg_name.clone()) {
            append_file(&mut b, &cfg_name, &store.blob_path(&rec.config), None)?;
        }
        let mut layers = Vec::new();
        for l in &rec.layers {
            let name = format!("{}/layer.tar", l.diff_id.hex());
            if written.insert(name.clone()) {
                append_file(&mut b, &name, &store.blob_path(&l.blob), Some(&l.diff_id))?;
            }
            layers.push(name);
        }
        manifest.push(serde_json::json!({"Config": cfg_name, "RepoTags": named, "Layers": layers}));
    }
    let docs = [
        ("manifest.json", serde_json::to_vec(&manifest)),
        ("repositories", serde_json::to_vec(&repos)),
    ];
    for (name, data) in docs {
        let data = data.map_err(|e| Error::format(name, e))?;
        append_bytes(&mut b, name, &data)?;
    }
    b.into_inner().map_err(|e| Error::io("write", "archive", e))
}

fn header(size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    h
}

fn append_bytes<W: Write>(b: &mut tar::Builder<W>, name: &str, data: &[u8]) -> Result<()> {
    b.append_data(&mut header(data.len() as u64), name, data)
        .map_err(|e| Error::io("write", name, e))
}

/// A blob, decompressed when `diff_id` is given (a layer). The uncompressed
/// size is found by a first pass, so nothing is held in memory.
fn append_file<W: Write>(
    b: &mut tar::Builder<W>,
    name: &str,
    blob: &std::path::Path,
    diff_id: Option<&Digest>,
) -> Result<()> {
    let open = || -> Result<Box<dyn Read>> {
        let f = std::fs::File::open(blob).map_err(|e| Error::io("open", blob, e))?;
        match diff_id {
            Some(_) => decompress(f, name),
            None => Ok(Box::new(f)),
        }
    };
    let size = std::io::copy(&mut open()?, &mut std::io::sink())
        .map_err(|e| Error::io("read", blob, e))?;
    let mut r = super::digest::HashReader::new(open()?);
    b.append_data(&mut header(size), name, &mut r)
        .map_err(|e| Error::io("write", name, e))?;
    if let Some(d) = diff_id {
        r.verify(d, Some(size))?;
    }
    Ok(())
}

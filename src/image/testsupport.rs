//! Archives built in tests: docker-archive and OCI layout tars around layers
//! made with `layers::testutil::Layer`, and a store snapshot to prove that a
//! failed load changed nothing.
use super::digest::Digest;
use std::path::Path;

pub fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

pub fn config(diff_ids: &[Digest]) -> Vec<u8> {
    let ids: Vec<String> = diff_ids.iter().map(|d| format!("\"{d}\"")).collect();
    format!(
        r#"{{"architecture":"amd64","os":"linux","created":"2020-09-13T12:26:40Z","config":{{"Cmd":["/bin/sh"]}},"rootfs":{{"type":"layers","diff_ids":[{}]}}}}"#,
        ids.join(",")
    )
    .into_bytes()
}

/// docker-archive of one image per entry of `images`: (tags, layer tars).
pub fn docker_archive(images: &[(&[&str], Vec<Vec<u8>>)]) -> Vec<u8> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut manifest = Vec::new();
    for (tags, layers) in images {
        let diffs: Vec<Digest> = layers.iter().map(|l| Digest::of_bytes(l)).collect();
        let cfg = config(&diffs);
        let cfg_name = format!("{}.json", Digest::of_bytes(&cfg).hex());
        let mut names = Vec::new();
        for (l, d) in layers.iter().zip(&diffs) {
            let name = format!("{}/layer.tar", d.hex());
            names.push(format!("\"{name}\""));
            files.push((name, l.clone()));
        }
        files.push((cfg_name.clone(), cfg));
        let tags: Vec<String> = tags.iter().map(|t| format!("\"{t}\"")).collect();
        manifest.push(format!(
            r#"{{"Config":"{cfg_name}","RepoTags":[{}],"Layers":[{}]}}"#,
            tags.join(","),
            names.join(",")
        ));
    }
    files.push((
        "manifest.json".into(),
        format!("[{}]", manifest.join(",")).into_bytes(),
    ));
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    tar_of(&refs)
}

/// OCI layout tar of one image: `layers` are (blob as stored, uncompressed tar).
pub fn oci_archive(ref_name: &str, layers: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut blobs: Vec<Vec<u8>> = Vec::new();
    let diffs: Vec<Digest> = layers.iter().map(|(_, t)| Digest::of_bytes(t)).collect();
    let cfg = config(&diffs);
    let desc = |mt: &str, b: &[u8]| {
        format!(
            r#"{{"mediaType":"{mt}","digest":"{}","size":{}}}"#,
            Digest::of_bytes(b),
            b.len()
        )
    };
    let ls: Vec<String> = layers
        .iter()
        .map(|(b, _)| desc("application/vnd.oci.image.layer.v1.tar+gzip", b))
        .collect();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[{}]}}"#,
        desc("application/vnd.oci.image.config.v1+json", &cfg),
        ls.join(",")
    );
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{},"annotations":{{"org.opencontainers.image.ref.name":"{ref_name}"}}}}]}}"#,
        Digest::of_bytes(manifest.as_bytes()),
        manifest.len()
    );
    blobs.push(cfg);
    blobs.push(manifest.into_bytes());
    blobs.extend(layers.iter().map(|(b, _)| b.clone()));
    let mut files: Vec<(String, Vec<u8>)> = blobs
        .into_iter()
        .map(|b| (format!("blobs/sha256/{}", Digest::of_bytes(&b).hex()), b))
        .collect();
    files.push((
        "oci-layout".into(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    ));
    files.push(("index.json".into(), index.into_bytes()));
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    tar_of(&refs)
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// Every path in the store (but the lock) with its size, sorted.
pub fn snapshot(root: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, u64)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let md = std::fs::symlink_metadata(&p).unwrap();
        let rel = p.strip_prefix(root).unwrap().display().to_string();
        if rel == "images.lock" {
            continue;
        }
        out.push((rel, if md.is_dir() { 0 } else { md.len() }));
        if md.is_dir() {
            walk(root, &p, out);
        }
    }
}

/// Each path under `root` → "kind mode uid:gid sha256-or-target" (no mtimes).
pub fn tree(root: &Path) -> std::collections::BTreeMap<String, String> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            let md = std::fs::symlink_metadata(&p).unwrap();
            let ft = md.file_type();
            let what = if ft.is_symlink() {
                format!("link {}", std::fs::read_link(&p).unwrap().display())
            } else if ft.is_dir() {
                stack.push(p.clone());
                "dir".to_string()
            } else if ft.is_file() {
                format!("file {}", Digest::of_bytes(&std::fs::read(&p).unwrap()))
            } else if ft.is_char_device() || ft.is_block_device() {
                format!("dev {}", md.rdev())
            } else {
                "other".to_string()
            };
            let mode = if ft.is_symlink() {
                0
            } else {
                md.mode() & 0o7777
            };
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            out.insert(rel, format!("{what} {mode:o} {}:{}", md.uid(), md.gid()));
        }
    }
    out
}

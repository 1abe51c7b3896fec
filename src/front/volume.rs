//! Named volumes: `<store>/volumes/<name>/_data`, made on first use by `-v
//! NAME:/path` or `--mount type=volume`, and `nook volume create|ls|rm|inspect|prune`.
//! `meta.json` beside `_data` records the creation time and whether the volume
//! is anonymous (made for `-v /path`; those are what `prune` removes by default).

use crate::error::{Error, Result};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The volume directory of a store.
pub fn root(store: &crate::image::store::Store) -> PathBuf {
    store.root().join("volumes")
}

fn check_name(name: &str) -> Result<()> {
    if super::bundle::mounts::valid_volume_name(name) {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "volume name {name:?}: only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" characters are allowed"
        )))
    }
}

/// The data directory of volume `name` (a new anonymous one for `None`), made if missing.
pub fn ensure(root: &Path, name: Option<&str>) -> Result<PathBuf> {
    ensure_new(root, name).map(|(p, _)| p)
}

/// As [`ensure`], also saying whether the volume was made now.
pub fn ensure_new(root: &Path, name: Option<&str>) -> Result<(PathBuf, bool)> {
    let (name, anonymous) = match name {
        Some(n) => (n.to_string(), false),
        None => (super::containers::new_id()?, true),
    };
    check_name(&name)?;
    let dir = root.join(&name);
    let data = dir.join("_data");
    if data.is_dir() {
        return Ok((data, false));
    }
    std::fs::create_dir_all(&data).map_err(|e| Error::io("create", &data, e))?;
    let meta = json!({"CreatedAt": crate::log::rfc3339_now(), "Anonymous": anonymous});
    std::fs::write(dir.join("meta.json"), meta.to_string())
        .map_err(|e| Error::io("write", dir.join("meta.json"), e))?;
    Ok((data, true))
}

/// docker's copy-up: a new volume gets what the image has at the target. The
/// target is resolved beneath the rootfs (symlinks in the image cannot point
/// the copy at the host), and the tree is walked without following symlinks.
pub fn copy_up(rootfs: &Path, target: &str, data: &Path) -> Result<()> {
    use crate::kernel::resolve;
    let root = resolve::open_root(rootfs)?;
    let Ok(fd) = resolve::resolve(&root, rootfs, Path::new(target), None) else {
        return Ok(()); // nothing there in the image
    };
    let src = resolve::fd_path(&fd);
    match std::fs::metadata(&src) {
        Ok(m) if m.is_dir() => {
            copy_tree(&src, data)?;
            same_owner_and_mode(&m, data)
        }
        _ => Ok(()),
    }
}

fn same_owner_and_mode(m: &std::fs::Metadata, to: &Path) -> Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    std::os::unix::fs::lchown(to, Some(m.uid()), Some(m.gid()))
        .map_err(|e| Error::io("chown", to, e))?;
    if !m.file_type().is_symlink() {
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(m.mode() & 0o7777))
            .map_err(|e| Error::io("chmod", to, e))?;
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let entries = std::fs::read_dir(from).map_err(|e| Error::io("read", from, e))?;
    for e in entries {
        let e = e.map_err(|e| Error::io("read", from, e))?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let m = std::fs::symlink_metadata(&src).map_err(|e| Error::io("stat", &src, e))?;
        let ft = m.file_type();
        if ft.is_dir() {
            std::fs::create_dir(&dst).map_err(|e| Error::io("create", &dst, e))?;
            copy_tree(&src, &dst)?;
        } else if ft.is_symlink() {
            let t = std::fs::read_link(&src).map_err(|e| Error::io("readlink", &src, e))?;
            std::os::unix::fs::symlink(&t, &dst).map_err(|e| Error::io("symlink", &dst, e))?;
        } else if ft.is_file() {
            std::fs::copy(&src, &dst).map_err(|e| Error::io("copy", &src, e))?;
        } else {
            continue; // devices, fifos, sockets: not copied
        }
        same_owner_and_mode(&m, &dst)?;
    }
    Ok(())
}

fn meta(root: &Path, name: &str) -> Value {
    std::fs::read(root.join(name).join("meta.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| json!({}))
}

/// Volume names, sorted.
pub fn list(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().join("_data").is_dir())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// docker's `volume inspect` object.
pub fn inspect_one(root: &Path, name: &str) -> Result<Value> {
    check_name(name)?;
    if !root.join(name).join("_data").is_dir() {
        return Err(Error::Usage(format!("no such volume: {name}")));
    }
    let m = meta(root, name);
    Ok(
        json!({"CreatedAt": m["CreatedAt"], "Driver": "local", "Labels": null,
        "Mountpoint": root.join(name).join("_data"), "Name": name, "Options": null, "Scope": "local"}),
    )
}

/// Volumes named in the mounts of any container of the store (`<store>/containers/*/config.json`).
fn in_use(store_root: &Path, root: &Path) -> Vec<String> {
    let mut used = Vec::new();
    for e in std::fs::read_dir(store_root.join("containers"))
        .into_iter()
        .flatten()
        .flatten()
    {
        used.extend(mounted(&e.path().join("config.json"), root));
    }
    used
}

/// The volumes (under `root`) that the OCI config at `cfg` mounts.
fn mounted(cfg: &Path, root: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let Ok(text) = std::fs::read(cfg) else {
        return names;
    };
    let Ok(cfg) = serde_json::from_slice::<Value>(&text) else {
        return names;
    };
    for m in cfg["mounts"].as_array().into_iter().flatten() {
        let src = Path::new(m["source"].as_str().unwrap_or(""));
        if let Ok(rest) = src.strip_prefix(root) {
            names.extend(rest.iter().next().map(|n| n.to_string_lossy().into_owned()));
        }
    }
    names
}

/// The volumes a container's config mounts.
pub fn mounted_by(store: &crate::image::store::Store, id: &str) -> Vec<String> {
    let cfg = crate::front::containers::dir(store, id).join("config.json");
    mounted(&cfg, &root(store))
}

/// The anonymous volumes a container's config mounts.
pub fn anonymous_of(store: &crate::image::store::Store, id: &str) -> Vec<String> {
    let root = root(store);
    mounted_by(store, id)
        .into_iter()
        .filter(|n| meta(&root, n)["Anonymous"] == true)
        .collect()
}

/// Remove these volumes, except those a container still mounts.
pub fn remove_unused(store: &crate::image::store::Store, names: &[String]) -> Result<()> {
    let root = root(store);
    let used = in_use(store.root(), &root);
    for n in names.iter().filter(|n| !used.contains(n)) {
        let dir = root.join(n);
        std::fs::remove_dir_all(&dir).map_err(|e| Error::io("remove", dir, e))?;
    }
    Ok(())
}

fn remove(root: &Path, store_root: &Path, name: &str, force: bool) -> Result<()> {
    inspect_one(root, name)?;
    if !force && in_use(store_root, root).iter().any(|n| n == name) {
        return Err(Error::State(format!(
            "volume {name} is in use by a container"
        )));
    }
    std::fs::remove_dir_all(root.join(name)).map_err(|e| Error::io("remove", root.join(name), e))
}

/// What the `nook volume` subcommands do; `out` gets what docker prints.
pub enum Action<'a> {
    Create(Option<&'a str>),
    Ls { quiet: bool, json: bool },
    Inspect(&'a [String]),
    Rm { names: &'a [String], force: bool },
    Prune { all: bool },
}

pub fn command(
    store: &crate::image::store::Store,
    action: Action,
    out: &mut dyn Write,
) -> Result<()> {
    let root = root(store);
    let io = |e| Error::io("write", "stdout", e);
    match action {
        Action::Create(name) => {
            let data = ensure(&root, name)?;
            let name = data
                .parent()
                .and_then(|p| p.file_name())
                .unwrap_or_default();
            writeln!(out, "{}", name.to_string_lossy()).map_err(io)
        }
        Action::Ls { quiet, json } => {
            if !quiet && !json {
                writeln!(out, "{:<16}VOLUME NAME", "DRIVER").map_err(io)?;
            }
            for n in list(&root) {
                let line = match (quiet, json) {
                    (true, _) => n,
                    (_, true) => json!({"Driver": "local", "Name": n, "Mountpoint": root.join(&n).join("_data")}).to_string(),
                    _ => format!("{:<16}{n}", "local"),
                };
                writeln!(out, "{line}").map_err(io)?;
            }
            Ok(())
        }
        Action::Inspect(names) => {
            let all: Vec<Value> = names
                .iter()
                .map(|n| inspect_one(&root, n))
                .collect::<Result<_>>()?;
            let text = serde_json::to_string_pretty(&all).expect("json");
            writeln!(out, "{text}").map_err(io)
        }
        Action::Rm { names, force } => {
            for n in names {
                remove(&root, store.root(), n, force)?;
                writeln!(out, "{n}").map_err(io)?;
            }
            Ok(())
        }
        Action::Prune { all } => {
            let used = in_use(store.root(), &root);
            writeln!(out, "Deleted Volumes:").map_err(io)?;
            for n in list(&root) {
                if used.contains(&n) || (!all && meta(&root, &n)["Anonymous"] != true) {
                    continue;
                }
                std::fs::remove_dir_all(root.join(&n))
                    .map_err(|e| Error::io("remove", root.join(&n), e))?;
                writeln!(out, "{n}").map_err(io)?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ensure_list_inspect() {
        let d = std::env::temp_dir().join(format!("nook-vol-test-{}", std::process::id()));
        let data = ensure(&d, Some("data")).unwrap();
        assert!(data.ends_with("data/_data") && data.is_dir());
        let anon = ensure(&d, None).unwrap();
        assert_eq!(list(&d).len(), 2);
        let name = anon
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(meta(&d, &name)["Anonymous"], true);
        assert_eq!(inspect_one(&d, "data").unwrap()["Driver"], "local");
        assert!(inspect_one(&d, "nope").is_err());
        assert!(ensure(&d, Some("../x")).is_err());
        // Copy-up: files, a subdirectory, a symlink kept as a link (not followed).
        let rootfs = d.join("rootfs");
        std::fs::create_dir_all(rootfs.join("etc/app/sub")).unwrap();
        std::fs::write(rootfs.join("etc/app/conf"), "x").unwrap();
        std::os::unix::fs::symlink("/etc/shadow", rootfs.join("etc/app/link")).unwrap();
        let (vol, new) = ensure_new(&d, Some("copied")).unwrap();
        assert!(new);
        copy_up(&rootfs, "/etc/app", &vol).unwrap();
        assert_eq!(std::fs::read_to_string(vol.join("conf")).unwrap(), "x");
        assert!(vol.join("sub").is_dir());
        assert_eq!(
            std::fs::read_link(vol.join("link")).unwrap(),
            Path::new("/etc/shadow")
        );
        copy_up(&rootfs, "/nonexistent", &vol).unwrap();
        assert!(!ensure_new(&d, Some("copied")).unwrap().1);
        std::fs::remove_dir_all(&d).unwrap();
    }
}

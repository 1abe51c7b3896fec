//! The front end's containers on disk: `<store>/containers/<id>/` with the
//! record (`container.json`), ids and their prefixes, unique names
//! (`<store>/names/<name>`, created with O_EXCL so one of two racing `run
//! --name` wins), and the per-container lock.

use crate::container::store::Store as RuntimeStore;
use crate::error::{Error, Result};
use crate::image::store::Store;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

/// container.json: what the command line and the image asked for.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub id: String,
    pub name: String,
    /// The image as the user named it, and its id (config digest).
    pub image: String,
    pub image_id: String,
    pub created: String,
    /// The process: args[0] and the rest (docker's Path and Args).
    pub args: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: String,
    pub user: String,
    pub hostname: String,
    pub tty: bool,
    pub open_stdin: bool,
    pub auto_remove: bool,
    pub stop_signal: String,
    pub stop_timeout: Option<u32>,
    /// The snapshot: the directory used as root, and overlay's mount data
    /// when it is an overlay (mounted by each monitor in a private namespace).
    pub rootfs: PathBuf,
    pub overlay: Option<String>,
    /// What else the configuration flags asked for (docker's HostConfig).
    #[serde(default)]
    pub host_config: serde_json::Value,
    /// `--strict-limits`: a limit that cannot be applied fails the start.
    #[serde(default)]
    pub strict_limits: bool,
    /// `--restart` as given (docker's policy grammar; empty is "no").
    #[serde(default)]
    pub restart_policy: String,
    /// `--log-driver` / `--log-opt` (a record from before them: the defaults).
    #[serde(default)]
    pub log: super::logfile::LogConfig,
    /// The image's labels, then `--label`/`--label-file` over them.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
}

pub fn containers_root(store: &Store) -> PathBuf {
    store.root().join("containers")
}

pub fn dir(store: &Store, id: &str) -> PathBuf {
    containers_root(store).join(id)
}

fn names_root(store: &Store) -> PathBuf {
    store.root().join("names")
}

/// The runtime's state for the front end's containers.
pub fn runtime(store: &Store) -> RuntimeStore {
    RuntimeStore::new(&store.root().join("runtime"))
}

/// 64 random hex digits (two kernel-made random UUIDs).
pub fn new_id() -> Result<String> {
    let mut id = String::new();
    while id.len() < 64 {
        let uuid = fs::read_to_string("/proc/sys/kernel/random/uuid")
            .map_err(|e| Error::io("read", "/proc/sys/kernel/random/uuid", e))?;
        id.extend(uuid.chars().filter(char::is_ascii_hexdigit));
    }
    id.truncate(64);
    Ok(id)
}

pub fn read_record(store: &Store, id: &str) -> Result<Record> {
    let path = dir(store, id).join("container.json");
    let bytes = fs::read(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::Usage(format!("No such container: {id}")),
        _ => Error::io("read", &path, e),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| Error::format(path.display().to_string(), e))
}

/// Write a JSON file atomically (temporary name + rename).
pub fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec(value).expect("serialises");
    fs::write(&tmp, bytes).map_err(|e| Error::io("write", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::io("rename", path, e))
}

pub fn write_record(store: &Store, rec: &Record) -> Result<()> {
    write_json(&dir(store, &rec.id).join("container.json"), rec)
}

/// Ids of every container (those with a record), oldest first.
pub fn ids(store: &Store) -> Vec<String> {
    let mut recs: Vec<Record> = fs::read_dir(containers_root(store))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|id| read_record(store, &id).ok())
        .collect();
    recs.sort_by(|a, b| a.created.cmp(&b.created));
    recs.into_iter().map(|r| r.id).collect()
}

/// docker's lookup order: full id, exact name, then a unique id prefix.
pub fn lookup(store: &Store, what: &str) -> Result<String> {
    let name = what.trim_start_matches('/');
    if what.len() == 64 && dir(store, what).join("container.json").is_file() {
        return Ok(what.to_string());
    }
    if let Some(id) = name_owner(store, name) {
        if dir(store, &id).is_dir() {
            return Ok(id);
        }
    }
    let hex = !what.is_empty() && what.chars().all(|c| c.is_ascii_hexdigit());
    let found: Vec<String> = if hex {
        ids(store)
            .into_iter()
            .filter(|id| id.starts_with(what))
            .collect()
    } else {
        Vec::new()
    };
    match found.len() {
        1 => Ok(found[0].clone()),
        0 => Err(Error::Usage(format!("No such container: {what}"))),
        _ => Err(Error::Usage(format!(
            "Multiple IDs found with provided prefix: {what}"
        ))),
    }
}

fn name_owner(store: &Store, name: &str) -> Option<String> {
    if check_name(name).is_err() {
        return None;
    }
    fs::read_to_string(names_root(store).join(name))
        .ok()
        .map(|s| s.trim().to_string())
}

/// docker's rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let first = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest = name.len() >= 2 && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if first && rest {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )))
    }
}

/// Take `name` for `id`: exactly one of several racing claims succeeds.
pub fn claim_name(store: &Store, name: &str, id: &str) -> Result<()> {
    check_name(name)?;
    let root = names_root(store);
    fs::create_dir_all(&root).map_err(|e| Error::io("create", &root, e))?;
    let path = root.join(name);
    for attempt in 0..2 {
        match File::options().write(true).create_new(true).open(&path) {
            Ok(f) => {
                drop(f);
                return fs::write(&path, id).map_err(|e| Error::io("write", &path, e));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let owner = fs::read_to_string(&path).unwrap_or_default();
                let owner = owner.trim();
                // A name left by a container that no longer exists is free again.
                if attempt == 0 && !owner.is_empty() && !dir(store, owner).is_dir() {
                    let _ = fs::remove_file(&path);
                    continue;
                }
                return Err(Error::Usage(format!(
                    "Conflict. The container name \"/{name}\" is already in use by container \"{owner}\". You have to remove (or rename) that container to be able to reuse that name."
                )));
            }
            Err(e) => return Err(Error::io("create", &path, e)),
        }
    }
    Err(Error::Usage(format!("name {name} could not be claimed")))
}

/// Give `name` up, if `id` holds it.
pub fn release_name(store: &Store, name: &str, id: &str) {
    if name_owner(store, name).as_deref() == Some(id) {
        let _ = fs::remove_file(names_root(store).join(name));
    }
}

/// A docker-style default name (`adjective_surname`), free at the time.
pub fn default_name(store: &Store, id: &str) -> String {
    const ADJ: [&str; 16] = [
        "brave", "calm", "eager", "fervent", "gentle", "happy", "keen", "lucid", "modest",
        "nimble", "quiet", "sharp", "stoic", "tender", "vivid", "witty",
    ];
    const NAMES: [&str; 16] = [
        "babbage", "curie", "dijkstra", "euler", "fermi", "gauss", "hopper", "kepler", "lamarr",
        "lovelace", "noether", "pascal", "ritchie", "shannon", "turing", "wozniak",
    ];
    let n = u64::from_str_radix(&id[..12], 16).unwrap_or(0);
    for i in 0..256u64 {
        let k = n.wrapping_add(i * 17);
        let mut name = format!(
            "{}_{}",
            ADJ[(k % 16) as usize],
            NAMES[(k / 16 % 16) as usize]
        );
        if i >= 128 {
            name.push_str(&format!("{}", i % 10));
        }
        if name_owner(store, &name).is_none() {
            return name;
        }
    }
    format!("nook_{}", &id[..12])
}

/// An exclusive hold on one container, released on drop.
pub struct Lock(#[allow(dead_code)] Flock<File>);

/// Lock the container `id`; fails with "No such container" if it is gone
/// (also when it was removed while we waited).
pub fn lock(store: &Store, id: &str) -> Result<Lock> {
    let path = dir(store, id).join("lock");
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|_| Error::Usage(format!("No such container: {id}")))?;
    let l = Flock::lock(f, FlockArg::LockExclusive)
        .map_err(|(_, e)| Error::sys("flock", path.display(), e))?;
    if !dir(store, id).join("container.json").is_file() {
        return Err(Error::Usage(format!("No such container: {id}")));
    }
    Ok(Lock(l))
}

/// The same without waiting: None if someone else holds it.
pub fn try_lock(store: &Store, id: &str) -> Option<Lock> {
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir(store, id).join("lock"))
        .ok()?;
    Flock::lock(f, FlockArg::LockExclusiveNonblock)
        .ok()
        .map(Lock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_docker_rules() {
        for ok in ["web", "a1", "my-ctr_1.2"] {
            check_name(ok).unwrap();
        }
        for bad in ["", "a", "-x", "a b", "a/b", "ü1"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}

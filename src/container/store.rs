//! The state directory: `<root>/<id>/{state.json, exec.fifo}`.
//! state.json is replaced atomically (write + rename); a flock on the
//! directory keeps two commands from acting on one container at once.
//! A removed container's directory is kept, emptied, as `<root>/.~spare`
//! for the next `claim` (see `SPARE`).

use super::state::Saved;
use crate::error::{Error, Result};
use nix::fcntl::{Flock, FlockArg};
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

pub struct Store {
    pub root: PathBuf,
}

/// An emptied container directory kept for the next `claim`, under a name
/// no container id can have. Making a directory and removing it again costs
/// a block allocated and freed, and on ext4 with `discard` and no journal
/// (these hosts' root filesystem) a freed block is a synchronous discard:
/// 0.15-0.5 ms of every `run` spent waiting for the disk at `delete`
/// (docs/benchmarks.md). Renamed to and from its id instead, the directory
/// keeps its block.
const SPARE: &str = ".~spare";

/// A locked container directory.
pub struct Entry {
    pub dir: PathBuf,
    _lock: Flock<File>,
}

/// runc's id rule: letters, digits, `_ + - .`, not `.` or `..`.
pub fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id != "."
        && id != ".."
        && id.len() <= 1024
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+-.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::Usage(format!("invalid container id format: {id:?}")))
    }
}

/// Root in a user namespace made for an unprivileged user (rootless podman
/// runs its runtime so, passing no --root): that user's XDG_RUNTIME_DIR, not
/// /run, as runc decides it (XDG_RUNTIME_DIR set, and USER unset or not root).
fn rootless_root() -> bool {
    let in_userns =
        !crate::host::is_initial_map(&fs::read_to_string("/proc/self/uid_map").unwrap_or_default());
    in_userns
        && std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| !d.is_empty())
        && std::env::var("USER").map_or(true, |u| u != "root")
}

/// The state root when `--root` is not given: `/run/nook-runtime` for root;
/// for anyone else `$XDG_RUNTIME_DIR/nook-runtime` when that is a directory of
/// theirs, else a private `/tmp/nook-runtime-UID` (mode 0700, refused unless
/// it is a real directory owned by the user: /tmp is shared).
pub fn default_root() -> Result<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let uid = nix::unistd::geteuid().as_raw();
    if uid == 0 && !rootless_root() {
        return Ok(PathBuf::from("/run/nook-runtime"));
    }
    let ours = |p: &Path| fs::symlink_metadata(p).is_ok_and(|m| m.is_dir() && m.uid() == uid);
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        if ours(&dir) {
            return Ok(dir.join("nook-runtime"));
        }
    }
    let dir = PathBuf::from(format!("/tmp/nook-runtime-{uid}"));
    match fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io("create state root", &dir, e)),
    }
    let meta = fs::symlink_metadata(&dir).map_err(|e| Error::io("stat", &dir, e))?;
    if !ours(&dir) || meta.mode() & 0o077 != 0 {
        return Err(Error::State(format!(
            "state root {} is not a private directory of uid {uid} (owner {}, mode {:o}): \
             remove it, set XDG_RUNTIME_DIR, or pass --root",
            dir.display(),
            meta.uid(),
            meta.mode() & 0o7777
        )));
    }
    Ok(dir)
}

impl Store {
    pub fn new(root: &Path) -> Store {
        Store {
            root: root.to_path_buf(),
        }
    }

    fn ensure_root(&self) -> Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
            .map_err(|e| Error::io("create state root", &self.root, e))
    }

    /// Claim a new id: the directory's creation is the atomic step.
    pub fn claim(&self, id: &str) -> Result<Entry> {
        check_id(id)?;
        self.ensure_root()?;
        let dir = self.root.join(id);
        // The spare directory, if there is one, becomes this container's
        // (never over an existing one: then the id is taken, as below).
        if rename_noreplace(&self.root.join(SPARE), &dir).is_ok() {
            return lock(dir);
        }
        for attempt in 0..2 {
            match fs::DirBuilder::new().mode(0o711).create(&dir) {
                Ok(()) => return lock(dir),
                // A directory without state.json and without a live lock holder
                // is what a killed `create` leaves: take it over once.
                Err(e)
                    if e.kind() == std::io::ErrorKind::AlreadyExists
                        && attempt == 0
                        && self.remove_stale(id) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(Error::Exists(id.into()))
                }
                Err(e) => return Err(Error::io("create", &dir, e)),
            }
        }
        Err(Error::Exists(id.into()))
    }

    /// Remove `<root>/<id>` if it has no state.json and nobody holds its lock.
    pub fn remove_stale(&self, id: &str) -> bool {
        let dir = self.root.join(id);
        if check_id(id).is_err() || dir.join("state.json").exists() {
            return false;
        }
        let Ok(f) = open_dir(&dir) else {
            return fs::remove_dir_all(&dir).is_ok();
        };
        match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
            Ok(_held) => !dir.join("state.json").exists() && fs::remove_dir_all(&dir).is_ok(),
            Err(_) => false,
        }
    }

    /// Lock an existing container; fails with "does not exist" if it is gone.
    pub fn open(&self, id: &str) -> Result<(Entry, Saved)> {
        check_id(id)?;
        let dir = self.root.join(id);
        if !dir.is_dir() {
            return Err(Error::NotFound(id.into()));
        }
        let entry = lock(dir)?;
        // It may have been deleted while we waited for the lock (and its
        // directory made another container's, or the spare).
        let saved = entry
            .load()
            .ok()
            .filter(|s| s.id == id)
            .ok_or_else(|| Error::NotFound(id.into()))?;
        Ok((entry, saved))
    }

    /// Ids of all containers with a readable state.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|id| self.root.join(id).join("state.json").exists())
            .collect();
        ids.sort();
        ids
    }
}

/// The lock is a flock on the directory itself: no lock file to make and,
/// after the directory is removed, to free on the last close (each file of a
/// container's directory costs an inode made and freed per container).
/// The directory locked must still be the one at `dir`: one removed (or
/// renamed to the spare, and perhaps on to another id) while we waited is
/// not this container's any more.
fn lock(dir: PathBuf) -> Result<Entry> {
    use std::os::unix::fs::MetadataExt;
    let f = open_dir(&dir).map_err(|e| Error::io("open", &dir, e))?;
    let lock = Flock::lock(f, FlockArg::LockExclusive)
        .map_err(|(_, e)| Error::sys("flock", dir.display(), e))?;
    let held = lock.metadata().map_err(|e| Error::io("stat", &dir, e))?;
    let same = fs::metadata(&dir).is_ok_and(|m| (m.dev(), m.ino()) == (held.dev(), held.ino()));
    if !same {
        let id = dir.file_name().unwrap_or_default().to_string_lossy();
        return Err(Error::NotFound(id.into_owned()));
    }
    Ok(Entry { dir, _lock: lock })
}

/// rename(2) that fails rather than replace what is at `to`.
fn rename_noreplace(from: &Path, to: &Path) -> nix::Result<()> {
    use nix::fcntl::{renameat2, RenameFlags, AT_FDCWD};
    renameat2(AT_FDCWD, from, AT_FDCWD, to, RenameFlags::RENAME_NOREPLACE)
}

fn open_dir(dir: &Path) -> std::io::Result<File> {
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
}

impl Entry {
    pub fn fifo(&self) -> PathBuf {
        self.dir.join(crate::kernel::start_gate::FIFO_NAME)
    }

    pub fn save(&self, s: &Saved) -> Result<()> {
        let path = self.dir.join("state.json");
        let tmp = self.dir.join("state.json.tmp");
        let bytes = serde_json::to_vec(s).expect("state serialises");
        let mut f = File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
        f.write_all(&bytes)
            .map_err(|e| Error::io("write", &tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| Error::io("rename", &path, e))
    }

    pub fn load(&self) -> Result<Saved> {
        let path = self.dir.join("state.json");
        let bytes = fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::config(path.display().to_string(), e.to_string()))
    }

    /// The config the container was created from (exec uses it, as runc's
    /// does, whatever happens to the bundle afterwards): kept in state.json
    /// (`Saved::config`); a directory of an older nook has config.json, and
    /// one from before that was saved falls back to the bundle's.
    pub fn load_config(&self, saved: &Saved) -> Result<oci_spec::runtime::Spec> {
        if !saved.config.is_empty() {
            return crate::spec::parse(saved.config.as_bytes());
        }
        let path = self.dir.join("config.json");
        match fs::read(&path) {
            Ok(text) => crate::spec::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => crate::spec::load(&saved.bundle),
            Err(e) => Err(Error::io("read", &path, e)),
        }
    }

    /// Remove the container's directory: emptied, it becomes the spare
    /// (`SPARE`) unless there is one already; the lock goes with it.
    pub fn remove(self) -> Result<()> {
        let failed = |e| Error::io("remove", &self.dir, e);
        for e in fs::read_dir(&self.dir).map_err(failed)? {
            let e = e.map_err(failed)?;
            let path = e.path();
            match e.file_type().map_err(failed)?.is_dir() {
                true => fs::remove_dir_all(&path),
                false => fs::remove_file(&path),
            }
            .map_err(|e| Error::io("remove", &path, e))?;
        }
        let spare = self.dir.with_file_name(SPARE);
        match rename_noreplace(&self.dir, &spare) {
            Ok(()) => Ok(()),
            Err(_) => fs::remove_dir(&self.dir).map_err(failed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_runc_rules() {
        for ok in ["a", "my-ctr_1.2+x"] {
            check_id(ok).unwrap();
        }
        for bad in ["", ".", "..", "a/b", "a b", "ü"] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn claim_is_exclusive_and_remove_cleans_up() {
        let root = std::env::temp_dir().join(format!("nook-store-{}", std::process::id()));
        let store = Store::new(&root);
        let e = store.claim("c1").unwrap();
        assert!(matches!(store.claim("c1"), Err(Error::Exists(_))));
        assert!(matches!(store.open("c2"), Err(Error::NotFound(_))));
        assert!(store.ids().is_empty(), "no state.json yet");
        assert!(
            !store.remove_stale("c1"),
            "a held lock means a create is running"
        );
        drop(e);
        assert!(
            store.remove_stale("c1"),
            "no state.json and no lock holder: stale"
        );
        let e = store.claim("c1").unwrap();
        e.remove().unwrap();
        assert!(!root.join("c1").exists());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_removed_directory_is_the_next_ones() {
        use std::os::unix::fs::MetadataExt;
        let root = std::env::temp_dir().join(format!("nook-spare-{}", std::process::id()));
        let store = Store::new(&root);
        let ino = |id: &str| fs::metadata(root.join(id)).unwrap().ino();
        let a = store.claim("a").unwrap();
        fs::write(a.dir.join("state.json"), "{}").unwrap();
        fs::create_dir(a.dir.join("sub")).unwrap();
        let first = ino("a");
        a.remove().unwrap();
        assert!(!root.join("a").exists());
        assert_eq!(ino(SPARE), first, "emptied and kept");
        assert!(check_id(SPARE).is_err(), "no container can be named so");
        assert!(store.ids().is_empty());
        let b = store.claim("b").unwrap();
        assert_eq!(ino("b"), first, "the spare taken");
        assert_eq!(fs::read_dir(&b.dir).unwrap().count(), 0, "empty");
        assert!(!root.join(SPARE).exists());
        let c = store.claim("c").unwrap();
        assert_ne!(ino("c"), first, "made anew without a spare");
        b.remove().unwrap();
        c.remove().unwrap();
        assert!(!root.join("c").exists(), "a second spare is not kept");
        assert_eq!(fs::read_dir(&root).unwrap().count(), 1);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_lock_on_a_directory_renamed_meanwhile_is_refused() {
        let root = std::env::temp_dir().join(format!("nook-moved-{}", std::process::id()));
        let store = Store::new(&root);
        let held = store.claim("a").unwrap();
        let path = root.join("a");
        let waiter = std::thread::spawn(move || lock(path).map(drop));
        // Until the waiter has opened `a` and blocks on its flock (a "->"
        // line of /proc/locks, on the inode of `a`).
        let ino = fs::metadata(root.join("a")).map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.ino()
        });
        let ino = format!(":{} ", ino.unwrap());
        let blocked = || {
            let locks = fs::read_to_string("/proc/locks").unwrap_or_default();
            locks
                .lines()
                .any(|l| l.contains("->") && l.contains("FLOCK") && l.contains(&ino))
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !blocked() {
            assert!(
                std::time::Instant::now() < deadline,
                "the waiter never blocked"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        fs::rename(root.join("a"), root.join("b")).unwrap();
        fs::create_dir(root.join("a")).unwrap();
        drop(held);
        let got = waiter.join().unwrap();
        assert!(
            matches!(got, Err(Error::NotFound(ref id)) if id == "a"),
            "locked b's directory as a's: {:?}",
            got.err()
        );
        assert!(lock(root.join("a")).is_ok(), "the new `a` itself is fine");
        fs::remove_dir_all(&root).unwrap();
    }
}

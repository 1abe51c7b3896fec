//! `nook run` in the foreground: image → snapshot → bundle → the runtime's
//! lifecycle → exit status (docker's: 125 nook's own error, 126 not
//! executable, 127 not found, otherwise the container's).

use super::bundle::config;
pub use super::bundle::ProcessRequest;
use crate::container::{store::Store as RuntimeStore, CreateOptions};
use crate::error::{Error, Result};
use crate::image::snapshot::{self, Snapshot, Want};
use crate::image::store::Store;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub image: String,
    pub process: ProcessRequest,
    pub rm: bool,
    pub name: Option<String>,
    /// `--userns=keep-id`: the user's ids map to themselves (rootless only).
    pub keep_id: bool,
    /// The configuration flags, checked (mounts, security, limits).
    pub config: super::bundle::Settings,
}

/// The container's files: `<store>/containers/<id>/` with `config.json`,
/// the snapshot, and `container.json` (what `nook ps -a` will read).
fn container_dir(store: &Store, id: &str) -> PathBuf {
    store.root().join("containers").join(id)
}

/// 64 random hex digits (two kernel-made random UUIDs).
pub(super) fn new_id() -> Result<String> {
    let mut id = String::new();
    while id.len() < 64 {
        let uuid = std::fs::read_to_string("/proc/sys/kernel/random/uuid")
            .map_err(|e| Error::io("read", "/proc/sys/kernel/random/uuid", e))?;
        id.extend(uuid.chars().filter(char::is_ascii_hexdigit));
    }
    id.truncate(64);
    Ok(id)
}

/// Run a container in the foreground and return the exit status to use.
pub fn run(store: &Store, opts: &RunOptions) -> Result<i32> {
    // Ctrl-C or SIGTERM from here on is forwarded to the container (or, before
    // it exists, delivered after the cleanup below), never half-way through it.
    crate::container::run::signal_mask()
        .thread_block()
        .map_err(|e| Error::sys("sigprocmask", "nook run", e))?;
    let digest = store.resolve(&opts.image)?;
    let rec = store.image(&digest)?;
    let cfg = std::fs::read(store.blob_path(&rec.config))
        .map_err(|e| Error::io("read", store.blob_path(&rec.config), e))?;
    let image = crate::image::config::ImageProcess::from_config(&cfg)?;
    let id = new_id()?;
    let dir = container_dir(store, &id);
    let snap = snapshot::create(store, &digest, &id, &dir.join("snapshot"), Want::Auto)?;
    let snap = snapshot::mounted_or_copy(store, &digest, &id, &dir.join("snapshot"), snap)
        .inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&dir);
        })?;
    let result = run_in(store, opts, &image, &id, &dir, &snap);
    let unmounted = match &snap {
        Snapshot::Overlay { merged, .. } => {
            crate::kernel::mount::umount_detach(merged).or_else(|e| {
                if e.errno() == Some(nix::errno::Errno::EINVAL) {
                    Ok(())
                } else {
                    Err(e)
                }
            })
        }
        Snapshot::Copy { .. } => Ok(()),
    };
    if opts.rm || result.is_err() {
        snapshot::remove(store, &digest, &id, &dir.join("snapshot"))?;
        let _ = std::fs::remove_dir_all(&dir);
    }
    unmounted?;
    result
}

fn run_in(
    store: &Store,
    opts: &RunOptions,
    image: &crate::image::config::ImageProcess,
    id: &str,
    dir: &Path,
    snap: &Snapshot,
) -> Result<i32> {
    let volumes = super::volume::root(store);
    let mut spec = config(
        image,
        &opts.process,
        &opts.config,
        snap.rootfs(),
        id,
        &volumes,
    )?;
    if opts.keep_id {
        crate::userns::keep_id(&mut spec, opts.process.user.is_none())?;
    }
    let text = serde_json::to_string_pretty(&spec).expect("config serialises");
    std::fs::write(dir.join("config.json"), text)
        .map_err(|e| Error::io("write", dir.join("config.json"), e))?;
    let record = serde_json::json!({"id": id, "name": opts.name.clone().unwrap_or_else(|| format!("nook_{}", &id[..12])),
        "image": opts.image, "command": spec["process"]["args"], "created": crate::log::rfc3339_now()});
    std::fs::write(dir.join("container.json"), record.to_string())
        .map_err(|e| Error::io("write", dir.join("container.json"), e))?;
    let runtime = RuntimeStore::new(&store.root().join("runtime"));
    let create = CreateOptions {
        bundle: dir.to_path_buf(),
        limits: opts.config.limit_policy(),
        ..Default::default()
    };
    match crate::container::run(&runtime, id, &create, false, false) {
        Ok(code) => Ok(code),
        // The runtime's own wording for a command that cannot be run (docker's 127/126).
        Err(Error::Child(msg)) if msg.starts_with("unable to start container process: exec:") => {
            eprintln!("nook: {msg}");
            let missing = msg.contains("executable file not found")
                || msg.contains("no such file or directory");
            Ok(if missing { 127 } else { 126 })
        }
        Err(e) => Err(e),
    }
}

//! The two checks that are tried: a fresh copy of this binary
//! (`nook doctor --probe DIR`, single-threaded from its start) makes a user and
//! mount namespace, maps its own ids, and mounts overlayfs in DIR; it prints
//! one JSON line saying what worked. The calling process changes nothing.
#![forbid(unsafe_code)]

use crate::kernel::{mount, namespace};
use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What the probe found: `None` worked, `Some(why)` did not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tried {
    pub userns: Option<String>,
    pub overlay: Option<String>,
}

/// Run the probe in a child process, in a scratch directory on the store's
/// filesystem when the store exists (else the temp dir); removed afterwards.
pub fn run(store: &Path) -> Tried {
    let base = if store.join("tmp").is_dir() {
        store.join("tmp")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("nook-doctor-{}", std::process::id()));
    let out = std::process::Command::new("/proc/self/exe")
        .arg("doctor")
        .arg("--probe")
        .arg(&dir)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    let failed = |why: String| Tried {
        userns: Some(why.clone()),
        overlay: Some(why),
    };
    match out {
        Ok(o) => serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|_| failed(format!("the probe process failed ({})", o.status))),
        Err(e) => failed(format!("cannot start the probe process: {e}")),
    }
}

/// The probe process: print what worked, exit 0.
pub fn child(dir: &Path) -> ! {
    let mut t = Tried::default();
    match enter() {
        Err(e) => {
            t.userns = Some(e.clone());
            t.overlay = Some(format!("no user namespace: {e}"));
        }
        Ok(()) => {
            t.overlay = overlay(dir).err();
            // Removed here, as root of our own namespace: overlayfs leaves a
            // mode-000 `work` directory that its owner cannot list from outside.
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    println!("{}", serde_json::to_string(&t).unwrap_or_default());
    std::process::exit(0)
}

/// New user + mount namespaces, with our own ids mapped to root (what an
/// unprivileged user may do without any helper).
fn enter() -> Result<(), String> {
    let (uid, gid) = (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    );
    namespace::create(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS)
        .map_err(|e| e.to_string())?;
    let write = |f: &str, text: String| {
        std::fs::write(format!("/proc/self/{f}"), text)
            .map_err(|e| format!("write /proc/self/{f}: {e}"))
    };
    write("setgroups", "deny".into())?;
    write("uid_map", format!("0 {uid} 1"))?;
    write("gid_map", format!("0 {gid} 1"))?;
    mount::set_propagation(Path::new("/"), MsFlags::MS_PRIVATE | MsFlags::MS_REC)
        .map_err(|e| e.to_string())
}

/// Mount an overlay with `userxattr` (as nook's store uses it unprivileged),
/// write through it, and see the write land in the upper directory.
fn overlay(dir: &Path) -> Result<(), String> {
    let sub = |n: &str| -> Result<PathBuf, String> {
        let p = dir.join(n);
        std::fs::create_dir_all(&p).map_err(|e| format!("mkdir {}: {e}", p.display()))?;
        Ok(p)
    };
    let (lower, upper, work, merged) = (sub("l")?, sub("u")?, sub("w")?, sub("m")?);
    std::fs::write(lower.join("f"), "x").map_err(|e| format!("write: {e}"))?;
    let data = format!(
        "lowerdir={},upperdir={},workdir={},userxattr",
        lower.display(),
        upper.display(),
        work.display()
    );
    mount::mount(
        Some(Path::new("overlay")),
        &merged,
        Some("overlay"),
        MsFlags::empty(),
        Some(&data),
    )
    .map_err(|e| e.to_string())?;
    let wrote = std::fs::write(merged.join("g"), "y");
    let _ = mount::umount_detach(&merged);
    wrote.map_err(|e| format!("write through the overlay: {e}"))?;
    if !upper.join("g").exists() {
        return Err("a write through the overlay did not reach its upper directory".into());
    }
    Ok(())
}

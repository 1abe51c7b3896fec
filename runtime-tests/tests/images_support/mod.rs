//! Helpers for tests/images.rs (and the front_* tests): the fixture images, a
//! `nook` runner with a private store (one with busybox loaded), and a tree
//! listing to compare unpacked rootfs trees.

use runtime_tests::env::{fresh_dir, workspace_root};
use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn images_dir() -> Option<PathBuf> {
    let d = std::env::var_os("NOOK_FIXTURE_IMAGES")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/fixtures/images"));
    d.join("oci/index.json").is_file().then_some(d)
}

/// A store with one fixture archive loaded, or None without the fixtures.
pub fn nook_with(archive: &str) -> Option<Nook> {
    let dir = images_dir()?;
    let n = Nook::new();
    n.ok(&["load", "-q", "-i", &dir.join(archive).to_string_lossy()]);
    Some(n)
}

/// A store with the fixture busybox image loaded, or None without the fixtures.
pub fn nook_with_busybox() -> Option<Nook> {
    nook_with("busybox-docker.tar")
}

pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

pub struct Nook {
    pub root: PathBuf,
}

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The `nook` binary under test: `$NOOK_BIN`, else target/debug/nook.
pub fn nook_bin() -> PathBuf {
    std::env::var_os("NOOK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/debug/nook"))
}

impl Nook {
    pub fn new() -> Nook {
        Nook {
            root: fresh_dir("nook-store"),
        }
    }
    /// `nook --root <store> ARGS...`, not started yet.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(nook_bin());
        cmd.arg("--root").arg(&self.root).args(args);
        cmd
    }
    pub fn run(&self, args: &[&str]) -> Out {
        let o = self.command(args).output().expect("run nook");
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert_eq!(o.code, 0, "nook {args:?}: {}", o.stderr);
        o.stdout
    }
}

impl Drop for Nook {
    fn drop(&mut self) {
        let _ = Command::new("chmod")
            .args(["-R", "u+w"])
            .arg(&self.root)
            .status();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// path → "kind mode uid:gid mtime content-hash-or-target" (directory mtimes
/// left out: applying whiteouts changes them in every implementation).
pub fn tree(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            let md = std::fs::symlink_metadata(&p).unwrap();
            let ft = md.file_type();
            let what = if ft.is_symlink() {
                format!(
                    "link {} {}",
                    md.mtime(),
                    std::fs::read_link(&p).unwrap().display()
                )
            } else if ft.is_dir() {
                stack.push(p.clone());
                "dir".into()
            } else if ft.is_file() {
                let sum = Command::new("sha256sum").arg(&p).output().unwrap();
                format!(
                    "file {} {}",
                    md.mtime(),
                    String::from_utf8_lossy(&sum.stdout)
                        .split(' ')
                        .next()
                        .unwrap()
                )
            } else if ft.is_char_device() || ft.is_block_device() {
                format!("dev {}", md.rdev())
            } else {
                "other".into()
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

pub fn diff(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<String> {
    let keys: std::collections::BTreeSet<_> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("{k}: nook={:?} umoci={:?}", a.get(k), b.get(k)))
        .collect()
}

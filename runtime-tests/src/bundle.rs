//! `Bundle`: a fresh temporary OCI bundle per test — a copy of the fixture rootfs plus a
//! config.json built from [`base_config`] — removed again when dropped.

use std::cell::RefCell;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::config::{adapt_for_mode, base_config, ConfigExt};
use crate::env::{fixture_rootfs, fresh_dir, mode};

/// A container created in a bundle, remembered so that drop can force-delete it.
struct Created {
    binary: PathBuf,
    root: PathBuf,
    id: String,
}

pub struct Bundle {
    dir: PathBuf,
    /// The config that [`Bundle::save`] writes (after the mode's adaptations). Edit it with
    /// the [`ConfigExt`] helpers.
    pub config: Value,
    /// When set, config.json is left as the test wrote it (bad-input tests).
    raw_config: bool,
    created: RefCell<Vec<Created>>,
}

impl Bundle {
    /// A new bundle: `<tmp>/nook-b-<test>-<pid>-<n>/{rootfs, config.json}`; the rootfs is a
    /// `cp -a` copy of the fixture, which is never touched.
    pub fn new() -> Self {
        let fixture = fixture_rootfs();
        let dir = fresh_dir("nook-b-");
        let rootfs = dir.join("rootfs");
        // A fixture being rebuilt (make-rootfs.sh swaps it in with rm + mv) can vanish for
        // a moment: try the copy a few times before failing.
        let mut attempt = 0;
        let out = loop {
            let mut cp = Command::new("cp");
            cp.arg("-a");
            if mode().in_userns() {
                // Owners other than 0 (home/nook is 1000) are unmapped here: chown fails.
                cp.arg("--no-preserve=ownership");
            }
            let out = cp.arg(&fixture).arg(&rootfs).output().expect("spawn cp");
            attempt += 1;
            if out.status.success() || attempt == 3 {
                break out;
            }
            remove_tree(&rootfs);
            std::thread::sleep(std::time::Duration::from_millis(500));
        };
        if !out.status.success() {
            remove_tree(&dir);
        }
        assert!(
            out.status.success(),
            "cp -a {} {}: {}",
            fixture.display(),
            rootfs.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let bundle = Bundle {
            dir,
            config: base_config(),
            raw_config: false,
            created: RefCell::new(Vec::new()),
        };
        bundle.save();
        bundle
    }

    /// The bundle directory (absolute).
    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    /// A path inside the rootfs as seen from the host (`inside` is absolute in the container).
    pub fn in_rootfs(&self, inside: &str) -> PathBuf {
        self.rootfs().join(inside.trim_start_matches('/'))
    }

    /// A host-side scratch directory inside the bundle (created): bind sources, hook
    /// scripts, logs. Everything in it goes away with the bundle.
    pub fn host_dir(&self, name: &str) -> PathBuf {
        let d = self.dir.join(name);
        fs::create_dir_all(&d).unwrap_or_else(|e| panic!("mkdir {}: {e}", d.display()));
        d
    }

    /// Write config.json from [`Bundle::config`] with the mode's adaptations, unless the test
    /// wrote its own with [`Bundle::write_raw_config`].
    pub fn save(&self) {
        self.save_with(|_| {});
    }

    /// Like [`Bundle::save`], with a last edit applied to the written copy only.
    pub fn save_with(&self, edit: impl FnOnce(&mut Value)) {
        if self.raw_config {
            return;
        }
        let mut config = self.config.clone();
        edit(&mut config);
        adapt_for_mode(&mut config, mode());
        let text = serde_json::to_string_pretty(&config).expect("serialise config");
        fs::write(self.dir.join("config.json"), text).expect("write config.json");
    }

    /// Write `text` as config.json verbatim (it need not be JSON) and stop [`Bundle::save`]
    /// from overwriting it.
    pub fn write_raw_config(&mut self, text: &str) {
        self.raw_config = true;
        fs::write(self.dir.join("config.json"), text).expect("write raw config.json");
    }

    /// Remove config.json and keep it removed.
    pub fn remove_config(&mut self) {
        self.raw_config = true;
        let _ = fs::remove_file(self.dir.join("config.json"));
    }

    /// Save the config with `args` set to `["/probe", sub...]`.
    pub fn save_probe_args(&self, sub: &[&str]) {
        self.save_with(|c| {
            c.probe_args(sub);
        });
    }

    /// Remember a container created from this bundle (done by [`crate::Runtime`]).
    pub(crate) fn register(&self, binary: &Path, root: &Path, id: &str) {
        self.created.borrow_mut().push(Created {
            binary: binary.to_path_buf(),
            root: root.to_path_buf(),
            id: id.to_string(),
        });
    }
}

impl Default for Bundle {
    fn default() -> Self {
        Self::new()
    }
}

/// `<binary> --root <root> delete --force <id>`, quietly, given at most 20 seconds: cleanup
/// must not hang a test run on a runtime that hangs.
pub(crate) fn force_delete(binary: &Path, root: &Path, id: &str) {
    let child = Command::new(binary)
        .arg("--root")
        .arg(root)
        .args(["delete", "--force", id])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else { return };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while let Ok(None) = child.try_wait() {
        if std::time::Instant::now() > deadline {
            eprintln!(
                "warning: {} delete --force {id} hung; killed",
                binary.display()
            );
            let _ = child.kill();
            let _ = child.wait();
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Kill (SIGKILL) every process whose root, cwd or root inode is in `dir`.
pub(crate) fn kill_processes_in(dir: &Path, rootfs: &Path) {
    for pid in crate::leftovers::processes_in(dir, rootfs) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// Lazily detach every mount under `dir` still visible here, deepest first, so that a
/// leaked bind mount cannot make the removal reach outside the bundle.
pub(crate) fn detach_mounts_under(dir: &Path) {
    let mut targets = crate::leftovers::mounts_mentioning(dir)
        .into_iter()
        .filter_map(|line| line.split_whitespace().nth(4).map(str::to_string))
        .filter(|t| Path::new(t).starts_with(dir))
        .collect::<Vec<_>>();
    targets.sort_by_key(|t| std::cmp::Reverse(t.len()));
    for t in targets {
        let _ = nix::mount::umount2(Path::new(&t), nix::mount::MntFlags::MNT_DETACH);
    }
}

/// Remove a directory tree without following links or crossing into other mounts.
pub(crate) fn remove_tree(dir: &Path) {
    let dev = match fs::symlink_metadata(dir) {
        Ok(m) => m.dev(),
        Err(_) => return,
    };
    let status = Command::new("rm")
        .arg("-rf")
        .arg("--one-file-system")
        .arg(dir)
        .stderr(Stdio::null())
        .status();
    if dir.exists() {
        // A tree made read-only or immutable by a test: try once more after chmod.
        let _ = Command::new("chmod")
            .arg("-R")
            .arg("u+rwx")
            .arg(dir)
            .status();
        let _ = Command::new("rm")
            .arg("-rf")
            .arg("--one-file-system")
            .arg(dir)
            .status();
    }
    if dir.exists() {
        eprintln!(
            "warning: could not remove {} (rm: {status:?}, device {dev})",
            dir.display()
        );
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        for c in self.created.borrow().iter() {
            force_delete(&c.binary, &c.root, &c.id);
        }
        kill_processes_in(&self.dir, &self.rootfs());
        detach_mounts_under(&self.dir);
        remove_tree(&self.dir);
    }
}

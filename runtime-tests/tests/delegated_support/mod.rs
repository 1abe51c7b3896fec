//! The delegated cgroup v2 subtree of tests/cgroup_v2_delegated.rs.

use runtime_tests::{Bundle, Runtime};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub const DELEGATE_UID: u32 = 1001;

/// A cgroup subtree shaped like systemd's `Delegate=yes` for [`DELEGATE_UID`]:
/// `/<test>.slice` (root's, as `user.slice` is) holds `user@UID.service`, whose
/// directory, `cgroup.procs`, `cgroup.subtree_control` and `cgroup.threads` belong to
/// the uid, with memory, pids and cpu enabled for its children on the way down; the
/// uid's own processes live in the leaf `<leaf>` below it (`session.scope`, as a
/// user's shell does). Every runtime command runs from that leaf, as the uid.
/// Dropping it kills what is left in it and removes it.
pub struct Delegated {
    pub top: std::path::PathBuf,
    pub service: std::path::PathBuf,
    pub leaf: std::path::PathBuf,
}

impl Delegated {
    pub fn new(leaf: &str) -> Self {
        let name = format!("{}.slice", runtime_tests::env::unique_name("dg"));
        let top = std::path::Path::new("/sys/fs/cgroup").join(name);
        let service = top.join(format!("user@{DELEGATE_UID}.service"));
        let leaf = service.join(leaf);
        let d = Delegated { top, service, leaf };
        for dir in [&d.top, &d.service, &d.leaf] {
            std::fs::create_dir(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        }
        for dir in [&d.top, &d.service] {
            std::fs::write(dir.join("cgroup.subtree_control"), "+memory +pids +cpu").unwrap();
        }
        let mut owned = vec![d.service.clone(), d.leaf.clone()];
        for f in ["cgroup.procs", "cgroup.subtree_control", "cgroup.threads"] {
            owned.push(d.service.join(f));
            owned.push(d.leaf.join(f));
        }
        for p in owned {
            std::os::unix::fs::chown(&p, Some(DELEGATE_UID), Some(DELEGATE_UID))
                .unwrap_or_else(|e| panic!("chown {}: {e}", p.display()));
        }
        d
    }

    /// The service's path as `cgroupsPath` spells it (from the hierarchy's root).
    pub fn path(&self) -> String {
        let rel = self.service.strip_prefix("/sys/fs/cgroup").unwrap();
        format!("/{}", rel.display())
    }

    /// A runtime whose state root belongs to the uid.
    pub fn runtime(&self) -> Runtime {
        let rt = Runtime::under_test();
        chown_tree(&rt.root());
        rt
    }

    /// `PROGRAM ARGS...` as the uid, from the leaf.
    pub fn command(&self, program: &std::path::Path) -> std::process::Command {
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(format!(
                "echo $$ > {}/cgroup.procs && exec setpriv --reuid={DELEGATE_UID} \
                 --regid={DELEGATE_UID} --clear-groups -- \"$@\"",
                self.leaf.display()
            ))
            .arg("sh")
            .arg(program)
            .env_remove("XDG_RUNTIME_DIR")
            .stdin(std::process::Stdio::null());
        cmd
    }

    /// `nook-runtime --root R ARGS...` as the uid, from the leaf.
    pub fn run(&self, rt: &Runtime, args: &[&str]) -> runtime_tests::Output {
        let mut cmd = self.command(rt.binary());
        cmd.arg("--root").arg(rt.root()).args(args);
        rt.output_of(cmd)
    }

    /// `state ID` as the uid, parsed.
    pub fn state(&self, rt: &Runtime, id: &str) -> Value {
        let out = self.run(rt, &["state", id]);
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("state's JSON: {e}:\n{out}"))
    }

    /// `nook doctor`'s cgroups check, run as the uid from the leaf.
    pub fn doctor_cgroups(&self, rt: &Runtime) -> Value {
        let nook = std::env::var_os("NOOK_BIN")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| runtime_tests::env::workspace_root().join("target/debug/nook"));
        let mut cmd = self.command(&nook);
        cmd.args(["doctor", "--format", "json"]).env("HOME", "/tmp");
        let out = rt.output_of(cmd);
        let report: Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("doctor's JSON: {e}:\n{out}"));
        report["checks"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["name"] == "cgroups"))
            .cloned()
            .unwrap_or_else(|| panic!("no cgroups check: {report}"))
    }

    /// A `spec --rootless` bundle owned by the uid running `script`, with `res` and,
    /// when given, `cgroupsPath`.
    pub fn bundle(
        &self,
        rt: &Runtime,
        res: Value,
        cgroups_path: Option<&str>,
        script: &str,
    ) -> Bundle {
        let mut b = Bundle::new();
        b.remove_config();
        chown_tree(b.path());
        let bundle_dir = b.path().to_string_lossy().to_string();
        self.run(rt, &["spec", "--rootless", "--bundle", &bundle_dir])
            .ok();
        let text = std::fs::read_to_string(b.path().join("config.json")).unwrap();
        let mut spec: Value = serde_json::from_str(&text).unwrap();
        spec["process"]["terminal"] = json!(false);
        spec["process"]["args"] = json!(["/bin/sh", "-c", script]);
        spec["linux"]["resources"] = res;
        if let Some(p) = cgroups_path {
            spec["linux"]["cgroupsPath"] = json!(p);
        }
        b.write_raw_config(&spec.to_string());
        chown_tree(b.path());
        b
    }

    /// The subdirectories of the service (cgroups), by name.
    pub fn children(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.service)
            .unwrap()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Delegated {
    fn drop(&mut self) {
        let _ = std::fs::write(self.top.join("cgroup.kill"), "1");
        remove_cgroup_tree(&self.top);
    }
}

/// rmdir a cgroup and everything below it, deepest first (retrying while the
/// killed processes leave).
pub fn remove_cgroup_tree(dir: &std::path::Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup_tree(&e.path());
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::remove_dir(dir).is_err() && dir.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn chown_tree(path: &std::path::Path) {
    let out = std::process::Command::new("chown")
        .arg("-R")
        .arg(format!("{DELEGATE_UID}:{DELEGATE_UID}"))
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "chown -R {}: {out:?}", path.display());
}

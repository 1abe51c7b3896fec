//! containerd with its own config (root, state, grpc/ttrpc sockets, CRI disabled), driven
//! by `ctr run --runc-binary <runtime>` in a namespace of its own.

use std::process::Command;

use super::image::{self, Format};
use super::{first_missing, which, Engine, Output, Sandbox, IMAGE};
use crate::env::unique_name;

pub struct Containerd {
    sb: Sandbox,
    ctr: String,
    namespace: String,
}

/// The config file the test writes (`{dir}` is the sandbox).
pub fn config(dir: &str) -> String {
    format!(
        "version = 2\n\
         root = \"{dir}/root\"\n\
         state = \"{dir}/state\"\n\
         disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
         [grpc]\n  address = \"{dir}/containerd.sock\"\n\
         [ttrpc]\n  address = \"{dir}/containerd.sock.ttrpc\"\n\
         [debug]\n  address = \"\"\n\
         [metrics]\n  address = \"\"\n"
    )
}

impl Containerd {
    /// Start containerd and import the image; `Err(reason)` to skip when a binary is missing.
    pub fn start() -> Result<Result<Containerd, String>, String> {
        if let Some(m) = first_missing(&["containerd", "ctr", "containerd-shim-runc-v2"]) {
            return Err(format!("{m} not installed (make engine-deps)"));
        }
        if let Some(m) = first_missing(image::TOOLS) {
            return Err(format!("{m} not installed (make engine-deps)"));
        }
        Ok(Self::start_inner())
    }

    fn start_inner() -> Result<Containerd, String> {
        let sb = Sandbox::new("containerd");
        let dir = sb.dir().to_string_lossy().into_owned();
        std::fs::write(sb.dir().join("containerd.toml"), config(&dir))
            .map_err(|e| e.to_string())?;
        let mut cmd = Command::new(which("containerd").expect("checked"));
        cmd.arg("--config").arg(sb.dir().join("containerd.toml"));
        let c = Containerd {
            ctr: which("ctr")
                .expect("checked")
                .to_string_lossy()
                .into_owned(),
            namespace: unique_name("nke-"),
            sb,
        };
        let ready = || c.ctr_cmd(&["version"]).status().is_ok_and(|s| s.success());
        c.sb.spawn_daemon("containerd", cmd, ready)?;
        let archive = image::build(&c.sb, Format::Oci)?;
        let out = c.ctr(&["image", "import", &archive]);
        if !out.success() {
            return Err(format!("ctr image import failed:\n{out}"));
        }
        Ok(c)
    }

    fn ctr_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.ctr);
        cmd.arg("--address")
            .arg(self.sb.path("containerd.sock"))
            .arg("--namespace")
            .arg(&self.namespace)
            .args(args);
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        cmd
    }

    fn ctr(&self, args: &[&str]) -> Output {
        self.sb.run(self.ctr_cmd(args))
    }

    /// `ctr run` flags selecting the runtime and a cgroup under the test's parent.
    fn run_flags(&self, id: &str) -> Vec<String> {
        let cgroup = format!("{}/{id}", self.sb.cgroup_parent());
        super::strings(&["--runc-binary", &self.sb.wrapper(), "--cgroup", &cgroup])
    }

    /// `ctr task exec -t` needs a real terminal: run it under `script -qc`.
    fn scripted(&self, args: &[String]) -> Output {
        let mut line = format!(
            "'{}' --address '{}' --namespace '{}'",
            self.ctr,
            self.sb.path("containerd.sock"),
            self.namespace
        );
        for a in args {
            line.push_str(&format!(" '{a}'"));
        }
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &line, "/dev/null"]);
        self.sb.run(cmd)
    }

    /// Delete every task and container of the test's namespace.
    fn remove_all(&self) {
        let list = self.ctr(&["containers", "list", "--quiet"]);
        for id in list.stdout.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let _ = self.ctr(&["task", "kill", "--signal", "KILL", id]);
            let _ = self.ctr(&["task", "delete", "--force", id]);
            let _ = self.ctr(&["containers", "delete", id]);
        }
        let _ = self.ctr(&["image", "remove", IMAGE]);
        let _ = self.ctr(&["namespaces", "remove", &self.namespace]);
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        self.remove_all();
        // The runc shim keeps runtime state in /run/containerd/runc/<namespace>.
        let _ = std::fs::remove_dir_all(format!("/run/containerd/runc/{}", self.namespace));
    }
}

impl Engine for Containerd {
    fn name(&self) -> &'static str {
        "containerd"
    }
    fn run_rm(&self, flags: &[String], cmd: &[&str]) -> Output {
        let id = unique_name("c-");
        let mut args = super::strings(&["run", "--rm"]);
        args.extend(self.run_flags(&id));
        args.extend_from_slice(flags);
        args.extend(super::strings(&[IMAGE, &id]));
        args.extend(super::strings(cmd));
        if flags.iter().any(|f| f == "--tty") {
            return self.scripted(&args);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.ctr(&args)
    }
    fn run_detached(&self, name: &str, cmd: &[&str]) -> Output {
        let mut args = super::strings(&["run", "--detach"]);
        args.extend(self.run_flags(name));
        args.extend(super::strings(&[IMAGE, name]));
        args.extend(super::strings(cmd));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.ctr(&args)
    }
    fn exec(&self, name: &str, cmd: &[&str]) -> Output {
        let exec_id = unique_name("e-");
        let mut args = vec!["task", "exec", "--exec-id", &exec_id, name];
        args.extend_from_slice(cmd);
        self.ctr(&args)
    }
    fn exec_tty(&self, name: &str, cmd: &[&str]) -> Output {
        let exec_id = unique_name("e-");
        let mut args = super::strings(&["task", "exec", "--tty", "--exec-id", &exec_id, name]);
        args.extend(super::strings(cmd));
        self.scripted(&args)
    }
    fn status(&self, name: &str) -> String {
        let out = self.ctr(&["task", "list"]);
        out.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .and_then(|l| l.split_whitespace().nth(2))
            .unwrap_or("none")
            .to_lowercase()
    }
    fn pause(&self, name: &str) -> Output {
        self.ctr(&["task", "pause", name])
    }
    fn unpause(&self, name: &str) -> Output {
        self.ctr(&["task", "resume", name])
    }
    fn top(&self, name: &str) -> Output {
        self.ctr(&["task", "ps", name])
    }
    fn stop(&self, name: &str) -> Output {
        let out = self.ctr(&["task", "kill", "--signal", "TERM", name]);
        for _ in 0..10 {
            if self.status(name) == "stopped" {
                return out;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        self.kill(name)
    }
    fn kill(&self, name: &str) -> Output {
        let out = self.ctr(&["task", "kill", "--all", "--signal", "KILL", name]);
        for _ in 0..50 {
            if self.status(name) == "stopped" {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        out
    }
    fn rm(&self, name: &str) -> Output {
        let out = self.ctr(&["task", "delete", name]);
        if !out.success() {
            return out;
        }
        self.ctr(&["containers", "delete", name])
    }
    fn exists(&self, name: &str) -> bool {
        let out = self.ctr(&["containers", "list", "--quiet"]);
        out.stdout.lines().any(|l| l.trim() == name)
    }
    fn update_memory(&self, _name: &str, _bytes: u64) -> Option<Output> {
        None // ctr 1.6 has no `task update`
    }
    fn memory_flags(&self, bytes: u64) -> Vec<String> {
        // ctr's default spec has no cgroup mount: add one to read the limit back inside.
        super::strings(&[
            "--memory-limit",
            &bytes.to_string(),
            "--mount",
            "type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:noexec:nodev",
        ])
    }
    fn tty_flags(&self) -> Vec<String> {
        vec!["--tty".into()]
    }
    fn sandbox(&self) -> &Sandbox {
        &self.sb
    }
}

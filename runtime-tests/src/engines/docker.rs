//! dockerd with `--config-file` naming its own data-root, exec-root, pidfile and socket, no
//! iptables and no bridge, the runtime under test registered as `nook` (it starts its own
//! containerd under the exec-root).

use std::process::Command;

use super::image::{self, Format};
use super::{first_missing, which, which_prefer, Engine, Output, Sandbox, IMAGE};

pub struct Docker {
    sb: Sandbox,
    client: String,
}

/// The daemon.json the test writes (`{dir}` is the sandbox).
pub fn config(dir: &str, runtime: &str, cgroup_parent: &str) -> String {
    let v = serde_json::json!({
        "data-root": format!("{dir}/data"),
        "exec-root": format!("{dir}/exec"),
        "pidfile": format!("{dir}/dockerd.pid"),
        "hosts": [format!("unix://{dir}/docker.sock")],
        "iptables": false,
        "ip6tables": false,
        "bridge": "none",
        "storage-driver": "vfs",
        "cgroup-parent": cgroup_parent,
        "default-ulimits": {
            "nofile": { "Name": "nofile", "Soft": 20000, "Hard": 20000 },
            "nproc": { "Name": "nproc", "Soft": 32768, "Hard": 32768 }
        },
        "runtimes": { "nook": { "path": runtime } }
    });
    serde_json::to_string_pretty(&v).expect("json")
}

impl Docker {
    /// Start dockerd and load the image. Outer `Err`: skip (a binary is missing);
    /// inner `Err`: the setup failed.
    pub fn start() -> Result<Result<Docker, String>, String> {
        if let Some(m) = first_missing(&["dockerd", "containerd", "containerd-shim-runc-v2"]) {
            return Err(format!("{m} not installed (make engine-deps)"));
        }
        if let Some(m) = first_missing(image::TOOLS) {
            return Err(format!("{m} not installed (make engine-deps)"));
        }
        // Debian's client matches its dockerd; another `docker` may come first in PATH.
        let Some(client) = which_prefer("/usr/bin/docker", "docker") else {
            return Err("docker client not installed (make engine-deps)".into());
        };
        Ok(Self::start_inner(client.to_string_lossy().into_owned()))
    }

    fn start_inner(client: String) -> Result<Docker, String> {
        let sb = Sandbox::new("docker");
        let dir = sb.dir().to_string_lossy().into_owned();
        let cfg = config(&dir, &sb.wrapper(), sb.cgroup_parent());
        std::fs::write(sb.dir().join("daemon.json"), cfg).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(which("dockerd").expect("checked"));
        cmd.arg("--config-file").arg(sb.dir().join("daemon.json"));
        let d = Docker { sb, client };
        let ready = || {
            d.docker_cmd(&["version"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        d.sb.spawn_daemon("dockerd", cmd, ready)?;
        let archive = image::build(&d.sb, Format::Docker)?;
        let out = d.docker(&["load", "--input", &archive]);
        if !out.success() {
            return Err(format!("docker load failed:\n{out}"));
        }
        Ok(d)
    }

    /// The user-defined network's name and subnet: an internal bridge (no route out, no
    /// iptables), a /29 picked from the pid so parallel runs rarely collide.
    pub fn network(&self) -> (String, String) {
        let pid = std::process::id();
        (
            format!("nke{pid}"),
            format!("10.254.{}.{}/29", pid % 250, (pid / 250 % 32) * 8),
        )
    }

    /// Run `cmd` (removed after) on a user-defined bridge network, created for it and
    /// removed after: dockerd adds a `libnetwork-setkey` prestart hook the runtime must run.
    pub fn run_on_user_network(&self, cmd: &[&str]) -> Result<Output, Output> {
        let (name, subnet) = self.network();
        let bridge = format!("com.docker.network.bridge.name={name}");
        let created = self.docker(&[
            "network",
            "create",
            "--internal",
            "--subnet",
            &subnet,
            "--opt",
            &bridge,
            &name,
        ]);
        if !created.success() {
            return Err(created);
        }
        let mut args = vec![
            "run",
            "--runtime",
            "nook",
            "--network",
            &name,
            "--rm",
            IMAGE,
        ];
        args.extend_from_slice(cmd);
        let out = self.docker(&args);
        let removed = self.docker(&["network", "rm", &name]);
        if !removed.success() {
            return Err(removed);
        }
        Ok(out)
    }

    fn docker_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.client);
        cmd.arg("--host")
            .arg(format!("unix://{}", self.sb.path("docker.sock")))
            .args(args);
        cmd
    }

    fn docker(&self, args: &[&str]) -> Output {
        self.sb.run(self.docker_cmd(args))
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        let list = self.docker(&["ps", "--all", "--quiet"]);
        for id in list.stdout.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let _ = self.docker(&["rm", "--force", id]);
        }
        let _ = self.docker(&["network", "rm", &self.network().0]);
    }
}

const RUN: &[&str] = &["run", "--runtime", "nook", "--network", "none"];

impl Engine for Docker {
    fn name(&self) -> &'static str {
        "docker"
    }
    fn run_rm(&self, flags: &[String], cmd: &[&str]) -> Output {
        let mut args: Vec<&str> = RUN.to_vec();
        args.push("--rm");
        args.extend(flags.iter().map(String::as_str));
        args.push(IMAGE);
        args.extend_from_slice(cmd);
        self.docker(&args)
    }
    fn run_detached(&self, name: &str, cmd: &[&str]) -> Output {
        let mut args: Vec<&str> = RUN.to_vec();
        args.extend(["--detach", "--name", name, IMAGE]);
        args.extend_from_slice(cmd);
        self.docker(&args)
    }
    fn exec(&self, name: &str, cmd: &[&str]) -> Output {
        let mut args = vec!["exec", name];
        args.extend_from_slice(cmd);
        self.docker(&args)
    }
    fn exec_tty(&self, name: &str, cmd: &[&str]) -> Output {
        let mut args = vec!["exec", "--tty", name];
        args.extend_from_slice(cmd);
        self.docker(&args)
    }
    fn status(&self, name: &str) -> String {
        let out = self.docker(&["inspect", "--format", "{{.State.Status}}", name]);
        out.stdout.trim().to_lowercase()
    }
    fn pause(&self, name: &str) -> Output {
        self.docker(&["pause", name])
    }
    fn unpause(&self, name: &str) -> Output {
        self.docker(&["unpause", name])
    }
    fn top(&self, name: &str) -> Output {
        self.docker(&["top", name])
    }
    fn stop(&self, name: &str) -> Output {
        self.docker(&["stop", "--time", "1", name])
    }
    fn kill(&self, name: &str) -> Output {
        self.docker(&["kill", name])
    }
    fn rm(&self, name: &str) -> Output {
        self.docker(&["rm", name])
    }
    fn exists(&self, name: &str) -> bool {
        self.docker(&["inspect", name]).success()
    }
    fn update_memory(&self, name: &str, bytes: u64) -> Option<Output> {
        let (limit, swap) = (bytes.to_string(), (2 * bytes).to_string());
        Some(self.docker(&["update", "--memory", &limit, "--memory-swap", &swap, name]))
    }
    fn memory_flags(&self, bytes: u64) -> Vec<String> {
        vec!["--memory".into(), bytes.to_string()]
    }
    fn tty_flags(&self) -> Vec<String> {
        vec!["--tty".into()]
    }
    fn sandbox(&self) -> &Sandbox {
        &self.sb
    }
}

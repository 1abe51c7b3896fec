//! podman (no daemon) with `--runtime <runtime>`, `--root`/`--runroot` under the sandbox,
//! vfs storage, and a containers.conf for cgroupfs, the file events logger, private tmp and
//! volume dirs, and ulimits this host can grant.

use std::process::Command;

use super::image::{self, Format};
use super::{first_missing, which, Engine, Output, Sandbox, IMAGE};

pub struct Podman {
    sb: Sandbox,
    podman: String,
    /// Rootless: podman runs as this unprivileged user (name, uid).
    user: Option<(String, u32)>,
}

/// The unprivileged user `scripts/rootless-user.sh` makes (`NOOK_TEST_USER`).
fn test_user() -> Result<(String, u32), String> {
    let name = std::env::var("NOOK_TEST_USER").unwrap_or_else(|_| "nooktest".into());
    let out = Command::new("id")
        .args(["-u", &name])
        .output()
        .map_err(|e| format!("id: {e}"))?;
    let uid = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| format!("no user {name} (scripts/rootless-user.sh makes it)"))?;
    Ok((name, uid))
}

/// The containers.conf the test writes (`{dir}` is the sandbox).
pub fn config(dir: &str) -> String {
    format!(
        "[containers]\n\
         default_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n\
         netns = \"none\"\n\
         [engine]\n\
         cgroup_manager = \"cgroupfs\"\n\
         events_logger = \"file\"\n\
         events_logfile_path = \"{dir}/events.log\"\n\
         tmp_dir = \"{dir}/tmp\"\n\
         volume_path = \"{dir}/volumes\"\n\
         static_dir = \"{dir}/root/libpod\"\n\
         [network]\n\
         network_config_dir = \"{dir}/net\"\n"
    )
}

impl Podman {
    /// Load the image. Outer `Err`: skip (a binary is missing); inner `Err`: setup failed.
    pub fn start() -> Result<Result<Podman, String>, String> {
        if let Some(m) = first_missing(&["podman", "conmon"]) {
            return Err(format!("{m} not installed (make engine-deps)"));
        }
        if let Some(m) = first_missing(image::TOOLS) {
            return Err(format!("{m} not installed (make engine-deps)"));
        }
        Ok(Self::start_inner(None))
    }

    /// The same, with podman run by the unprivileged test user (rootless podman runs
    /// the runtime inside its own user namespace, as root there, with no `--root`).
    pub fn start_rootless() -> Result<Result<Podman, String>, String> {
        if let Some(m) = first_missing(&["podman", "conmon", "newuidmap", "runuser"]) {
            return Err(format!("{m} not installed (make engine-deps)"));
        }
        if let Some(m) = first_missing(image::TOOLS) {
            return Err(format!("{m} not installed (make engine-deps)"));
        }
        let user = test_user()?;
        if !std::path::Path::new(&format!("/run/user/{}", user.1)).is_dir() {
            return Err(format!(
                "/run/user/{} is missing (scripts/rootless-user.sh makes it)",
                user.1
            ));
        }
        Ok(Self::start_inner(Some(user)))
    }

    fn start_inner(user: Option<(String, u32)>) -> Result<Podman, String> {
        let sb = Sandbox::new(if user.is_some() { "podrl" } else { "podman" });
        let dir = sb.dir().to_string_lossy().into_owned();
        std::fs::write(sb.dir().join("containers.conf"), config(&dir))
            .map_err(|e| e.to_string())?;
        let p = Podman {
            podman: which("podman")
                .expect("checked")
                .to_string_lossy()
                .into_owned(),
            sb,
            user,
        };
        let archive = image::build(&p.sb, Format::Docker)?;
        if let Some((_, uid)) = &p.user {
            // The user's copy of the runtime (the checkout may be private) behind the
            // wrapper, and the whole sandbox theirs.
            p.sb.own_runtime_copy()?;
            std::fs::create_dir_all(p.sb.dir().join("home")).map_err(|e| e.to_string())?;
            let status = Command::new("chown")
                .args(["-R", &format!("{uid}:{uid}"), &dir])
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !status.success() {
                return Err(format!("chown -R {uid} {dir} failed"));
            }
        }
        let out = p.podman(&["load", "--input", &archive]);
        if !out.success() {
            return Err(format!("podman load failed:\n{out}"));
        }
        Ok(p)
    }

    fn podman(&self, args: &[&str]) -> Output {
        let mut cmd = match &self.user {
            None => Command::new(&self.podman),
            Some((name, uid)) => {
                let mut c = Command::new("runuser");
                c.args(["-u", name, "--", "env"])
                    .arg(format!("XDG_RUNTIME_DIR=/run/user/{uid}"))
                    .arg(format!("HOME={}", self.sb.path("home")))
                    .arg(format!("USER={name}"))
                    .arg(&self.podman);
                c
            }
        };
        cmd.env("CONTAINERS_CONF", self.sb.dir().join("containers.conf"))
            .arg("--root")
            .arg(self.sb.path("root"))
            .arg("--runroot")
            .arg(self.sb.path("rr"))
            .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"])
            .arg("--runtime")
            .arg(self.sb.wrapper())
            // No `--runtime-flag root=...`: podman passes no --root to a runtime it does not
            // know, and the `container cleanup` conmon runs at exit drops --runtime-flag, so
            // its `delete --force` would look in the default root and leak the container.
            .args(args);
        self.sb.run(cmd)
    }

    fn run_args<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        // Rootless on a v1 host: no cgroups to parent (podman refuses the flag).
        let mut args = match self.user {
            None => vec!["run", "--cgroup-parent", self.sb.cgroup_parent()],
            Some(_) => vec!["run"],
        };
        args.extend_from_slice(extra);
        args
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.podman(&["rm", "--all", "--force", "--time", "0"]);
        let _ = self.podman(&["rmi", "--all", "--force"]);
        // Rootless podman leaves a pause process (comm `podman`, parent 1) holding
        // its user namespace; the test user is ours alone, so each such one goes.
        if let Some((_, uid)) = &self.user {
            for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
                let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                    continue;
                };
                let status = std::fs::read_to_string(e.path().join("status")).unwrap_or_default();
                let field = |k: &str| {
                    status
                        .lines()
                        .find_map(|l| l.strip_prefix(k))
                        .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
                };
                let ours = field("Uid:").as_deref() == Some(uid.to_string().as_str());
                if ours
                    && field("Name:").as_deref() == Some("podman")
                    && field("PPid:").as_deref() == Some("1")
                {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
        }
    }
}

impl Engine for Podman {
    fn name(&self) -> &'static str {
        match self.user {
            None => "podman",
            Some(_) => "podman (rootless)",
        }
    }
    fn limits(&self) -> bool {
        // Rootless cgroups need a delegated v2 subtree (none on a v1/hybrid host).
        self.user.is_none()
            || std::path::Path::new("/sys/fs/cgroup/cgroup.subtree_control").exists()
    }
    fn run_rm(&self, flags: &[String], cmd: &[&str]) -> Output {
        let mut args = self.run_args(&["--rm"]);
        args.extend(flags.iter().map(String::as_str));
        args.push(IMAGE);
        args.extend_from_slice(cmd);
        self.podman(&args)
    }
    fn run_detached(&self, name: &str, cmd: &[&str]) -> Output {
        let mut args = self.run_args(&["--detach", "--name", name, IMAGE]);
        args.extend_from_slice(cmd);
        self.podman(&args)
    }
    fn exec(&self, name: &str, cmd: &[&str]) -> Output {
        let mut args = vec!["exec", name];
        args.extend_from_slice(cmd);
        self.podman(&args)
    }
    fn exec_tty(&self, name: &str, cmd: &[&str]) -> Output {
        let mut args = vec!["exec", "--tty", name];
        args.extend_from_slice(cmd);
        self.podman(&args)
    }
    fn status(&self, name: &str) -> String {
        let out = self.podman(&["inspect", "--format", "{{.State.Status}}", name]);
        out.stdout.trim().to_lowercase()
    }
    fn pause(&self, name: &str) -> Output {
        self.podman(&["pause", name])
    }
    fn unpause(&self, name: &str) -> Output {
        self.podman(&["unpause", name])
    }
    fn top(&self, name: &str) -> Output {
        self.podman(&["top", name])
    }
    fn stop(&self, name: &str) -> Output {
        self.podman(&["stop", "--time", "1", name])
    }
    fn kill(&self, name: &str) -> Output {
        self.podman(&["kill", name])
    }
    fn rm(&self, name: &str) -> Output {
        self.podman(&["rm", name])
    }
    fn exists(&self, name: &str) -> bool {
        self.podman(&["container", "exists", name]).success()
    }
    fn update_memory(&self, name: &str, bytes: u64) -> Option<Output> {
        let (limit, swap) = (bytes.to_string(), (2 * bytes).to_string());
        Some(self.podman(&["update", "--memory", &limit, "--memory-swap", &swap, name]))
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

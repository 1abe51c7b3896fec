//! An OCI config for an image, with docker's defaults (its capability set,
//! its seccomp profile, a private network namespace with loopback only, the
//! short id as hostname) changed by `nook run`'s configuration flags:
//! `mounts` (-v, --mount, --tmpfs), `security` (caps, --privileged,
//! --security-opt, --network), `limits` (resources, --ulimit, --env-file).

pub mod limits;
pub mod mounts;
pub mod security;

use crate::cli::front_config::ConfigArgs;
use crate::error::{Error, Result};
use crate::image::config::{resolve_user, ImageProcess};
pub use security::DOCKER_CAPS;
use serde_json::{json, Map, Value};
use std::path::Path;

/// What the command line asks of the container's process.
#[derive(Debug, Clone, Default)]
pub struct ProcessRequest {
    pub args: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub tty: bool,
    pub hostname: Option<String>,
}

/// The configuration flags, checked: every value is known good before any
/// file, snapshot or container exists.
#[derive(Debug, Clone)]
pub struct Settings {
    /// From `--env-file`s, in order (before `-e`, which wins).
    pub file_env: Vec<String>,
    pub mounts: Vec<mounts::MountReq>,
    pub read_only: bool,
    pub own_netns: bool,
    pub privileged: bool,
    pub caps: Vec<String>,
    pub seccomp: security::Seccomp,
    pub no_new_privileges: bool,
    pub resources: Map<String, Value>,
    pub rlimits: Vec<Value>,
    /// A limit the cgroup layer could not apply is an error, not a warning.
    pub strict_limits: bool,
}

impl Settings {
    pub fn parse(a: &ConfigArgs) -> Result<Settings> {
        let mut file_env = Vec::new();
        for f in &a.env_file {
            let text = std::fs::read_to_string(f)
                .map_err(|e| Error::Usage(format!("--env-file {}: {e}", f.display())))?;
            file_env.extend(limits::env_file(f, &text)?);
        }
        let mut mounts = Vec::new();
        for v in &a.volume {
            mounts.push(mounts::parse_volume(v)?);
        }
        for m in &a.mount {
            mounts.push(mounts::parse_mount(m)?);
        }
        for t in &a.tmpfs {
            mounts.push(mounts::parse_tmpfs(t)?);
        }
        mounts::check_duplicates(&mounts)?;
        let caps = security::tweak(&a.cap_add, &a.cap_drop)?;
        let caps = if a.privileged {
            security::all_caps()
        } else {
            caps
        };
        let (seccomp, no_new_privileges) = security::security_opts(&a.security_opt, &caps)?;
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Settings {
            file_env,
            mounts,
            read_only: a.read_only,
            own_netns: security::own_netns(a.network.as_deref())?,
            privileged: a.privileged,
            caps: if a.privileged {
                security::all_caps()
            } else {
                caps
            },
            seccomp,
            no_new_privileges,
            resources: limits::resources(a, cpus)?,
            rlimits: limits::rlimits(&a.ulimit)?,
            strict_limits: a.strict_limits,
        })
    }
}

impl Settings {
    /// How `create` treats a limit the cgroup layer could not apply.
    pub fn limit_policy(&self) -> crate::container::LimitPolicy {
        if self.strict_limits {
            crate::container::LimitPolicy::Strict
        } else {
            crate::container::LimitPolicy::Warn
        }
    }
}

/// As if no configuration flag was given: docker's defaults.
impl Default for Settings {
    fn default() -> Settings {
        Settings::parse(&ConfigArgs::default()).expect("the defaults are valid")
    }
}

/// The container's OCI config. `volumes` is the store's volume directory
/// (named volumes are made there on first use).
pub fn config(
    image: &ImageProcess,
    req: &ProcessRequest,
    set: &Settings,
    rootfs: &Path,
    id: &str,
    volumes: &Path,
) -> Result<Value> {
    let args = image.args(req.entrypoint.as_deref(), &req.args)?;
    let user = resolve_user(req.user.as_deref().unwrap_or(&image.user), rootfs)?;
    let hostname = match &req.hostname {
        Some(h) => h.clone(),
        // docker: a container on the host's network has the host's name.
        None if !set.own_netns => nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| id[..12].to_string()),
        None => id[..12].to_string(),
    };
    let env = environment(image, req, set, &hostname);
    let cwd = req
        .workdir
        .clone()
        .unwrap_or_else(|| image.working_dir.clone());
    let mut spec = crate::spec::default_spec(false, 0, 0);
    spec["process"] = json!({
        "terminal": req.tty,
        "user": {"uid": user.uid, "gid": user.gid, "additionalGids": user.additional_gids},
        "args": args,
        "env": env,
        "cwd": if cwd.is_empty() { "/".to_string() } else { cwd },
        "capabilities": {"bounding": set.caps, "effective": set.caps, "permitted": set.caps},
        "noNewPrivileges": set.no_new_privileges
    });
    if !set.rlimits.is_empty() {
        spec["process"]["rlimits"] = set.rlimits.clone().into();
    }
    spec["root"] = json!({"path": rootfs, "readonly": set.read_only});
    spec["hostname"] = json!(hostname);
    spec["linux"]["cgroupsPath"] = json!(format!("nook/{id}"));
    for (k, v) in &set.resources {
        spec["linux"]["resources"][k] = v.clone();
    }
    match &set.seccomp {
        _ if set.privileged => {}
        security::Seccomp::Default => {
            spec["linux"]["seccomp"] =
                crate::plan::seccomp::default_profile(security::mask(&set.caps))
        }
        security::Seccomp::Unconfined => {}
        security::Seccomp::Profile(p) => spec["linux"]["seccomp"] = p.clone(),
    }
    if !set.own_netns {
        if let Some(ns) = spec["linux"]["namespaces"].as_array_mut() {
            ns.retain(|n| n["type"] != "network");
        }
    }
    if set.privileged {
        privileged(&mut spec);
    }
    add_mounts(&mut spec, set, volumes, rootfs)?;
    Ok(spec)
}

fn environment(
    image: &ImageProcess,
    req: &ProcessRequest,
    set: &Settings,
    hostname: &str,
) -> Vec<String> {
    let overrides: Vec<String> = set.file_env.iter().chain(&req.env).cloned().collect();
    let mut env = image.env_with(&overrides);
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(0, format!("PATH={}", crate::image::config::DEFAULT_PATH));
    }
    if !env.iter().any(|e| e.starts_with("HOSTNAME=")) {
        env.push(format!("HOSTNAME={hostname}"));
    }
    if req.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    env
}

/// docker's --privileged: no masked or read-only paths, /sys and the cgroup
/// tree writable, every host device, and the device cgroup open.
fn privileged(spec: &mut Value) {
    spec["linux"]["maskedPaths"] = json!([]);
    spec["linux"]["readonlyPaths"] = json!([]);
    for m in spec["mounts"].as_array_mut().into_iter().flatten() {
        if m["type"] == "sysfs" || m["type"] == "cgroup" {
            if let Some(o) = m["options"].as_array_mut() {
                o.retain(|o| o != "ro");
            }
        }
    }
    spec["linux"]["devices"] = security::host_devices().into();
    spec["linux"]["resources"]["devices"] = json!([{"allow": true, "access": "rwm"}]);
}

/// The flags' mounts after the defaults, parents before children (as docker
/// sorts them); a flag's mount on a default destination replaces it.
fn add_mounts(spec: &mut Value, set: &Settings, volumes: &Path, rootfs: &Path) -> Result<()> {
    let mut reqs: Vec<&mounts::MountReq> = set.mounts.iter().collect();
    reqs.sort_by_key(|m| Path::new(m.target()).components().count());
    let dir = |name: Option<&str>, target: &str, nocopy: bool| {
        let (data, new) = crate::front::volume::ensure_new(volumes, name)?;
        if new && !nocopy {
            crate::front::volume::copy_up(rootfs, target, &data)?;
        }
        Ok(data)
    };
    let list = spec["mounts"].as_array_mut().expect("default mounts");
    for m in reqs {
        let t = m.target().trim_end_matches('/');
        list.retain(|d| d["destination"] != t);
        list.push(mounts::oci_mount(m, &dir)?);
    }
    Ok(())
}

//! An OCI config for an image, with docker's defaults: its capability set,
//! its seccomp profile, a private network namespace, the short id as hostname.

use crate::error::Result;
use crate::image::config::{resolve_user, ImageProcess};
use serde_json::{json, Value};
use std::path::Path;

/// docker's default capabilities.
pub const DOCKER_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

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

pub fn config(
    image: &ImageProcess,
    req: &ProcessRequest,
    rootfs: &Path,
    id: &str,
) -> Result<Value> {
    let args = image.args(req.entrypoint.as_deref(), &req.args)?;
    let user = resolve_user(req.user.as_deref().unwrap_or(&image.user), rootfs)?;
    let mut env = image.env_with(&req.env);
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(0, format!("PATH={}", crate::image::config::DEFAULT_PATH));
    }
    if !env.iter().any(|e| e.starts_with("HOSTNAME=")) {
        env.push(format!(
            "HOSTNAME={}",
            req.hostname.clone().unwrap_or_else(|| id[..12].to_string())
        ));
    }
    if req.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    let cwd = req
        .workdir
        .clone()
        .unwrap_or_else(|| image.working_dir.clone());
    let caps_mask = DOCKER_CAPS
        .iter()
        .filter_map(|c| c.parse::<caps::Capability>().ok())
        .fold(0u64, |m, c| m | (1 << c.index()));
    let mut spec = crate::spec::default_spec(false, 0, 0);
    spec["process"] = json!({
        "terminal": req.tty,
        "user": {"uid": user.uid, "gid": user.gid, "additionalGids": user.additional_gids},
        "args": args,
        "env": env,
        "cwd": if cwd.is_empty() { "/".to_string() } else { cwd },
        "capabilities": {"bounding": DOCKER_CAPS, "effective": DOCKER_CAPS, "permitted": DOCKER_CAPS},
        "noNewPrivileges": false
    });
    spec["root"] = json!({"path": rootfs, "readonly": false});
    spec["hostname"] = json!(req.hostname.clone().unwrap_or_else(|| id[..12].to_string()));
    spec["linux"]["seccomp"] = crate::plan::seccomp::default_profile(caps_mask);
    spec["linux"]["cgroupsPath"] = json!(format!("nook/{id}"));
    Ok(spec)
}

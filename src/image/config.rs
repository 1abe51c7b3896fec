//! What a container needs from an image's config, as plain data for `nook run`:
//! Entrypoint, Cmd, Env, WorkingDir, User (resolved against the image's own
//! /etc/passwd and /etc/group, read beneath the rootfs), ExposedPorts, Volumes,
//! StopSignal, Labels. docker's rules for combining them with the command line.
#![forbid(unsafe_code)]

mod user;

pub use user::{resolve_user, User};

use crate::error::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageProcess {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// `KEY=VALUE`, with `PATH` added when the image has none.
    pub env: Vec<String>,
    /// Absolute; `/` when the image says nothing.
    pub working_dir: String,
    /// As written in the image (`name`, `uid`, `name:group`, `uid:gid`); empty for root.
    pub user: String,
    /// `80/tcp`, `53/udp`, sorted.
    pub exposed_ports: Vec<String>,
    pub volumes: Vec<String>,
    pub stop_signal: Option<String>,
    pub labels: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Raw {
    #[serde(default)]
    entrypoint: Option<Vec<String>>,
    #[serde(default)]
    cmd: Option<Vec<String>>,
    #[serde(default)]
    env: Option<Vec<String>>,
    #[serde(default)]
    working_dir: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    volumes: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    stop_signal: Option<String>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct Outer {
    #[serde(default)]
    config: Option<Raw>,
}

impl ImageProcess {
    /// From the config blob's bytes.
    pub fn from_config(data: &[u8]) -> Result<ImageProcess> {
        let outer: Outer =
            serde_json::from_slice(data).map_err(|e| Error::format("image config", e))?;
        let r = outer.config.unwrap_or_default();
        let mut env = r.env.unwrap_or_default();
        if !env.iter().any(|e| e.starts_with("PATH=")) {
            env.insert(0, format!("PATH={DEFAULT_PATH}"));
        }
        let wd = r
            .working_dir
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".into());
        if !wd.starts_with('/') {
            return Err(Error::format(
                "image config",
                format!("WorkingDir {wd:?} is not absolute"),
            ));
        }
        Ok(ImageProcess {
            entrypoint: r.entrypoint.unwrap_or_default(),
            cmd: r.cmd.unwrap_or_default(),
            env,
            working_dir: wd,
            user: r.user.unwrap_or_default(),
            exposed_ports: r.exposed_ports.unwrap_or_default().into_keys().collect(),
            volumes: r.volumes.unwrap_or_default().into_keys().collect(),
            stop_signal: r.stop_signal.filter(|s| !s.is_empty()),
            labels: r.labels.unwrap_or_default(),
        })
    }

    /// docker's rule: `--entrypoint` replaces the image's entrypoint and drops
    /// its Cmd; arguments after the image name replace Cmd.
    pub fn args(&self, entrypoint: Option<&[String]>, cmd: &[String]) -> Result<Vec<String>> {
        let (ep, image_cmd) = match entrypoint {
            Some(e) => (e.to_vec(), Vec::new()),
            None => (self.entrypoint.clone(), self.cmd.clone()),
        };
        let cmd = if cmd.is_empty() {
            image_cmd
        } else {
            cmd.to_vec()
        };
        let args: Vec<String> = ep.into_iter().chain(cmd).collect();
        if args.is_empty() {
            return Err(Error::Usage("no command specified".into()));
        }
        Ok(args)
    }

    /// The image's env with `-e KEY=VALUE` (or `-e KEY`, dropped) applied on top.
    pub fn env_with(&self, overrides: &[String]) -> Vec<String> {
        let mut env = self.env.clone();
        for o in overrides {
            let key = o.split('=').next().unwrap_or(o);
            env.retain(|e| e.split('=').next() != Some(key));
            if o.contains('=') {
                env.push(o.clone());
            }
        }
        env
    }
}

#[cfg(test)]
mod tests;

//! The six hook kinds, as plain data.

use oci_spec::runtime::Hook;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl HookKind {
    pub fn name(self) -> &'static str {
        match self {
            HookKind::Prestart => "prestart",
            HookKind::CreateRuntime => "createRuntime",
            HookKind::CreateContainer => "createContainer",
            HookKind::StartContainer => "startContainer",
            HookKind::Poststart => "poststart",
            HookKind::Poststop => "poststop",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HookPlan {
    pub path: PathBuf,
    /// argv, including argv[0]; defaults to the path.
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Hooks {
    pub prestart: Vec<HookPlan>,
    pub create_runtime: Vec<HookPlan>,
    pub create_container: Vec<HookPlan>,
    pub start_container: Vec<HookPlan>,
    pub poststart: Vec<HookPlan>,
    pub poststop: Vec<HookPlan>,
}

impl Hooks {
    pub fn of(&self, kind: HookKind) -> &[HookPlan] {
        match kind {
            HookKind::Prestart => &self.prestart,
            HookKind::CreateRuntime => &self.create_runtime,
            HookKind::CreateContainer => &self.create_container,
            HookKind::StartContainer => &self.start_container,
            HookKind::Poststart => &self.poststart,
            HookKind::Poststop => &self.poststop,
        }
    }
}

fn convert(hooks: &Option<Vec<Hook>>) -> Vec<HookPlan> {
    hooks
        .iter()
        .flatten()
        .map(|h| HookPlan {
            path: h.path().clone(),
            args: h
                .args()
                .clone()
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| vec![h.path().to_string_lossy().into_owned()]),
            env: h.env().clone().unwrap_or_default(),
            timeout: h
                .timeout()
                .filter(|t| *t > 0)
                .map(|t| Duration::from_secs(t as u64)),
        })
        .collect()
}

pub fn plan(hooks: Option<&oci_spec::runtime::Hooks>) -> Hooks {
    let Some(h) = hooks else {
        return Hooks::default();
    };
    #[allow(deprecated)]
    let prestart = convert(h.prestart());
    Hooks {
        prestart,
        create_runtime: convert(h.create_runtime()),
        create_container: convert(h.create_container()),
        start_container: convert(h.start_container()),
        poststart: convert(h.poststart()),
        poststop: convert(h.poststop()),
    }
}

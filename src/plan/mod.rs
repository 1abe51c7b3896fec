//! `Plan::build(&Spec, &Host)`: a pure function from the configuration and the
//! host's facts to plain data that the launch code carries out step by step.
//! No system calls happen here, so everything in it is unit-tested as data.
#![forbid(unsafe_code)]

pub mod cgroup;
pub mod features;
mod hooks;
mod ids;
mod mounts;
mod namespaces;
mod process;
pub mod seccomp;

pub use hooks::{HookKind, HookPlan, Hooks};
pub use ids::{IdMap, IdMaps, MapWriter};
pub use mounts::{
    propagation_flag, Device, DeviceKind, DeviceMethod, MountKind, MountOp, DEFAULT_DEVICES,
};
pub use namespaces::{NsKind, NsOp};
pub use process::{home_for, CapSets, ProcessPlan, Rlimit};

use crate::error::{Error, Result};
use crate::host::Host;
use nix::mount::MsFlags;
use oci_spec::runtime::Spec;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Everything the launch needs, decided up front.
#[derive(Debug, Clone)]
pub struct Plan {
    pub id: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub rootfs_readonly: bool,
    pub no_pivot: bool,
    pub namespaces: Vec<NsOp>,
    pub id_maps: Option<IdMaps>,
    /// Propagation applied to "/" before the mounts (`rootfsPropagation`, rslave by default).
    pub root_propagation: MsFlags,
    pub mounts: Vec<MountOp>,
    /// Device nodes to create in /dev (empty when /dev is bind-mounted from the host).
    pub devices: Vec<Device>,
    pub device_method: DeviceMethod,
    pub masked_paths: Vec<PathBuf>,
    pub readonly_paths: Vec<PathBuf>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub sysctl: Vec<(String, String)>,
    pub process: ProcessPlan,
    pub hooks: Hooks,
    pub cgroup: CgroupPlan,
    /// The seccomp filter, compiled here (before any clone); loaded by init.
    pub seccomp: Option<seccomp::SeccompPlan>,
    pub annotations: BTreeMap<String, String>,
    /// Parts of the configuration that this version does not apply, with the reason.
    pub not_applied: Vec<String>,
}

/// Where the container's cgroup goes and what is written into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupPlan {
    pub path: cgroup::CgroupPath,
    pub writes: Vec<cgroup::Write>,
    /// On a v2 host: the device allow-list as an eBPF program, attached to the cgroup.
    pub device_program: Option<Vec<cgroup::bpf::Insn>>,
}

/// Options from the command line that shape the plan.
#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    pub no_pivot: bool,
    /// The seccomp program for `linux.seccomp`, compiled earlier for this very
    /// profile (container/seccomp_cache.rs): used instead of compiling again.
    pub seccomp_program: Option<Vec<seccomp::Insn>>,
}

impl Plan {
    pub fn build(
        id: &str,
        bundle: &Path,
        spec: &Spec,
        host: &Host,
        opts: &LaunchOptions,
    ) -> Result<Plan> {
        let root = spec
            .root()
            .as_ref()
            .ok_or_else(|| Error::config("root", "missing"))?;
        let rootfs = if root.path().is_absolute() {
            root.path().clone()
        } else {
            bundle.join(root.path())
        };
        let linux = spec
            .linux()
            .as_ref()
            .ok_or_else(|| Error::config("linux", "missing"))?;
        let namespaces = namespaces::plan(linux.namespaces().as_deref().unwrap_or(&[]));
        let new_userns = namespaces
            .iter()
            .any(|n| n.kind == NsKind::User && n.path.is_none());
        let id_maps = ids::plan(linux, new_userns, host)?;
        if host.euid != 0 && !namespaces.iter().any(|n| n.kind == NsKind::User) {
            return Err(Error::unsupported(
                "linux.namespaces",
                format!(
                    "running as uid {} needs a user namespace: add {{\"type\": \"user\"}} with \
                     linux.uidMappings and linux.gidMappings (`nook-runtime spec --rootless` writes one)",
                    host.euid
                ),
            ));
        }
        let mut mounts = mounts::plan(spec.mounts().as_deref().unwrap_or(&[]), bundle, host)?;
        let own_net = namespaces
            .iter()
            .any(|n| n.kind == NsKind::Net && n.path.is_none());
        if !own_net && (host.euid != 0 || host.in_userns || new_userns) {
            mounts::bind_sysfs(&mut mounts);
        }
        let dev_from_host = mounts
            .iter()
            .any(|m| m.dest == Path::new("/dev") && matches!(m.kind, MountKind::Bind { .. }));
        let devices = if dev_from_host {
            Vec::new()
        } else {
            mounts::devices(linux.devices().as_deref().unwrap_or(&[]))?
        };
        // Inside any user namespace (new or joined) mknod is refused.
        let any_userns = namespaces.iter().any(|n| n.kind == NsKind::User);
        let device_method = if host.can_mknod() && !any_userns {
            DeviceMethod::Mknod
        } else {
            DeviceMethod::Bind
        };
        let rootfs_propagation = match linux.rootfs_propagation() {
            Some(p) => Some(propagation_flag(p).ok_or_else(|| {
                Error::config("linux.rootfsPropagation", format!("unknown value {p:?}"))
            })?),
            None => None,
        };
        let mut sysctl: Vec<(String, String)> = linux
            .sysctl()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        sysctl.sort();
        let mut not_applied = Vec::new();
        let cgroup = plan_cgroup(id, linux, host, &devices)?;
        let seccomp = match linux.seccomp() {
            Some(s) => Some(seccomp::plan_with(
                s,
                &mut not_applied,
                opts.seccomp_program.clone(),
            )?),
            None => None,
        };
        let process = process::plan(spec, &mut not_applied)?;
        Ok(Plan {
            id: id.to_string(),
            bundle: bundle.to_path_buf(),
            rootfs,
            rootfs_readonly: root.readonly().unwrap_or(false),
            no_pivot: opts.no_pivot,
            namespaces,
            id_maps,
            // As runc: the configured propagation for "/", rslave by default.
            root_propagation: rootfs_propagation.unwrap_or(MsFlags::MS_SLAVE | MsFlags::MS_REC),
            mounts,
            devices,
            device_method,
            masked_paths: linux
                .masked_paths()
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(PathBuf::from)
                .collect(),
            readonly_paths: linux
                .readonly_paths()
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(PathBuf::from)
                .collect(),
            // runc leaves the name alone when it is empty.
            hostname: spec.hostname().clone().filter(|h| !h.is_empty()),
            domainname: spec.domainname().clone(),
            sysctl,
            process,
            hooks: hooks::plan(spec.hooks().as_ref()),
            cgroup,
            seccomp,
            annotations: spec
                .annotations()
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            not_applied,
        })
    }

    pub fn has_new(&self, kind: NsKind) -> bool {
        self.namespaces
            .iter()
            .any(|n| n.kind == kind && n.path.is_none())
    }

    pub fn has(&self, kind: NsKind) -> bool {
        self.namespaces.iter().any(|n| n.kind == kind)
    }
}

fn plan_cgroup(
    id: &str,
    linux: &oci_spec::runtime::Linux,
    host: &Host,
    devices: &[Device],
) -> Result<CgroupPlan> {
    let path = cgroup::path(linux.cgroups_path().as_deref().and_then(Path::to_str), id)?;
    let default = oci_spec::runtime::LinuxResources::default();
    let res = linux.resources().as_ref().unwrap_or(&default);
    let rules = res.devices().clone().unwrap_or_default();
    let mut device_program = None;
    let writes = match &host.cgroups {
        crate::host::CgroupLayout::Legacy { .. } => {
            if res.unified().as_ref().is_some_and(|u| !u.is_empty()) {
                return Err(Error::config(
                    "linux.resources.unified",
                    "cgroup v2 keys cannot be applied on this cgroup v1 host",
                ));
            }
            let mut w = cgroup::v1_writes(res);
            w.extend(cgroup::v1_device_rules(&rules, devices));
            w
        }
        crate::host::CgroupLayout::Unified => {
            let rules = cgroup::device_rules(&rules, devices);
            device_program = Some(cgroup::bpf::device_program(&rules));
            cgroup::v2_writes(res)?
        }
        crate::host::CgroupLayout::None => Vec::new(),
    };
    Ok(CgroupPlan {
        path,
        writes,
        device_program,
    })
}

#[cfg(test)]
mod tests;

/// For other modules' tests: the plan of runc's default config, as edited,
/// for real root on a cgroup v2 host.
#[cfg(test)]
pub fn for_test(edit: impl FnOnce(&mut serde_json::Value)) -> Plan {
    let mut v = crate::spec::default_spec(false, 0, 0);
    edit(&mut v);
    let spec = crate::spec::parse(v.to_string().as_bytes()).unwrap();
    let host = crate::host::Host {
        euid: 0,
        egid: 0,
        in_userns: false,
        delegation: None,
        cgroups: crate::host::CgroupLayout::Unified,
        exe: "/usr/bin/nook-runtime".into(),
    };
    let opts = LaunchOptions::default();
    Plan::build("c1", std::path::Path::new("/b"), &spec, &host, &opts).unwrap()
}

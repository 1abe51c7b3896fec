//! Which namespaces to create and which to join, in the order the kernel needs.

use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NsKind {
    // Order matters: the user namespace is joined first (it owns the others),
    // the mount namespace last (joining it changes what paths mean).
    User,
    Pid,
    Ipc,
    Uts,
    Net,
    Cgroup,
    Time,
    Mount,
}

impl NsKind {
    pub fn flag(self) -> CloneFlags {
        match self {
            NsKind::User => CloneFlags::CLONE_NEWUSER,
            NsKind::Pid => CloneFlags::CLONE_NEWPID,
            NsKind::Ipc => CloneFlags::CLONE_NEWIPC,
            NsKind::Uts => CloneFlags::CLONE_NEWUTS,
            NsKind::Net => CloneFlags::CLONE_NEWNET,
            NsKind::Cgroup => CloneFlags::CLONE_NEWCGROUP,
            NsKind::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
            NsKind::Mount => CloneFlags::CLONE_NEWNS,
        }
    }

    /// The name used in /proc/PID/ns/ and in runc's messages.
    pub fn proc_name(self) -> &'static str {
        match self {
            NsKind::User => "user",
            NsKind::Pid => "pid",
            NsKind::Ipc => "ipc",
            NsKind::Uts => "uts",
            NsKind::Net => "net",
            NsKind::Cgroup => "cgroup",
            NsKind::Time => "time",
            NsKind::Mount => "mnt",
        }
    }

    fn from_spec(t: LinuxNamespaceType) -> NsKind {
        match t {
            LinuxNamespaceType::User => NsKind::User,
            LinuxNamespaceType::Pid => NsKind::Pid,
            LinuxNamespaceType::Ipc => NsKind::Ipc,
            LinuxNamespaceType::Uts => NsKind::Uts,
            LinuxNamespaceType::Network => NsKind::Net,
            LinuxNamespaceType::Cgroup => NsKind::Cgroup,
            LinuxNamespaceType::Time => NsKind::Time,
            LinuxNamespaceType::Mount => NsKind::Mount,
        }
    }
}

/// A namespace to create (`path: None`) or to join (`path: Some`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsOp {
    pub kind: NsKind,
    pub path: Option<PathBuf>,
}

pub fn plan(spec: &[LinuxNamespace]) -> Vec<NsOp> {
    let mut ops: Vec<NsOp> = spec
        .iter()
        .map(|n| NsOp {
            kind: NsKind::from_spec(n.typ()),
            path: n.path().clone(),
        })
        .collect();
    ops.sort_by_key(|o| o.kind);
    ops
}

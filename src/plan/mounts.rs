//! Mount operations and device nodes, computed from `mounts` and `linux.devices`.

use crate::error::{Error, Result};
use crate::host::{CgroupLayout, Host};
use nix::mount::MsFlags;
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType, Mount};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    /// A bind mount of a host path (`recursive` for rbind).
    Bind { recursive: bool },
    /// A filesystem mount: proc, sysfs, tmpfs, devpts, mqueue, cgroup2, ...
    Fs { fstype: String },
    /// `type: cgroup` on a v1/hybrid host: a tmpfs with one bind per controller.
    CgroupV1 { controllers: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOp {
    pub source: Option<PathBuf>,
    /// Absolute path inside the container; resolved beneath the rootfs at launch.
    pub dest: PathBuf,
    pub kind: MountKind,
    /// Flags for mount(2), without propagation flags.
    pub flags: MsFlags,
    /// Propagation changes applied after the mount, in order.
    pub propagation: Vec<MsFlags>,
    /// Filesystem-specific options (`mode=755,size=65536k`).
    pub data: String,
}

impl MountOp {
    /// Flags that need a second, remounting call when the mount is a bind.
    pub fn needs_bind_remount(&self) -> bool {
        matches!(self.kind, MountKind::Bind { .. })
            && !(self.flags - MsFlags::MS_BIND - MsFlags::MS_REC).is_empty()
    }
}

/// sysfs can be mounted only by the owner of the network namespace: without a
/// new one (in a user namespace, or unprivileged) the host's /sys is bound
/// recursively instead, with the flags asked for (as runc does).
pub fn bind_sysfs(mounts: &mut [MountOp]) {
    for m in mounts.iter_mut().filter(|m| {
        m.kind
            == (MountKind::Fs {
                fstype: "sysfs".into(),
            })
    }) {
        m.kind = MountKind::Bind { recursive: true };
        m.source = Some(PathBuf::from("/sys"));
        m.flags |= MsFlags::MS_BIND | MsFlags::MS_REC;
        m.data.clear();
    }
}

/// Parse one propagation word (`rslave`, `private`, ...).
pub fn propagation_flag(word: &str) -> Option<MsFlags> {
    Some(match word {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    })
}

/// Split options into (flags to set, flags to clear, propagation, data).
pub(crate) fn parse_options(opts: &[String]) -> (MsFlags, Vec<MsFlags>, Vec<String>) {
    let mut flags = MsFlags::empty();
    let mut prop = Vec::new();
    let mut data = Vec::new();
    for o in opts {
        let (set, clear) = match o.as_str() {
            "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
            "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
            "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
            "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
            "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
            "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
            "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
            "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
            "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
            "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty()),
            "remount" => (MsFlags::MS_REMOUNT, MsFlags::empty()),
            "mand" => (MsFlags::MS_MANDLOCK, MsFlags::empty()),
            "nomand" => (MsFlags::empty(), MsFlags::MS_MANDLOCK),
            "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty()),
            "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME),
            "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty()),
            "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME),
            "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty()),
            "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME),
            "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty()),
            "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME),
            "bind" => (MsFlags::MS_BIND, MsFlags::empty()),
            "rbind" => (MsFlags::MS_BIND | MsFlags::MS_REC, MsFlags::empty()),
            // runc's copy-up of tmpfs contents is not implemented; the option is accepted.
            "tmpcopyup" => continue,
            w => {
                if let Some(p) = propagation_flag(w) {
                    prop.push(p);
                } else {
                    data.push(w.to_string());
                }
                continue;
            }
        };
        flags = (flags | set) - clear;
    }
    (flags, prop, data)
}

fn plan_one(i: usize, m: &Mount, bundle: &Path, host: &Host) -> Result<MountOp> {
    let opts = m.options().clone().unwrap_or_default();
    let (flags, propagation, data) = parse_options(&opts);
    let typ = m.typ().clone().unwrap_or_default();
    let is_bind = typ == "bind" || flags.contains(MsFlags::MS_BIND);
    let source = m.source().as_ref().map(|s| {
        if s.is_absolute() {
            s.clone()
        } else {
            bundle.join(s)
        }
    });
    let kind = if is_bind {
        if source.is_none() {
            return Err(Error::config(
                format!("mounts[{i}].source"),
                "a bind mount needs a source",
            ));
        }
        MountKind::Bind {
            recursive: flags.contains(MsFlags::MS_REC),
        }
    } else if typ.is_empty() || typ == "none" {
        return Err(Error::config(
            format!("mounts[{i}].type"),
            "missing (and no bind option)",
        ));
    } else if typ == "cgroup" {
        match &host.cgroups {
            CgroupLayout::Unified => MountKind::Fs {
                fstype: "cgroup2".into(),
            },
            CgroupLayout::Legacy { controllers } => MountKind::CgroupV1 {
                controllers: controllers.clone(),
            },
            CgroupLayout::None => MountKind::Fs {
                fstype: "tmpfs".into(),
            },
        }
    } else {
        MountKind::Fs {
            fstype: typ.clone(),
        }
    };
    let source = match &kind {
        MountKind::Bind { .. } => source,
        _ => Some(m.source().clone().unwrap_or_else(|| PathBuf::from(&typ))),
    };
    Ok(MountOp {
        source,
        dest: m.destination().clone(),
        kind,
        flags,
        propagation,
        data: data.join(","),
    })
}

pub fn plan(mounts: &[Mount], bundle: &Path, host: &Host) -> Result<Vec<MountOp>> {
    mounts
        .iter()
        .enumerate()
        .map(|(i, m)| plan_one(i, m, bundle, host))
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Char,
    Block,
    Fifo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceMethod {
    /// mknod, as real root.
    Mknod,
    /// Bind-mount the host's node onto an empty file (inside a user namespace).
    Bind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub path: PathBuf,
    pub kind: DeviceKind,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// The nodes every container gets: (name, major, minor).
pub const DEFAULT_DEVICES: [(&str, u64, u64); 6] = [
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

pub fn devices(spec: &[LinuxDevice]) -> Result<Vec<Device>> {
    let mut out: Vec<Device> = DEFAULT_DEVICES
        .iter()
        .map(|(p, ma, mi)| Device {
            path: PathBuf::from(p),
            kind: DeviceKind::Char,
            major: *ma,
            minor: *mi,
            mode: 0o666,
            uid: 0,
            gid: 0,
        })
        .collect();
    for (i, d) in spec.iter().enumerate() {
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => DeviceKind::Char,
            LinuxDeviceType::B => DeviceKind::Block,
            LinuxDeviceType::P => DeviceKind::Fifo,
            LinuxDeviceType::A => {
                return Err(Error::config(
                    format!("linux.devices[{i}].type"),
                    "\"a\" is not a device node type",
                ))
            }
        };
        if !d.path().starts_with("/dev/") {
            return Err(Error::config(
                format!("linux.devices[{i}].path"),
                format!("{:?} is not under /dev", d.path()),
            ));
        }
        if d.major() < 0 || d.minor() < 0 {
            return Err(Error::config(
                format!("linux.devices[{i}]"),
                "negative major or minor",
            ));
        }
        out.retain(|o| o.path != *d.path());
        out.push(Device {
            path: d.path().clone(),
            kind,
            major: d.major() as u64,
            minor: d.minor() as u64,
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        });
    }
    Ok(out)
}

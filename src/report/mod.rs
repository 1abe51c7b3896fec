//! What a process can observe about its own isolation, as data: the test
//! probe's `report` (runtime-tests' `/probe`, which calls [`collect`]) and
//! `nook isolation` (which runs [`collect`] inside a container and reads the
//! per-process parts of the container's init from the host with [`process`]).
//! One implementation, so both produce the same fields. Unreadable values
//! become null (or empty) rather than failing the report.
#![forbid(unsafe_code)]

pub mod parse;
pub mod process;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub use parse::Mount;

/// Everything `probe report` prints (field names are the probe's JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub pid: u32,
    pub ppid: u32,
    pub processes: Vec<u64>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub uid: Option<[u32; 4]>,
    pub gid: Option<[u32; 4]>,
    pub groups: Option<Vec<u32>>,
    pub caps: BTreeMap<String, Option<String>>,
    pub no_new_privs: Option<bool>,
    pub seccomp: i64,
    pub umask: Option<u32>,
    pub oom_score_adj: Option<i64>,
    pub mounts: Vec<Mount>,
    pub namespaces: BTreeMap<String, u64>,
    pub rlimits: BTreeMap<String, Option<[u64; 2]>>,
    pub cwd: String,
    pub env: Vec<String>,
    pub fds: Vec<i32>,
    pub fd_targets: BTreeMap<String, Option<String>>,
    pub tty: BTreeMap<String, Value>,
    pub cgroup: Vec<String>,
    pub sysctl: BTreeMap<String, Option<String>>,
}

/// The capability sets: (report name, /proc/PID/status key).
pub const CAPS: [(&str, &str); 5] = [
    ("inheritable", "CapInh"),
    ("permitted", "CapPrm"),
    ("effective", "CapEff"),
    ("bounding", "CapBnd"),
    ("ambient", "CapAmb"),
];

/// The namespace kinds under /proc/PID/ns.
pub const NAMESPACES: [&str; 9] = [
    "cgroup",
    "ipc",
    "mnt",
    "net",
    "pid",
    "pid_for_children",
    "time",
    "user",
    "uts",
];

const SYSCTLS: [&str; 3] = ["kernel.shmmax", "net.ipv4.ip_forward", "kernel.msgmax"];

fn read_trimmed(path: &str) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

fn readlink(path: &str) -> Option<String> {
    fs::read_link(path)
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// The numeric entries of /proc: the pids this pid namespace can see.
pub fn processes() -> Vec<u64> {
    let mut pids: Vec<u64> = fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    pids.sort_unstable();
    pids
}

/// Open fds, without the one read_dir used for /proc/self/fd: that one is closed once
/// the iterator is dropped, so checking each fd afterwards filters it out.
fn fds() -> Vec<i32> {
    let listed: Vec<i32> = fs::read_dir("/proc/self/fd")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let mut open: Vec<i32> = listed
        .into_iter()
        .filter(|fd| !crate::kernel::process::open_fds(*fd..*fd + 1).is_empty())
        .collect();
    open.sort_unstable();
    open
}

/// Namespace inodes of a process (`proc` is "self" or a pid).
pub fn namespaces(proc: &str) -> BTreeMap<String, u64> {
    NAMESPACES
        .iter()
        .filter_map(|ns| {
            let meta = fs::metadata(format!("/proc/{proc}/ns/{ns}")).ok()?;
            Some((ns.to_string(), meta.ino()))
        })
        .collect()
}

fn tty() -> BTreeMap<String, Value> {
    (0..3)
        .map(|fd| {
            let entry = json!({
                "isatty": crate::kernel::process::is_tty(fd),
                "target": readlink(&format!("/proc/self/fd/{fd}")),
            });
            (fd.to_string(), entry)
        })
        .collect()
}

/// [soft, hard] of each resource limit of this process; RLIM_INFINITY is u64::MAX.
fn own_rlimits() -> BTreeMap<String, Option<[u64; 2]>> {
    process::RLIMITS
        .iter()
        .map(|(name, _, res)| {
            let got = nix::sys::resource::getrlimit(*res)
                .ok()
                .map(|(s, h)| [s, h]);
            (name.to_string(), got)
        })
        .collect()
}

/// This process's report.
pub fn collect() -> Report {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uts = nix::sys::utsname::uname().ok();
    let fds = fds();
    let fd_targets = fds
        .iter()
        .map(|fd| (fd.to_string(), readlink(&format!("/proc/self/fd/{fd}"))))
        .collect();
    let mut groups: Option<Vec<u32>> = nix::unistd::getgroups()
        .ok()
        .map(|g| g.iter().map(|g| g.as_raw()).collect());
    if let Some(g) = groups.as_mut() {
        g.sort_unstable();
    }
    let mut r = Report {
        pid: std::process::id(),
        ppid: std::os::unix::process::parent_id(),
        processes: processes(),
        hostname: uts
            .as_ref()
            .map(|u| u.nodename().to_string_lossy().into_owned()),
        domainname: uts.map(|u| u.domainname().to_string_lossy().into_owned()),
        uid: None,
        gid: None,
        groups,
        caps: BTreeMap::new(),
        no_new_privs: None,
        seccomp: 0,
        umask: None,
        oom_score_adj: read_trimmed("/proc/self/oom_score_adj").and_then(|v| v.parse().ok()),
        mounts: parse::mountinfo(&fs::read_to_string("/proc/self/mountinfo").unwrap_or_default()),
        namespaces: namespaces("self"),
        rlimits: own_rlimits(),
        cwd: match std::env::current_dir() {
            Ok(p) => p.to_string_lossy().into_owned(),
            Err(e) => e.to_string(),
        },
        env: std::env::vars_os()
            .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
            .collect(),
        fds,
        fd_targets,
        tty: tty(),
        cgroup: Vec::new(),
        sysctl: SYSCTLS
            .iter()
            .map(|name| {
                let path = format!("/proc/sys/{}", name.replace('.', "/"));
                (name.to_string(), read_trimmed(&path))
            })
            .collect(),
    };
    process::status_fields(&mut r, &status);
    r.cgroup = process::cgroup_lines("self");
    r
}

//! `probe report`: everything a container's process can observe about itself, as one
//! JSON object. Unreadable values become null (or empty) rather than failing the report.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;

use serde::Serialize;
use serde_json::{json, Value};

use crate::parse::{self, Mount};
use crate::sys;

#[derive(Serialize)]
pub struct Report {
    pid: u32,
    ppid: u32,
    processes: Vec<u64>,
    hostname: Option<String>,
    domainname: Option<String>,
    uid: Option<[u32; 4]>,
    gid: Option<[u32; 4]>,
    groups: Option<Vec<u32>>,
    caps: BTreeMap<&'static str, Option<String>>,
    no_new_privs: Option<bool>,
    seccomp: i64,
    umask: Option<u32>,
    oom_score_adj: Option<i64>,
    mounts: Vec<Mount>,
    namespaces: BTreeMap<&'static str, u64>,
    rlimits: BTreeMap<&'static str, Option<[u64; 2]>>,
    cwd: String,
    env: Vec<String>,
    fds: Vec<i32>,
    fd_targets: BTreeMap<String, Option<String>>,
    tty: BTreeMap<String, Value>,
    cgroup: Vec<String>,
    sysctl: BTreeMap<&'static str, Option<String>>,
}

const CAPS: [(&str, &str); 5] = [
    ("inheritable", "CapInh"),
    ("permitted", "CapPrm"),
    ("effective", "CapEff"),
    ("bounding", "CapBnd"),
    ("ambient", "CapAmb"),
];

const NAMESPACES: [&str; 9] = [
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

const RLIMITS: [(&str, libc::__rlimit_resource_t); 16] = [
    ("RLIMIT_CPU", libc::RLIMIT_CPU),
    ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE),
    ("RLIMIT_DATA", libc::RLIMIT_DATA),
    ("RLIMIT_STACK", libc::RLIMIT_STACK),
    ("RLIMIT_CORE", libc::RLIMIT_CORE),
    ("RLIMIT_RSS", libc::RLIMIT_RSS),
    ("RLIMIT_NPROC", libc::RLIMIT_NPROC),
    ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE),
    ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK),
    ("RLIMIT_AS", libc::RLIMIT_AS),
    ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS),
    ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING),
    ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE),
    ("RLIMIT_NICE", libc::RLIMIT_NICE),
    ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO),
    ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME),
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
fn processes() -> Vec<u64> {
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
        .filter(|fd| sys::fd_is_open(*fd))
        .collect();
    open.sort_unstable();
    open
}

fn namespaces() -> BTreeMap<&'static str, u64> {
    NAMESPACES
        .iter()
        .filter_map(|ns| {
            let meta = fs::metadata(format!("/proc/self/ns/{ns}")).ok()?;
            Some((*ns, meta.ino()))
        })
        .collect()
}

fn tty() -> BTreeMap<String, Value> {
    (0..3)
        .map(|fd| {
            let entry = json!({
                "isatty": sys::isatty(fd),
                "target": readlink(&format!("/proc/self/fd/{fd}")),
            });
            (fd.to_string(), entry)
        })
        .collect()
}

pub fn collect() -> Report {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |key: &str| parse::status_field(&status, key);
    let uts = sys::uname().ok();
    let fds = fds();
    let fd_targets = fds
        .iter()
        .map(|fd| (fd.to_string(), readlink(&format!("/proc/self/fd/{fd}"))))
        .collect();
    Report {
        pid: std::process::id(),
        ppid: std::os::unix::process::parent_id(),
        processes: processes(),
        hostname: uts.as_ref().map(|u| u.0.clone()),
        domainname: uts.map(|u| u.1),
        uid: field("Uid").and_then(parse::id_quad),
        gid: field("Gid").and_then(parse::id_quad),
        groups: sys::groups().ok(),
        caps: CAPS
            .iter()
            .map(|(name, key)| (*name, field(key).map(str::to_string)))
            .collect(),
        no_new_privs: field("NoNewPrivs").map(|v| v == "1"),
        seccomp: field("Seccomp").and_then(|v| v.parse().ok()).unwrap_or(0),
        umask: field("Umask").and_then(parse::octal),
        oom_score_adj: read_trimmed("/proc/self/oom_score_adj").and_then(|v| v.parse().ok()),
        mounts: parse::mountinfo(&fs::read_to_string("/proc/self/mountinfo").unwrap_or_default()),
        namespaces: namespaces(),
        rlimits: RLIMITS
            .iter()
            .map(|(name, res)| (*name, sys::getrlimit(*res).ok()))
            .collect(),
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
        cgroup: fs::read_to_string("/proc/self/cgroup")
            .map(|s| s.lines().map(str::to_string).collect())
            .unwrap_or_default(),
        sysctl: SYSCTLS
            .iter()
            .map(|name| {
                let path = format!("/proc/sys/{}", name.replace('.', "/"));
                (*name, read_trimmed(&path))
            })
            .collect(),
    }
}

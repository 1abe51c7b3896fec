//! The process to exec: argv, env, identity, capabilities, rlimits.

use crate::error::{Error, Result};
use oci_spec::runtime::{Capabilities, PosixRlimitType, Spec};
use std::path::PathBuf;
use std::str::FromStr;

/// The five capability sets as bit masks (bit N = capability number N).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapSets {
    pub bounding: u64,
    pub effective: u64,
    pub inheritable: u64,
    pub permitted: u64,
    pub ambient: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rlimit {
    pub name: String,
    pub resource: i32,
    pub soft: u64,
    pub hard: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessPlan {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub umask: Option<u32>,
    /// `None`: the config has no `capabilities`; the process keeps what it has.
    pub caps: Option<CapSets>,
    pub rlimits: Vec<Rlimit>,
    pub no_new_privs: bool,
    pub oom_score_adj: Option<i32>,
    pub terminal: bool,
    pub console_size: Option<(u16, u16)>,
}

/// Turn capability names into a mask; names this kernel/crate does not know are
/// dropped with a note, as runc does.
fn mask(field: &str, set: &Option<Capabilities>, notes: &mut Vec<String>) -> u64 {
    let mut m = 0u64;
    for c in set.iter().flatten() {
        // oci-spec prints names without the CAP_ prefix.
        let name = format!("CAP_{}", c.to_string().trim_start_matches("CAP_"));
        match caps::Capability::from_str(&name) {
            Ok(cap) => m |= 1u64 << cap.index(),
            Err(_) => notes.push(format!(
                "process.capabilities.{field}: {name} is unknown here, ignored"
            )),
        }
    }
    m
}

fn rlimit_resource(t: PosixRlimitType) -> i32 {
    use PosixRlimitType as T;
    (match t {
        T::RlimitCpu => libc::RLIMIT_CPU,
        T::RlimitFsize => libc::RLIMIT_FSIZE,
        T::RlimitData => libc::RLIMIT_DATA,
        T::RlimitStack => libc::RLIMIT_STACK,
        T::RlimitCore => libc::RLIMIT_CORE,
        T::RlimitRss => libc::RLIMIT_RSS,
        T::RlimitNproc => libc::RLIMIT_NPROC,
        T::RlimitNofile => libc::RLIMIT_NOFILE,
        T::RlimitMemlock => libc::RLIMIT_MEMLOCK,
        T::RlimitAs => libc::RLIMIT_AS,
        T::RlimitLocks => libc::RLIMIT_LOCKS,
        T::RlimitSigpending => libc::RLIMIT_SIGPENDING,
        T::RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        T::RlimitNice => libc::RLIMIT_NICE,
        T::RlimitRtprio => libc::RLIMIT_RTPRIO,
        T::RlimitRttime => libc::RLIMIT_RTTIME,
    }) as i32
}

pub fn plan(spec: &Spec, notes: &mut Vec<String>) -> Result<ProcessPlan> {
    let p = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::config("process", "missing"))?;
    let caps = p.capabilities().as_ref().map(|c| CapSets {
        bounding: mask("bounding", c.bounding(), notes),
        effective: mask("effective", c.effective(), notes),
        inheritable: mask("inheritable", c.inheritable(), notes),
        permitted: mask("permitted", c.permitted(), notes),
        ambient: mask("ambient", c.ambient(), notes),
    });
    let mut rlimits = Vec::new();
    for (i, r) in p.rlimits().iter().flatten().enumerate() {
        if r.soft() > r.hard() {
            return Err(Error::config(
                format!("process.rlimits[{i}]"),
                format!(
                    "{}: soft limit {} is above hard limit {}",
                    r.typ(),
                    r.soft(),
                    r.hard()
                ),
            ));
        }
        let name = r.typ().to_string();
        if rlimits.iter().any(|x: &Rlimit| x.name == name) {
            return Err(Error::config(
                format!("process.rlimits[{i}].type"),
                format!("{name} given twice"),
            ));
        }
        rlimits.push(Rlimit {
            name,
            resource: rlimit_resource(r.typ()),
            soft: r.soft(),
            hard: r.hard(),
        });
    }
    for (field, set) in [
        ("apparmorProfile", p.apparmor_profile()),
        ("selinuxLabel", p.selinux_label()),
    ] {
        if set.as_ref().is_some_and(|s| !s.is_empty()) {
            notes.push(format!(
                "process.{field}: no LSM support in this version, ignored"
            ));
        }
    }
    let user = p.user();
    Ok(ProcessPlan {
        args: p.args().clone().unwrap_or_default(),
        env: p.env().clone().unwrap_or_default(),
        cwd: p.cwd().clone(),
        uid: user.uid(),
        gid: user.gid(),
        additional_gids: user.additional_gids().clone().unwrap_or_default(),
        umask: user.umask(),
        caps,
        rlimits,
        no_new_privs: p.no_new_privileges().unwrap_or(false),
        oom_score_adj: p.oom_score_adj(),
        terminal: p.terminal().unwrap_or(false),
        console_size: p
            .console_size()
            .as_ref()
            .map(|b| (b.height() as u16, b.width() as u16)),
    })
}

/// The home directory of `uid` in /etc/passwd text.
pub fn home_for(passwd: &str, uid: u32) -> Option<&str> {
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 7 && f[2].parse() == Ok(uid) && !f[5].is_empty()).then(|| f[5])
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn home_comes_from_passwd() {
        let pw = "root:x:0:0:root:/root:/bin/sh\nnook:x:1000:1000::/home/nook:/bin/sh\nbad:x:7\n";
        assert_eq!(super::home_for(pw, 0), Some("/root"));
        assert_eq!(super::home_for(pw, 1000), Some("/home/nook"));
        assert_eq!(super::home_for(pw, 7), None);
    }
}

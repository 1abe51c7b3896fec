//! Device rules: the config's `linux.resources.devices`, then runc's defaults, then
//! the config's device nodes. v1 writes them to `devices.allow/deny`; v2 compiles
//! them into an eBPF program (`bpf.rs`).

use super::{w, Write};
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

/// runc's default device rules, appended after the configured ones: the
/// standard nodes, ptys, and mknod (not open) of anything.
pub const DEFAULT_ALLOW: [&str; 11] = [
    "c *:* m",
    "b *:* m",
    "c 1:3 rwm",
    "c 1:8 rwm",
    "c 1:7 rwm",
    "c 5:0 rwm",
    "c 1:5 rwm",
    "c 1:9 rwm",
    "c 136:* rwm",
    "c 5:2 rwm",
    "c 10:200 rwm",
];

/// One rule, as the devices controller takes it: `a`, or `type major:minor access`
/// with `None` for `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRule {
    pub allow: bool,
    /// 'a' (every device: the numbers and access are then ignored, as by v1), 'c', 'b', 'p'.
    pub kind: char,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// Some of `r`, `w`, `m`.
    pub access: String,
}

impl DeviceRule {
    /// The v1 file line: `a` or `c 1:3 rwm`.
    pub fn v1_line(&self) -> String {
        if self.kind == 'a' {
            return "a".into();
        }
        let num = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
        format!(
            "{} {}:{} {}",
            self.kind,
            num(self.major),
            num(self.minor),
            self.access
        )
    }

    /// Parse a `DEFAULT_ALLOW` line (`c 136:* rwm`) as an allow rule.
    fn allow_line(line: &str) -> DeviceRule {
        let mut parts = line.split(' ');
        let kind = parts.next().and_then(|k| k.chars().next()).unwrap_or('a');
        let (major, minor) = parts
            .next()
            .and_then(|n| n.split_once(':'))
            .unwrap_or(("*", "*"));
        DeviceRule {
            allow: true,
            kind,
            major: major.parse().ok(),
            minor: minor.parse().ok(),
            access: parts.next().unwrap_or("rwm").to_string(),
        }
    }
}

/// Every rule in order: the config's, then the defaults and the config's device
/// nodes. Whatever none allows is denied; the last rule matching an access decides it.
pub fn device_rules(rules: &[LinuxDeviceCgroup], nodes: &[crate::plan::Device]) -> Vec<DeviceRule> {
    let mut out: Vec<DeviceRule> = rules.iter().map(from_config).collect();
    out.extend(DEFAULT_ALLOW.iter().map(|l| DeviceRule::allow_line(l)));
    for d in nodes {
        let kind = match d.kind {
            crate::plan::DeviceKind::Char => 'c',
            crate::plan::DeviceKind::Block => 'b',
            crate::plan::DeviceKind::Fifo => continue,
        };
        out.push(DeviceRule {
            allow: true,
            kind,
            major: u32::try_from(d.major).ok(),
            minor: u32::try_from(d.minor).ok(),
            access: "rwm".into(),
        });
    }
    out
}

/// v1 devices-controller rules as (file, rule), in order: deny all, then the config's
/// rules, then the defaults and the config's device nodes. Writes that cannot change
/// the list are left out (each is a syscall on the start path): a `deny a` while
/// nothing has been allowed since the last one (the config's usual first rule, after
/// ours), and an `allow` already written since the last deny.
pub fn v1_device_rules(rules: &[LinuxDeviceCgroup], nodes: &[crate::plan::Device]) -> Vec<Write> {
    let mut out = vec![w("devices", "devices.deny", "a")];
    let mut allowed: Vec<String> = Vec::new();
    for r in device_rules(rules, nodes) {
        let line = r.v1_line();
        if r.allow {
            if allowed.contains(&line) {
                continue;
            }
            allowed.push(line.clone());
            out.push(w("devices", "devices.allow", line));
        } else if line == "a" && allowed.is_empty() && out.last().is_some_and(is_deny_all) {
            continue;
        } else {
            allowed.clear();
            out.push(w("devices", "devices.deny", line));
        }
    }
    out
}

fn is_deny_all(w: &Write) -> bool {
    w.file == "devices.deny" && w.value == "a"
}

fn from_config(r: &LinuxDeviceCgroup) -> DeviceRule {
    let kind = match r.typ() {
        Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => 'c',
        Some(LinuxDeviceType::B) => 'b',
        Some(LinuxDeviceType::P) => 'p',
        Some(LinuxDeviceType::A) | None => 'a',
    };
    let num = |n: Option<i64>| n.and_then(|n| u32::try_from(n).ok());
    let access = r
        .access()
        .clone()
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "rwm".into());
    DeviceRule {
        allow: r.allow(),
        kind,
        major: num(r.major()),
        minor: num(r.minor()),
        access: if kind == 'a' { "rwm".into() } else { access },
    }
}

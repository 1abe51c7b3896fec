//! v1 devices-controller rules (v2 needs an eBPF program instead).

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

/// v1 devices-controller rules as (file, rule), in order: deny all, then the config's
/// rules, then the defaults and the config's device nodes.
pub fn v1_device_rules(rules: &[LinuxDeviceCgroup], nodes: &[crate::plan::Device]) -> Vec<Write> {
    let mut out = vec![w("devices", "devices.deny", "a")];
    for r in rules {
        let file = if r.allow() {
            "devices.allow"
        } else {
            "devices.deny"
        };
        out.push(w("devices", file, device_rule(r)));
    }
    for rule in DEFAULT_ALLOW {
        out.push(w("devices", "devices.allow", rule));
    }
    for d in nodes {
        let t = match d.kind {
            crate::plan::DeviceKind::Char => 'c',
            crate::plan::DeviceKind::Block => 'b',
            crate::plan::DeviceKind::Fifo => continue,
        };
        out.push(w(
            "devices",
            "devices.allow",
            format!("{t} {}:{} rwm", d.major, d.minor),
        ));
    }
    out
}

fn device_rule(r: &LinuxDeviceCgroup) -> String {
    let t = match r.typ() {
        Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => 'c',
        Some(LinuxDeviceType::B) => 'b',
        Some(LinuxDeviceType::P) => 'p',
        Some(LinuxDeviceType::A) | None => 'a',
    };
    if t == 'a' {
        return "a".into();
    }
    let num = |n: Option<i64>| {
        n.filter(|n| *n >= 0)
            .map_or("*".to_string(), |n| n.to_string())
    };
    let access = r
        .access()
        .clone()
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "rwm".into());
    format!("{t} {}:{} {access}", num(r.major()), num(r.minor()))
}

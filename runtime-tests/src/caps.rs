//! Capability names to bits, and the masks the probe reports (16 hex digits from
//! /proc/self/status).

use serde_json::Value;

/// Capability names in bit order (linux/capability.h; 0 through 40).
pub const CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The bit number of a capability name (`CAP_` prefix optional, any case).
pub fn cap_bit(name: &str) -> u32 {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    CAP_NAMES
        .iter()
        .position(|n| *n == full)
        .unwrap_or_else(|| panic!("unknown capability {name}")) as u32
}

/// The 64-bit mask of a list of capability names.
pub fn cap_mask(names: &[&str]) -> u64 {
    names.iter().fold(0, |m, n| m | (1u64 << cap_bit(n)))
}

/// The names set in a mask, for readable failure messages.
pub fn cap_names(mask: u64) -> Vec<String> {
    (0..64)
        .filter(|b| mask & (1u64 << b) != 0)
        .map(|b| {
            CAP_NAMES
                .get(b as usize)
                .map_or_else(|| format!("cap{b}"), |n| n.to_string())
        })
        .collect()
}

/// One set (`effective`, `permitted`, ...) of a probe report, parsed from its hex string.
pub fn report_caps(report: &Value, set: &str) -> u64 {
    let text = report["caps"][set]
        .as_str()
        .unwrap_or_else(|| panic!("report has no caps.{set}: {}", report["caps"]));
    u64::from_str_radix(text, 16).unwrap_or_else(|e| panic!("caps.{set} = {text}: {e}"))
}

/// The capabilities this host's kernel knows (bits of /proc/sys/kernel/cap_last_cap).
pub fn host_cap_last() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// The effective set of this (the test) process.
pub fn own_effective() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runc_spec_default_mask() {
        // CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29): what runc shows.
        let m = cap_mask(&["CAP_AUDIT_WRITE", "CAP_KILL", "net_bind_service"]);
        assert_eq!(m, 0x2000_0420);
        assert_eq!(
            cap_names(m),
            ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"]
        );
    }
}

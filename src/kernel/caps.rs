//! Capability sets, keepcaps and no_new_privs.

use crate::error::{Error, Result, SysResult};
use caps::{CapSet, Capability, CapsHashSet};

fn set_of(mask: u64) -> CapsHashSet {
    caps::all()
        .into_iter()
        .filter(|c| mask & (1u64 << c.index()) != 0)
        .collect()
}

fn err(call: &'static str, set: &str, e: caps::errors::CapsError) -> Error {
    Error::Sys {
        call,
        path: format!("{set} ({e})"),
        errno: nix::errno::Errno::last(),
    }
}

/// Drop from the bounding set every capability not in `keep`.
pub fn limit_bounding(keep: u64) -> Result<()> {
    let last = last_cap();
    for cap in caps::all() {
        if cap.index() as u32 > last || keep & (1u64 << cap.index()) != 0 {
            continue;
        }
        caps::drop(None, CapSet::Bounding, cap)
            .map_err(|e| err("prctl(PR_CAPBSET_DROP)", &cap.to_string(), e))?;
    }
    Ok(())
}

/// capset(2) for effective, permitted and inheritable, then raise ambient.
pub fn apply(effective: u64, permitted: u64, inheritable: u64, ambient: u64) -> Result<()> {
    // Each capset call must leave effective within permitted: shrink effective
    // first, set inheritable while permitted is still whole, shrink permitted last.
    caps::set(None, CapSet::Effective, &set_of(effective & permitted))
        .map_err(|e| err("capset", "effective", e))?;
    caps::set(None, CapSet::Inheritable, &set_of(inheritable))
        .map_err(|e| err("capset", "inheritable", e))?;
    caps::set(None, CapSet::Permitted, &set_of(permitted))
        .map_err(|e| err("capset", "permitted", e))?;
    caps::clear(None, CapSet::Ambient).map_err(|e| err("prctl(PR_CAP_AMBIENT)", "clear", e))?;
    for cap in set_of(ambient) {
        // As runc does, a cap that cannot be ambient (not in permitted and
        // inheritable) is skipped rather than failing the container.
        let _ = caps::raise(None, CapSet::Ambient, cap);
    }
    Ok(())
}

pub fn set_keepcaps(on: bool) -> Result<()> {
    nix::sys::prctl::set_keepcaps(on).sys("prctl(PR_SET_KEEPCAPS)", on)
}

pub fn set_no_new_privs() -> Result<()> {
    nix::sys::prctl::set_no_new_privs().sys("prctl(PR_SET_NO_NEW_PRIVS)", 1)
}

/// The highest capability this kernel knows.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(Capability::CAP_CHECKPOINT_RESTORE.index() as u32)
}

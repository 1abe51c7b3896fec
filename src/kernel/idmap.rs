//! Writing uid/gid maps of a new user namespace from outside it.

use crate::error::{Error, Result};
use std::fs;

/// Write `/proc/PID/{uid_map,gid_map}`. An unprivileged writer must first deny
/// setgroups, as the kernel requires for a gid map written without CAP_SETGID.
pub fn write_maps(pid: i32, uid_map: &str, gid_map: &str, deny_setgroups: bool) -> Result<()> {
    let write = |name: &str, text: &str| {
        let path = format!("/proc/{pid}/{name}");
        fs::write(&path, text).map_err(|e| Error::io("write", path, e))
    };
    if deny_setgroups {
        write("setgroups", "deny")?;
    }
    write("uid_map", uid_map)?;
    write("gid_map", gid_map)
}

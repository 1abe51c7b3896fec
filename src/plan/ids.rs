//! uid/gid maps for a new user namespace.

use crate::error::{Error, Result};
use oci_spec::runtime::{Linux, LinuxIdMapping};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMaps {
    pub uid: Vec<IdMap>,
    pub gid: Vec<IdMap>,
}

impl IdMaps {
    /// The text written to /proc/PID/{uid,gid}_map.
    pub fn render(maps: &[IdMap]) -> String {
        maps.iter()
            .map(|m| format!("{} {} {}\n", m.container, m.host, m.size))
            .collect()
    }
}

fn convert(field: &str, maps: &[LinuxIdMapping]) -> Result<Vec<IdMap>> {
    let out: Vec<IdMap> = maps
        .iter()
        .map(|m| IdMap {
            container: m.container_id(),
            host: m.host_id(),
            size: m.size(),
        })
        .collect();
    for (i, m) in out.iter().enumerate() {
        if m.size == 0 {
            return Err(Error::config(
                format!("linux.{field}[{i}].size"),
                "must be at least 1",
            ));
        }
        if m.container.checked_add(m.size).is_none() || m.host.checked_add(m.size).is_none() {
            return Err(Error::config(
                format!("linux.{field}[{i}]"),
                "range overflows 32 bits",
            ));
        }
    }
    Ok(out)
}

/// Maps are needed only when a user namespace is created; a new one without
/// maps would leave every id unmapped, which nothing can run in.
pub fn plan(linux: &Linux, new_userns: bool) -> Result<Option<IdMaps>> {
    if !new_userns {
        return Ok(None);
    }
    let uid = convert(
        "uidMappings",
        linux.uid_mappings().as_deref().unwrap_or(&[]),
    )?;
    let gid = convert(
        "gidMappings",
        linux.gid_mappings().as_deref().unwrap_or(&[]),
    )?;
    if uid.is_empty() {
        return Err(Error::config(
            "linux.uidMappings",
            "a new user namespace needs uid mappings",
        ));
    }
    if gid.is_empty() {
        return Err(Error::config(
            "linux.gidMappings",
            "a new user namespace needs gid mappings",
        ));
    }
    Ok(Some(IdMaps { uid, gid }))
}

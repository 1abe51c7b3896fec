//! uid/gid maps for a new user namespace, and who writes them: the runtime
//! itself (root, or an unprivileged user mapping only their own id, which the
//! kernel allows once setgroups is denied) or the setuid helpers
//! `newuidmap`/`newgidmap`, which check the ranges in /etc/subuid and /etc/subgid.

use crate::error::{Error, Result};
use crate::host::Host;
use crate::subid::{self, Delegation, Kind};
use oci_spec::runtime::{Linux, LinuxIdMapping};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

/// How one map reaches /proc/PID/{uid,gid}_map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapWriter {
    /// Written by the runtime; `deny_setgroups` first when the kernel requires it.
    Direct { deny_setgroups: bool },
    /// Written by this setuid helper (`newuidmap PID c h s ...`).
    Helper(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMaps {
    pub uid: Vec<IdMap>,
    pub gid: Vec<IdMap>,
    pub uid_writer: MapWriter,
    pub gid_writer: MapWriter,
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
pub fn plan(linux: &Linux, new_userns: bool, host: &Host) -> Result<Option<IdMaps>> {
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
    let (uid_writer, gid_writer) = match &host.delegation {
        // uid 0 (real root, or root of an enclosing user namespace) holds CAP_SETUID/SETGID.
        None => (
            MapWriter::Direct {
                deny_setgroups: false,
            },
            MapWriter::Direct {
                deny_setgroups: false,
            },
        ),
        Some(d) => (
            writer(Kind::Uid, &uid, host.euid, d)?,
            writer(Kind::Gid, &gid, host.egid, d)?,
        ),
    };
    Ok(Some(IdMaps {
        uid,
        gid,
        uid_writer,
        gid_writer,
    }))
}

/// An unprivileged user writes a map of only their own id themselves; anything
/// more goes through the helper, and must lie in the user's delegated ranges.
fn writer(kind: Kind, maps: &[IdMap], own: u32, d: &Delegation) -> Result<MapWriter> {
    if let [m] = maps {
        if m.host == own && m.size == 1 {
            return Ok(MapWriter::Direct {
                deny_setgroups: kind == Kind::Gid,
            });
        }
    }
    let field = match kind {
        Kind::Uid => "linux.uidMappings",
        Kind::Gid => "linux.gidMappings",
    };
    let file = kind.file();
    for (i, m) in maps.iter().enumerate() {
        let own_id = m.host == own && m.size == 1;
        if !own_id && !d.ranges(kind).iter().any(|r| r.holds(m.host, m.size)) {
            let held: Vec<String> = d
                .ranges(kind)
                .iter()
                .map(|r| format!("{}-{}", r.start, r.end() - 1))
                .collect();
            return Err(Error::unsupported(
                format!("{field}[{i}]"),
                format!(
                    "host {}s {}-{} are not delegated to user {} in {} ({}); fix: {}",
                    kind.word(),
                    m.host,
                    u64::from(m.host) + u64::from(m.size) - 1,
                    d.name,
                    file.display(),
                    if held.is_empty() {
                        "it has no entry".to_string()
                    } else {
                        format!("it has {}", held.join(", "))
                    },
                    subid::range_fix(kind, &d.name)
                ),
            ));
        }
    }
    match d.helper(kind) {
        Some(p) => Ok(MapWriter::Helper(p.clone())),
        None => Err(Error::unsupported(
            field,
            format!(
                "mapping more than your own {} needs {}, which is not in PATH; fix: {}",
                kind.word(),
                kind.helper(),
                subid::helper_fix(kind)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subid::Range;

    fn user(subuid: bool, helpers: bool) -> Host {
        let r = vec![Range {
            start: 100000,
            count: 65536,
        }];
        Host {
            euid: 1000,
            egid: 1000,
            in_userns: false,
            cgroups: crate::host::CgroupLayout::None,
            exe: PathBuf::new(),
            delegation: Some(Delegation {
                name: "alice".into(),
                subuid: if subuid { r.clone() } else { Vec::new() },
                subgid: r,
                newuidmap: helpers.then(|| PathBuf::from("/usr/bin/newuidmap")),
                newgidmap: helpers.then(|| PathBuf::from("/usr/bin/newgidmap")),
            }),
        }
    }

    fn linux(maps: serde_json::Value) -> Linux {
        serde_json::from_value(serde_json::json!({"uidMappings": maps, "gidMappings": maps}))
            .unwrap()
    }

    #[test]
    fn own_id_is_written_directly_with_setgroups_denied_for_gids() {
        let l = linux(serde_json::json!([{"containerID": 0, "hostID": 1000, "size": 1}]));
        let m = plan(&l, true, &user(false, false)).unwrap().unwrap();
        assert_eq!(
            m.uid_writer,
            MapWriter::Direct {
                deny_setgroups: false
            }
        );
        assert_eq!(
            m.gid_writer,
            MapWriter::Direct {
                deny_setgroups: true
            }
        );
    }

    #[test]
    fn ranges_go_through_the_helpers() {
        let l = linux(serde_json::json!([
            {"containerID": 0, "hostID": 1000, "size": 1},
            {"containerID": 1, "hostID": 100000, "size": 65536}
        ]));
        let m = plan(&l, true, &user(true, true)).unwrap().unwrap();
        assert_eq!(m.uid_writer, MapWriter::Helper("/usr/bin/newuidmap".into()));
        assert_eq!(m.gid_writer, MapWriter::Helper("/usr/bin/newgidmap".into()));
        let e = plan(&l, true, &user(false, true)).unwrap_err().to_string();
        assert!(
            e.starts_with(
                "linux.uidMappings[1]: host uids 100000-165535 are not delegated to user alice"
            ),
            "{e}"
        );
        assert!(
            e.contains("it has no entry") && e.contains("usermod --add-subuids"),
            "{e}"
        );
        let e = plan(&l, true, &user(true, false)).unwrap_err().to_string();
        assert!(e.contains("needs newuidmap, which is not in PATH"), "{e}");
    }
}

//! `-v`, `--mount` and `--tmpfs` as docker parses them, turned into OCI mounts.
//! Parsing is pure (no file is created): a bad spec fails before anything exists.

use crate::error::{Error, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// One mount asked for on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountReq {
    /// A host path; `create` (for `-v`) makes a missing directory, as docker does.
    Bind {
        source: PathBuf,
        target: String,
        readonly: bool,
        create: bool,
        propagation: Option<String>,
    },
    /// A named volume (`None`: an anonymous one, named when it is made);
    /// a new one gets the image's content at the target unless `nocopy`.
    Volume {
        name: Option<String>,
        target: String,
        readonly: bool,
        nocopy: bool,
    },
    Tmpfs {
        target: String,
        options: Vec<String>,
    },
}

impl MountReq {
    pub fn target(&self) -> &str {
        match self {
            MountReq::Bind { target, .. }
            | MountReq::Volume { target, .. }
            | MountReq::Tmpfs { target, .. } => target,
        }
    }
}

const PROPAGATION: [&str; 6] = [
    "shared", "rshared", "slave", "rslave", "private", "rprivate",
];

fn bad(flag: &str, spec: &str, why: impl std::fmt::Display) -> Error {
    Error::Usage(format!("{flag} {spec:?}: {why}"))
}

/// docker's rule for a local volume name.
pub fn valid_volume_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() >= 2
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn volume_name_error(name: &str) -> String {
    format!(
        "{name:?} includes invalid characters for a local volume name, only \
         \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed; to bind a host directory, use an absolute path"
    )
}

fn check_target(target: &str) -> std::result::Result<(), String> {
    if !target.starts_with('/') {
        return Err(format!("mount path {target:?} must be absolute"));
    }
    if Path::new(target).components().count() <= 1 {
        return Err("the destination cannot be '/'".into());
    }
    Ok(())
}

/// `-v [SOURCE:]TARGET[:MODE]`: SOURCE an absolute host path or a volume name;
/// MODE a comma list of rw, ro, a propagation, z/Z (no SELinux here: ignored), nocopy.
pub fn parse_volume(spec: &str) -> Result<MountReq> {
    let flag = "--volume";
    let parts: Vec<&str> = spec.split(':').collect();
    let mode_ok = |m: &str| {
        m.split(',')
            .all(|o| ["rw", "ro", "z", "Z", "nocopy"].contains(&o) || PROPAGATION.contains(&o))
    };
    let (source, target, mode) = match parts.as_slice() {
        [t] => (None, *t, ""),
        [t, m] if mode_ok(m) && !m.is_empty() => (None, *t, *m),
        [s, t] => (Some(*s), *t, ""),
        [s, t, m] => (Some(*s), *t, *m),
        _ => return Err(bad(flag, spec, "invalid volume specification")),
    };
    if !mode_ok(mode) && !mode.is_empty() {
        return Err(bad(flag, spec, format!("invalid mode: {mode}")));
    }
    check_target(target).map_err(|e| bad(flag, spec, e))?;
    let opts: Vec<&str> = mode.split(',').filter(|o| !o.is_empty()).collect();
    if opts.contains(&"ro") && opts.contains(&"rw") {
        return Err(bad(flag, spec, format!("invalid mode: {mode}")));
    }
    let readonly = opts.contains(&"ro");
    let propagation = opts
        .iter()
        .find(|o| PROPAGATION.contains(o))
        .map(|p| p.to_string());
    match source {
        Some(s) if s.starts_with('/') => Ok(MountReq::Bind {
            source: PathBuf::from(s),
            target: target.into(),
            readonly,
            create: true,
            propagation,
        }),
        Some(s) if !valid_volume_name(s) => Err(bad(flag, spec, volume_name_error(s))),
        _ if propagation.is_some() => Err(bad(flag, spec, "a propagation applies to binds only")),
        s => Ok(MountReq::Volume {
            name: s.map(str::to_string),
            target: target.into(),
            readonly,
            nocopy: opts.contains(&"nocopy"),
        }),
    }
}

fn parse_bool(v: Option<&str>) -> Option<bool> {
    match v {
        None | Some("true") | Some("1") => Some(true),
        Some("false") | Some("0") => Some(false),
        _ => None,
    }
}

/// Each `key[=value]` field of `--mount`, checked against docker's key set.
#[derive(Default)]
struct Fields {
    kind: Option<String>,
    source: Option<String>,
    target: Option<String>,
    readonly: bool,
    propagation: Option<String>,
    tmpfs: Vec<String>,
    bind_only: bool,
    nocopy: bool,
}

fn fields(spec: &str) -> Result<Fields> {
    let flag = "--mount";
    let mut f = Fields::default();
    for field in spec.split(',').filter(|f| !f.is_empty()) {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim())),
            None => (field.trim().to_ascii_lowercase(), None),
        };
        let need = |v: Option<&str>| {
            v.map(str::to_string).ok_or_else(|| {
                bad(
                    flag,
                    spec,
                    format!("invalid field '{field}': must be a key=value pair"),
                )
            })
        };
        match key.as_str() {
            "type" => f.kind = Some(need(value)?),
            "source" | "src" => f.source = Some(need(value)?),
            "target" | "destination" | "dst" => f.target = Some(need(value)?),
            "readonly" | "ro" => {
                f.readonly = parse_bool(value).ok_or_else(|| {
                    bad(
                        flag,
                        spec,
                        format!("invalid value for {key}: {}", value.unwrap_or("")),
                    )
                })?
            }
            "bind-propagation" => {
                let p = need(value)?;
                if !PROPAGATION.contains(&p.as_str()) {
                    return Err(bad(flag, spec, format!("invalid propagation mode: {p}")));
                }
                f.propagation = Some(p);
                f.bind_only = true;
            }
            "tmpfs-size" => {
                let v = need(value)?;
                let n = crate::cli::units::parse_bytes(&v).map_err(|e| bad(flag, spec, e))?;
                f.tmpfs.push(format!("size={n}"));
            }
            "tmpfs-mode" => {
                let v = need(value)?;
                u32::from_str_radix(&v, 8)
                    .map_err(|_| bad(flag, spec, format!("invalid tmpfs-mode: {v}")))?;
                f.tmpfs.push(format!("mode={v}"));
            }
            "volume-nocopy" => {
                f.nocopy = parse_bool(value).ok_or_else(|| {
                    bad(
                        flag,
                        spec,
                        format!("invalid value for {key}: {}", value.unwrap_or("")),
                    )
                })?
            }
            "consistency" | "bind-nonrecursive" => {}
            _ => {
                return Err(bad(
                    flag,
                    spec,
                    format!("unexpected key '{key}' in '{field}'"),
                ));
            }
        }
    }
    Ok(f)
}

/// `--mount type=bind|volume|tmpfs,source=..,target=..[,readonly][,...]` (type defaults to volume).
pub fn parse_mount(spec: &str) -> Result<MountReq> {
    let flag = "--mount";
    let f = fields(spec)?;
    let kind = f.kind.clone().unwrap_or_else(|| "volume".into());
    let target = f
        .target
        .clone()
        .ok_or_else(|| bad(flag, spec, "target is required"))?;
    check_target(&target).map_err(|e| bad(flag, spec, e))?;
    if !f.tmpfs.is_empty() && kind != "tmpfs" {
        return Err(bad(
            flag,
            spec,
            format!("cannot mix 'tmpfs-*' options with mount type '{kind}'"),
        ));
    }
    if f.bind_only && kind != "bind" {
        return Err(bad(
            flag,
            spec,
            format!("cannot mix 'bind-*' options with mount type '{kind}'"),
        ));
    }
    match kind.as_str() {
        "bind" => {
            let source = f
                .source
                .ok_or_else(|| bad(flag, spec, "source is required when specifying bind mount"))?;
            if !source.starts_with('/') {
                return Err(bad(
                    flag,
                    spec,
                    format!("bind source {source:?} must be absolute"),
                ));
            }
            if !Path::new(&source).exists() {
                return Err(bad(
                    flag,
                    spec,
                    format!("bind source path does not exist: {source}"),
                ));
            }
            Ok(MountReq::Bind {
                source: source.into(),
                target,
                readonly: f.readonly,
                create: false,
                propagation: f.propagation,
            })
        }
        "volume" => match f.source {
            Some(s) if !valid_volume_name(&s) => Err(bad(flag, spec, volume_name_error(&s))),
            name => Ok(MountReq::Volume {
                name,
                target,
                readonly: f.readonly,
                nocopy: f.nocopy,
            }),
        },
        "tmpfs" => {
            if f.source.is_some() {
                return Err(bad(flag, spec, "source must not be specified for a tmpfs"));
            }
            let mut options = vec!["nosuid".to_string(), "nodev".into(), "noexec".into()];
            options.push(if f.readonly { "ro" } else { "rw" }.into());
            options.extend(f.tmpfs);
            Ok(MountReq::Tmpfs { target, options })
        }
        other => Err(bad(
            flag,
            spec,
            format!("invalid mount type {other:?} (bind, volume or tmpfs)"),
        )),
    }
}

/// `--tmpfs PATH[:OPTIONS]` (docker's default options: rw,noexec,nosuid,size=65536k).
pub fn parse_tmpfs(spec: &str) -> Result<MountReq> {
    let (target, opts) = spec.split_once(':').unwrap_or((spec, ""));
    check_target(target).map_err(|e| bad("--tmpfs", spec, e))?;
    let options = if opts.is_empty() {
        vec![
            "rw".into(),
            "noexec".into(),
            "nosuid".into(),
            "size=65536k".into(),
        ]
    } else {
        opts.split(',').map(str::to_string).collect()
    };
    Ok(MountReq::Tmpfs {
        target: target.into(),
        options,
    })
}

/// Refuse two mounts on one destination (docker: "Duplicate mount point").
pub fn check_duplicates(mounts: &[MountReq]) -> Result<()> {
    for (i, m) in mounts.iter().enumerate() {
        let t = m.target().trim_end_matches('/');
        if mounts[..i]
            .iter()
            .any(|o| o.target().trim_end_matches('/') == t)
        {
            return Err(Error::Usage(format!("duplicate mount point: {t}")));
        }
    }
    Ok(())
}

/// A volume's directory on the host, from (name, target, nocopy).
pub type VolumeDir<'a> = &'a dyn Fn(Option<&str>, &str, bool) -> Result<PathBuf>;

/// The OCI mount for a request; `volume_dir` makes or finds a volume's directory.
pub fn oci_mount(m: &MountReq, volume_dir: VolumeDir) -> Result<Value> {
    Ok(match m {
        MountReq::Bind {
            source,
            target,
            readonly,
            create,
            propagation,
        } => {
            if *create && !source.exists() {
                std::fs::create_dir_all(source).map_err(|e| Error::io("create", source, e))?;
            }
            let mut options = vec![
                "rbind".to_string(),
                if *readonly { "ro" } else { "rw" }.into(),
            ];
            options.push(propagation.clone().unwrap_or_else(|| "rprivate".into()));
            json!({"destination": target, "type": "bind", "source": source, "options": options})
        }
        MountReq::Volume {
            name,
            target,
            readonly,
            nocopy,
        } => {
            let dir = volume_dir(name.as_deref(), target, *nocopy)?;
            let options = ["rbind", if *readonly { "ro" } else { "rw" }, "rprivate"];
            json!({"destination": target, "type": "bind", "source": dir, "options": options})
        }
        MountReq::Tmpfs { target, options } => {
            json!({"destination": target, "type": "tmpfs", "source": "tmpfs", "options": options})
        }
    })
}

#[cfg(test)]
#[path = "mounts_tests.rs"]
mod tests;

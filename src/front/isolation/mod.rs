//! `nook isolation C [--format json] [--expect FILE]`: what a running container
//! really got, side by side with the host. The container's view is gathered
//! inside its namespaces (`enter`) with the same code as the test probe
//! (`crate::report`); the per-process facts (ids, capabilities, no_new_privs,
//! seccomp, rlimits, cgroup) are those of its init, read from /proc/<pid>; the
//! limits in effect are read from its cgroup files. Everything is flattened to
//! `property → value`, which `--expect` compares against.

mod enter;

use crate::cli::front_config::IsolationArgs;
use crate::error::{Error, Result};
use crate::image::store::Store;
use crate::report::{process, Report};
use serde_json::{json, Map, Value};
use std::io::Write;

fn rlimit_value(v: u64) -> Value {
    if v == u64::MAX {
        json!("unlimited")
    } else {
        json!(v)
    }
}

/// The masked and read-only paths of the config that really are so inside;
/// masked paths that are not, split into those that exist (a failure) and
/// those this kernel does not have (docker's list names files some lack).
/// Existence is checked through /proc/<pid>/root, the container's own root.
fn path_states(r: &Report, config: &Value, pid: i32) -> Map<String, Value> {
    let top = |p: &str| r.mounts.iter().rev().find(|m| m.target == p);
    let list = |k: &str| -> Vec<String> {
        config["linux"][k]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let (masked_cfg, ro_cfg) = (list("maskedPaths"), list("readonlyPaths"));
    let exists = |p: &str| std::fs::symlink_metadata(format!("/proc/{pid}/root{p}")).is_ok();
    let pick = |l: &[String], f: &dyn Fn(&str) -> bool| -> Vec<String> {
        l.iter().filter(|p| f(p)).cloned().collect()
    };
    let ro = |p: &str| top(p).is_some_and(|m| m.options.iter().any(|o| o == "ro"));
    let mut m = Map::new();
    // Masked: covered by a mount (/dev/null or a read-only tmpfs).
    m.insert(
        "masked_paths".into(),
        json!(pick(&masked_cfg, &|p| top(p).is_some())),
    );
    m.insert(
        "masked_paths.unmasked".into(),
        json!(pick(&masked_cfg, &|p| top(p).is_none() && exists(p))),
    );
    m.insert(
        "masked_paths.absent".into(),
        json!(pick(&masked_cfg, &|p| top(p).is_none() && !exists(p))),
    );
    m.insert("readonly_paths".into(), json!(pick(&ro_cfg, &ro)));
    m.insert(
        "readonly_paths.writable".into(),
        json!(pick(&ro_cfg, &|p| !ro(p) && exists(p))),
    );
    m
}

/// The limits in effect, from the container's cgroup files (v1 or v2 names).
fn limits(saved: &crate::container::Saved) -> Map<String, Value> {
    let read = |ctrl: &str, files: &[&str]| -> Value {
        let Some(dir) = saved.cgroup.dir_of(ctrl) else {
            return Value::Null;
        };
        files
            .iter()
            .find_map(|f| std::fs::read_to_string(dir.join(f)).ok())
            .map_or(Value::Null, |v| {
                let v = v.trim();
                match v.parse::<i64>() {
                    // v1's "no limit" is the largest page-aligned value.
                    Ok(n) if n >= 0x7FFF_FFFF_FFFF_F000 => json!("max"),
                    Ok(n) => json!(n),
                    Err(_) => json!(v),
                }
            })
    };
    let mut m = Map::new();
    m.insert(
        "limits.memory".into(),
        read("memory", &["memory.limit_in_bytes", "memory.max"]),
    );
    m.insert(
        "limits.memory_swap".into(),
        read(
            "memory",
            &["memory.memsw.limit_in_bytes", "memory.swap.max"],
        ),
    );
    m.insert(
        "limits.cpu_quota".into(),
        read("cpu", &["cpu.cfs_quota_us", "cpu.max"]),
    );
    m.insert(
        "limits.cpu_period".into(),
        read("cpu", &["cpu.cfs_period_us"]),
    );
    m.insert(
        "limits.cpu_shares".into(),
        read("cpu", &["cpu.shares", "cpu.weight"]),
    );
    m.insert("limits.pids".into(), read("pids", &["pids.max"]));
    m
}

/// `property → value` for one side (`proc` names the process for the extras).
fn flatten(r: &Report, proc: &str) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in &r.namespaces {
        m.insert(format!("namespaces.{k}"), json!(v));
    }
    m.insert("uid_map".into(), json!(process::id_map(proc, "uid_map")));
    m.insert("gid_map".into(), json!(process::id_map(proc, "gid_map")));
    m.insert("hostname".into(), json!(r.hostname));
    m.insert("domainname".into(), json!(r.domainname));
    m.insert("user.uid".into(), json!(r.uid.map(|u| u[1])));
    m.insert("user.gid".into(), json!(r.gid.map(|g| g[1])));
    m.insert("user.groups".into(), json!(r.groups));
    for (set, hex) in &r.caps {
        m.insert(
            format!("caps.{set}"),
            json!(hex.as_deref().map(process::cap_names)),
        );
    }
    m.insert("no_new_privs".into(), json!(r.no_new_privs));
    m.insert("seccomp.mode".into(), json!(r.seccomp));
    m.insert(
        "seccomp.filters".into(),
        json!(process::seccomp_filters(proc)),
    );
    let root_ro = r
        .mounts
        .iter()
        .rev()
        .find(|m| m.target == "/")
        .map(|m| m.options.iter().any(|o| o == "ro"));
    m.insert("rootfs.readonly".into(), json!(root_ro));
    m.insert("mounts.count".into(), json!(r.mounts.len()));
    m.insert("cgroup".into(), json!(r.cgroup));
    for (k, v) in &r.rlimits {
        m.insert(
            format!("rlimits.{k}"),
            json!(v.map(|[s, h]| [rlimit_value(s), rlimit_value(h)])),
        );
    }
    m.insert("processes.count".into(), json!(r.processes.len()));
    m.insert("processes".into(), json!(r.processes));
    m
}

/// The whole report: the container's properties, the host's, and the mounts.
pub fn report(store: &Store, given: &str) -> Result<Value> {
    let known = super::stats::resolve(store, given)?;
    let rt = super::stats::runtime(store);
    // A container that has exited has no runtime state left.
    let state = crate::container::state(&rt, &known.id).unwrap_or_default();
    let pid = state["pid"].as_i64().unwrap_or(0) as i32;
    if state["status"] != "running" || pid <= 0 {
        return Err(Error::State(format!(
            "container {} is not running",
            known.name
        )));
    }
    let (_, saved) = rt.open(&known.id)?;
    let config: Value = std::fs::read(saved.bundle.join("config.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let mut inside = enter::inside(pid)?;
    process::of_pid(&mut inside, pid);
    let host = crate::report::collect();
    let host_uid = inside.uid.map(|u| u[1]);
    let own_userns = host.namespaces.get("user") != inside.namespaces.get("user");
    if own_userns {
        process::ids_inside(&mut inside, pid);
    }
    let mut props = flatten(&inside, &pid.to_string());
    props.insert("user.uid.host".into(), json!(host_uid));
    let host_props = flatten(&host, "self");
    for (k, v) in &inside.namespaces {
        let own = host.namespaces.get(k) != Some(v);
        props.insert(format!("namespaces.{k}.own"), json!(own));
    }
    props.extend(path_states(&inside, &config, pid));
    props.extend(limits(&saved));
    let mounts: Vec<String> = inside
        .mounts
        .iter()
        .map(|m| {
            format!(
                "{} {} {} {}",
                m.target,
                m.fstype,
                m.source,
                m.options.join(",")
            )
        })
        .collect();
    Ok(json!({"id": known.id, "name": known.name, "pid": pid,
        "properties": props, "host": host_props, "mounts": mounts}))
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

fn print_table(rep: &Value, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "container {} ({}), init pid {}",
        rep["id"].as_str().unwrap_or(""),
        rep["name"].as_str().unwrap_or(""),
        rep["pid"]
    )?;
    writeln!(out, "{:<28}{:<44}HOST", "PROPERTY", "CONTAINER")?;
    let empty = Map::new();
    let host = rep["host"].as_object().unwrap_or(&empty);
    for (k, v) in rep["properties"].as_object().unwrap_or(&empty) {
        let (c, h) = (show(v), host.get(k).map(show).unwrap_or_default());
        if k.len() < 28 && c.len() < 44 {
            writeln!(out, "{k:<28}{c:<44}{h}")?;
        } else {
            // Too wide for the columns: one line per side.
            writeln!(out, "{k}\n  container: {c}")?;
            if !h.is_empty() {
                writeln!(out, "  host:      {h}")?;
            }
        }
    }
    writeln!(out, "MOUNTS (container)")?;
    for m in rep["mounts"].as_array().into_iter().flatten() {
        writeln!(out, "  {}", m.as_str().unwrap_or(""))?;
    }
    Ok(())
}

/// Properties of `expect` that do not hold, one line each.
pub fn check(props: &Value, expect: &Value) -> Result<Vec<String>> {
    let wanted = expect.as_object().ok_or_else(|| {
        Error::Usage("--expect: the file must hold a JSON object of property → value".into())
    })?;
    let mut failed = Vec::new();
    for (k, want) in wanted {
        match props.get(k) {
            None => failed.push(format!("{k}: no such property")),
            Some(got) if got != want => failed.push(format!("{k}: expected {want}, got {got}")),
            Some(_) => {}
        }
    }
    Ok(failed)
}

/// Exit status: 0, or 1 when an expectation does not hold.
pub fn command(store: &Store, a: &IsolationArgs, out: &mut dyn Write) -> Result<i32> {
    let expect: Option<Value> = match &a.expect {
        Some(f) => {
            let text = std::fs::read(f).map_err(|e| Error::io("--expect", f, e))?;
            Some(
                serde_json::from_slice(&text)
                    .map_err(|e| Error::Usage(format!("--expect {}: {e}", f.display())))?,
            )
        }
        None => None,
    };
    let rep = report(store, &a.container)?;
    let failed = match &expect {
        Some(e) => check(&rep["properties"], e)?,
        None => Vec::new(),
    };
    let io = |e| Error::io("write", "stdout", e);
    if a.format.as_deref() == Some("json") {
        writeln!(out, "{rep}").map_err(io)?;
    } else {
        print_table(&rep, out).map_err(io)?;
    }
    for f in &failed {
        eprintln!("isolation: expectation not met: {f}");
    }
    Ok(if failed.is_empty() { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations() {
        let props = json!({"hostname": "abc", "seccomp.mode": 2, "caps.effective": ["CAP_CHOWN"]});
        assert!(
            check(&props, &json!({"hostname": "abc", "seccomp.mode": 2}))
                .unwrap()
                .is_empty()
        );
        let f = check(&props, &json!({"seccomp.mode": 0, "nope": 1})).unwrap();
        assert_eq!(
            f,
            ["nope: no such property", "seccomp.mode: expected 0, got 2"]
        );
        assert!(check(&props, &json!([1])).is_err());
    }
}

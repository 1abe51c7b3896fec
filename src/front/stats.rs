//! `nook stats [--no-stream] [--format json] [C...]`: docker's table (CONTAINER
//! ID, NAME, CPU %, MEM USAGE / LIMIT, MEM %, NET I/O, BLOCK I/O, PIDS) from the
//! cgroup stats layer `nook-runtime events --stats` uses. Containers are found
//! through `<store>/containers/*/container.json`, their runtime state in `<store>/runtime`.

use crate::cli::front_config::StatsArgs;
use crate::container::store::Store as RuntimeStore;
use crate::error::{Error, Result};
use crate::image::store::Store;
use serde_json::{json, Value};
use std::io::Write;
use std::time::{Duration, Instant};

/// A container of the store: its `container.json` record.
#[derive(Debug, Clone)]
pub struct Known {
    pub id: String,
    pub name: String,
}

/// Every container of the store, sorted by id.
pub fn known(store: &Store) -> Vec<Known> {
    let mut out: Vec<Known> = std::fs::read_dir(store.root().join("containers"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: Value =
                serde_json::from_slice(&std::fs::read(e.path().join("container.json")).ok()?)
                    .ok()?;
            Some(Known {
                id: v["id"].as_str()?.to_string(),
                name: v["name"].as_str().unwrap_or("").to_string(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// A container by full id, name or unique id prefix.
pub fn resolve(store: &Store, given: &str) -> Result<Known> {
    let all = known(store);
    if let Some(k) = all.iter().find(|k| k.id == given || k.name == given) {
        return Ok(k.clone());
    }
    let matching: Vec<&Known> = all
        .iter()
        .filter(|k| !given.is_empty() && k.id.starts_with(given))
        .collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Error::Usage(format!("no such container: {given}"))),
        _ => Err(Error::Usage(format!(
            "multiple containers match the prefix {given}"
        ))),
    }
}

pub fn runtime(store: &Store) -> RuntimeStore {
    RuntimeStore::new(&store.root().join("runtime"))
}

/// One sample: the runtime's stats object, init's pid, and when it was taken.
struct Sample {
    data: Value,
    pid: i64,
    at: Instant,
}

fn sample(rt: &RuntimeStore, id: &str) -> Option<Sample> {
    let ev = crate::container::cgroups::stats_event(rt, id).ok()?;
    let pid = crate::container::state(rt, id).ok()?["pid"]
        .as_i64()
        .unwrap_or(0);
    Some(Sample {
        data: ev["data"].clone(),
        pid,
        at: Instant::now(),
    })
}

/// docker's binary units: `1.5MiB`, `64MiB`, `0B`.
pub fn bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    let text = format!("{v:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{}", units[i])
}

fn host_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let kb: u64 = m
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))?
                .trim()
                .trim_end_matches(" kB")
                .trim()
                .parse()
                .ok()?;
            Some(kb * 1024)
        })
        .unwrap_or(u64::MAX)
}

/// Received and sent bytes of init's network namespace, loopback left out.
fn net_io(pid: i64) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).unwrap_or_default();
    text.lines()
        .skip(2)
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            let f: Vec<u64> = rest
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            (name.trim() != "lo" && f.len() > 8).then(|| (f[0], f[8]))
        })
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

fn block_io(data: &Value) -> (u64, u64) {
    let sum = |op: &str| {
        data["blkio"]["ioServiceBytesRecursive"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["op"].as_str().is_some_and(|o| o.eq_ignore_ascii_case(op)))
            .filter_map(|e| e["value"].as_u64())
            .sum()
    };
    (sum("read"), sum("write"))
}

/// The row for one container from two samples (CPU % is usage over wall time, 100% a core).
fn row(k: &Known, a: &Sample, b: &Sample) -> Value {
    let used = |s: &Sample| s.data["cpu"]["usage"]["total"].as_u64().unwrap_or(0);
    let wall = b.at.duration_since(a.at).as_nanos().max(1) as f64;
    let cpu = used(b).saturating_sub(used(a)) as f64 / wall * 100.0;
    let mem = &b.data["memory"];
    // docker leaves the page cache that can be dropped out of "usage".
    let inactive = mem["raw"]["total_inactive_file"]
        .as_u64()
        .or(mem["raw"]["inactive_file"].as_u64())
        .unwrap_or(0);
    let usage = mem["usage"]["usage"]
        .as_u64()
        .unwrap_or(0)
        .saturating_sub(inactive);
    let limit = mem["usage"]["limit"]
        .as_u64()
        .unwrap_or(u64::MAX)
        .min(host_memory());
    let (rx, tx) = net_io(b.pid);
    let (rd, wr) = block_io(&b.data);
    json!({"ID": k.id, "Name": k.name, "CPUPerc": format!("{cpu:.2}%"),
        "MemUsage": format!("{} / {}", bytes(usage), bytes(limit)),
        "MemPerc": format!("{:.2}%", usage as f64 / limit.max(1) as f64 * 100.0),
        "NetIO": format!("{} / {}", bytes(rx), bytes(tx)), "BlockIO": format!("{} / {}", bytes(rd), bytes(wr)),
        "PIDs": b.data["pids"]["current"].as_u64().unwrap_or(0).to_string(),
        "MemLimit": limit, "MemUsageBytes": usage})
}

fn print(rows: &[Value], a: &StatsArgs, out: &mut dyn Write) -> std::io::Result<()> {
    if a.format.as_deref() == Some("json") {
        for r in rows {
            writeln!(out, "{r}")?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "{:<14}{:<20}{:<9}{:<22}{:<9}{:<16}{:<16}PIDS",
        "CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O"
    )?;
    for r in rows {
        let id = r["ID"].as_str().unwrap_or("");
        let id = if a.no_trunc {
            id
        } else {
            &id[..id.len().min(12)]
        };
        let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
        writeln!(
            out,
            "{:<14}{:<20}{:<9}{:<22}{:<9}{:<16}{:<16}{}",
            id,
            s("Name"),
            s("CPUPerc"),
            s("MemUsage"),
            s("MemPerc"),
            s("NetIO"),
            s("BlockIO"),
            s("PIDs")
        )?;
    }
    Ok(())
}

pub fn command(store: &Store, a: &StatsArgs, out: &mut dyn Write) -> Result<()> {
    let rt = runtime(store);
    let named = !a.containers.is_empty();
    let wanted: Vec<Known> = if named {
        a.containers
            .iter()
            .map(|c| resolve(store, c))
            .collect::<Result<_>>()?
    } else {
        known(store)
    };
    loop {
        let first: Vec<(Known, Sample)> = wanted
            .iter()
            .filter_map(|k| Some((k.clone(), sample(&rt, &k.id)?)))
            .collect();
        if named && first.len() < wanted.len() {
            let gone = wanted
                .iter()
                .find(|k| !first.iter().any(|(f, _)| f.id == k.id))
                .expect("one is missing");
            return Err(Error::State(format!(
                "container {} is not running",
                gone.name
            )));
        }
        std::thread::sleep(Duration::from_millis(500));
        let rows: Vec<Value> = first
            .iter()
            .filter_map(|(k, a0)| Some(row(k, a0, &sample(&rt, &k.id)?)))
            .collect();
        if !a.no_stream && a.format.as_deref() != Some("json") {
            write!(out, "\x1b[2J\x1b[H").map_err(|e| Error::io("write", "stdout", e))?;
        }
        print(&rows, a, out).map_err(|e| Error::io("write", "stdout", e))?;
        out.flush().map_err(|e| Error::io("write", "stdout", e))?;
        if a.no_stream {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_sizes_like_docker() {
        assert_eq!(bytes(0), "0B");
        assert_eq!(bytes(64 << 20), "64MiB");
        assert_eq!(bytes(1536 * 1024), "1.5MiB");
        assert_eq!(bytes(1000), "1000B");
    }
}

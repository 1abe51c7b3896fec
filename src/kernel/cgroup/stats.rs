//! Resource usage in runc's `events --stats` shape: cpu, memory, pids
//! (and the oom-kill count, for `events` to report new OOM kills).

use super::{fs, Cgroup};
use serde_json::{json, Map, Value};
use std::path::Path;

fn num(dir: &Path, file: &str) -> u64 {
    fs::read(&dir.join(file))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// `max` (v2) and v1's "unlimited" sentinel both read as u64::MAX-ish; keep them as numbers.
fn limit(dir: &Path, file: &str) -> u64 {
    match fs::read(&dir.join(file)).as_deref() {
        Some("max") | None => u64::MAX,
        Some(v) => v.parse().unwrap_or(u64::MAX),
    }
}

/// `key value` lines (memory.stat, cpu.stat, memory.events) as a map.
fn kv(dir: &Path, file: &str) -> Map<String, Value> {
    fs::read(&dir.join(file))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter_map(|(k, v)| Some((k.to_string(), Value::from(v.trim().parse::<u64>().ok()?))))
        .collect()
}

fn get(m: &Map<String, Value>, k: &str) -> u64 {
    m.get(k).and_then(Value::as_u64).unwrap_or(0)
}

pub fn stats(cg: &Cgroup) -> Value {
    match cg {
        Cgroup::V1 { .. } => v1(cg),
        Cgroup::V2 { dir, .. } => v2(dir),
        Cgroup::None { .. } => json!({}),
    }
}

fn v1(cg: &Cgroup) -> Value {
    let mut out = json!({});
    if let Some(d) = cg.dir_of("cpuacct") {
        let percpu: Vec<u64> = fs::read(&d.join("cpuacct.usage_percpu"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        let st = kv(&d, "cpuacct.stat");
        // cpuacct.stat is in clock ticks (USER_HZ = 100); runc reports nanoseconds.
        out["cpu"] = json!({"usage": {"total": num(&d, "cpuacct.usage"), "percpu": percpu,
            "kernel": get(&st, "system") * 10_000_000, "user": get(&st, "user") * 10_000_000}});
    }
    if let Some(d) = cg.dir_of("cpu") {
        let t = kv(&d, "cpu.stat");
        out["cpu"]["throttling"] = json!({"periods": get(&t, "nr_periods"),
            "throttledPeriods": get(&t, "nr_throttled"), "throttledTime": get(&t, "throttled_time")});
    }
    if let Some(d) = cg.dir_of("memory") {
        let entry = |p: &str| {
            json!({"limit": limit(&d, &format!("{p}limit_in_bytes")), "usage": num(&d, &format!("{p}usage_in_bytes")),
                   "max": num(&d, &format!("{p}max_usage_in_bytes")), "failcnt": num(&d, &format!("{p}failcnt"))})
        };
        let oom = fs::read(&d.join("memory.oom_control")).unwrap_or_default();
        let oom_kill = oom
            .lines()
            .find_map(|l| l.strip_prefix("oom_kill "))
            .and_then(|v| v.parse::<u64>().ok());
        out["memory"] = json!({"usage": entry("memory."), "swap": entry("memory.memsw."),
            "kernel": entry("memory.kmem."), "kernelTCP": entry("memory.kmem.tcp."),
            "raw": Value::Object(kv(&d, "memory.stat")), "oomKill": oom_kill.unwrap_or(0)});
    }
    if let Some(d) = cg.dir_of("pids") {
        out["pids"] = json!({"current": num(&d, "pids.current"), "limit": limit(&d, "pids.max")});
    }
    if let Some(d) = cg.dir_of("blkio") {
        // `MAJ:MIN Op bytes` lines (plus a `Total` line, left out as runc does).
        let entries: Vec<Value> = fs::read(&d.join("blkio.throttle.io_service_bytes_recursive"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                let (dev, op, v) = (w.next()?, w.next()?, w.next()?.parse::<u64>().ok()?);
                let (ma, mi) = dev.split_once(':')?;
                Some(
                    json!({"major": ma.parse::<u64>().ok()?, "minor": mi.parse::<u64>().ok()?,
                            "op": op, "value": v}),
                )
            })
            .collect();
        out["blkio"] = json!({ "ioServiceBytesRecursive": entries });
    }
    out
}

/// v2 `io.stat` (`MAJ:MIN rbytes=.. wbytes=.. ...`) in runc's blkio shape.
fn io_v2(d: &Path) -> Value {
    let mut entries = Vec::new();
    for l in fs::read(&d.join("io.stat")).unwrap_or_default().lines() {
        let mut w = l.split_whitespace();
        let Some((ma, mi)) = w.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        for kv in w {
            let op = match kv.split_once('=') {
                Some(("rbytes", v)) => ("Read", v),
                Some(("wbytes", v)) => ("Write", v),
                _ => continue,
            };
            entries.push(json!({"major": ma.parse::<u64>().unwrap_or(0), "minor": mi.parse::<u64>().unwrap_or(0),
                                "op": op.0, "value": op.1.parse::<u64>().unwrap_or(0)}));
        }
    }
    json!({ "ioServiceBytesRecursive": entries })
}

fn v2(d: &Path) -> Value {
    let cpu = kv(d, "cpu.stat");
    let ev = kv(d, "memory.events");
    json!({
        "cpu": {
            "usage": {"total": get(&cpu, "usage_usec") * 1000, "kernel": get(&cpu, "system_usec") * 1000,
                      "user": get(&cpu, "user_usec") * 1000, "percpu": []},
            "throttling": {"periods": get(&cpu, "nr_periods"), "throttledPeriods": get(&cpu, "nr_throttled"),
                           "throttledTime": get(&cpu, "throttled_usec") * 1000}
        },
        "memory": {
            "usage": {"limit": limit(d, "memory.max"), "usage": num(d, "memory.current"),
                      "max": num(d, "memory.peak"), "failcnt": get(&ev, "max")},
            "swap": {"limit": limit(d, "memory.swap.max"), "usage": num(d, "memory.swap.current")},
            "raw": Value::Object(kv(d, "memory.stat")),
            "oomKill": get(&ev, "oom_kill")
        },
        "pids": {"current": num(d, "pids.current"), "limit": limit(d, "pids.max")},
        "blkio": io_v2(d)
    })
}

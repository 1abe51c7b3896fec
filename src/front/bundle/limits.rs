//! `--memory`, `--memory-swap`, `--cpus`, `--cpu-shares`, `--blkio-weight`,
//! `--pids-limit` as OCI `linux.resources`, `--ulimit` as `process.rlimits`,
//! and `--env-file` in docker's format. All pure, all errors name the flag.

use crate::cli::front_config::ConfigArgs;
use crate::cli::units::parse_bytes;
use crate::error::{Error, Result};
use serde_json::{json, Map, Value};

fn usage(flag: &str, value: &str, why: impl std::fmt::Display) -> Error {
    Error::Usage(format!("{flag} {value:?}: {why}"))
}

fn bytes(flag: &str, value: &str) -> Result<i64> {
    match parse_bytes(value) {
        Ok(n) if n >= 0 || flag == "--memory-swap" => Ok(n),
        Ok(_) => Err(usage(flag, value, "must not be negative")),
        Err(e) => Err(usage(flag, value, e)),
    }
}

/// The `linux.resources` keys the flags ask for (devices are the bundle's business).
pub fn resources(a: &ConfigArgs, host_cpus: usize) -> Result<Map<String, Value>> {
    let mut r = Map::new();
    let memory = a
        .memory
        .as_deref()
        .map(|m| bytes("--memory", m))
        .transpose()?;
    let swap = a
        .memory_swap
        .as_deref()
        .map(|m| bytes("--memory-swap", m))
        .transpose()?;
    match (memory.filter(|m| *m > 0), swap) {
        (None, Some(s)) if s != 0 => {
            return Err(usage(
                "--memory-swap",
                a.memory_swap.as_deref().unwrap_or(""),
                "set --memory too (the swap limit includes it)",
            ));
        }
        (Some(m), Some(s)) if s > 0 && s < m => {
            return Err(usage(
                "--memory-swap",
                a.memory_swap.as_deref().unwrap_or(""),
                "must be at least --memory",
            ));
        }
        // docker: without --memory-swap, as much swap as memory.
        (Some(m), None) => r.insert(
            "memory".into(),
            json!({"limit": m, "swap": m.saturating_mul(2)}),
        ),
        (Some(m), Some(s)) => r.insert("memory".into(), json!({"limit": m, "swap": s})),
        _ => None,
    };
    let mut cpu = Map::new();
    if let Some(c) = &a.cpus {
        let n: f64 = c.parse().map_err(|_| usage("--cpus", c, "not a number"))?;
        if !(0.01..=host_cpus as f64).contains(&n) {
            return Err(usage("--cpus", c, format!(
                "range of CPUs is from 0.01 to {host_cpus}.00, as there are only {host_cpus} CPUs available"
            )));
        }
        cpu.insert("period".into(), json!(100_000));
        cpu.insert("quota".into(), json!((n * 100_000.0).round() as i64));
    }
    if let Some(s) = a.cpu_shares {
        cpu.insert("shares".into(), json!(s));
    }
    if !cpu.is_empty() {
        r.insert("cpu".into(), cpu.into());
    }
    if let Some(p) = a.pids_limit {
        r.insert("pids".into(), json!({"limit": if p <= 0 { -1 } else { p }}));
    }
    if let Some(w) = a.blkio_weight {
        if !(10..=1000).contains(&w) {
            return Err(usage(
                "--blkio-weight",
                &w.to_string(),
                "must be in the range 10 to 1000",
            ));
        }
        r.insert("blockIO".into(), json!({"weight": w}));
    }
    Ok(r)
}

const ULIMITS: [&str; 16] = [
    "as",
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

fn limit_value(flag_value: &str, v: &str) -> Result<u64> {
    match v {
        "unlimited" | "-1" => Ok(u64::MAX),
        _ => v
            .parse()
            .map_err(|_| usage("--ulimit", flag_value, format!("invalid value {v:?}"))),
    }
}

/// `--ulimit name=soft[:hard]` → OCI rlimits (hard defaults to soft; later wins).
pub fn rlimits(specs: &[String]) -> Result<Vec<Value>> {
    let mut out: Vec<Value> = Vec::new();
    for s in specs {
        let (name, vals) = s
            .split_once('=')
            .ok_or_else(|| usage("--ulimit", s, "expected NAME=SOFT[:HARD]"))?;
        if !ULIMITS.contains(&name) {
            return Err(usage("--ulimit", s, format!("unknown limit {name:?}")));
        }
        let (soft, hard) = vals.split_once(':').unwrap_or((vals, vals));
        let (soft, hard) = (limit_value(s, soft)?, limit_value(s, hard)?);
        if soft > hard {
            return Err(usage(
                "--ulimit",
                s,
                "the soft limit must be less than or equal to the hard limit",
            ));
        }
        let kind = format!("RLIMIT_{}", name.to_ascii_uppercase());
        out.retain(|r| r["type"] != kind.as_str());
        out.push(json!({"type": kind, "soft": soft, "hard": hard}));
    }
    Ok(out)
}

/// docker's env-file: one `KEY=VALUE` per line, taken as written; `#` lines
/// and blank lines skipped; a bare `KEY` takes the value from nook's own
/// environment (dropped when unset).
pub fn env_file(path: &std::path::Path, text: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (line.trim_end(), None),
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(Error::Usage(format!(
                "--env-file {}: line {}: variable {key:?} contains whitespace or is empty",
                path.display(),
                n + 1
            )));
        }
        match value {
            Some(v) => out.push(format!("{key}={v}")),
            None => out.extend(std::env::var(key).ok().map(|v| format!("{key}={v}"))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> ConfigArgs {
        ConfigArgs::default()
    }

    #[test]
    fn memory_and_swap() {
        let mut a = args();
        a.memory = Some("64m".into());
        assert_eq!(
            resources(&a, 2).unwrap()["memory"],
            json!({"limit": 64 << 20, "swap": 128 << 20})
        );
        a.memory_swap = Some("-1".into());
        assert_eq!(resources(&a, 2).unwrap()["memory"]["swap"], -1);
        a.memory_swap = Some("32m".into());
        assert!(resources(&a, 2)
            .unwrap_err()
            .to_string()
            .starts_with("--memory-swap \"32m\""));
        a.memory = Some("64x".into());
        assert!(resources(&a, 2)
            .unwrap_err()
            .to_string()
            .starts_with("--memory \"64x\""));
        let mut b = args();
        b.memory_swap = Some("1g".into());
        assert!(resources(&b, 2).is_err());
    }

    #[test]
    fn cpus_pids_blkio() {
        let mut a = args();
        a.cpus = Some("0.5".into());
        a.cpu_shares = Some(512);
        a.pids_limit = Some(0);
        let r = resources(&a, 2).unwrap();
        assert_eq!(
            r["cpu"],
            json!({"period": 100000, "quota": 50000, "shares": 512})
        );
        assert_eq!(r["pids"]["limit"], -1);
        a.cpus = Some("3".into());
        assert!(resources(&a, 2)
            .unwrap_err()
            .to_string()
            .contains("only 2 CPUs"));
        let mut b = args();
        b.blkio_weight = Some(5);
        assert!(resources(&b, 2).is_err());
    }

    #[test]
    fn ulimits() {
        let r = rlimits(&["nofile=100:200".into(), "core=0".into(), "nofile=50".into()]).unwrap();
        assert_eq!(r[0], json!({"type": "RLIMIT_CORE", "soft": 0, "hard": 0}));
        assert_eq!(
            r[1],
            json!({"type": "RLIMIT_NOFILE", "soft": 50, "hard": 50})
        );
        for bad in ["nofile", "bogus=1", "nofile=2:1", "nofile=x"] {
            assert!(
                rlimits(&[bad.into()])
                    .unwrap_err()
                    .to_string()
                    .starts_with("--ulimit"),
                "{bad}"
            );
        }
    }

    #[test]
    fn env_files() {
        let p = std::path::Path::new("f");
        let got = env_file(p, "# c\n\n  A=1 \nB=x=y\nNOOK_SURELY_UNSET\n").unwrap();
        assert_eq!(got, ["A=1 ", "B=x=y"]);
        assert!(env_file(p, "A B=1\n")
            .unwrap_err()
            .to_string()
            .contains("line 1"));
    }
}

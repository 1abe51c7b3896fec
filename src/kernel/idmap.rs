//! Writing uid/gid maps of a new user namespace from outside it: directly, or
//! through the setuid helpers `newuidmap`/`newgidmap` for delegated ranges.

use crate::error::{Error, Result};
use crate::plan::{IdMap, IdMaps, MapWriter};
use std::fs;
use std::path::Path;

fn write(pid: i32, name: &str, text: &str) -> Result<()> {
    let path = format!("/proc/{pid}/{name}");
    fs::write(&path, text).map_err(|e| Error::io("write", path, e))
}

/// Give `pid`'s new user namespace both maps, each the way the plan chose.
pub fn apply(pid: i32, maps: &IdMaps) -> Result<()> {
    one(pid, "uid_map", &maps.uid, &maps.uid_writer)?;
    one(pid, "gid_map", &maps.gid, &maps.gid_writer)
}

fn one(pid: i32, name: &str, maps: &[IdMap], how: &MapWriter) -> Result<()> {
    match how {
        MapWriter::Direct { deny_setgroups } => {
            if *deny_setgroups {
                write(pid, "setgroups", "deny")?;
            }
            write(pid, name, &IdMaps::render(maps))
        }
        MapWriter::Helper(prog) => run_helper(prog, pid, maps),
    }
}

/// `newuidmap PID inside outside count ...`; its complaint becomes the error.
fn run_helper(prog: &Path, pid: i32, maps: &[IdMap]) -> Result<()> {
    let mut cmd = std::process::Command::new(prog);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([m.container, m.host, m.size].map(|n| n.to_string()));
    }
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::io("exec", prog, e))?;
    if out.status.success() {
        return Ok(());
    }
    let why = String::from_utf8_lossy(&out.stderr);
    let why = why.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    Err(Error::Child(format!(
        "{} {pid} {}: {} ({}); see `nook doctor`",
        prog.display(),
        IdMaps::render(maps).trim().replace('\n', " "),
        why.trim(),
        out.status
    )))
}

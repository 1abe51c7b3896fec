//! `nook inspect` (containers first, then images, as docker), `top`,
//! `system df`, `info`, `version`.

use super::containers::{self, Record};
use super::status;
use crate::error::{Error, Result};
use crate::image::store::Store;
use crate::image::table::human_size;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;

/// Bytes of regular files below `dir` (not following links, one device).
pub fn dir_size(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let Ok(md) = e.path().symlink_metadata() else {
                continue;
            };
            if md.is_dir() {
                stack.push(e.path());
            } else if md.is_file() {
                total += md.size();
            }
        }
    }
    total
}

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

pub fn container_json(store: &Store, rec: &Record) -> Value {
    let l = status::live(store, &rec.id);
    let time = |t: &str| {
        if t.is_empty() {
            ZERO_TIME.to_string()
        } else {
            t.to_string()
        }
    };
    let dir = containers::dir(store, &rec.id);
    let policy = super::restart::Policy::parse(&rec.restart_policy, false)
        .unwrap_or_default()
        .name();
    json!({
        "Id": rec.id,
        "Created": rec.created,
        "Path": rec.args.first().cloned().unwrap_or_default(),
        "Args": rec.args.get(1..).unwrap_or_default(),
        "State": {
            "Status": l.phase.as_str(),
            "Running": l.phase == status::Phase::Running,
            "Paused": l.phase == status::Phase::Paused,
            "Restarting": l.phase == status::Phase::Restarting,
            "OOMKilled": false,
            "Dead": false,
            "Pid": l.pid,
            "ExitCode": l.exit_code,
            "Error": status::exit_file(store, &rec.id).map(|e| e.error).unwrap_or_default(),
            "StartedAt": time(&l.started_at),
            "FinishedAt": time(&l.finished_at),
        },
        "Image": rec.image_id,
        "LogPath": match rec.log.driver.as_str() {
            "none" => std::path::PathBuf::new(),
            _ => dir.join(super::logfile::LOG),
        },
        "Name": format!("/{}", rec.name),
        "RestartCount": super::restart::read(store, &rec.id).map_or(0, |r| r.restart_count),
        "Driver": if rec.overlay.is_some() { "overlay" } else { "copy" },
        "HostConfig": {
            "AutoRemove": rec.auto_remove,
            "RestartPolicy": {
                "Name": policy.0,
                "MaximumRetryCount": policy.1,
            },
            "LogConfig": rec.log.docker_json(),
            "NetworkMode": "private",
            "Extra": rec.host_config,
        },
        "GraphDriver": {"Data": {"MergedDir": rec.rootfs}, "Name": if rec.overlay.is_some() { "overlay" } else { "copy" }},
        "Config": {
            "Hostname": rec.hostname,
            "User": rec.user,
            "AttachStdin": rec.open_stdin,
            "Tty": rec.tty,
            "OpenStdin": rec.open_stdin,
            "StdinOnce": rec.open_stdin,
            "Env": rec.env,
            "Cmd": rec.cmd,
            "Image": rec.image,
            "WorkingDir": rec.working_dir,
            "Entrypoint": rec.entrypoint,
            "StopSignal": rec.stop_signal,
            "StopTimeout": rec.stop_timeout,
            "Labels": rec.labels,
        },
    })
}

/// Each name: a container if one matches, else an image.
pub fn inspect(
    store: &Store,
    what: &[String],
    images_too: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let mut all = Vec::new();
    for w in what {
        match containers::lookup(store, w) {
            Ok(id) => all.push(container_json(store, &containers::read_record(store, &id)?)),
            Err(e) if images_too && e.to_string().starts_with("No such container") => {
                match crate::image::inspect::inspect(store, w) {
                    Ok(v) => all.push(v),
                    Err(Error::NoImage(_)) => {
                        return Err(Error::Usage(format!("No such object: {w}")));
                    }
                    Err(_) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
    let text = serde_json::to_string_pretty(&Value::Array(all)).expect("serialises");
    writeln!(out, "{text}").map_err(|e| Error::io("write", "stdout", e))
}

pub fn top(store: &Store, c: &str, ps_args: &[String], out: &mut dyn Write) -> Result<()> {
    let id = containers::lookup(store, c)?;
    if !status::live(store, &id).running() {
        return Err(Error::Usage(format!("container {id} is not running")));
    }
    let pids = crate::container::cgroups::pids(&containers::runtime(store), &id)?;
    let table = crate::container::cgroups::ps_table(&pids, ps_args)?;
    out.write_all(table.as_bytes())
        .map_err(|e| Error::io("write", "stdout", e))
}

pub fn system_df(store: &Store, out: &mut dyn Write) -> Result<()> {
    let images = store.images()?;
    let ids = containers::ids(store);
    let recs: Vec<Record> = ids
        .iter()
        .filter_map(|id| containers::read_record(store, id).ok())
        .collect();
    let used: std::collections::BTreeSet<&str> = recs.iter().map(|r| r.image_id.as_str()).collect();
    let isize: u64 = images.iter().map(|i| i.size()).sum();
    let reclaim: u64 = images
        .iter()
        .filter(|i| !used.contains(i.id.to_string().as_str()))
        .map(|i| i.size())
        .sum();
    let running = ids
        .iter()
        .filter(|id| status::live(store, id).running())
        .count();
    let sizes: Vec<(bool, u64)> = ids
        .iter()
        .map(|id| {
            let s = dir_size(&containers::dir(store, id).join("snapshot/upper"));
            (status::live(store, id).running(), s)
        })
        .collect();
    let csize: u64 = sizes.iter().map(|s| s.1).sum();
    let creclaim: u64 = sizes.iter().filter(|s| !s.0).map(|s| s.1).sum();
    let pct = |part: u64, all: u64| (part * 100).checked_div(all).unwrap_or(0);
    let rows = vec![
        ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
            .map(String::from)
            .to_vec(),
        vec![
            "Images".into(),
            images.len().to_string(),
            used.len().min(images.len()).to_string(),
            human_size(isize),
            format!("{} ({}%)", human_size(reclaim), pct(reclaim, isize)),
        ],
        vec![
            "Containers".into(),
            ids.len().to_string(),
            running.to_string(),
            human_size(csize),
            format!("{} ({}%)", human_size(creclaim), pct(creclaim, csize)),
        ],
        ["Local Volumes", "0", "0", "0B", "0B"]
            .map(String::from)
            .to_vec(),
        ["Build Cache", "0", "0", "0B", "0B"]
            .map(String::from)
            .to_vec(),
    ];
    out.write_all(super::ps::columns(&rows).as_bytes())
        .map_err(|e| Error::io("write", "stdout", e))
}

pub fn info(store: &Store, out: &mut dyn Write) -> Result<()> {
    let ids = containers::ids(store);
    let phases: Vec<status::Phase> = ids.iter().map(|id| status::live(store, id).phase).collect();
    let count = |p: status::Phase| phases.iter().filter(|x| **x == p).count();
    let host = crate::host::Host::detect();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let overlay = crate::image::snapshot::overlay_unavailable(0).is_none();
    let cgroup = if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        2
    } else {
        1
    };
    let text = format!(
        "Client: nook\n Version:    {v}\n\nServer: (none: nook has no daemon)\n Containers: {}\n  Running: {}\n  Paused: {}\n  Stopped: {}\n Images: {}\n Server Version: {v}\n Storage Driver: {}\n Logging Driver: json-file\n Cgroup Driver: cgroupfs\n Cgroup Version: {cgroup}\n Runtimes: nook-runtime (library)\n Kernel Version: {}\n Operating System: {}\n Nook Root Dir: {}\n Rootless: {}\n",
        ids.len(),
        count(status::Phase::Running),
        count(status::Phase::Paused),
        count(status::Phase::Exited) + count(status::Phase::Created),
        store.images()?.len(),
        if overlay { "overlay" } else { "copy" },
        kernel.trim(),
        os_name(),
        store.root().display(),
        host.euid != 0 || host.in_userns,
        v = env!("CARGO_PKG_VERSION"),
    );
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("write", "stdout", e))
}

fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|s| s.trim_matches('"').to_string())
        .unwrap_or_else(|| "Linux".into())
}

pub fn version(out: &mut dyn Write) -> Result<()> {
    let text = format!(
        "Client:\n Version:           {v}\n OS/Arch:           linux/{arch}\n\nRuntime (built in, no daemon):\n Version:           {v}\n Spec:              OCI runtime-spec 1.x (nook-runtime)\n",
        v = env!("CARGO_PKG_VERSION"),
        arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            a => a,
        },
    );
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("write", "stdout", e))
}

//! `nook run` and `nook create`: image → snapshot → bundle and record in
//! `<store>/containers/<id>/`, then (run) a monitor, and either the id
//! printed (`-d`) or the terminal attached until the container ends. Exit
//! status as docker's: 125 nook's own error, 126 not executable, 127 not
//! found, otherwise the container's.

use super::bundle::config;
pub use super::bundle::ProcessRequest;
use super::containers::{self, Record};
use crate::error::{Error, Result};
use crate::image::config::ImageProcess;
use crate::image::digest::Digest;
use crate::image::snapshot::{self, Snapshot, Want};
use crate::image::store::Store;
use nix::mount::MsFlags;
use std::io::Read;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::process::{Command, Stdio};

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub image: String,
    pub process: ProcessRequest,
    pub rm: bool,
    pub name: Option<String>,
    pub detach: bool,
    pub interactive: bool,
    pub stop_signal: Option<String>,
    pub stop_timeout: Option<u32>,
    /// `--userns=keep-id`: the user's ids map to themselves (rootless only).
    pub keep_id: bool,
    /// The configuration flags, checked (mounts, security, limits).
    pub config: super::bundle::Settings,
    /// docker's `--sig-proxy` (default true) and `--detach-keys` (parsed).
    pub sig_proxy: bool,
    pub detach_keys: Vec<u8>,
    /// `--restart` (checked, and refused with `--rm`).
    pub restart: super::restart::Policy,
    /// `--log-driver` and `--log-opt` (checked).
    pub log: super::logfile::LogConfig,
    /// `--label`, `--label-file` (later ones win).
    pub labels: std::collections::BTreeMap<String, String>,
}

/// Run a container; returns the exit status to use.
pub fn run(store: &Store, opts: &RunOptions) -> Result<i32> {
    let rec = create(store, opts)?;
    let id = rec.id.clone();
    let ready = match spawn_monitor(store, &id, !opts.detach) {
        Ok(r) => r,
        Err(e) => {
            discard(store, &rec);
            return Err(e);
        }
    };
    if let Some(msg) = ready["error"].as_str() {
        discard(store, &rec);
        let code = ready["code"].as_i64().unwrap_or(125) as i32;
        if code == 125 {
            return Err(Error::Child(msg.to_string()));
        }
        eprintln!("nook: {msg}");
        return Ok(code);
    }
    warn_not_applied(store, &id);
    if opts.detach {
        println!("{id}");
        return Ok(0);
    }
    let o = super::attach::AttachOptions {
        stdin: opts.interactive,
        tty: opts.process.tty,
        start: true,
        sig_proxy: opts.sig_proxy,
        detach_keys: Some(opts.detach_keys.clone()),
        stdin_once: true,
    };
    // Detached with the keys: docker's `run` says nothing and exits 0.
    match super::attach::attach(store, &id, &o)? {
        super::attach::Outcome::Exit(code) => Ok(code),
        super::attach::Outcome::Detached => Ok(0),
    }
}

/// `--label-file` lines (`KEY=VALUE`, `#` and blank lines skipped), then
/// `--label KEY[=VALUE]` over them; a bare `KEY` has the empty value.
pub fn labels(
    files: &[std::path::PathBuf],
    flags: &[String],
) -> Result<std::collections::BTreeMap<String, String>> {
    let mut all = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f)
            .map_err(|e| Error::Usage(format!("--label-file {}: {e}", f.display())))?;
        all.extend(
            text.lines()
                .map(str::trim_start)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(|l| (l.to_string(), format!("--label-file {}", f.display()))),
        );
    }
    all.extend(flags.iter().map(|l| (l.clone(), "--label".to_string())));
    let mut out = std::collections::BTreeMap::new();
    for (l, from) in all {
        let (k, v) = l.split_once('=').unwrap_or((l.trim_end(), ""));
        if k.is_empty() || k.contains(char::is_whitespace) {
            return Err(Error::Usage(format!(
                "{from}: invalid label {l:?} (KEY[=VALUE], no blank key)"
            )));
        }
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// `nook create`: everything but the monitor; the container is "Created".
pub fn create(store: &Store, opts: &RunOptions) -> Result<Record> {
    super::remove::empty_trash(store);
    let digest = store.resolve(&opts.image)?;
    let irec = store.image(&digest)?;
    let cfg = std::fs::read(store.blob_path(&irec.config))
        .map_err(|e| Error::io("read", store.blob_path(&irec.config), e))?;
    let image = ImageProcess::from_config(&cfg)?;
    if let Some(s) = &opts.stop_signal {
        crate::cli::signal::parse(s).map_err(Error::Usage)?;
    }
    let id = containers::new_id()?;
    let name = match &opts.name {
        Some(n) => n.clone(),
        None => containers::default_name(store, &id),
    };
    let root = containers::containers_root(store);
    let dir = containers::dir(store, &id);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&root)
        .and_then(|_| std::fs::DirBuilder::new().mode(0o700).create(&dir))
        .map_err(|e| Error::io("create", &dir, e))?;
    // After the directory: a name whose owner has no directory is stale.
    let made = containers::claim_name(store, &name, &id);
    let mut rec = Record {
        id: id.clone(),
        name: name.clone(),
        image: opts.image.clone(),
        image_id: digest.to_string(),
        created: crate::log::rfc3339_now(),
        ..Default::default()
    };
    let result = made.and_then(|_| prepare(store, opts, &image, &digest, &mut rec));
    if let Err(e) = result {
        discard(store, &rec);
        return Err(e);
    }
    Ok(rec)
}

fn prepare(
    store: &Store,
    opts: &RunOptions,
    image: &ImageProcess,
    digest: &Digest,
    rec: &mut Record,
) -> Result<()> {
    let dir = containers::dir(store, &rec.id);
    let snap = snapshot::create(store, digest, &rec.id, &dir.join("snapshot"), Want::Auto)?;
    // The rootfs is read (users, groups) with the overlay mounted in a mount
    // namespace of this process alone: nothing is ever mounted on the host.
    crate::kernel::namespace::create(nix::sched::CloneFlags::CLONE_NEWNS)?;
    crate::kernel::mount::set_propagation(Path::new("/"), MsFlags::MS_REC | MsFlags::MS_SLAVE)?;
    // An overlay the kernel refuses (rootless, some filesystems) becomes a copy.
    let snap = snapshot::mounted_or_copy(store, digest, &rec.id, &dir.join("snapshot"), snap)?;
    let volumes = super::volume::root(store);
    let spec = config(
        image,
        &opts.process,
        &opts.config,
        snap.rootfs(),
        &rec.id,
        &volumes,
    )
    .and_then(|mut spec| {
        if opts.keep_id {
            crate::userns::keep_id(&mut spec, opts.process.user.is_none())?;
        }
        Ok(spec)
    });
    if let Snapshot::Overlay { merged, .. } = &snap {
        crate::kernel::mount::umount_detach(merged)?;
    }
    let spec = spec?;
    let text = serde_json::to_string_pretty(&spec).expect("config serialises");
    std::fs::write(dir.join("config.json"), text)
        .map_err(|e| Error::io("write", dir.join("config.json"), e))?;
    let p = &spec["process"];
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    rec.args = strings(&p["args"]);
    rec.entrypoint = opts.process.entrypoint.clone();
    rec.cmd = opts.process.args.clone();
    rec.env = strings(&p["env"]);
    rec.working_dir = p["cwd"].as_str().unwrap_or("/").to_string();
    rec.user = opts.process.user.clone().unwrap_or_default();
    rec.hostname = spec["hostname"].as_str().unwrap_or_default().to_string();
    rec.tty = opts.process.tty;
    rec.open_stdin = opts.interactive;
    rec.auto_remove = opts.rm;
    rec.restart_policy = opts.restart.to_spec();
    rec.log = opts.log.clone();
    rec.labels = image.labels.clone();
    rec.labels.extend(opts.labels.clone());
    rec.stop_signal = opts.stop_signal.clone().unwrap_or_else(|| "SIGTERM".into());
    rec.stop_timeout = opts.stop_timeout;
    rec.rootfs = snap.rootfs().to_path_buf();
    rec.overlay = snap.overlay_data();
    rec.strict_limits = opts.config.limit_policy() == crate::container::create::LimitPolicy::Strict;
    containers::write_record(store, rec)
}

/// Undo `create` after a failure: snapshot, name, directory.
fn discard(store: &Store, rec: &Record) {
    let _ = super::remove::remove_files(store, rec, true);
    let _ = std::fs::remove_dir_all(containers::dir(store, &rec.id));
    containers::release_name(store, &rec.name, &rec.id);
}

/// Spawn the monitor and read its readiness line: `{"ok":true,...}` or
/// `{"error":...,"code":...}`. With `attach` it waits for a client to start.
pub fn spawn_monitor(store: &Store, id: &str, attach: bool) -> Result<serde_json::Value> {
    let exe = std::env::current_exe().map_err(|e| Error::io("resolve", "/proc/self/exe", e))?;
    let mut cmd = Command::new(exe);
    cmd.arg("--root")
        .arg(store.root())
        .args(["__monitor", id])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if attach {
        cmd.arg("--attach");
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::io("spawn", "nook __monitor", e))?;
    let mut text = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut text);
    }
    let _ = child.wait();
    serde_json::from_str(text.trim()).map_err(|_| {
        Error::Child(format!(
            "the container's monitor did not start (it said {:?})",
            text.trim()
        ))
    })
}

/// The message and exit status for a failure to create the container: the
/// runtime's wording for a command that cannot run is docker's 127/126.
pub fn describe_failure(e: &Error) -> (String, i32) {
    let msg = e.one_line();
    if msg.starts_with("unable to start container process: exec:") {
        let missing =
            msg.contains("executable file not found") || msg.contains("no such file or directory");
        return (msg, if missing { 127 } else { 126 });
    }
    (msg, 125)
}

/// docker-style `WARNING:` lines for the limits the cgroup layer could not
/// apply (from the runtime's `notApplied`; device rules and config notes aside).
fn warn_not_applied(store: &Store, id: &str) {
    let Ok(state) = crate::container::state(&containers::runtime(store), id) else {
        return;
    };
    for n in state["notApplied"].as_array().into_iter().flatten() {
        let n = n.as_str().unwrap_or_default();
        if !n.starts_with("linux.") && !n.starts_with("devices.") {
            eprintln!("WARNING: limit not applied: {n}");
        }
    }
}

//! `nook-runtime`: runc's commands and flags, so engines can call it unchanged.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "nook-runtime",
    about = "An OCI container runtime (runc-compatible CLI)",
    disable_version_flag = true
)]
pub struct Cli {
    /// Directory for container state (default: /run/nook-runtime as root,
    /// $XDG_RUNTIME_DIR/nook-runtime otherwise, else /tmp/nook-runtime-UID)
    #[arg(long, global = true)]
    pub root: Option<PathBuf>,
    /// Write log lines to this file (default: stderr)
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Format of the log lines
    #[arg(long = "log-format", global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Log debug lines too
    #[arg(long, global = true)]
    pub debug: bool,
    /// Accepted for runc compatibility: there is no systemd here; cgroupsPath is used as a cgroupfs path
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// Accepted for runc compatibility (true|false|auto); nook detects rootless mode itself
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub rootless: Option<String>,
    /// Print the version
    #[arg(short = 'v', long)]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Path to the bundle (default: the current directory)
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Unix socket that receives the pty master when process.terminal is true
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Write init's pid to this file
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Pass N extra fds (3..3+N) to the container
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Use MS_MOVE + chroot instead of pivot_root
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Do not create a session keyring for the container
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Fail, naming the limit, when a resource limit cannot be applied (rootless
    /// without a delegated cgroup) instead of recording it in `state`'s notApplied
    #[arg(long = "strict-limits")]
    pub strict_limits: bool,
    /// Container id
    pub id: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a container; its process waits for `start`
    Create(CreateArgs),
    /// Run the created container's process
    Start { id: String },
    /// Create, start and wait for a container; exits with its status
    Run {
        #[command(flatten)]
        create: CreateArgs,
        /// Return after start instead of waiting
        #[arg(short, long)]
        detach: bool,
        /// Do not delete the container after it exits
        #[arg(long)]
        keep: bool,
    },
    /// Print the container's state as JSON
    State { id: String },
    /// Send a signal (name or number, default SIGTERM) to the container's init
    Kill {
        /// Signal every process in the container's cgroup
        #[arg(short, long)]
        all: bool,
        id: String,
        signal: Option<String>,
    },
    /// Delete a container
    Delete {
        /// Kill the container first if it is running; succeed if it does not exist
        #[arg(short, long)]
        force: bool,
        id: String,
    },
    /// List containers
    #[command(alias = "ps-all")]
    List {
        #[arg(short, long, default_value = "table")]
        format: ListFormat,
        /// Print only the ids
        #[arg(short, long)]
        quiet: bool,
    },
    /// Run another process in a running container
    Exec(ExecArgs),
    /// Change the resource limits of a running container
    Update(UpdateArgs),
    /// Freeze every process of the container
    Pause { id: String },
    /// Thaw a paused container
    Resume { id: String },
    /// List the container's processes
    Ps {
        #[arg(short, long, default_value = "table")]
        format: ListFormat,
        id: String,
        /// Options passed to ps(1) for the table format
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// Print resource usage (and OOM events) as JSON lines
    Events {
        /// Print one stats object and exit
        #[arg(long)]
        stats: bool,
        /// Time between stats lines
        #[arg(long, default_value = "5s")]
        interval: String,
        id: String,
    },
    /// Print what this runtime supports (runtime-spec features.json)
    Features,
    /// Write a default config.json
    Spec {
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
        /// A config for an unprivileged user
        #[arg(long)]
        rootless: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// A linux.resources JSON file, or - for standard input
    #[arg(short, long)]
    pub resources: Option<String>,
    /// Memory limit (bytes, or with k/m/g suffix; -1 for none)
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    #[arg(long = "memory-reservation", allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<u64>,
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    #[arg(long = "cpu-share")]
    pub cpu_share: Option<u64>,
    #[arg(long = "cpu-rt-period")]
    pub cpu_rt_period: Option<u64>,
    #[arg(long = "cpu-rt-runtime", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<i64>,
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
    pub id: String,
}

impl UpdateArgs {
    /// The flags as a linux.resources JSON object (sizes parsed).
    pub fn to_resources(&self) -> Result<serde_json::Value, String> {
        use super::units::parse_bytes;
        let mut memory = serde_json::Map::new();
        for (key, v) in [
            ("limit", &self.memory),
            ("reservation", &self.memory_reservation),
            ("swap", &self.memory_swap),
        ] {
            if let Some(v) = v {
                memory.insert(key.into(), parse_bytes(v)?.into());
            }
        }
        let mut cpu = serde_json::Map::new();
        let mut put = |k: &str, v: Option<serde_json::Value>| {
            if let Some(v) = v {
                cpu.insert(k.into(), v);
            }
        };
        put("period", self.cpu_period.map(Into::into));
        put("quota", self.cpu_quota.map(Into::into));
        put("shares", self.cpu_share.map(Into::into));
        put("realtimePeriod", self.cpu_rt_period.map(Into::into));
        put("realtimeRuntime", self.cpu_rt_runtime.map(Into::into));
        put("cpus", self.cpuset_cpus.clone().map(Into::into));
        put("mems", self.cpuset_mems.clone().map(Into::into));
        let mut r = serde_json::json!({});
        if !memory.is_empty() {
            r["memory"] = memory.into();
        }
        if !cpu.is_empty() {
            r["cpu"] = cpu.into();
        }
        if let Some(p) = self.pids_limit {
            r["pids"] = serde_json::json!({ "limit": p });
        }
        if let Some(w) = self.blkio_weight {
            r["blockIO"] = serde_json::json!({ "weight": w });
        }
        Ok(r)
    }
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// A process.json describing the process (instead of COMMAND and the flags)
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    /// Allocate a pseudo-terminal
    #[arg(short, long)]
    pub tty: bool,
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Return once the process has started
    #[arg(short, long)]
    pub detach: bool,
    /// Working directory in the container
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Set an environment variable (KEY=VALUE), repeatable
    #[arg(short, long)]
    pub env: Vec<String>,
    /// uid[:gid]
    #[arg(short, long)]
    pub user: Option<String>,
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// Add a capability, repeatable
    #[arg(short, long)]
    pub cap: Vec<String>,
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Run the process in an existing sub-cgroup of the container's: [<controller>[,<controller>]:]<path>, repeatable (v1)
    #[arg(long)]
    pub cgroup: Vec<String>,
    /// Exec even if the container is paused
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
    pub id: String,
    /// The command and its arguments
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

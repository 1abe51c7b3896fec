//! `nook`'s container commands (besides `run`): ps, logs, stop, kill, start,
//! restart, rm, exec, wait, inspect, top, rename, prune, system df, and the
//! hidden ones the monitor uses.

use clap::{Args, Subcommand};

/// `nook container ...`: the shared commands, and those only found here.
// Parsed once per process: the size of `run`'s flags does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// List containers
    #[command(alias = "list", alias = "ps")]
    Ls(PsArgs),
    #[command(flatten)]
    Op(ContainerOp),
    /// Remove containers
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Details of containers as JSON
    Inspect(Targets),
    /// Remove all stopped containers
    Prune(super::front::PruneArgs),
}

/// The container commands that are the same as `nook X` and `nook container X`.
#[derive(Debug, Subcommand)]
pub enum ContainerOp {
    /// Run a command in a new container
    Run(super::front::RunArgs),
    /// Create a container without starting it
    Create(super::front::RunArgs),
    /// Show a container's output
    Logs(LogsArgs),
    /// Stop containers (stop signal, then SIGKILL)
    Stop(StopArgs),
    /// Send a signal to containers
    Kill(KillArgs),
    /// Start stopped containers
    Start(StartArgs),
    /// Stop and start containers
    Restart(StopArgs),
    /// Run a command in a running container
    Exec(ExecArgs),
    /// Wait for containers to stop and print their exit codes
    Wait(Targets),
    /// The processes of a container
    Top(TopArgs),
    /// Rename a container
    Rename(RenameArgs),
    /// Attach to a running container's input and output
    Attach(AttachArgs),
    /// Freeze every process of containers
    Pause(Targets),
    /// Thaw paused containers
    Unpause(Targets),
}

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Do not attach stdin
    #[arg(long = "no-stdin")]
    pub no_stdin: bool,
    #[command(flatten)]
    pub stream: StreamArgs,
    pub container: String,
}

/// How an attached client treats signals and the detach keys (run, attach).
#[derive(Debug, Args)]
pub struct StreamArgs {
    /// Forward the signals nook receives to the container (not with a terminal)
    #[arg(long = "sig-proxy", default_value_t = true, require_equals = true,
          num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub sig_proxy: bool,
    /// The key sequence that detaches from a terminal (default ctrl-p,ctrl-q)
    #[arg(long = "detach-keys")]
    pub detach_keys: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Disk usage of images and containers
    Df,
    /// System-wide information
    Info,
}

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    pub all: bool,
    /// Only container ids
    #[arg(short, long)]
    pub quiet: bool,
    /// Show sizes
    #[arg(short, long)]
    pub size: bool,
    /// Full ids and commands
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// `json`, `table`, or a Go template of {{.Field}}s (`table ...` for a table)
    #[arg(long)]
    pub format: Option<String>,
    /// KEY=VALUE: status, name, id, ancestor, exited (repeatable)
    #[arg(short, long = "filter")]
    pub filter: Vec<String>,
    /// The N last created containers, in any state
    #[arg(short = 'n', long = "last", allow_negative_numbers = true)]
    pub last: Option<i64>,
    /// The last created container, in any state
    #[arg(short, long)]
    pub latest: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Follow the log until the container stops
    #[arg(short, long)]
    pub follow: bool,
    /// Lines from the end ("all" or a number)
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Show timestamps
    #[arg(short, long)]
    pub timestamps: bool,
    pub container: String,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Seconds to wait before SIGKILL (default: the container's --stop-timeout, else 10)
    #[arg(short = 't', long = "time", alias = "timeout")]
    pub time: Option<u32>,
    /// Signal to send (default: the container's --stop-signal, else SIGTERM)
    #[arg(short, long)]
    pub signal: Option<String>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal to send
    #[arg(short, long, default_value = "KILL")]
    pub signal: String,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Attach stdout/stderr and return the container's exit status
    #[arg(short, long)]
    pub attach: bool,
    /// Attach stdin
    #[arg(short, long)]
    pub interactive: bool,
    /// The key sequence that detaches from a terminal (default ctrl-p,ctrl-q)
    #[arg(long = "detach-keys")]
    pub detach_keys: Option<String>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Kill and remove a running container
    #[arg(short, long)]
    pub force: bool,
    /// Also remove the container's anonymous volumes
    #[arg(short, long)]
    pub volumes: bool,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Keep stdin open
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-terminal
    #[arg(short, long)]
    pub tty: bool,
    /// Run in the background
    #[arg(short, long)]
    pub detach: bool,
    /// KEY=VALUE, repeatable
    #[arg(short, long)]
    pub env: Vec<String>,
    /// USER[:GROUP], names or numbers, resolved in the container
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    pub container: String,
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct Targets {
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct TopArgs {
    pub container: String,
    /// ps(1) options (default -ef)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RenameArgs {
    pub container: String,
    pub new_name: String,
}

#[derive(Debug, Args)]
pub struct MonitorArgs {
    pub id: String,
    /// Wait for a client to start the container
    #[arg(long)]
    pub attach: bool,
}

#[derive(Debug, Args)]
pub struct HelperArgs {
    pub id: String,
}

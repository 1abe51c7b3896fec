//! `nook`: the docker-style front end's commands and flags (the container
//! commands' arguments are in front_ctr.rs).

use super::front_ctr::*;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "nook",
    version,
    about = "Run images as containers, docker-style, without a daemon"
)]
pub struct Cli {
    /// Store directory (default: /var/lib/nook as root, $XDG_DATA_HOME/nook otherwise)
    #[arg(long, global = true)]
    pub root: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of `run`'s flags does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// run, create, logs, stop, ...: the same as `nook container ...`
    #[command(flatten)]
    Ctr(ContainerOp),
    /// List containers
    Ps(PsArgs),
    /// Remove containers
    Rm(RmArgs),
    /// Details of containers (or images) as JSON
    Inspect(Targets),
    /// Manage containers
    #[command(subcommand)]
    Container(ContainerCommand),
    /// Disk usage and information
    #[command(subcommand)]
    System(SystemCommand),
    /// System-wide information
    Info,
    /// Version information
    Version,
    #[command(name = "__monitor", hide = true)]
    Monitor(MonitorArgs),
    #[command(name = "__create", hide = true)]
    CreateHelper(HelperArgs),
    /// Load images from a docker-archive or OCI layout (tar or directory)
    Load(LoadArgs),
    /// List images
    Images(ImagesArgs),
    /// Make an image from a rootfs tarball
    Import(ImportArgs),
    /// Give an image another name
    Tag(TagArgs),
    /// Remove images
    Rmi(RmiArgs),
    /// Write images to a docker-archive
    Save(SaveArgs),
    /// Manage images
    #[command(subcommand)]
    Image(ImageCommand),
    /// Manage named volumes
    #[command(subcommand)]
    Volume(super::front_config::VolumeCommand),
    /// Live resource usage of running containers
    Stats(super::front_config::StatsArgs),
    /// What a running container really got, side by side with the host
    Isolation(super::front_config::IsolationArgs),
    /// Check that this host is ready for containers run by this user
    Doctor(DoctorArgs),
}

impl Command {
    /// The container command, given as `nook X` or `nook container X`.
    pub fn container_op(&self) -> Option<&ContainerOp> {
        match self {
            Command::Ctr(op) | Command::Container(ContainerCommand::Op(op)) => Some(op),
            _ => None,
        }
    }
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// `json` for a machine-readable report
    #[arg(long, value_parser = ["text", "json"], default_value = "text")]
    pub format: String,
    /// Internal: the probe process (user namespace + overlay mount in DIR)
    #[arg(long, hide = true, value_name = "DIR")]
    pub probe: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// List images
    #[command(alias = "list")]
    Ls(ImagesArgs),
    /// Show images' details as JSON
    Inspect(InspectArgs),
    /// Remove images
    #[command(alias = "remove")]
    Rm(RmiArgs),
    /// Remove untagged images no container uses
    Prune(PruneArgs),
    Load(LoadArgs),
    Save(SaveArgs),
    Import(ImportArgs),
    Tag(TagArgs),
    /// Write an image's flattened rootfs into a new directory (as `umoci unpack` does)
    Unpack(UnpackArgs),
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Read from this file or OCI layout directory instead of stdin
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    /// No progress lines
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Show all images (nook keeps no intermediate images: same as without)
    #[arg(short, long)]
    pub all: bool,
    /// Only image ids
    #[arg(short, long)]
    pub quiet: bool,
    /// Full ids
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// `json`: one JSON object per image line
    #[arg(long)]
    pub format: Option<String>,
    /// Only images of this repository (and tag)
    pub reference: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A rootfs tarball (plain, gzip or zstd), or `-` for stdin
    pub file: PathBuf,
    /// NAME[:TAG] for the new image
    pub reference: Option<String>,
}

#[derive(Debug, Args)]
pub struct TagArgs {
    pub source: String,
    pub target: String,
}

#[derive(Debug, Args)]
pub struct RmiArgs {
    /// Remove an image in use or with several names
    #[arg(short, long)]
    pub force: bool,
    #[arg(required = true)]
    pub images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Write to this file instead of stdout
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    #[arg(required = true)]
    pub images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[arg(required = true)]
    pub images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not ask (nook never asks; accepted for docker compatibility)
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct UnpackArgs {
    pub image: String,
    /// A directory that does not exist yet
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Run in the background and print the container's id
    #[arg(short, long)]
    pub detach: bool,
    /// Signal that stops the container (default SIGTERM)
    #[arg(long)]
    pub stop_signal: Option<String>,
    /// Restart policy: no, on-failure[:N], always, unless-stopped
    #[arg(long, default_value = "no")]
    pub restart: String,
    /// Seconds `stop` waits before SIGKILL (default 10)
    #[arg(long)]
    pub stop_timeout: Option<u32>,
    /// Logging driver: json-file (default) or none
    #[arg(long)]
    pub log_driver: Option<String>,
    /// json-file options, repeatable: max-size=SIZE (e.g. 10m), max-file=N
    #[arg(long)]
    pub log_opt: Vec<String>,
    /// Set metadata on the container: KEY[=VALUE], repeatable
    #[arg(short, long)]
    pub label: Vec<String>,
    /// Read labels from a file of KEY=VALUE lines, repeatable
    #[arg(long)]
    pub label_file: Vec<PathBuf>,
    /// Allocate a pseudo-terminal
    #[arg(short, long)]
    pub tty: bool,
    /// Keep standard input open
    #[arg(short, long)]
    pub interactive: bool,
    #[command(flatten)]
    pub stream: StreamArgs,
    /// Set an environment variable (KEY=VALUE, or KEY to drop it), repeatable
    #[arg(short, long)]
    pub env: Vec<String>,
    /// A name for the container
    #[arg(long)]
    pub name: Option<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// USER[:GROUP], names or numbers, resolved in the image
    #[arg(short, long)]
    pub user: Option<String>,
    /// Replace the image's entrypoint
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// The container's hostname (default: its short id)
    #[arg(long)]
    pub hostname: Option<String>,
    /// Rootless: `keep-id` maps your uid/gid to themselves inside (and runs the
    /// command as you); by default you are root inside and image ids map onto
    /// your /etc/subuid range
    #[arg(long, value_parser = ["keep-id"])]
    pub userns: Option<String>,
    #[command(flatten)]
    pub config: super::front_config::ConfigArgs,
    pub image: String,
    /// The command and its arguments (replace the image's Cmd)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

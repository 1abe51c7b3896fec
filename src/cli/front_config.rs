//! `nook run`'s configuration flags (mounts, security, network, limits), kept
//! apart from the lifecycle flags in `front.rs` and flattened into `RunArgs`.
//! Values are checked when the bundle is built (`front::bundle`), so every bad
//! value is an error naming its flag.

use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// Read environment variables from a file (KEY=VALUE lines, # comments), repeatable
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// Bind a host path or a named volume: [HOST-PATH|NAME:]CONTAINER-PATH[:ro|rw], repeatable
    #[arg(short = 'v', long = "volume", value_name = "SPEC")]
    pub volume: Vec<String>,
    /// type=bind|tmpfs|volume,source=..,target=..[,readonly][,tmpfs-size=..], repeatable
    #[arg(long, value_name = "SPEC")]
    pub mount: Vec<String>,
    /// Mount a tmpfs: PATH[:OPTIONS], repeatable
    #[arg(long, value_name = "PATH")]
    pub tmpfs: Vec<String>,
    /// Mount the container's root filesystem read-only
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// none or private (a network namespace with loopback only, the default), or host
    #[arg(long, alias = "net", value_name = "MODE")]
    pub network: Option<String>,
    /// Add a capability (with or without CAP_, or ALL), repeatable
    #[arg(long = "cap-add", value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Drop a capability (with or without CAP_, or ALL), repeatable
    #[arg(long = "cap-drop", value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// All capabilities, host devices, no seccomp, no masked or read-only paths
    #[arg(long)]
    pub privileged: bool,
    /// seccomp=unconfined|FILE, no-new-privileges[:true|false], repeatable
    #[arg(long = "security-opt", value_name = "OPT")]
    pub security_opt: Vec<String>,
    /// Memory limit (e.g. 64m, 1g)
    #[arg(short = 'm', long, value_name = "BYTES")]
    pub memory: Option<String>,
    /// Memory plus swap limit (-1: unlimited; default: twice --memory)
    #[arg(long = "memory-swap", value_name = "BYTES")]
    pub memory_swap: Option<String>,
    /// Number of CPUs (a quota over a 100 ms period)
    #[arg(long, value_name = "N")]
    pub cpus: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares", value_name = "N")]
    pub cpu_shares: Option<u64>,
    /// Block IO weight (10 to 1000)
    #[arg(long = "blkio-weight", value_name = "N")]
    pub blkio_weight: Option<u16>,
    /// Maximum number of processes (-1 or 0: unlimited)
    #[arg(long = "pids-limit", value_name = "N", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// A resource limit: NAME=SOFT[:HARD] (e.g. nofile=1024:2048), repeatable
    #[arg(long, value_name = "NAME=SOFT[:HARD]")]
    pub ulimit: Vec<String>,
    /// Fail (exit 125) rather than warn when a limit cannot be applied
    #[arg(long = "strict-limits")]
    pub strict_limits: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum VolumeCommand {
    /// Create a volume (a random name when none is given)
    Create { name: Option<String> },
    /// List volumes
    #[command(alias = "list")]
    Ls {
        /// Only names
        #[arg(short, long)]
        quiet: bool,
        /// `json`: one JSON object per line
        #[arg(long)]
        format: Option<String>,
    },
    /// Show volumes' details as JSON
    Inspect {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove volumes (refused while a container uses one, unless -f)
    #[command(alias = "remove")]
    Rm {
        #[arg(short, long)]
        force: bool,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove unused anonymous volumes (all unused ones with -a)
    Prune {
        #[arg(short, long)]
        all: bool,
        /// Do not ask (nook never asks)
        #[arg(short, long)]
        force: bool,
    },
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Print one sample and exit
    #[arg(long = "no-stream")]
    pub no_stream: bool,
    /// `json`: one JSON object per container line
    #[arg(long)]
    pub format: Option<String>,
    /// Full ids
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Containers (ids, unique id prefixes or names); default: all running
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct IsolationArgs {
    /// `json`: the whole report as one JSON object
    #[arg(long)]
    pub format: Option<String>,
    /// A JSON object of property → expected value; exit 1 if any does not hold
    #[arg(long, value_name = "FILE")]
    pub expect: Option<PathBuf>,
    /// The container (id, unique id prefix or name)
    pub container: String,
}

/// Whether option `token` (`--name`, `--name=v`, or a cluster `-abc`) of `cmd`
/// consumes the next argument as its value.
fn takes_next(cmd: &clap::Command, token: &str) -> bool {
    let takes = |a: &clap::Arg| a.get_action().takes_values() && !a.is_require_equals_set();
    if let Some(long) = token.strip_prefix("--") {
        if long.contains('=') {
            return false;
        }
        return cmd
            .get_arguments()
            .find(|a| {
                a.get_long() == Some(long) || a.get_all_aliases().is_some_and(|l| l.contains(&long))
            })
            .is_some_and(takes);
    }
    let chars: Vec<char> = token.trim_start_matches('-').chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if let Some(a) = cmd.get_arguments().find(|a| a.get_short() == Some(*c)) {
            if takes(a) {
                // The rest of the cluster is the value, or the next argument is.
                return i + 1 == chars.len();
            }
        }
    }
    false
}

/// Index of the first positional argument of `args[from..]` for `cmd`.
fn first_positional(
    cmd: &clap::Command,
    args: &[std::ffi::OsString],
    from: usize,
) -> Option<usize> {
    let mut i = from;
    while let Some(a) = args.get(i) {
        let s = a.to_str().unwrap_or("");
        if s == "--" {
            return None;
        }
        if !s.starts_with('-') || s == "-" {
            return Some(i);
        }
        i += if takes_next(cmd, s) { 2 } else { 1 };
    }
    None
}

/// docker stops reading `run`'s options at the image: what follows is the
/// command, even `-c` or `-v`. clap would take a known option there, so a
/// `--` is put right after the image (the options are read from the clap
/// definitions, so every flag of `run` is covered).
pub fn end_options_at_image(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory;
    let top = super::front::Cli::command();
    let Some(sub) = first_positional(&top, &args, 1) else {
        return args;
    };
    if args[sub] != "run" {
        return args;
    }
    let run = top.find_subcommand("run").expect("nook has run");
    if let Some(image) = first_positional(run, &args, sub + 1) {
        if args.get(image + 1).is_some_and(|a| a != "--") {
            args.insert(image + 1, "--".into());
        }
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(line: &str) -> super::super::front::RunArgs {
        let args = line.split(' ').map(std::ffi::OsString::from).collect();
        match super::super::front::Cli::try_parse_from(end_options_at_image(args))
            .unwrap()
            .command
        {
            super::super::front::Command::Ctr(super::super::front_ctr::ContainerOp::Run(r)) => r,
            _ => panic!("not run"),
        }
    }

    #[test]
    fn options_end_at_the_image() {
        let r = parse("nook --root /r run -it -v /a:/b --memory 1g -eX=1 busybox -c -v x");
        assert_eq!(r.image, "busybox");
        assert_eq!(r.command, ["-c", "-v", "x"]);
        assert_eq!(r.config.volume, ["/a:/b"]);
        assert_eq!(r.env, ["X=1"]);
        let r = parse("nook run --entrypoint=/bin/sh --cpus 1 busybox -c echo");
        assert_eq!((r.image.as_str(), r.command.len()), ("busybox", 2));
        let r = parse("nook run busybox");
        assert!(r.command.is_empty());
        let r = parse("nook run --sig-proxy --detach-keys ctrl-a busybox sh");
        assert_eq!((r.image.as_str(), r.stream.sig_proxy), ("busybox", true));
        let r = parse("nook run --sig-proxy=false busybox");
        assert!(!r.stream.sig_proxy);
        let r = parse("nook run busybox -- sh");
        assert_eq!(r.command, ["sh"]);
    }
}

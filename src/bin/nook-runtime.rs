//! `nook-runtime`: parse, open the log, call the library, map errors to exit codes.
#![forbid(unsafe_code)]

use nook::cli::runtime::{Cli, Command, CreateArgs, ListFormat, LogFormat};
use nook::container::{self, store::Store, CreateOptions};
use nook::error::{Error, Result};
use std::io::Write;

fn main() {
    let cli: Cli = nook::cli::parse_or_exit(std::env::args_os(), "nook-runtime", 1);
    // Nothing in a container may reach the host's file of this binary through
    // /proc: `exec` runs from a sealed copy of it; `create` and `run` give init
    // an exec stub where that is safe, or re-execute sealed themselves once
    // they know it is not (container::sealing).
    let starts = matches!(
        cli.command,
        Some(Command::Create(_)) | Some(Command::Run { .. }) | Some(Command::Exec(_))
    );
    let decides_later = matches!(
        cli.command,
        Some(Command::Create(_)) | Some(Command::Run { .. })
    );
    if starts && !nook::kernel::selfexe::is_sealed_copy() && !decides_later {
        let Err(e) = nook::kernel::selfexe::reexec_sealed();
        eprintln!("nook-runtime: {e}");
        std::process::exit(1);
    }
    if starts {
        // The argument parser's code is not needed again: keep the peak RSS to
        // one phase's pages (see kernel::memory).
        nook::kernel::memory::release_clean_file_pages();
    }
    // Before anything is opened: which of the fds to preserve did the caller pass?
    let preserve = match &cli.command {
        Some(Command::Create(a)) | Some(Command::Run { create: a, .. }) => a.preserve_fds,
        Some(Command::Exec(e)) => e.preserve_fds,
        _ => 0,
    };
    let inherited = nook::kernel::process::open_fds(3..3 + preserve.min(1 << 20) as i32);
    let format = match cli.log_format {
        LogFormat::Text => nook::log::Format::Text,
        LogFormat::Json => nook::log::Format::Json,
    };
    if let Err(e) = nook::log::init(cli.log.as_ref(), format, cli.debug) {
        eprintln!(
            "nook-runtime: open log file {}: {e}",
            cli.log
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
        std::process::exit(1);
    }
    match dispatch(cli, inherited) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            let msg = e.one_line();
            nook::log::error(&msg);
            eprintln!("nook-runtime: {msg}");
            std::process::exit(1);
        }
    }
}

fn create_options(a: &CreateArgs, inherited: &[i32]) -> CreateOptions {
    CreateOptions {
        bundle: a.bundle.clone(),
        pid_file: a.pid_file.clone(),
        console_socket: a.console_socket.clone(),
        inherited_fds: inherited.to_vec(),
        no_pivot: a.no_pivot,
        no_new_keyring: a.no_new_keyring,
        keep_console: false,
        starts_at_once: false,
        limits: if a.strict_limits {
            container::create::LimitPolicy::Strict
        } else {
            container::create::LimitPolicy::Record
        },
    }
}

fn dispatch(cli: Cli, inherited: Vec<i32>) -> Result<i32> {
    if cli.version {
        println!(
            "nook-runtime version {}\nspec: 1.0.2",
            env!("CARGO_PKG_VERSION")
        );
        return Ok(0);
    }
    let root = match &cli.root {
        Some(r) => r.clone(),
        None => nook::container::store::default_root()?,
    };
    let store = Store::new(&root);
    let Some(cmd) = cli.command else {
        return Err(Error::Usage("no command given (see --help)".into()));
    };
    match cmd {
        Command::Create(a) => {
            container::create(&store, &a.id, &create_options(&a, &inherited)).map(|_| 0)
        }
        Command::Start { id } => container::start(&store, &id).map(|_| 0),
        Command::Run {
            create,
            detach,
            keep,
        } => container::run(
            &store,
            &create.id,
            &create_options(&create, &inherited),
            detach,
            keep,
        ),
        Command::State { id } => {
            let v = container::state(&store, &id)?;
            print_json(&v, true);
            Ok(0)
        }
        Command::Kill { id, signal, all } => {
            let sig = nook::cli::signal::parse(signal.as_deref().unwrap_or("SIGTERM"))
                .map_err(Error::Usage)?;
            container::kill(&store, &id, sig, all).map(|_| 0)
        }
        Command::Delete { id, force } => container::delete(&store, &id, force).map(|_| 0),
        Command::List { format, quiet } => {
            let rows = container::list(&store);
            if quiet {
                rows.iter().for_each(|r| println!("{}", r.id));
            } else if format == ListFormat::Json {
                print_json(&serde_json::to_value(&rows).unwrap_or_default(), false);
            } else {
                println!(
                    "{:<12} {:<8} {:<10} {:<40} {:<31} OWNER",
                    "ID", "PID", "STATUS", "BUNDLE", "CREATED"
                );
                for r in rows {
                    println!(
                        "{:<12} {:<8} {:<10} {:<40} {:<31} {}",
                        r.id,
                        r.pid,
                        r.status,
                        r.bundle.display(),
                        r.created,
                        r.owner
                    );
                }
            }
            Ok(0)
        }
        Command::Exec(e) => {
            let opts = container::exec::ExecOptions {
                process_file: e
                    .process
                    .as_ref()
                    .map(|p| read_source(&p.to_string_lossy()))
                    .transpose()?,
                overrides: nook::spec::ExecOverrides {
                    args: e.command.clone(),
                    terminal: e.tty,
                    cwd: e.cwd.clone(),
                    env: e.env.clone(),
                    user: e.user.clone(),
                    additional_gids: e.additional_gids.clone(),
                    caps: e.cap.clone(),
                    no_new_privs: e.no_new_privs,
                },
                console_socket: e.console_socket.clone(),
                pid_file: e.pid_file.clone(),
                detach: e.detach,
                inherited_fds: inherited.clone(),
                ignore_paused: e.ignore_paused,
                sub_cgroups: e
                    .cgroup
                    .iter()
                    .map(|c| nook::kernel::cgroup::SubCgroup::parse(c))
                    .collect::<nook::error::Result<_>>()?,
            };
            container::exec::exec(&store, &e.id, &opts)
        }
        Command::Update(u) => {
            let res = match &u.resources {
                Some(src) => {
                    let text = read_source(src)?;
                    nook::spec::parse_resources(&text)?
                }
                None => {
                    let v = u.to_resources().map_err(Error::Usage)?;
                    nook::spec::parse_resources(v.to_string().as_bytes())?
                }
            };
            for note in container::cgroups::update(&store, &u.id, &res)? {
                nook::log::warn(&format!("not applied: {note}"));
            }
            Ok(0)
        }
        Command::Pause { id } => container::cgroups::pause(&store, &id).map(|_| 0),
        Command::Resume { id } => container::cgroups::resume(&store, &id).map(|_| 0),
        Command::Ps {
            format,
            id,
            ps_args,
        } => {
            let pids = container::cgroups::pids(&store, &id)?;
            if format == ListFormat::Json {
                print_json(&serde_json::json!(pids), false);
            } else {
                print!("{}", container::cgroups::ps_table(&pids, &ps_args)?);
            }
            Ok(0)
        }
        Command::Events {
            stats,
            interval,
            id,
        } => {
            if stats {
                print_json(&container::cgroups::stats_event(&store, &id)?, false);
                return Ok(0);
            }
            let ms = nook::cli::units::parse_duration_ms(&interval).map_err(Error::Usage)?;
            let interval = std::time::Duration::from_millis(ms);
            container::cgroups::events(&store, &id, interval, &mut std::io::stdout()).map(|_| 0)
        }
        Command::Features => {
            print_json(&nook::plan::features::features(), true);
            Ok(0)
        }
        Command::Spec { bundle, rootless } => {
            let path = bundle.join("config.json");
            if path.exists() {
                return Err(Error::Usage(format!(
                    "file {} exists: remove it first",
                    path.display()
                )));
            }
            let uid = nix::unistd::geteuid().as_raw();
            let gid = nix::unistd::getegid().as_raw();
            let v = nook::spec::default_spec(rootless, uid, gid);
            let text = serde_json::to_string_pretty(&v).unwrap_or_default();
            std::fs::write(&path, text + "\n").map_err(|e| Error::io("write", &path, e))?;
            Ok(0)
        }
    }
}

fn print_json(v: &serde_json::Value, pretty: bool) {
    let text = if pretty {
        serde_json::to_string_pretty(v)
    } else {
        serde_json::to_string(v)
    }
    .unwrap_or_default();
    let _ = writeln!(std::io::stdout(), "{text}");
}

/// A file's bytes, or standard input for `-`.
fn read_source(src: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::new();
    if src == "-" {
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| Error::io("read", "stdin", e))?;
    } else {
        buf = std::fs::read(src).map_err(|e| Error::io("read", src, e))?;
    }
    Ok(buf)
}

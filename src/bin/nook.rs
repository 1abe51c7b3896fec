//! `nook`: the docker-style front end. Parse, call the library, print the
//! error on one line; exit 125 for nook's own errors, as docker does.
#![forbid(unsafe_code)]

use nook::cli::front::{Cli, Command, ImageCommand, RunArgs};
use nook::cli::front_config::VolumeCommand;
use nook::cli::front_ctr::{ContainerCommand as C, ContainerOp as Op, SystemCommand};
use nook::front::{exec, inspect, lifecycle, logs, monitor, ps, run as frun};
use nook::image::commands as cmd;

fn main() {
    let args = nook::cli::front_config::end_options_at_image(std::env::args_os().collect());
    // Exit 125 for a bad command line, as docker does.
    let cli: Cli = nook::cli::parse_or_exit(args, "nook", 125);
    // The doctor's probe: a fresh process that changes namespace before anything else.
    if let Command::Doctor(nook::cli::front::DoctorArgs {
        probe: Some(dir), ..
    }) = &cli.command
    {
        nook::doctor::probe::child(dir);
    }
    // Rootless: the commands that write the store or run containers do it inside a
    // user namespace mapping the user's subordinate ranges (src/userns.rs).
    match nook::userns::stage() {
        nook::userns::Stage::Pending { ready, go } => {
            if let Err(e) = nook::userns::enter(ready, go) {
                eprintln!("nook: {}", e.one_line());
                std::process::exit(125);
            }
        }
        nook::userns::Stage::Outside if nook::userns::wanted() && needs_userns(&cli.command) => {
            stop_before_userns(&cli);
            match nook::userns::run_inside() {
                Ok(code) => std::process::exit(code),
                Err(e) => {
                    eprintln!("nook: {}", e.one_line());
                    std::process::exit(125);
                }
            }
        }
        _ => {}
    }
    // `exec` runs from a sealed copy of this binary, as nook-runtime's does,
    // so nothing in a container can reach the host's file; `__create` decides
    // once it has read the config, as nook-runtime's `create` does
    // (container::sealing). The monitor itself stays on the on-disk binary.
    let forks = matches!(cli.command.container_op(), Some(Op::Exec(_)));
    if forks && !nook::kernel::selfexe::is_sealed_copy() {
        let Err(e) = nook::kernel::selfexe::reexec_sealed();
        eprintln!("nook: {}", e.one_line());
        std::process::exit(125);
    }
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("nook: {}", e.one_line());
            std::process::exit(125);
        }
    }
}

/// `rm -f` and `restart` as a user: stop the running containers from here
/// first (front::lifecycle::stop_before_userns says why).
fn stop_before_userns(cli: &Cli) {
    let (names, a) = match (&cli.command, cli.command.container_op()) {
        (Command::Rm(a) | Command::Container(C::Rm(a)), _) if a.force => (&a.containers, None),
        (_, Some(Op::Restart(a))) => (&a.containers, Some(a)),
        _ => return,
    };
    if let Ok(store) = cmd::open_store(cli.root.as_deref()) {
        let found = lifecycle::stop_before_userns(&store, names, a);
        if a.is_none() {
            std::env::set_var(lifecycle::FOUND, found.join("\n"));
        }
    }
}

/// Commands that create files of the image's owners or run containers.
fn needs_userns(c: &Command) -> bool {
    if let Some(op) = c.container_op() {
        return matches!(
            op,
            Op::Run(_) | Op::Create(_) | Op::Start(_) | Op::Restart(_)
        );
    }
    matches!(
        c,
        Command::Monitor(_)
            | Command::Rm(_)
            | Command::Container(C::Rm(_) | C::Prune(_))
            | Command::Load(_)
            | Command::Import(_)
            | Command::Rmi(_)
            | Command::Image(
                ImageCommand::Load(_)
                    | ImageCommand::Import(_)
                    | ImageCommand::Rm(_)
                    | ImageCommand::Prune(_)
            )
    )
}

/// The exit status: the container's for `run`, `start -a`, `exec`; 0 otherwise.
fn run(cli: Cli) -> nook::Result<i32> {
    if let Command::Doctor(a) = &cli.command {
        return Ok(doctor(cli.root.as_deref(), a));
    }
    let store = cmd::open_store(cli.root.as_deref())?;
    let out = &mut std::io::stdout().lock();
    match cli.command {
        Command::Monitor(a) => return Ok(monitor::stage1(&store, &a.id, a.attach)),
        Command::CreateHelper(a) => return Ok(nook::front::create::helper(&store, &a.id)),
        Command::Ctr(op) | Command::Container(C::Op(op)) => return container_op(&store, op, out),
        _ => {}
    }
    match cli.command {
        Command::Ps(a) | Command::Container(C::Ls(a)) => ps::ps(&store, &a, out),
        Command::Rm(a) | Command::Container(C::Rm(a)) => lifecycle::rm(&store, &a, out),
        Command::Inspect(a) => inspect::inspect(&store, &a.containers, true, out),
        Command::Container(C::Inspect(a)) => inspect::inspect(&store, &a.containers, false, out),
        Command::Container(C::Prune(_)) => lifecycle::prune(&store, out),
        Command::System(SystemCommand::Df) => inspect::system_df(&store, out),
        Command::System(SystemCommand::Info) | Command::Info => inspect::info(&store, out),
        Command::Version => inspect::version(out),
        Command::Load(a) | Command::Image(ImageCommand::Load(a)) => cmd::load(&store, &a, out),
        Command::Images(a) | Command::Image(ImageCommand::Ls(a)) => cmd::images(&store, &a, out),
        Command::Import(a) | Command::Image(ImageCommand::Import(a)) => {
            cmd::import(&store, &a, out)
        }
        Command::Tag(a) | Command::Image(ImageCommand::Tag(a)) => cmd::tag(&store, &a),
        Command::Rmi(a) | Command::Image(ImageCommand::Rm(a)) => cmd::rmi(&store, &a, out),
        Command::Save(a) | Command::Image(ImageCommand::Save(a)) => cmd::save(&store, &a),
        Command::Image(ImageCommand::Inspect(a)) => cmd::inspect(&store, &a, out),
        Command::Image(ImageCommand::Prune(_)) => cmd::prune(&store, out),
        Command::Image(ImageCommand::Unpack(a)) => cmd::unpack(&store, &a),
        Command::Volume(v) => nook::front::volume::command(&store, volume_action(&v), out),
        Command::Stats(a) => nook::front::stats::command(&store, &a, out),
        Command::Isolation(a) => return nook::front::isolation::command(&store, &a, out),
        _ => Ok(()),
    }
    .map(|()| 0)
}

/// A command of `nook X` and `nook container X` alike; the exit status as `run` gives it.
fn container_op(
    store: &nook::image::store::Store,
    op: Op,
    out: &mut impl std::io::Write,
) -> nook::Result<i32> {
    match op {
        Op::Run(a) => return frun::run(store, &run_options(&a)?),
        Op::Create(a) => {
            let rec = frun::create(store, &run_options(&a)?)?;
            println!("{}", rec.id);
            return Ok(0);
        }
        Op::Start(a) => return lifecycle::start(store, &a, out),
        Op::Exec(a) => return exec::exec(store, &a),
        Op::Attach(a) => return nook::front::attach::command(store, &a),
        Op::Logs(a) => logs::logs(store, &a),
        Op::Stop(a) => lifecycle::stop(store, &a, out),
        Op::Kill(a) => lifecycle::kill(store, &a, out),
        Op::Restart(a) => lifecycle::restart(store, &a, out),
        Op::Wait(a) => lifecycle::wait(store, &a.containers, out),
        Op::Top(a) => inspect::top(store, &a.container, &a.ps_args, out),
        Op::Rename(a) => lifecycle::rename(store, &a.container, &a.new_name),
        Op::Pause(a) => nook::front::pause::pause(store, &a.containers, true, out),
        Op::Unpause(a) => nook::front::pause::pause(store, &a.containers, false, out),
    }
    .map(|()| 0)
}

fn run_options(a: &RunArgs) -> nook::Result<frun::RunOptions> {
    let config = nook::front::bundle::Settings::parse(&a.config)?;
    Ok(frun::RunOptions {
        image: a.image.clone(),
        process: frun::ProcessRequest {
            args: a.command.clone(),
            entrypoint: a.entrypoint.clone().map(|e| vec![e]),
            env: a.env.clone(),
            workdir: a.workdir.clone(),
            user: a.user.clone(),
            tty: a.tty,
            hostname: a.hostname.clone(),
        },
        rm: a.rm,
        name: a.name.clone(),
        keep_id: a.userns.as_deref() == Some("keep-id"),
        config,
        detach: a.detach,
        interactive: a.interactive,
        stop_signal: a.stop_signal.clone(),
        stop_timeout: a.stop_timeout,
        sig_proxy: a.stream.sig_proxy,
        restart: nook::front::restart::Policy::parse(&a.restart, a.rm)?,
        log: nook::front::logfile::LogConfig::parse(a.log_driver.as_deref(), &a.log_opt)?,
        labels: nook::front::run::labels(&a.label_file, &a.label)?,
        detach_keys: nook::front::detach::parse(a.stream.detach_keys.as_deref())?,
    })
}

fn volume_action(v: &VolumeCommand) -> nook::front::volume::Action<'_> {
    use nook::front::volume::Action;
    match v {
        VolumeCommand::Create { name } => Action::Create(name.as_deref()),
        VolumeCommand::Ls { quiet, format } => Action::Ls {
            quiet: *quiet,
            json: format.as_deref() == Some("json"),
        },
        VolumeCommand::Inspect { names } => Action::Inspect(names),
        VolumeCommand::Rm { names, force } => Action::Rm {
            names,
            force: *force,
        },
        VolumeCommand::Prune { all, .. } => Action::Prune { all: *all },
    }
}

/// `nook doctor`: print the checks; exit 1 when any failed.
fn doctor(root: Option<&std::path::Path>, a: &nook::cli::front::DoctorArgs) -> i32 {
    let store = root
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(nook::image::store::Store::default_root);
    let checks = nook::doctor::run_all(&store);
    if a.format == "json" {
        println!("{}", nook::doctor::render_json(&checks));
    } else {
        print!("{}", nook::doctor::render_text(&checks));
    }
    let failed = checks
        .iter()
        .any(|c| c.status == nook::doctor::Status::Fail);
    i32::from(failed)
}

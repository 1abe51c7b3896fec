//! `nook`: the docker-style front end. Parse, call the library, print the
//! error on one line; exit 125 for nook's own errors, as docker does.
#![forbid(unsafe_code)]

use clap::Parser;
use nook::cli::front::{Cli, Command, ImageCommand};
use nook::image::commands as cmd;

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            std::process::exit(0);
        }
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("nook: {}", first.trim_start_matches("error: "));
            eprintln!("See 'nook --help'.");
            std::process::exit(125);
        }
    };
    if let Err(e) = run(cli) {
        eprintln!("nook: {}", e.one_line());
        std::process::exit(125);
    }
}

fn run(cli: Cli) -> nook::Result<()> {
    let store = cmd::open_store(cli.root.as_deref())?;
    let out = &mut std::io::stdout().lock();
    match cli.command {
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
    }
}

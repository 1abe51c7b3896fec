//! `nook`: the docker-style front end. This version only prints its help.
#![forbid(unsafe_code)]

const HELP: &str = "nook: run images as containers, docker-style, without a daemon

Usage: nook <command> [options]

Commands (coming with the front-end issues):
  load, images, run, ps, logs, stop, start, rm, exec

The OCI runtime is `nook-runtime` (a drop-in for runc).";

fn main() {
    let arg = std::env::args().nth(1);
    match arg.as_deref() {
        None | Some("-h") | Some("--help") | Some("help") => println!("{HELP}"),
        Some("--version") | Some("version") => {
            println!("nook version {}", env!("CARGO_PKG_VERSION"))
        }
        Some(other) => {
            eprintln!("nook: '{other}' is not a nook command yet (see 'nook --help')");
            std::process::exit(125);
        }
    }
}

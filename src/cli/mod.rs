//! Command-line structures (clap). `runtime` mirrors runc's CLI; `front` is
//! the docker-style `nook`.
#![forbid(unsafe_code)]

pub mod front;
pub mod front_config;
pub mod front_ctr;
pub mod runtime;
pub mod signal;
pub mod units;

/// Parse `args` as `C`, or exit: help and version print on stdout and exit 0;
/// an error is one line, `PROG: message`, on stderr (docs/errors.md), with
/// exit status `code` (docker adds "See 'docker --help'.": nook does not).
pub fn parse_or_exit<C: clap::Parser>(
    args: impl IntoIterator<Item = std::ffi::OsString>,
    prog: &str,
    code: i32,
) -> C {
    match C::try_parse_from(args) {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            std::process::exit(0);
        }
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("{prog}: {}", first.trim_start_matches("error: "));
            std::process::exit(code);
        }
    }
}

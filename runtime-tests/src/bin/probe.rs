//! `/probe`: copied into every test container; reports what the container sees as ONE
//! line of JSON on stdout. Errors are data in that JSON, never panics.
//!
//! It must be statically linked (it runs in rootfs trees with no libc). Build it with:
//!
//! ```text
//! RUSTFLAGS='-C target-feature=+crt-static' cargo build --release -p runtime-tests \
//!     --bin probe --target x86_64-unknown-linux-gnu --target-dir target/static
//! ```
//!
//! → `target/static/x86_64-unknown-linux-gnu/release/probe`. Static glibc is safe here
//! because the probe never touches NSS (no getpwnam, no getaddrinfo).
//!
//! Subcommands (argv[1]): `report` (default), `access PATH...`, `run PATH [ARGS...]`,
//! `write PATH TEXT`, `open-write PATH`, `notify TEXT`, `exit N`, `sleep SECONDS`, `cat PATH`, `tty`,
//! `syscall NR [ARGS...] [+ NR [ARGS...]]...`, `syscall32 ...` (raw calls, each answered
//! `{"ret":..,"errno":..}`; several as `{"calls":[...]}`), `syscall-loop COUNT NR [ARGS...]`.
//! Unknown subcommands and bad usage print `{"error": ...}` and exit 2.

// The crate root sits in src/bin/, so its modules are named by path explicitly.
#[path = "probe/checks.rs"]
mod checks;
#[path = "probe/errno.rs"]
mod errno;
#[path = "probe/raw.rs"]
mod raw;
#[path = "probe/sys.rs"]
mod sys;

use std::io::Write;
use std::process::ExitCode;

use serde_json::{json, Value};

/// Print one JSON line and flush: long-running subcommands must be seen before they sleep.
fn emit<T: serde::Serialize>(value: &T) {
    let line = serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    let mut out = std::io::stdout().lock();
    // A closed stdout leaves nothing to report to; ignore the error rather than panic.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn usage(text: &str) -> ExitCode {
    emit(&json!({ "error": format!("usage: probe {text}") }));
    ExitCode::from(2)
}

/// Seconds as given: integers stay integers in the echoed JSON.
fn parse_seconds(arg: &str) -> Option<(Value, f64)> {
    if let Ok(n) = arg.parse::<u64>() {
        return Some((json!(n), n as f64));
    }
    let f = arg
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && *f >= 0.0)?;
    Some((json!(f), f))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let sub = args.get(1).map(String::as_str).unwrap_or("report");
    let rest = args.get(2..).unwrap_or(&[]);
    match (sub, rest) {
        // The same code as `nook isolation` (nook::report), so both report the same fields.
        ("report", _) => emit(&nook::report::collect()),
        ("access", paths) if !paths.is_empty() => emit(&checks::access(paths)),
        ("access", _) => return usage("access PATH..."),
        ("run", [path, args @ ..]) => emit(&checks::run(path, args)),
        ("run", _) => return usage("run PATH [ARGS...]"),
        ("write", [path, text]) => emit(&checks::write(path, text)),
        ("write", _) => return usage("write PATH TEXT"),
        ("open-write", [path]) => emit(&checks::open_write(path)),
        ("open-write", _) => return usage("open-write PATH"),
        ("cat", [path]) => emit(&checks::cat(path)),
        ("cat", _) => return usage("cat PATH"),
        ("tty", []) => emit(&checks::tty()),
        ("notify", [text]) => emit(&checks::notify(text)),
        ("notify", _) => return usage("notify TEXT (a datagram to $NOTIFY_SOCKET)"),
        ("syscall-loop", words) => match raw::repeat(words) {
            Some(v) => emit(&v),
            None => return usage("syscall-loop COUNT NR [ARGS...]"),
        },
        ("syscall" | "syscall32", words) => match raw::run(sub == "syscall32", words) {
            Some(v) => emit(&v),
            None => return usage("syscall[32] NR [ARGS...] (decimal or 0x hex)"),
        },
        ("tty", _) => return usage("tty"),
        ("exit", [n]) => match n.parse::<u8>() {
            Ok(code) => {
                emit(&json!({ "exit": code }));
                return ExitCode::from(code);
            }
            Err(_) => return usage("exit N (0-255)"),
        },
        ("exit", _) => return usage("exit N"),
        ("sleep", [secs]) => match parse_seconds(secs) {
            Some((shown, secs)) => {
                emit(&json!({ "sleeping": shown }));
                std::thread::sleep(std::time::Duration::from_secs_f64(secs));
            }
            None => return usage("sleep SECONDS"),
        },
        ("sleep", _) => return usage("sleep SECONDS"),
        (other, _) => {
            emit(&json!({ "error": format!("unknown subcommand {other}") }));
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_seconds_keep_their_shape() {
        assert_eq!(parse_seconds("30").unwrap().0, json!(30));
        assert_eq!(parse_seconds("0.5").unwrap().1, 0.5);
        assert!(parse_seconds("-1").is_none());
        assert!(parse_seconds("soon").is_none());
    }
}

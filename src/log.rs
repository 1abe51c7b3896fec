//! runc-compatible logging: `--log FILE`, `--log-format text|json`, `--debug`.
//! JSON lines are `{"level":"error","msg":"...","time":"RFC3339"}`; containerd's
//! shim shows users the last `level:"error"` line of that file.
#![forbid(unsafe_code)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warning",
            Level::Error => "error",
        }
    }
}

struct Logger {
    file: Option<std::fs::File>,
    format: Format,
    min: Level,
}

static LOGGER: Mutex<Option<Logger>> = Mutex::new(None);

/// Open the log file (append) and set the format. Called first thing, so
/// that every later failure lands in the file.
pub fn init(path: Option<&PathBuf>, format: Format, debug: bool) -> std::io::Result<()> {
    let file = match path {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)?,
        ),
        None => None,
    };
    let min = if debug { Level::Debug } else { Level::Warn };
    *LOGGER.lock().unwrap_or_else(|e| e.into_inner()) = Some(Logger { file, format, min });
    Ok(())
}

/// Write one line. Without --log, lines go to stderr (errors are printed by
/// the binary itself, so they are not repeated there).
pub fn log(level: Level, msg: &str) {
    let mut guard = LOGGER.lock().unwrap_or_else(|e| e.into_inner());
    let Some(l) = guard.as_mut() else { return };
    if level < l.min {
        return;
    }
    let line = format_line(l.format, level, msg, &rfc3339_now());
    match &mut l.file {
        Some(f) => {
            let _ = f.write_all(line.as_bytes());
        }
        None if level != Level::Error => {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
        None => {}
    }
}

pub fn debug(msg: &str) {
    log(Level::Debug, msg)
}

pub fn warn(msg: &str) {
    log(Level::Warn, msg)
}

pub fn error(msg: &str) {
    log(Level::Error, msg)
}

pub fn format_line(format: Format, level: Level, msg: &str, time: &str) -> String {
    match format {
        Format::Json => {
            let v = serde_json::json!({"level": level.name(), "msg": msg, "time": time});
            format!("{v}\n")
        }
        Format::Text => format!(
            "time=\"{time}\" level={} msg={}\n",
            level.name(),
            serde_json::Value::String(msg.to_string())
        ),
    }
}

/// The current UTC time as RFC 3339 with nanoseconds.
pub fn rfc3339_now() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(d.as_secs() as i64, d.subsec_nanos())
}

pub fn rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86400);
    let sod = secs.rem_euclid(86400);
    let (y, m, d) = crate::calendar::civil(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339(951782400, 5), "2000-02-29T00:00:00.000000005Z");
        assert_eq!(rfc3339(1795780800, 0), "2026-11-27T12:00:00.000000000Z");
    }

    #[test]
    fn json_line_is_what_containerd_parses() {
        let l = format_line(
            Format::Json,
            Level::Error,
            "container \"x\" does not exist",
            "T",
        );
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "container \"x\" does not exist");
        assert_eq!(v["time"], "T");
        assert!(l.ends_with('\n') && l.matches('\n').count() == 1);
    }

    #[test]
    fn text_line_quotes_the_message() {
        assert_eq!(
            format_line(Format::Text, Level::Warn, "a \"b\"", "T"),
            "time=\"T\" level=warning msg=\"a \\\"b\\\"\"\n"
        );
    }
}

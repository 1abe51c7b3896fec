//! The container's log: docker's json-file format, one JSON object per line
//! (`{"log":"...\n","stream":"stdout","time":"<RFC 3339, ns>"}`), at most
//! at most `max-size` bytes per file and `max-file` files (`container.log`,
//! then `container.log.1` the newest rotated one, up to `.{max-file - 1}`).
//! `--log-driver none` keeps no log.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const LOG: &str = "container.log";
/// Without `--log-opt`: 10 MiB per file, two files (the current and one rotated).
pub const DEFAULT_MAX: u64 = 10 << 20;
pub const DEFAULT_FILES: u32 = 2;

/// docker's `--log-driver` and `--log-opt` for the json-file driver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogConfig {
    /// `json-file` or `none`.
    pub driver: String,
    /// Bytes per file; 0: one file that grows without bound.
    pub max_size: u64,
    /// Files kept, the current one included (at least 1).
    pub max_files: u32,
    /// The options as given (docker's `HostConfig.LogConfig.Config`).
    #[serde(default)]
    pub opts: std::collections::BTreeMap<String, String>,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            driver: "json-file".into(),
            max_size: DEFAULT_MAX,
            max_files: DEFAULT_FILES,
            opts: Default::default(),
        }
    }
}

impl LogConfig {
    /// `--log-driver` and each `--log-opt KEY=VALUE`, as docker checks them:
    /// `max-size` alone keeps one file (docker's `max-file` default is 1);
    /// `max-file` alone keeps nook's default size per file.
    pub fn parse(driver: Option<&str>, opts: &[String]) -> Result<LogConfig> {
        let driver = driver.unwrap_or("json-file");
        let bad = |what: String| Err(Error::Usage(what));
        if driver != "json-file" && driver != "none" {
            return bad(format!(
                "--log-driver {driver:?}: nook keeps logs as json-file or none"
            ));
        }
        let mut c = LogConfig {
            driver: driver.into(),
            ..LogConfig::default()
        };
        let (mut size, mut files) = (None, None);
        for o in opts {
            let Some((k, v)) = o.split_once('=') else {
                return bad(format!("--log-opt {o:?}: expected KEY=VALUE"));
            };
            if driver == "none" {
                return bad(format!("unknown log opt '{k}' for none log driver"));
            }
            match k {
                "max-size" => match crate::cli::units::parse_bytes(v) {
                    Ok(-1) => size = Some(0),
                    Ok(n) if n > 0 => size = Some(n as u64),
                    _ => return bad(format!("--log-opt max-size={v}: not a size (e.g. 10m)")),
                },
                "max-file" => match v.parse::<u32>() {
                    Ok(n) if n >= 1 => files = Some(n),
                    _ => return bad(format!("--log-opt max-file={v}: at least 1")),
                },
                _ => return bad(format!("unknown log opt '{k}' for json-file log driver")),
            }
            c.opts.insert(k.into(), v.into());
        }
        match (size, files) {
            (None, None) => {}
            (Some(s), f) => (c.max_size, c.max_files) = (s, f.unwrap_or(1)),
            (None, Some(f)) => c.max_files = f,
        }
        if c.max_size == 0 && c.max_files > 1 {
            return bad("--log-opt max-file needs a max-size".into());
        }
        Ok(c)
    }

    /// docker's `HostConfig.LogConfig`.
    pub fn docker_json(&self) -> serde_json::Value {
        serde_json::json!({"Type": self.driver, "Config": self.opts})
    }
}
/// A line without its newline is written out once this long (docker: 16 KiB).
const PARTIAL_MAX: usize = 16 * 1024;

pub struct LogWriter {
    path: PathBuf,
    /// None with the `none` driver.
    file: Option<File>,
    size: u64,
    max: u64,
    files: u32,
    /// An unfinished line per stream (stdout, stderr).
    pending: [Vec<u8>; 2],
}

impl LogWriter {
    pub fn open(path: &Path, config: &LogConfig) -> Result<LogWriter> {
        let file = match config.driver.as_str() {
            "none" => None,
            _ => Some(
                File::options()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| Error::io("open", path, e))?,
            ),
        };
        let size = file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map_or(0, |m| m.len());
        Ok(LogWriter {
            path: path.to_path_buf(),
            file,
            size,
            max: config.max_size,
            files: config.max_files.max(1),
            pending: [Vec::new(), Vec::new()],
        })
    }

    /// Append output of `stream` (1 stdout, 2 stderr): whole lines now, the rest later.
    pub fn write(&mut self, stream: u8, mut data: &[u8]) {
        let i = usize::from(stream == 2);
        while let Some(nl) = data.iter().position(|b| *b == b'\n') {
            let mut line = std::mem::take(&mut self.pending[i]);
            line.extend_from_slice(&data[..=nl]);
            self.entry(stream, &line);
            data = &data[nl + 1..];
        }
        self.pending[i].extend_from_slice(data);
        if self.pending[i].len() >= PARTIAL_MAX {
            let line = std::mem::take(&mut self.pending[i]);
            self.entry(stream, &line);
        }
        self.pending[i].shrink_to(PARTIAL_MAX);
    }

    /// Write out unfinished lines (at the end).
    pub fn flush(&mut self) {
        for stream in [1u8, 2] {
            let line = std::mem::take(&mut self.pending[usize::from(stream == 2)]);
            if !line.is_empty() {
                self.entry(stream, &line);
            }
        }
    }

    fn entry(&mut self, stream: u8, line: &[u8]) {
        let v = serde_json::json!({
            "log": String::from_utf8_lossy(line),
            "stream": if stream == 2 { "stderr" } else { "stdout" },
            "time": crate::log::rfc3339_now(),
        });
        let mut text = v.to_string();
        text.push('\n');
        if self.max > 0 && self.size > 0 && self.size + text.len() as u64 > self.max {
            self.rotate();
        }
        // A full disk loses log lines, never the container.
        if let Some(f) = self.file.as_mut() {
            if f.write_all(text.as_bytes()).is_ok() {
                self.size += text.len() as u64;
            }
        }
    }

    /// `.{n-2}` → `.{n-1}`, …, `.1` → `.2`, the current file → `.1`, a new
    /// current file. With one file the current one is unlinked: a reader
    /// holding it reads it to its end and then moves on (`logs -f`).
    fn rotate(&mut self) {
        let moved = if self.files == 1 {
            std::fs::remove_file(&self.path).is_ok()
        } else {
            for k in (1..self.files - 1).rev() {
                let _ = std::fs::rename(rotated(&self.path, k), rotated(&self.path, k + 1));
            }
            std::fs::rename(&self.path, rotated(&self.path, 1)).is_ok()
        };
        if moved {
            if let Ok(f) = File::options().create(true).append(true).open(&self.path) {
                self.file = Some(f);
                self.size = 0;
            }
        }
    }
}

/// The `k`-th rotated file (1 is the newest).
pub fn rotated(path: &Path, k: u32) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(format!(".{k}"));
    PathBuf::from(p)
}

/// One parsed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub log: String,
    pub stderr: bool,
    pub time: String,
}

pub fn parse_line(line: &str) -> Option<Entry> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    Some(Entry {
        log: v["log"].as_str()?.to_string(),
        stderr: v["stream"] == "stderr",
        time: v["time"].as_str().unwrap_or_default().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_partial_lines_and_one_rotation() {
        let dir = std::env::temp_dir().join(format!("nook-logfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(LOG);
        let one_rotation = LogConfig {
            max_size: 300,
            ..LogConfig::default()
        };
        let mut w = LogWriter::open(&path, &one_rotation).unwrap();
        w.write(1, b"one\ntw");
        w.write(2, b"err\n");
        w.write(1, b"o\n");
        let text = std::fs::read_to_string(&path).unwrap();
        let e: Vec<Entry> = text.lines().filter_map(parse_line).collect();
        assert_eq!(e.len(), 3);
        assert_eq!((e[0].log.as_str(), e[0].stderr), ("one\n", false));
        assert_eq!((e[1].log.as_str(), e[1].stderr), ("err\n", true));
        assert_eq!(e[2].log, "two\n");
        assert!(e[0].time.ends_with('Z') && e[0].time.contains('T'));
        for i in 0..20 {
            w.write(1, format!("line {i}\n").as_bytes());
        }
        w.write(1, b"tail");
        w.flush();
        let cur = std::fs::read_to_string(&path).unwrap();
        let old = std::fs::read_to_string(rotated(&path, 1)).unwrap();
        assert!(cur.len() <= 300 && old.len() <= 300, "bounded");
        assert!(cur.lines().last().unwrap().contains("\"tail\""));
        assert!(!rotated(&path, 2).exists(), "one rotation only");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn options_as_docker_checks_them() {
        let p = |d: Option<&str>, o: &[&str]| {
            let o: Vec<String> = o.iter().map(|s| s.to_string()).collect();
            LogConfig::parse(d, &o).map(|c| (c.driver, c.max_size, c.max_files))
        };
        assert_eq!(p(None, &[]).unwrap(), ("json-file".into(), DEFAULT_MAX, 2));
        assert_eq!(p(None, &["max-size=1k"]).unwrap().1, 1024);
        assert_eq!(
            p(None, &["max-size=1k"]).unwrap().2,
            1,
            "docker's max-file default"
        );
        assert_eq!(
            p(None, &["max-file=5"]).unwrap(),
            ("json-file".into(), DEFAULT_MAX, 5)
        );
        assert_eq!(p(None, &["max-size=-1"]).unwrap().1, 0, "unbounded");
        assert_eq!(p(Some("none"), &[]).unwrap().0, "none");
        for bad in [
            &["max-size=0"][..],
            &["max-file=x"],
            &["max-size=-1", "max-file=2"],
            &["labels=a"],
            &["max-size"],
        ] {
            assert!(p(None, bad).is_err(), "{bad:?}");
        }
        assert!(p(Some("journald"), &[]).is_err());
        assert!(p(Some("none"), &["max-size=1k"]).is_err());
    }

    #[test]
    fn max_file_keeps_that_many_files_and_one_file_is_replaced() {
        let dir = std::env::temp_dir().join(format!("nook-logfile3-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(LOG);
        for files in [3, 1] {
            let c = LogConfig {
                max_size: 200,
                max_files: files,
                ..LogConfig::default()
            };
            let mut w = LogWriter::open(&path, &c).unwrap();
            let held = File::open(&path).unwrap();
            for i in 0..40 {
                w.write(1, format!("line {i}\n").as_bytes());
            }
            let last = std::fs::read_to_string(&path).unwrap();
            assert!(last.contains("line 39"));
            assert_eq!(rotated(&path, 2).exists(), files == 3);
            assert!(!rotated(&path, 3).exists());
            // The first file, renamed or unlinked, still reads whole through its fd.
            let mut first = String::new();
            std::io::Read::read_to_string(&mut &held, &mut first).unwrap();
            assert!(first.starts_with("{\"log\":\"line 0\\n\""), "{first}");
            std::fs::remove_dir_all(&dir).unwrap();
            std::fs::create_dir_all(&dir).unwrap();
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

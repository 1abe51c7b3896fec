//! The container's log: docker's json-file format, one JSON object per line
//! (`{"log":"...\n","stream":"stdout","time":"<RFC 3339, ns>"}`), at most
//! `max` bytes per file with one rotation (`container.log.1`).

use crate::error::{Error, Result};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const LOG: &str = "container.log";
pub const DEFAULT_MAX: u64 = 10 << 20;
/// A line without its newline is written out once this long (docker: 16 KiB).
const PARTIAL_MAX: usize = 16 * 1024;

pub struct LogWriter {
    path: PathBuf,
    file: File,
    size: u64,
    max: u64,
    /// An unfinished line per stream (stdout, stderr).
    pending: [Vec<u8>; 2],
}

impl LogWriter {
    pub fn open(path: &Path, max: u64) -> Result<LogWriter> {
        let file = File::options()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io("open", path, e))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(LogWriter {
            path: path.to_path_buf(),
            file,
            size,
            max,
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
        if self.size > 0 && self.size + text.len() as u64 > self.max {
            self.rotate();
        }
        // A full disk loses log lines, never the container.
        if self.file.write_all(text.as_bytes()).is_ok() {
            self.size += text.len() as u64;
        }
    }

    fn rotate(&mut self) {
        let old = rotated(&self.path);
        if std::fs::rename(&self.path, &old).is_ok() {
            if let Ok(f) = File::options().create(true).append(true).open(&self.path) {
                self.file = f;
                self.size = 0;
            }
        }
    }
}

pub fn rotated(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".1");
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
        let mut w = LogWriter::open(&path, 300).unwrap();
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
        let old = std::fs::read_to_string(rotated(&path)).unwrap();
        assert!(cur.len() <= 300 && old.len() <= 300, "bounded");
        assert!(cur.lines().last().unwrap().contains("\"tail\""));
        assert!(!rotated(&rotated(&path)).exists(), "one rotation only");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

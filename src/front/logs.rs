//! `nook logs [-f] [--tail N] [-t] C`: the json-file log (the rotated files
//! oldest first, then the current one), each entry to stdout or stderr as it
//! was written; `-f` follows until the container has stopped and the log is
//! read to its end, across rotations.
//!
//! Files are read through open descriptors: a rotation renames (or, with one
//! file, unlinks) the file being read, and the descriptor still reads it to
//! its end. Each look at the directory opens the current file first, then
//! `.1`, `.2`, ..., and drops a file seen twice (a rotation in between), so
//! every file is read once, in order, whole.

use super::containers;
use super::logfile::{parse_line, rotated, Entry, LOG};
use super::status;
use crate::cli::front_ctr::LogsArgs;
use crate::error::{Error, Result};
use crate::image::store::Store;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

fn emit(e: &Entry, timestamps: bool) -> Result<()> {
    let text = if timestamps {
        format!("{} {}", e.time, e.log)
    } else {
        e.log.clone()
    };
    let w = |r: std::io::Result<()>| r.map_err(|e| Error::io("write", "stdout", e));
    if e.stderr {
        let mut err = std::io::stderr().lock();
        w(err.write_all(text.as_bytes()).and_then(|_| err.flush()))
    } else {
        let mut out = std::io::stdout().lock();
        w(out.write_all(text.as_bytes()).and_then(|_| out.flush()))
    }
}

/// One log file held open, and the start of a line not yet written whole.
struct Held {
    file: File,
    ino: (u64, u64),
    partial: Vec<u8>,
}

impl Held {
    fn new(file: File) -> Option<Held> {
        let m = file.metadata().ok()?;
        Some(Held {
            file,
            ino: (m.dev(), m.ino()),
            partial: Vec::new(),
        })
    }

    /// The whole lines written since the last read.
    fn read_lines(&mut self, path: &Path) -> Result<Vec<Entry>> {
        self.file
            .read_to_end(&mut self.partial)
            .map_err(|e| Error::io("read", path, e))?;
        let end = self
            .partial
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let whole: Vec<u8> = self.partial.drain(..end).collect();
        Ok(String::from_utf8_lossy(&whole)
            .lines()
            .filter_map(parse_line)
            .collect())
    }
}

/// The log files as they are now, oldest first; the last is the current one.
/// Every rotated name up to `.{max_files - 1}` is tried: a rotation under way
/// moves `.k` to `.k+1` from the oldest down, so a name may be missing for a
/// moment with older files above it.
fn files(path: &Path, max_files: u32) -> Vec<Held> {
    let mut found = Vec::new();
    if let Some(h) = File::open(path).ok().and_then(Held::new) {
        found.push(h);
        found.extend(
            (1..max_files.max(2))
                .filter_map(|k| File::open(rotated(path, k)).ok().and_then(Held::new)),
        );
    }
    found.reverse();
    let mut seen = std::collections::HashSet::new();
    found.retain(|h| seen.insert(h.ino));
    found
}

pub fn logs(store: &Store, a: &LogsArgs) -> Result<()> {
    let id = containers::lookup(store, &a.container)?;
    let log = containers::read_record(store, &id)?.log;
    if log.driver == "none" {
        return Err(Error::Usage(format!(
            "configured logging driver does not support reading (container {} logs with \"none\")",
            a.container
        )));
    }
    let path = containers::dir(store, &id).join(LOG);
    let tail: Option<usize> = match a.tail.as_str() {
        "all" | "-1" => None,
        n => Some(
            n.parse()
                .map_err(|_| Error::Usage(format!("--tail {n:?}: not a number")))?,
        ),
    };
    // What is there now; the current file stays open for -f.
    let mut entries = Vec::new();
    let mut cur = None;
    for mut h in files(&path, log.max_files) {
        entries.extend(h.read_lines(&path)?);
        cur = Some(h);
    }
    let skip = tail.map_or(0, |n| entries.len().saturating_sub(n));
    for e in &entries[skip..] {
        emit(e, a.timestamps)?;
    }
    if a.follow {
        follow(store, &id, &path, log.max_files, cur, a.timestamps)?;
    }
    Ok(())
}

fn follow(
    store: &Store,
    id: &str,
    path: &Path,
    max_files: u32,
    mut cur: Option<Held>,
    ts: bool,
) -> Result<()> {
    let mut last_round = false;
    loop {
        let running =
            status::live(store, id).running() || status::monitor_alive(store, id).is_some();
        if let Some(h) = cur.as_mut() {
            for e in h.read_lines(path)? {
                emit(&e, ts)?;
            }
        }
        let now = files(path, max_files);
        let rotated_away = match (&cur, now.last()) {
            (Some(h), Some(last)) => h.ino != last.ino,
            (None, Some(_)) => true,
            (_, None) => false,
        };
        if rotated_away {
            // The held file is complete (the writer moved on before the
            // rename): read its rest, then every newer file in order.
            if let Some(h) = cur.as_mut() {
                for e in h.read_lines(path)? {
                    emit(&e, ts)?;
                }
            }
            let start = cur
                .as_ref()
                .and_then(|h| now.iter().position(|n| n.ino == h.ino))
                .map_or(0, |i| i + 1);
            cur = None;
            for mut h in now.into_iter().skip(start) {
                for e in h.read_lines(path)? {
                    emit(&e, ts)?;
                }
                cur = Some(h);
            }
            continue;
        }
        if !running {
            if last_round {
                return Ok(());
            }
            last_round = true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

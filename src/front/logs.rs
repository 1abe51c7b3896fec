//! `nook logs [-f] [--tail N] [-t] C`: the json-file log (rotated file
//! first), each entry to stdout or stderr as it was written; `-f` follows
//! until the container has stopped and the log is read to its end.

use super::containers;
use super::logfile::{parse_line, rotated, Entry, LOG};
use super::status;
use crate::cli::front_ctr::LogsArgs;
use crate::error::{Error, Result};
use crate::image::store::Store;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
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

pub fn logs(store: &Store, a: &LogsArgs) -> Result<()> {
    let id = containers::lookup(store, &a.container)?;
    let path = containers::dir(store, &id).join(LOG);
    let tail: Option<usize> = match a.tail.as_str() {
        "all" | "-1" => None,
        n => Some(
            n.parse()
                .map_err(|_| Error::Usage(format!("--tail {n:?}: not a number")))?,
        ),
    };
    // What is there now: the rotated file, then the current one.
    let mut entries = Vec::new();
    for p in [rotated(&path), path.clone()] {
        if let Ok(text) = std::fs::read_to_string(&p) {
            entries.extend(text.lines().filter_map(parse_line));
        }
    }
    let mut offset = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let skip = tail.map_or(0, |n| entries.len().saturating_sub(n));
    for e in &entries[skip..] {
        emit(e, a.timestamps)?;
    }
    if !a.follow {
        return Ok(());
    }
    let mut last_round = false;
    loop {
        let running =
            status::live(store, &id).running() || status::monitor_alive(store, &id).is_some();
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if len < offset {
            offset = 0; // rotated under us
        }
        if len > offset {
            let mut f = std::fs::File::open(&path).map_err(|e| Error::io("open", &path, e))?;
            f.seek(SeekFrom::Start(offset))
                .map_err(|e| Error::io("seek", &path, e))?;
            let mut r = BufReader::new(f);
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 {
                if !line.ends_with('\n') {
                    break; // a line being written: read it whole next time
                }
                offset += line.len() as u64;
                if let Some(e) = parse_line(&line) {
                    emit(&e, a.timestamps)?;
                }
                line.clear();
            }
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

//! Load progress: per-layer byte counts and log lines. `commands.rs` shows
//! bars on a terminal (indicatif) and plain lines otherwise; tests pass a
//! closure that collects the lines.
#![forbid(unsafe_code)]

use std::io::Read;

pub trait Progress {
    fn line(&mut self, line: String);
    /// A layer of `total` (blob) bytes starts unpacking.
    fn start_layer(&mut self, name: &str, total: u64) {
        self.line(format!("unpacking layer {name} ({total} bytes)"));
    }
    fn advance(&mut self, _bytes: u64) {}
    fn finish_layer(&mut self) {}
}

impl<F: FnMut(String)> Progress for F {
    fn line(&mut self, line: String) {
        self(line)
    }
}

/// Reports the bytes read through it.
pub struct Counted<'a, R> {
    pub inner: R,
    pub progress: &'a mut dyn Progress,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

/// Bars on a terminal, lines otherwise, nothing when quiet.
pub struct Terminal {
    quiet: bool,
    tty: bool,
    bar: Option<indicatif::ProgressBar>,
}

impl Terminal {
    pub fn new(quiet: bool) -> Terminal {
        use std::io::IsTerminal;
        Terminal {
            quiet,
            tty: std::io::stderr().is_terminal(),
            bar: None,
        }
    }
}

impl Progress for Terminal {
    fn line(&mut self, line: String) {
        match (&self.bar, self.quiet) {
            (_, true) => {}
            (Some(b), _) => b.println(line),
            (None, _) => eprintln!("{line}"),
        }
    }

    fn start_layer(&mut self, name: &str, total: u64) {
        if !self.tty || self.quiet {
            return self.line(format!("unpacking layer {name} ({total} bytes)"));
        }
        let bar = indicatif::ProgressBar::new(total);
        let style = indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style.progress_chars("=> "));
        bar.set_message(format!("layer {name}"));
        self.bar = Some(bar);
    }

    fn advance(&mut self, bytes: u64) {
        if let Some(b) = &self.bar {
            b.inc(bytes);
        }
    }

    fn finish_layer(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish();
        }
    }
}

//! The error contract (docs/errors.md): one variant per failing step, carrying
//! the field or path it concerns. Messages are lower-case, one line, no final period.
#![forbid(unsafe_code)]

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call failed: which call, on which path (or object), and the errno.
    #[error("{call} {path}: {errno}")]
    Sys {
        call: &'static str,
        path: String,
        errno: nix::errno::Errno,
    },
    /// A file could not be read or written.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// config.json is unreadable or does not parse; `field` is the JSON path.
    #[error("config.json: {field}: {msg}")]
    Config { field: String, msg: String },
    /// config.json is missing or unreadable as a whole.
    #[error("config.json: {0}")]
    ConfigFile(String),
    /// The configuration asks for something nook cannot do here.
    #[error("{field}: {msg}")]
    Unsupported { field: String, msg: String },
    /// The container is in the wrong state for the command.
    #[error("{0}")]
    State(String),
    /// No container of that id.
    #[error("container \"{0}\" does not exist")]
    NotFound(String),
    /// A container of that id exists already.
    #[error("container with id \"{0}\" already exists")]
    Exists(String),
    /// An id, signal or flag given on the command line is wrong.
    #[error("{0}")]
    Usage(String),
    /// A hook failed.
    #[error("{kind} hook {path}: {msg}")]
    Hook {
        kind: &'static str,
        path: String,
        msg: String,
    },
    /// The container's init failed while setting up (runc's wording, which engines match).
    #[error("unable to start container process: {0}")]
    Init(String),
    /// A message from a child process, already complete: shown as it is.
    #[error("{0}")]
    Child(String),
    /// A layer entry that must not be applied (path escapes, unsupported type, ...).
    #[error("layer entry {path}: {msg}")]
    Layer { path: String, msg: String },
    /// A blob whose content does not match its digest or size.
    #[error("blob {blob}: {msg}")]
    Blob { blob: String, msg: String },
    /// An archive or image document that is malformed.
    #[error("{what}: {msg}")]
    Format { what: String, msg: String },
    /// No image of that name or id in the store.
    #[error("no such image: {0}")]
    NoImage(String),
    /// An error with context prepended (`context: inner`).
    #[error("{context}: {inner}")]
    Context { context: String, inner: Box<Error> },
}

impl Error {
    pub fn sys(call: &'static str, path: impl std::fmt::Display, errno: nix::errno::Errno) -> Self {
        Error::Sys {
            call,
            path: path.to_string(),
            errno,
        }
    }

    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub fn config(field: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Config {
            field: field.into(),
            msg: msg.into(),
        }
    }

    pub fn unsupported(field: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Unsupported {
            field: field.into(),
            msg: msg.into(),
        }
    }

    pub fn layer(path: impl std::fmt::Display, msg: impl Into<String>) -> Self {
        Error::Layer {
            path: path.to_string(),
            msg: msg.into(),
        }
    }

    /// Messages from parsers can quote the bad input at length (the tar crate
    /// includes the header bytes): keep the first line, at most 200 characters.
    pub fn format(what: impl Into<String>, msg: impl std::fmt::Display) -> Self {
        let msg = msg.to_string();
        let first = msg.lines().next().unwrap_or_default();
        Error::Format {
            what: what.into(),
            msg: first.chars().take(200).collect(),
        }
    }

    /// The message as the binaries print it: one line, whatever a cause contained.
    pub fn one_line(&self) -> String {
        self.to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The errno at the bottom of the chain, if the failure came from a system call.
    pub fn errno(&self) -> Option<nix::errno::Errno> {
        match self {
            Error::Sys { errno, .. } => Some(*errno),
            Error::Context { inner, .. } => inner.errno(),
            _ => None,
        }
    }
}

/// Attach context to any error on its way up.
pub trait Context<T> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for Result<T> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|inner| Error::Context {
            context: context(),
            inner: Box::new(inner),
        })
    }
}

/// Shorthand for wrapping a nix result into `Error::Sys`.
pub trait SysResult<T> {
    fn sys(self, call: &'static str, path: impl std::fmt::Display) -> Result<T>;
}

impl<T> SysResult<T> for nix::Result<T> {
    fn sys(self, call: &'static str, path: impl std::fmt::Display) -> Result<T> {
        self.map_err(|errno| Error::sys(call, path, errno))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_prints_on_one_line() {
        let e: Result<()> = Err(Error::sys("mount", "/proc", nix::errno::Errno::EPERM));
        let e = e.context(|| "mounting proc".into()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "mounting proc: mount /proc: EPERM: Operation not permitted"
        );
        assert_eq!(e.errno(), Some(nix::errno::Errno::EPERM));
    }
}

//! Detach keys (docker's `--detach-keys`, default ctrl-p,ctrl-q): the key
//! sequence that, typed into an attached terminal, leaves the container
//! running and ends the client. Parsed as docker does: comma-separated keys,
//! each a single character or `ctrl-X` with X one of a-z @ [ \ ] ^ _.

use crate::error::{Error, Result};

/// docker's default: ctrl-p ctrl-q.
pub const DEFAULT: &[u8] = &[0x10, 0x11];

/// The bytes of a `--detach-keys` value; empty or absent is docker's default.
pub fn parse(spec: Option<&str>) -> Result<Vec<u8>> {
    let Some(spec) = spec.filter(|s| !s.is_empty()) else {
        return Ok(DEFAULT.to_vec());
    };
    let bad = |key: &str| {
        Error::Usage(format!(
            "--detach-keys {spec:?}: unknown key {key:?} (a single character or ctrl-X, X one of a-z @ [ \\ ] ^ _)"
        ))
    };
    let mut out = Vec::new();
    for key in spec.split(',') {
        let lower = key.to_ascii_lowercase();
        let byte = match (key.chars().count(), lower.strip_prefix("ctrl-")) {
            (1, _) if key.is_ascii() => key.as_bytes()[0],
            (6, Some(c)) => match c.as_bytes()[0] {
                b @ b'a'..=b'z' => b - b'a' + 1,
                b'@' => 0,
                b @ (b'[' | b'\\' | b']' | b'^' | b'_') => b - b'[' + 27,
                _ => return Err(bad(key)),
            },
            _ => return Err(bad(key)),
        };
        out.push(byte);
    }
    Ok(out)
}

/// Watches what the user types for the sequence. Bytes that might start it
/// are held back until the next byte shows whether they do.
#[derive(Debug)]
pub struct Escape {
    keys: Vec<u8>,
    held: usize,
}

impl Escape {
    pub fn new(keys: Vec<u8>) -> Escape {
        Escape { keys, held: 0 }
    }

    /// The bytes to pass on for `input`, and whether the sequence was typed
    /// (what followed it in `input` is dropped, as docker drops it).
    pub fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let mut pass = Vec::with_capacity(input.len());
        for &b in input {
            if self.keys.is_empty() {
                pass.push(b);
                continue;
            }
            if b == self.keys[self.held] {
                self.held += 1;
                if self.held == self.keys.len() {
                    self.held = 0;
                    return (pass, true);
                }
                continue;
            }
            // Not the sequence after all: what was held goes on, and this
            // byte may start the sequence again.
            pass.extend_from_slice(&self.keys[..self.held]);
            self.held = 0;
            if b == self.keys[0] && self.keys.len() > 1 {
                self.held = 1;
            } else if b == self.keys[0] {
                return (pass, true);
            } else {
                pass.push(b);
            }
        }
        (pass, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_key_names() {
        assert_eq!(parse(None).unwrap(), [0x10, 0x11]);
        assert_eq!(parse(Some("")).unwrap(), [0x10, 0x11]);
        assert_eq!(parse(Some("ctrl-a,x,ctrl-\\")).unwrap(), [1, b'x', 28]);
        assert_eq!(parse(Some("ctrl-@,ctrl-_,CTRL-Z")).unwrap(), [0, 31, 26]);
        for bad in ["ctrl-1", "ab", "ctrl-", "a,,b", "ctrl-ab"] {
            let e = parse(Some(bad)).unwrap_err().one_line();
            assert!(e.contains("--detach-keys"), "{bad}: {e}");
        }
    }

    #[test]
    fn sequence_is_found_across_reads_and_false_starts_pass() {
        let mut e = Escape::new(DEFAULT.to_vec());
        assert_eq!(e.feed(b"ls\x10"), (b"ls".to_vec(), false));
        assert_eq!(e.feed(b"x"), (b"\x10x".to_vec(), false));
        assert_eq!(e.feed(b"\x10\x10"), (b"\x10".to_vec(), false));
        assert_eq!(e.feed(b"\x11rest"), (Vec::new(), true));
        let mut one = Escape::new(vec![b'q']);
        assert_eq!(one.feed(b"abqc"), (b"ab".to_vec(), true));
    }
}

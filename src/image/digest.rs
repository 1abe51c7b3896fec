//! sha256 digests: parsing `sha256:<64 hex>`, and a reader that hashes (and
//! counts) what passes through it, so blobs are verified while streamed.
#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use sha2::{Digest as _, Sha256};
use std::io::Read;

/// A validated `sha256:<64 lower-case hex>` digest.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

impl TryFrom<String> for Digest {
    type Error = Error;
    fn try_from(s: String) -> Result<Digest> {
        Digest::parse(&s)
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.0
    }
}

impl Digest {
    pub fn parse(s: &str) -> Result<Digest> {
        let hex = s
            .strip_prefix("sha256:")
            .ok_or_else(|| Error::format(s, "not a sha256 digest"))?;
        let ok = hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !ok {
            return Err(Error::format(s, "malformed sha256 digest"));
        }
        Ok(Digest(s.to_string()))
    }

    pub fn of_bytes(data: &[u8]) -> Digest {
        Digest::from_hasher(Sha256::new_with_prefix(data))
    }

    fn from_hasher(h: Sha256) -> Digest {
        let mut s = String::with_capacity(71);
        s.push_str("sha256:");
        for b in h.finalize().iter() {
            s.push_str(&format!("{b:02x}"));
        }
        Digest(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex characters (a safe file name: checked by `parse`).
    pub fn hex(&self) -> &str {
        &self.0[7..]
    }

    /// docker's short id: 12 hex characters.
    pub fn short(&self) -> &str {
        &self.0[7..19]
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Hashes and counts every byte read through it.
pub struct HashReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashReader<R> {
    pub fn new(inner: R) -> Self {
        HashReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// Read the rest (so trailing padding counts too) and return digest and size.
    pub fn finish(mut self) -> std::io::Result<(Digest, u64)> {
        std::io::copy(&mut self, &mut std::io::sink())?;
        Ok((Digest::from_hasher(self.hasher), self.count))
    }

    /// Check against the expected digest (and size, when known).
    pub fn verify(self, want: &Digest, size: Option<u64>) -> Result<()> {
        let (got, n) = self.finish().map_err(|e| Error::Blob {
            blob: want.to_string(),
            msg: format!("read: {e}"),
        })?;
        if got != *want {
            return Err(Error::Blob {
                blob: want.to_string(),
                msg: format!("digest mismatch (got {got})"),
            });
        }
        match size {
            Some(s) if s != n => Err(Error::Blob {
                blob: want.to_string(),
                msg: format!("size mismatch (want {s} bytes, got {n})"),
            }),
            _ => Ok(()),
        }
    }
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn hashes_known_values() {
        assert_eq!(Digest::of_bytes(b"").as_str(), EMPTY);
        let r = HashReader::new(&b""[..]);
        assert_eq!(r.finish().unwrap(), (Digest::parse(EMPTY).unwrap(), 0));
    }

    #[test]
    fn verify_names_the_blob() {
        let want = Digest::parse(EMPTY).unwrap();
        let e = HashReader::new(&b"x"[..]).verify(&want, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "blob {EMPTY}: digest mismatch (got {})",
                Digest::of_bytes(b"x")
            )
        );
        let e = HashReader::new(&b""[..])
            .verify(&want, Some(3))
            .unwrap_err();
        assert!(e
            .to_string()
            .ends_with("size mismatch (want 3 bytes, got 0)"));
    }

    #[test]
    fn parse_refuses_bad_digests() {
        assert!(Digest::parse("sha256:abc").is_err());
        assert!(Digest::parse("md5:00").is_err());
        assert!(Digest::parse(&EMPTY.replace('e', "E")).is_err());
        assert!(Digest::parse(&format!("{}/..", &EMPTY[..69])).is_err());
    }
}

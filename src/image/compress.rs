//! Layer compression, recognised by magic bytes (media types lie in the wild):
//! gzip, zstd (pure-Rust decoder) or none. Always streamed.
#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use std::io::{BufRead, BufReader, Read};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

const GZIP: &[u8] = &[0x1f, 0x8b];
const ZSTD: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

/// Look at the first bytes without consuming them.
pub fn detect<R: BufRead>(r: &mut R) -> std::io::Result<Compression> {
    let head = r.fill_buf()?;
    Ok(if head.starts_with(GZIP) {
        Compression::Gzip
    } else if head.starts_with(ZSTD) {
        Compression::Zstd
    } else {
        Compression::None
    })
}

/// A reader of the uncompressed stream. `what` names the blob in errors.
pub fn decompress<'a, R: Read + 'a>(r: R, what: &str) -> Result<Box<dyn Read + 'a>> {
    let mut r = BufReader::with_capacity(64 * 1024, r);
    let kind = detect(&mut r).map_err(|e| Error::format(what, e))?;
    Ok(match kind {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(r)),
        Compression::Zstd => Box::new(
            ruzstd::decoding::StreamingDecoder::new(r)
                .map_err(|e| Error::format(what, format!("zstd: {e}")))?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn gzip_and_plain_round_trip() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"hello layer").unwrap();
        let gz = gz.finish().unwrap();
        let mut out = String::new();
        decompress(&gz[..], "t")
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "hello layer");
        let mut out = String::new();
        decompress(&b"plain"[..], "t")
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "plain");
    }

    #[test]
    fn zstd_frame_decodes() {
        // "zstd\n" as compressed by the C `zstd -19` (with checksum).
        let frame = [
            0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x68, 0x29, 0x00, 0x00, 0x7a, 0x73, 0x74, 0x64, 0x0a,
            0x04, 0xf1, 0x6e, 0x3c,
        ];
        let mut out = Vec::new();
        let r = decompress(&frame[..], "t").unwrap().read_to_end(&mut out);
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(out, b"zstd\n");
    }
}

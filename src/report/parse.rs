//! Pure parsers for the text the kernel hands out under /proc. No I/O here, so every
//! function is unit-tested against literal lines.

use serde::{Deserialize, Serialize};

/// One line of /proc/self/mountinfo (see proc(5)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    pub id: u64,
    pub parent: u64,
    /// Root of the mount within its filesystem (differs from "/" for bind mounts).
    pub root: String,
    pub target: String,
    pub fstype: String,
    pub source: String,
    /// Per-mount options (rw, nosuid, nodev, noexec, relatime ...).
    pub options: Vec<String>,
    /// Per-superblock options.
    pub super_options: Vec<String>,
    /// Optional fields such as "shared:5", "master:3", "unbindable".
    pub propagation: Vec<String>,
}

/// Undo the kernel's octal escaping of paths in mountinfo: `\040` is a space, `\011` a
/// tab, `\012` a newline and `\134` a backslash. Anything that is not a backslash
/// followed by three octal digits is kept as is.
pub fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() {
            let digits = &bytes[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let value = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if let Ok(byte) = u8::try_from(value) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn split_options(field: &str) -> Vec<String> {
    field
        .split(',')
        .filter(|s| !s.is_empty())
        .map(unescape)
        .collect()
}

/// Parse one mountinfo line:
/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`.
pub fn mountinfo_line(line: &str) -> Option<Mount> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let sep = fields.iter().position(|f| *f == "-")?;
    if sep < 6 || fields.len() < sep + 3 {
        return None;
    }
    Some(Mount {
        id: fields[0].parse().ok()?,
        parent: fields[1].parse().ok()?,
        root: unescape(fields[3]),
        target: unescape(fields[4]),
        options: split_options(fields[5]),
        propagation: fields[6..sep].iter().map(|f| f.to_string()).collect(),
        fstype: unescape(fields[sep + 1]),
        source: unescape(fields[sep + 2]),
        super_options: fields
            .get(sep + 3)
            .map(|f| split_options(f))
            .unwrap_or_default(),
    })
}

/// Every parseable line of a mountinfo file, in order.
pub fn mountinfo(text: &str) -> Vec<Mount> {
    text.lines().filter_map(mountinfo_line).collect()
}

/// The value of a `Key:\tvalue` line of /proc/self/status, trimmed.
pub fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k == key).then(|| v.trim())
    })
}

/// The four ids of a `Uid:` or `Gid:` line: real, effective, saved, filesystem.
pub fn id_quad(value: &str) -> Option<[u32; 4]> {
    let ids: Vec<u32> = value
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    ids.try_into().ok()
}

/// Parse an octal number such as the `Umask:` value "0022" (→ 18).
pub fn octal(value: &str) -> Option<u32> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    u32::from_str_radix(value, 8).ok()
}

/// Split a device number into (major, minor) the way glibc's gnu_dev_major/minor do.
pub fn dev_major_minor(dev: u64) -> (u64, u64) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major, minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mountinfo_with_propagation() {
        let m = mountinfo_line(
            "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:5 - ext3 /dev/root rw,errors=continue",
        )
        .unwrap();
        assert_eq!(m.id, 36);
        assert_eq!(m.parent, 35);
        assert_eq!(m.root, "/mnt1");
        assert_eq!(m.target, "/mnt2");
        assert_eq!(m.options, vec!["rw", "noatime"]);
        assert_eq!(m.propagation, vec!["master:1", "shared:5"]);
        assert_eq!(m.fstype, "ext3");
        assert_eq!(m.source, "/dev/root");
        assert_eq!(m.super_options, vec!["rw", "errors=continue"]);
    }

    #[test]
    fn parses_mountinfo_without_optional_fields_and_unescapes() {
        let m = mountinfo_line(
            "612 600 0:52 / /tmp/with\\040space\\134x rw,nosuid,nodev - tmpfs my\\011src rw,mode=755",
        )
        .unwrap();
        assert_eq!(m.target, "/tmp/with space\\x");
        assert_eq!(m.source, "my\tsrc");
        assert!(m.propagation.is_empty());
        assert_eq!(m.options, vec!["rw", "nosuid", "nodev"]);
        assert_eq!(m.super_options, vec!["rw", "mode=755"]);
    }

    #[test]
    fn rejects_malformed_mountinfo() {
        assert_eq!(mountinfo_line("36 35 98:0 /a /b rw"), None);
        assert_eq!(mountinfo_line(""), None);
        assert_eq!(mountinfo("x\n1 0 0:1 / / rw - rootfs rootfs rw\n").len(), 1);
    }

    #[test]
    fn unescape_keeps_incomplete_sequences() {
        assert_eq!(unescape("a\\04"), "a\\04");
        assert_eq!(unescape("a\\089"), "a\\089");
        assert_eq!(unescape("\\012end"), "\nend");
        assert_eq!(unescape("plain"), "plain");
    }

    #[test]
    fn reads_status_fields() {
        let status = "Name:\tprobe\nUmask:\t0022\nUid:\t0\t1000\t2000\t3000\nNoNewPrivs:\t1\n\
                      CapEff:\t000001ffffffffff\n";
        assert_eq!(status_field(status, "Umask"), Some("0022"));
        assert_eq!(status_field(status, "CapEff"), Some("000001ffffffffff"));
        assert_eq!(status_field(status, "NoNewPrivs"), Some("1"));
        assert_eq!(status_field(status, "Seccomp"), None);
        let uid = id_quad(status_field(status, "Uid").unwrap()).unwrap();
        assert_eq!(uid, [0, 1000, 2000, 3000]);
        assert_eq!(id_quad("1 2 3"), None);
        assert_eq!(id_quad("1 2 x 4"), None);
    }

    #[test]
    fn parses_octal_umask() {
        assert_eq!(octal("0022"), Some(18));
        assert_eq!(octal("0077"), Some(63));
        assert_eq!(octal("0000"), Some(0));
        assert_eq!(octal("0028"), None);
        assert_eq!(octal(""), None);
    }

    #[test]
    fn splits_device_numbers() {
        // /dev/null is 1:3, /dev/tty 5:0; a large minor spills into the high bits.
        assert_eq!(dev_major_minor(0x0103), (1, 3));
        assert_eq!(dev_major_minor(0x0500), (5, 0));
        assert_eq!(dev_major_minor(0x0000_0000_0010_0f01), (15, 257));
    }
}

//! Time as images and `nook images` need it: RFC 3339 in UTC, and docker's
//! "3 minutes ago". No time-zone database is involved.
#![forbid(unsafe_code)]

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

use crate::calendar::{civil, days_from_civil};

pub fn rfc3339(secs: u64) -> String {
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let (y, m, d) = civil(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let days = days_from_civil(num(0..4)?, num(5..7)? as u32, num(8..10)? as u32);
    let mut t = days * 86_400 + num(11..13)? * 3600 + num(14..16)? * 60 + num(17..19)?;
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    match b.get(i) {
        Some(b'Z' | b'z') => {}
        Some(&sign @ (b'+' | b'-')) => {
            let off = num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60;
            t -= if sign == b'+' { off } else { -off };
        }
        _ => return None,
    }
    Some(t)
}

/// docker's relative time: "Less than a second ago", "About a minute ago",
/// "5 minutes ago", "About an hour ago", "3 hours ago", "2 days ago", ...
pub fn ago(then: i64, now: i64) -> String {
    let s = (now - then).max(0);
    let unit = |n: i64, u: &str| format!("{n} {u}{} ago", if n == 1 { "" } else { "s" });
    match s {
        0 => "Less than a second ago".into(),
        1..=59 => unit(s, "second"),
        60..=119 => "About a minute ago".into(),
        120..=3599 => unit(s / 60, "minute"),
        3600..=7199 => "About an hour ago".into(),
        7200..=172_799 => unit(s / 3600, "hour"),
        172_800..=1_209_599 => unit(s / 86_400, "day"),
        1_209_600..=5_183_999 => unit(s / 604_800, "week"),
        5_184_000..=63_071_999 => unit(s / 2_592_000, "month"),
        _ => unit(s / 31_536_000, "year"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_600_000_000), "2020-09-13T12:26:40Z");
        assert_eq!(parse_rfc3339("2020-09-13T12:26:40Z"), Some(1_600_000_000));
        assert_eq!(
            parse_rfc3339("2020-09-13T14:26:40.123456789+02:00"),
            Some(1_600_000_000)
        );
        assert_eq!(parse_rfc3339("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn relative_like_docker() {
        assert_eq!(ago(100, 100), "Less than a second ago");
        assert_eq!(ago(0, 90), "About a minute ago");
        assert_eq!(ago(0, 300), "5 minutes ago");
        assert_eq!(ago(0, 3 * 86_400), "3 days ago");
        assert_eq!(ago(0, 400 * 86_400), "13 months ago");
        assert_eq!(ago(0, 800 * 86_400), "2 years ago");
    }
}

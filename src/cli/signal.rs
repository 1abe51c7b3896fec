//! Signal names and numbers as `kill` takes them: `KILL`, `SIGKILL`, `9`,
//! and the real-time ones (`SIGRTMIN+3`, `RTMAX-1`, `37`).

use std::str::FromStr;

pub fn parse(s: &str) -> Result<i32, String> {
    let bad = || format!("unknown signal {s:?}");
    let (rtmin, rtmax) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    if let Ok(n) = s.parse::<i32>() {
        return if (1..=rtmax).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        };
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    let rt = |rest: &str, base: i32, sign: i32| -> Result<i32, String> {
        let off = if rest.is_empty() {
            0
        } else {
            rest.parse::<i32>().map_err(|_| bad())?
        };
        let n = base + sign * off;
        if (rtmin..=rtmax).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        }
    };
    if let Some(rest) = name.strip_prefix("RTMIN") {
        return match rest.strip_prefix('+') {
            Some(off) => rt(off, rtmin, 1),
            None if rest.is_empty() => Ok(rtmin),
            None => Err(bad()),
        };
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        return match rest.strip_prefix('-') {
            Some(off) => rt(off, rtmax, -1),
            None if rest.is_empty() => Ok(rtmax),
            None => Err(bad()),
        };
    }
    nix::sys::signal::Signal::from_str(&format!("SIG{name}"))
        .map(|sig| sig as i32)
        .map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_realtime() {
        assert_eq!(parse("KILL"), Ok(9));
        assert_eq!(parse("sigterm"), Ok(15));
        assert_eq!(parse("9"), Ok(9));
        assert_eq!(parse("SIGRTMIN+3"), Ok(libc::SIGRTMIN() + 3));
        assert_eq!(parse("RTMAX-1"), Ok(libc::SIGRTMAX() - 1));
        assert_eq!(parse("37"), Ok(37));
        assert!(parse("BOGUS").is_err());
        assert!(parse("0").is_err());
        assert!(parse("SIGRTMAX+1").is_err());
    }
}

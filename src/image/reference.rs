//! Image names as users type them: `busybox`, `busybox:1.36`, `reg:5000/a/b:t`.
//! Stored normalised: `docker.io/library/` and `docker.io/` prefixes dropped
//! (as `docker images` shows them), `:latest` added when no tag is given.
#![forbid(unsafe_code)]

use crate::error::{Error, Result};

/// A normalised `name:tag`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    pub name: String,
    pub tag: String,
}

impl Reference {
    pub fn parse(s: &str) -> Result<Reference> {
        let bad = |msg: &str| Error::Usage(format!("invalid reference format: {s:?}: {msg}"));
        if s.contains('@') {
            return Err(bad("digests are not accepted here"));
        }
        let slash = s.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match s[slash..].rfind(':') {
            Some(i) => (&s[..slash + i], &s[slash + i + 1..]),
            None => (s, "latest"),
        };
        // Only a registry host (a first component with `.` or `:`, or `localhost`)
        // may carry `:port` or capitals.
        let name_ok = |n: &str| {
            let parts: Vec<&str> = n.split('/').collect();
            parts.iter().enumerate().all(|(i, c)| {
                let host =
                    i == 0 && parts.len() > 1 && (c.contains(['.', ':']) || *c == "localhost");
                let (c, port) = match c.split_once(':') {
                    Some((h, p)) if host => (h, p),
                    _ => (*c, "0"),
                };
                !c.is_empty()
                    && c.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                    && !port.is_empty()
                    && port.bytes().all(|b| b.is_ascii_digit())
                    && (host || !c.bytes().any(|b| b.is_ascii_uppercase()))
            })
        };
        let tag_ok = !tag.is_empty()
            && tag.len() <= 128
            && tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            && !tag.starts_with(['.', '-']);
        if !name_ok(name) {
            return Err(bad("bad repository name"));
        }
        if !tag_ok {
            return Err(bad("bad tag"));
        }
        let name = name
            .strip_prefix("docker.io/library/")
            .or_else(|| name.strip_prefix("docker.io/"))
            .unwrap_or(name);
        Ok(Reference {
            name: name.to_string(),
            tag: tag.to_string(),
        })
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.name, self.tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        Reference::parse(s).unwrap().to_string()
    }

    #[test]
    fn normalises_like_docker_shows() {
        assert_eq!(p("busybox"), "busybox:latest");
        assert_eq!(p("docker.io/library/busybox:1.36"), "busybox:1.36");
        assert_eq!(p("docker.io/me/app"), "me/app:latest");
        assert_eq!(p("localhost:5000/a/b:v1"), "localhost:5000/a/b:v1");
        assert_eq!(p("localhost:5000/a"), "localhost:5000/a:latest");
    }

    #[test]
    fn refuses_bad_names() {
        for s in [
            "",
            "a:",
            "a::b",
            "UPPER",
            "a b",
            "a@sha256:00",
            "a/../b:x/y",
            ":t",
            "a:-x",
            "Me/app",
        ] {
            assert!(Reference::parse(s).is_err(), "{s:?} accepted");
        }
    }
}

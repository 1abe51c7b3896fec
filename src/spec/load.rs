//! Reading config.json. Parse errors carry the JSON path of the offending field
//! (e.g. `process.args[0]`), because "invalid type at line 3" helps nobody.

use crate::error::{Error, Result};
use oci_spec::runtime::Spec;
use std::path::Path;

/// Load `<bundle>/config.json`.
pub fn load(bundle: &Path) -> Result<Spec> {
    let path = bundle.join("config.json");
    let text = std::fs::read(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::ConfigFile(format!("no such file in bundle {}", bundle.display()))
        } else {
            Error::io("read", &path, e)
        }
    })?;
    parse(&text)
}

/// Parse config.json text.
pub fn parse(text: &[u8]) -> Result<Spec> {
    let de = &mut serde_json::Deserializer::from_slice(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." {
            "(document)".to_string()
        } else {
            field
        };
        let inner = e.into_inner();
        // serde_json appends " at line L column C"; keep it, it helps find the spot.
        Error::config(field, inner.to_string())
    })
}

/// Parse a `linux.resources` object (for `update --resources`).
pub fn parse_resources(text: &[u8]) -> Result<oci_spec::runtime::LinuxResources> {
    let de = &mut serde_json::Deserializer::from_slice(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." {
            String::new()
        } else {
            format!(".{field}")
        };
        Error::Usage(format!("resources{field}: {}", e.into_inner()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_type_names_the_field() {
        let err = parse(
            br#"{"ociVersion":"1.0.2","process":{"args":"sh","cwd":"/","user":{"uid":0,"gid":0}}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("config.json: process.args: invalid type"),
            "{err}"
        );
    }

    #[test]
    fn unknown_namespace_names_the_field() {
        let err = parse(
            br#"{"ociVersion":"1.0.2","linux":{"namespaces":[{"type":"pid"},{"type":"bogus"}]}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("linux.namespaces[1].type"), "{err}");
        assert!(err.contains("bogus"), "{err}");
    }

    #[test]
    fn broken_json_says_where() {
        let err = parse(b"{\"ociVersion\": ").unwrap_err().to_string();
        assert!(err.starts_with("config.json:"), "{err}");
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn missing_file_names_the_bundle() {
        let dir = std::env::temp_dir().join(format!("nook-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = load(&dir).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(err.contains("config.json: no such file in bundle"), "{err}");
    }
}

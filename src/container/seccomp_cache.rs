//! Compiled seccomp programs kept between commands: `<root>/.seccomp-cache/<key>`,
//! the program's instructions as 8-byte little-endian records. The key is a
//! sha256 of the profile (`linux.seccomp` as JSON) and of the seccomp compiler's
//! source (build.rs), so a program is never reused by other compiler code. A miss,
//! a short or unreadable file, or a write that fails only costs a compile.

use crate::plan::seccomp::Insn;
use oci_spec::runtime::LinuxSeccomp;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

const DIR: &str = ".seccomp-cache";

/// The cache entry for `profile` under the state root `root`.
pub fn entry(root: &Path, profile: &LinuxSeccomp) -> Option<PathBuf> {
    let mut h = Sha256::new();
    h.update(b"nook seccomp program v1\0");
    h.update(env!("NOOK_SECCOMP_SOURCE").as_bytes());
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update(serde_json::to_vec(profile).ok()?);
    let key: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Some(root.join(DIR).join(key))
}

/// `Plan::build` with the seccomp program taken from the cache under the state
/// root `root` when this profile was compiled before, and stored there when not.
pub fn build_plan(
    root: &Path,
    id: &str,
    bundle: &Path,
    spec: &oci_spec::runtime::Spec,
    host: &crate::host::Host,
    mut opts: crate::plan::LaunchOptions,
) -> crate::error::Result<crate::plan::Plan> {
    let profile = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref());
    let path = profile.and_then(|p| entry(root, p));
    opts.seccomp_program = path.as_deref().and_then(load);
    let hit = opts.seccomp_program.is_some();
    let plan = crate::plan::Plan::build(id, bundle, spec, host, &opts)?;
    if let (false, Some(path), Some(sc)) = (hit, &path, &plan.seccomp) {
        store(path, &sc.program);
    }
    Ok(plan)
}

pub fn load(path: &Path) -> Option<Vec<Insn>> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.is_empty() || bytes.len() % 8 != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(8)
            .map(|c| Insn {
                code: u16::from_le_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect(),
    )
}

/// Write atomically (temporary name, then rename); errors are ignored.
pub fn store(path: &Path, program: &[Insn]) {
    let Some(dir) = path.parent() else { return };
    let _ = std::fs::create_dir(dir);
    let mut bytes = Vec::with_capacity(program.len() * 8);
    for i in program {
        bytes.extend_from_slice(&i.code.to_le_bytes());
        bytes.extend_from_slice(&[i.jt, i.jf]);
        bytes.extend_from_slice(&i.k.to_le_bytes());
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let written = std::fs::File::create(&tmp).and_then(|mut f| f.write_all(&bytes));
    if written.is_err() || std::fs::rename(&tmp, path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_round_trips_and_bad_files_are_misses() {
        let dir = std::env::temp_dir().join(format!("nook-sc-cache-{}", std::process::id()));
        let path = dir.join(DIR).join("k");
        std::fs::create_dir_all(&dir).unwrap();
        let prog = vec![
            Insn {
                code: 0x20,
                jt: 0,
                jf: 0,
                k: 4,
            },
            Insn {
                code: 0x15,
                jt: 1,
                jf: 2,
                k: 0xc000_003e,
            },
            Insn {
                code: 0x06,
                jt: 0,
                jf: 0,
                k: 0x7fff_0000,
            },
        ];
        assert!(load(&path).is_none());
        store(&path, &prog);
        let back = load(&path).unwrap();
        assert_eq!(
            back.iter()
                .map(|i| (i.code, i.jt, i.jf, i.k))
                .collect::<Vec<_>>(),
            prog.iter()
                .map(|i| (i.code, i.jt, i.jf, i.k))
                .collect::<Vec<_>>()
        );
        std::fs::write(&path, [1u8, 2, 3]).unwrap();
        assert!(load(&path).is_none(), "a short file is a miss");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_key_depends_on_the_profile() {
        let a: LinuxSeccomp =
            serde_json::from_str(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#).unwrap();
        let b: LinuxSeccomp =
            serde_json::from_str(r#"{"defaultAction":"SCMP_ACT_ERRNO"}"#).unwrap();
        let root = Path::new("/run/x");
        assert_ne!(entry(root, &a), entry(root, &b));
        assert_eq!(entry(root, &a), entry(root, &a));
    }
}

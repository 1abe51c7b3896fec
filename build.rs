//! Build-time facts: `NOOK_SECCOMP_SOURCE`, a hash of the seccomp compiler's
//! source (src/plan/seccomp/), which keys the cache of compiled programs
//! (src/container/seccomp_cache.rs): a program compiled by other compiler code
//! is never reused.

use std::hash::{Hash, Hasher};

fn main() {
    let dir = std::path::Path::new("src/plan/seccomp");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files = Vec::new();
    collect(dir, &mut files);
    files.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        f.hash(&mut h);
        std::fs::read(f).unwrap_or_default().hash(&mut h);
    }
    println!("cargo:rustc-env=NOOK_SECCOMP_SOURCE={:016x}", h.finish());
}

fn collect(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

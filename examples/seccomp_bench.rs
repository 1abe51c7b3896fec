//! `make bench`: how long compiling a seccomp profile takes (no containers, no
//! privileges). The profile is nook's default (every syscall of three ABIs but
//! ~60, plus argument rules: docker-sized). "cold" is the first compile in a
//! fresh process (syscall tables parsed), which is what every `create` pays;
//! "warm" is the median of later compiles in the same process.

use std::time::{Duration, Instant};

use nook::plan::seccomp::{default_profile, plan};
use oci_spec::runtime::LinuxSeccomp;

fn compile_once(profile: &LinuxSeccomp) -> (Duration, usize, usize) {
    let mut notes = Vec::new();
    let start = Instant::now();
    let p = plan(profile, &mut notes).expect("the default profile compiles");
    (start.elapsed(), p.rules.len(), p.program.len())
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let start = Instant::now();
    let json = default_profile(0);
    let build = start.elapsed();
    let profile: LinuxSeccomp = serde_json::from_value(json).expect("profile parses");
    let (cold, rules, insns) = compile_once(&profile);
    let mut warm: Vec<Duration> = (0..runs).map(|_| compile_once(&profile).0).collect();
    warm.sort();
    let median = warm[runs / 2];
    let p99 = warm[runs * 99 / 100];
    println!("seccomp compile: default profile, {rules} rules, {insns} BPF instructions");
    println!("  profile built (data file → JSON): {build:?}");
    println!("  cold compile (first in process):  {cold:?}");
    println!("  warm compile: median {median:?}, p99 {p99:?} over {runs} runs");
    // What a create pays on a cache hit (container/seccomp_cache.rs): the key
    // (sha256 of the profile) and reading the stored program.
    let root = std::env::temp_dir().join(format!("nook-seccomp-bench-{}", std::process::id()));
    let entry = nook::container::seccomp_cache::entry(&root, &profile).expect("a key");
    let program = nook::plan::seccomp::plan(&profile, &mut Vec::new())
        .expect("compiles")
        .program;
    std::fs::create_dir_all(&root).expect("temp dir");
    nook::container::seccomp_cache::store(&entry, &program);
    let mut hits: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let e = nook::container::seccomp_cache::entry(&root, &profile).expect("a key");
            let p = nook::container::seccomp_cache::load(&e).expect("a hit");
            assert_eq!(p.len(), program.len());
            start.elapsed()
        })
        .collect();
    hits.sort();
    println!(
        "  cached (key + read of the stored program): median {:?}, p99 {:?}",
        hits[runs / 2],
        hits[runs * 99 / 100]
    );
    let _ = std::fs::remove_dir_all(&root);
}

//! `make bench`: the cost of nook's default seccomp profile inside a container.
//! `/probe syscall-loop` makes one syscall many times and reports ns per call, in a
//! container without a profile and with the default one, under nook-runtime and
//! runc (same bundle, same profile). getppid sits early in the filter; write(-1)
//! late (the dispatch is linear, names sorted). Printed, never asserted.
//! Needs root, `make build fixtures`.

use runtime_tests::{Bundle, ConfigExt, Runtime};
use serde_json::Value;

const COUNT: &str = "2000000";

fn ns_per_call(rt: &Runtime, profile: Option<&Value>, call: &[&str]) -> f64 {
    let mut b = Bundle::new();
    if let Some(p) = profile {
        b.config.set("/linux/seccomp", p.clone());
    }
    let mut sub = vec!["syscall-loop", COUNT];
    sub.extend_from_slice(call);
    let report = rt.run_probe(&b, &sub);
    report["ns_per_call"].as_f64().expect("ns_per_call")
}

fn main() {
    let profile = nook::plan::seccomp::default_profile(0);
    let calls: [(&str, &[&str]); 2] = [
        ("getppid", &["110"]),
        ("write(-1)", &["1", "0xffffffffffffffff"]),
    ];
    println!("ns per syscall, {COUNT} calls, best of 3 containers");
    println!(
        "{:<12} {:<10} {:>12} {:>12}",
        "runtime", "call", "unconfined", "default"
    );
    for (name, rt) in [("nook", Runtime::under_test()), ("runc", Runtime::runc())] {
        for (label, call) in calls {
            let best = |p: Option<&Value>| {
                (0..3)
                    .map(|_| ns_per_call(&rt, p, call))
                    .fold(f64::INFINITY, f64::min)
            };
            let (free, filtered) = (best(None), best(Some(&profile)));
            println!("{name:<12} {label:<10} {free:>12.1} {filtered:>12.1}");
        }
    }
}

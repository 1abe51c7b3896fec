//! `nook`'s container log: `--log-opt max-size/max-file` rotation (docker's
//! json-file options), `logs` over every rotated file in order, `logs -f`
//! across rotations without a gap, `--log-driver none`, and bad options.

#[allow(dead_code)]
mod images_support;
#[allow(dead_code)]
#[macro_use]
mod front_support;

use front_support::{assert_error_125, eventually};
use std::io::Read;

/// Prints 1..=n, one number per line, after `pause` seconds.
fn counter(n: u32, pause: &str) -> String {
    format!("sleep {pause}; i=0; while [ $i -lt {n} ]; do i=$((i+1)); echo $i; done")
}

/// The numbers are consecutive and end at `last`; returns how many there are.
fn consecutive_up_to(out: &str, last: u32) -> usize {
    let nums: Vec<u32> = out.lines().map(|l| l.parse().expect(l)).collect();
    assert_eq!(nums.last(), Some(&last), "ends at {last}");
    for w in nums.windows(2) {
        assert_eq!(w[1], w[0] + 1, "no gap and no repeat: {w:?}");
    }
    nums.len()
}

fn exited(f: &front_support::Front, id: &str) -> bool {
    eventually(20, || f.status_of(id).starts_with("Exited (0)"))
}

#[test]
fn max_size_and_max_file_rotate_and_logs_reads_them_in_order() {
    let f = front_or_skip!();
    let opts = ["--log-opt", "max-size=1k", "--log-opt", "max-file=3"];
    let mut args = opts.to_vec();
    let script = counter(400, "0");
    args.extend(["busybox", "sh", "-c", &script]);
    let id = f.detached(&args);
    assert!(exited(&f, &id));
    let dir = f.dir(&id);
    let size = |name: &str| std::fs::metadata(dir.join(name)).map(|m| m.len());
    for name in ["container.log", "container.log.1", "container.log.2"] {
        let n = size(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(n > 0 && n <= 1024, "{name} is {n} bytes");
    }
    assert!(size("container.log.3").is_err(), "three files at most");
    let kept = consecutive_up_to(&f.ok(&["logs", &id]), 400);
    assert!(
        kept > 20 && kept < 400,
        "the oldest lines rotated away: {kept}"
    );
    // --tail counts across the files.
    assert_eq!(f.ok(&["logs", "--tail", "25", &id]).lines().count(), 25);
    let v: serde_json::Value = serde_json::from_str(&f.ok(&["inspect", &id])).unwrap();
    assert_eq!(
        v[0]["HostConfig"]["LogConfig"],
        serde_json::json!({"Type": "json-file", "Config": {"max-file": "3", "max-size": "1k"}})
    );
    f.ok(&["rm", &id]);
    f.assert_gone(&id, &script);
}

#[test]
fn max_size_alone_keeps_one_file_as_docker() {
    let f = front_or_skip!();
    let script = counter(200, "0");
    let id = f.detached(&["--log-opt", "max-size=2k", "busybox", "sh", "-c", &script]);
    assert!(exited(&f, &id));
    assert!(!f.dir(&id).join("container.log.1").exists());
    let kept = consecutive_up_to(&f.ok(&["logs", &id]), 200);
    assert!(kept < 200, "{kept}");
    f.ok(&["rm", &id]);
}

#[test]
fn logs_follow_reads_across_rotations_without_a_gap() {
    let f = front_or_skip!();
    // Many small files, enough that none is dropped while -f catches up:
    // what -f must not lose is the tail of a file renamed under it.
    let script = counter(600, "1");
    let id = f.detached(&[
        "--log-opt",
        "max-size=2k",
        "--log-opt",
        "max-file=100",
        "busybox",
        "sh",
        "-c",
        &script,
    ]);
    let mut follow = f.spawn(&["logs", "-f", &id]);
    let mut out = String::new();
    follow
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(follow.wait().unwrap().success());
    assert_eq!(consecutive_up_to(&out, 600), 600, "every line, once");
    assert!(
        f.dir(&id).join("container.log.10").exists(),
        "it did rotate"
    );
    f.ok(&["rm", &id]);
}

#[test]
fn log_driver_none_keeps_nothing_and_bad_options_leave_nothing() {
    let f = front_or_skip!();
    let id = f.detached(&["--log-driver", "none", "busybox", "echo", "hi"]);
    assert!(exited(&f, &id));
    assert!(!f.dir(&id).join("container.log").exists());
    let o = f.run(&["logs", &id]);
    assert_error_125(&o, "configured logging driver does not support reading");
    f.ok(&["rm", &id]);
    for (args, needle) in [
        (vec!["--log-opt", "max-size=lots"], "max-size=lots"),
        (vec!["--log-opt", "max-file=0"], "max-file=0"),
        (
            vec!["--log-opt", "compress=true"],
            "unknown log opt 'compress'",
        ),
        (vec!["--log-opt", "nokey"], "--log-opt \"nokey\""),
        (vec!["--log-driver", "syslog"], "--log-driver \"syslog\""),
        (
            vec!["--log-driver", "none", "--log-opt", "max-size=1k"],
            "none log driver",
        ),
    ] {
        let mut all = vec!["run", "-d"];
        all.extend(args);
        all.extend(["busybox", "true"]);
        assert_error_125(&f.run(&all), needle);
    }
    assert_eq!(f.ok(&["ps", "-aq"]), "", "no container was made");
}

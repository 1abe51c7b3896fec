//! More of docker's container commands: `pause`/`unpause` (frozen, status
//! and inspect), anonymous volumes removed by `--rm` and `rm -v`, `ps
//! --filter`/`--format`/`--last`/`-l`, restart policies kept by the monitor,
//! and bad input for each (one line, exit 125, nothing left). `attach` and
//! `exec -d -t` are in front_attach.rs.

#[allow(dead_code)]
mod images_support;
// Shared with tests/front_lifecycle.rs; this file uses only part of it.
#[allow(dead_code)]
#[macro_use]
mod front_support;

use front_support::{assert_error_125, eventually, TICK};
use std::time::Duration;

#[test]
fn pause_freezes_and_unpause_thaws() {
    let f = front_or_skip!();
    let id = f.detached(&["--name", "pz", "busybox", "sh", "-c", TICK]);
    assert!(eventually(5, || f.ok(&["logs", "pz"]).contains("tick")));
    assert_eq!(f.ok(&["pause", "pz"]).trim(), "pz");
    let status = f.status_of(&id);
    assert!(
        status.starts_with("Up ") && status.ends_with(" (Paused)"),
        "{status}"
    );
    let v: serde_json::Value = serde_json::from_str(&f.ok(&["inspect", "pz"])).unwrap();
    assert_eq!(v[0]["State"]["Paused"], true, "{v}");
    assert_eq!(v[0]["State"]["Status"], "paused", "{v}");
    // Frozen: no more output while paused.
    std::thread::sleep(Duration::from_millis(300));
    let before = f.ok(&["logs", "pz"]).lines().count();
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(f.ok(&["logs", "pz"]).lines().count(), before, "frozen");
    assert_error_125(&f.run(&["pause", "pz"]), "is already paused");
    assert_eq!(
        f.ok(&["ps", "-q", "--filter", "status=paused"]).trim(),
        &id[..12]
    );
    assert_eq!(f.ok(&["unpause", "pz"]).trim(), "pz");
    assert!(eventually(5, || f.ok(&["logs", "pz"]).lines().count() > before + 2));
    assert_error_125(&f.run(&["unpause", "pz"]), "is not paused");
    // stop works on a paused container (thawed after the signal).
    f.ok(&["pause", "pz"]);
    assert_eq!(f.ok(&["stop", "-t", "1", "pz"]).trim(), "pz");
    assert!(f.status_of(&id).starts_with("Exited ("));
    assert_error_125(&f.run(&["pause", "pz"]), "is not running");
    assert_error_125(&f.run(&["unpause", "pz"]), "is not running");
    assert_error_125(&f.run(&["pause", "nosuch"]), "No such container: nosuch");
    f.ok(&["rm", "pz"]);
    f.assert_gone(&id, "echo tick");
    // rm -f of a paused container.
    let id = f.detached(&["--name", "pz2", "busybox", "sleep", "1000020"]);
    f.ok(&["pause", "pz2"]);
    f.ok(&["rm", "-f", "pz2"]);
    f.assert_gone(&id, "sleep 1000020");
}

fn volumes(f: &front_support::Front) -> Vec<String> {
    f.ok(&["volume", "ls", "-q"])
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn anonymous_volumes_go_with_rm_flag_and_run_rm() {
    let f = front_or_skip!();
    let o = f.run(&[
        "run",
        "--rm",
        "-v",
        "/data",
        "-v",
        "keep:/k",
        "busybox",
        "sh",
        "-c",
        "echo x > /data/f",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        volumes(&f),
        ["keep"],
        "--rm removes the anonymous volume only"
    );
    f.ok(&["run", "--name", "v1", "-v", "/data", "busybox", "true"]);
    f.ok(&["run", "--name", "v2", "-v", "/data", "busybox", "true"]);
    assert_eq!(volumes(&f).len(), 3);
    f.ok(&["rm", "v2"]);
    assert_eq!(volumes(&f).len(), 3, "rm without -v keeps volumes");
    f.ok(&["rm", "-v", "v1"]);
    assert_eq!(volumes(&f).len(), 2, "rm -v removes v1's");
    f.ok(&["volume", "prune"]);
    assert_eq!(volumes(&f), ["keep"]);
}

#[test]
fn ps_filters_formats_and_last() {
    let f = front_or_skip!();
    let a = f.detached(&["--name", "alpha", "busybox", "sleep", "1000030"]);
    assert_eq!(
        f.run(&["run", "--name", "beta", "busybox", "sh", "-c", "exit 3"])
            .code,
        3
    );
    assert_eq!(
        f.run(&["run", "--name", "gamma", "busybox", "true"]).code,
        0
    );
    let names = |args: &[&str]| {
        let mut all = vec!["ps"];
        all.extend_from_slice(args);
        all.extend(["--format", "{{.Names}}"]);
        f.ok(&all).lines().map(str::to_string).collect::<Vec<_>>()
    };
    assert_eq!(names(&[]), ["alpha"]);
    assert_eq!(names(&["--filter", "status=exited"]), ["gamma", "beta"]);
    assert_eq!(names(&["-a", "--filter", "exited=3"]), ["beta"]);
    assert_eq!(names(&["-a", "-f", "name=mm"]), ["gamma"]);
    assert_eq!(
        names(&["-a", "-f", "name=^al", "-f", "name=^be"]),
        ["beta", "alpha"]
    );
    assert_eq!(
        names(&["-a", "-f", "status=exited", "-f", "name=a"]),
        ["gamma", "beta"]
    );
    assert_eq!(names(&["-a", "-f", &format!("id={}", &a[..6])]), ["alpha"]);
    assert_eq!(names(&["-a", "-f", "ancestor=busybox"]).len(), 3);
    assert_eq!(names(&["-a", "-f", "ancestor=busybox:latest"]).len(), 3);
    assert!(names(&["-a", "-f", "ancestor=alpine"]).is_empty());
    assert_eq!(names(&["-l"]), ["gamma"]);
    assert_eq!(names(&["-n", "2"]), ["gamma", "beta"]);
    assert_eq!(names(&["--last", "5"]).len(), 3);
    // Templates: fields between literal text; table with docker's headers.
    let line = f.ok(&[
        "ps",
        "--format",
        "{{.ID}}: {{.Image}} {{.Command}} {{.State}}",
    ]);
    assert_eq!(
        line.trim(),
        format!("{}: busybox \"sleep 1000030\" running", &a[..12])
    );
    let table = f.ok(&["ps", "-a", "--format", "table {{.Names}}\\t{{.Status}}"]);
    let rows: Vec<&str> = table.lines().collect();
    assert!(rows[0].starts_with("NAMES     STATUS"), "{table}");
    assert!(rows[3].starts_with("alpha     Up "), "{table}");
    assert!(rows[2].starts_with("beta      Exited (3) "), "{table}");
    let json = f.ok(&["ps", "--format", "{{json .}}"]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["Names"], "alpha");
    // Bad input: one line, 125, nothing made.
    for (args, needle) in [
        (
            vec!["ps", "--filter", "color=red"],
            "invalid filter 'color'",
        ),
        (
            vec!["ps", "--filter", "status=gone"],
            "invalid filter 'status=gone'",
        ),
        (
            vec!["ps", "--filter", "exited=x"],
            "invalid filter 'exited=x'",
        ),
        (vec!["ps", "--filter", "status"], "bad format of filter"),
        (
            vec!["ps", "--format", "{{.Nope}}"],
            "can't evaluate field Nope",
        ),
        (
            vec!["ps", "--format", "{{upper .Names}}"],
            "unsupported template action",
        ),
        (vec!["ps", "--format", "{{.ID"], "unclosed action"),
    ] {
        assert_error_125(&f.run(&args), needle);
    }
    assert_eq!(f.ok(&["ps", "-aq"]).lines().count(), 3);
    f.ok(&["rm", "-f", "alpha", "beta", "gamma"]);
    f.assert_gone(&a, "sleep 1000030");
}

fn restart_count(f: &front_support::Front, name: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(&f.ok(&["inspect", name])).unwrap();
    v[0]["RestartCount"].as_u64().unwrap()
}

#[test]
fn restart_policies_in_the_monitor() {
    let f = front_or_skip!();
    // on-failure:2: three runs (the first and two restarts), then Exited.
    let a = f.detached(&[
        "--name",
        "of",
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "echo run; exit 3",
    ]);
    assert!(eventually(10, || f.status_of(&a).starts_with("Exited (3)")));
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        f.status_of(&a).starts_with("Exited (3)"),
        "no more restarts"
    );
    assert_eq!(f.ok(&["logs", "of"]).matches("run").count(), 3);
    assert_eq!(restart_count(&f, "of"), 2);
    let v: serde_json::Value = serde_json::from_str(&f.ok(&["inspect", "of"])).unwrap();
    assert_eq!(v[0]["HostConfig"]["RestartPolicy"]["Name"], "on-failure");
    assert_eq!(v[0]["HostConfig"]["RestartPolicy"]["MaximumRetryCount"], 2);
    // on-failure does not restart a success.
    let b = f.detached(&["--name", "ok", "--restart", "on-failure", "busybox", "true"]);
    assert!(eventually(5, || f.status_of(&b).starts_with("Exited (0)")));
    assert_eq!(restart_count(&f, "ok"), 0);
    // always: a killed container comes back (the same monitor); while it
    // waits, ps says Restarting; `stop` ends it for good.
    let c = f.detached(&[
        "--name",
        "al",
        "--restart",
        "always",
        "busybox",
        "sh",
        "-c",
        "sleep 0.3; exit 1",
    ]);
    let mut seen_restarting = false;
    assert!(eventually(10, || {
        seen_restarting |= f.status_of(&c).starts_with("Restarting (1) ");
        restart_count(&f, "al") >= 3
    }));
    assert!(seen_restarting, "ps showed Restarting");
    assert!(f
        .ok(&["ps", "--filter", "status=restarting", "-q"])
        .lines()
        .all(|l| c.starts_with(l)));
    let t0 = std::time::Instant::now();
    assert_eq!(f.ok(&["stop", "-t", "1", "al"]).trim(), "al");
    assert!(t0.elapsed() < Duration::from_secs(8));
    assert!(
        f.status_of(&c).starts_with("Exited ("),
        "{}",
        f.status_of(&c)
    );
    let n = restart_count(&f, "al");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(restart_count(&f, "al"), n, "no restart after stop");
    assert!(f.status_of(&c).starts_with("Exited ("));
    // unless-stopped with rm -f while it runs.
    let d = f.detached(&[
        "--name",
        "us",
        "--restart",
        "unless-stopped",
        "busybox",
        "sleep",
        "1000040",
    ]);
    f.ok(&["kill", "us"]);
    assert!(eventually(5, || restart_count(&f, "us") == 1
        && f.status_of(&d).starts_with("Up ")));
    f.ok(&["rm", "-f", "us"]);
    f.assert_gone(&d, "sleep 1000040");
    // Bad input: one line, 125, nothing made.
    for (args, needle) in [
        (
            vec!["run", "--restart", "sometimes", "busybox", "true"],
            "invalid restart policy",
        ),
        (
            vec!["run", "--restart", "always:2", "busybox", "true"],
            "maximum retry count cannot be used",
        ),
        (
            vec!["run", "--restart", "on-failure:x", "busybox", "true"],
            "--restart \"on-failure:x\"",
        ),
        (
            vec!["run", "--rm", "--restart", "always", "busybox", "true"],
            "Conflicting options: --restart and --rm",
        ),
    ] {
        assert_error_125(&f.run(&args), needle);
    }
    assert_eq!(f.ok(&["ps", "-aq"]).lines().count(), 3);
    f.ok(&["rm", "of", "ok", "al"]);
    for id in [a, b, c] {
        f.assert_gone(&id, "nothing-to-match");
    }
}

//! `nook`'s container lifecycle through the per-container monitor: run -d,
//! ps, logs -f, stop (SIGTERM honoured, SIGKILL after -t), start, rm
//! (refusal, -f), prune, exec, wait, inspect, rename, top, create + start,
//! `--rm`, stdin and signals in the foreground, and (as a user) commands that
//! reach subordinate ids. A killed monitor or client, logs --tail, bad input
//! and sizes are in front_monitor.rs.

#[allow(dead_code)]
mod images_support;
// Shared with tests/front_monitor.rs and others; this file uses only part of it.
#[allow(dead_code)]
#[macro_use]
mod front_support;

use front_support::{assert_error_125, eventually};
use std::io::Read;
use std::time::{Duration, Instant};

const TRAP: &str =
    "trap 'echo got term; exit 7' TERM; echo hello; echo oops >&2; while true; do sleep 0.1; done";

#[test]
fn detached_run_ps_logs_stop_start_rm() {
    let f = front_or_skip!();
    let id = f.detached(&["--name", "web", "busybox", "sh", "-c", TRAP]);
    let ps = f.ok(&["ps"]);
    let lines: Vec<&str> = ps.lines().collect();
    assert!(lines[0].starts_with("CONTAINER ID   IMAGE"), "{ps}");
    assert!(lines[1].starts_with(&id[..12]), "{ps}");
    assert!(
        lines[1].contains("Up ") && lines[1].ends_with("web"),
        "{ps}"
    );
    assert_eq!(f.ok(&["ps", "-q"]).trim(), &id[..12]);
    // logs -f follows until the container stops; stderr stays stderr.
    assert!(eventually(5, || f.ok(&["logs", "web"]).contains("hello")));
    let mut follow = f.spawn(&["logs", "-f", "web"]);
    std::thread::sleep(Duration::from_millis(300));
    let t0 = Instant::now();
    assert_eq!(f.ok(&["stop", "web"]).trim(), "web");
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "SIGTERM was honoured"
    );
    let mut out = String::new();
    follow
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(follow.wait().unwrap().success());
    assert_eq!(out, "hello\ngot term\n");
    let logs = f.run(&["logs", "web"]);
    assert_eq!(logs.stderr, "oops\n");
    assert!(
        f.status_of(&id).starts_with("Exited (7) "),
        "{}",
        f.status_of(&id)
    );
    assert_eq!(f.ok(&["ps", "-q"]), "", "not running any more");
    // start again: the same container, same log appended.
    assert_eq!(f.ok(&["start", "web"]).trim(), "web");
    assert!(f.status_of(&id).starts_with("Up "));
    assert!(eventually(5, || f
        .ok(&["logs", "web"])
        .matches("hello")
        .count()
        == 2));
    let o = f.run(&["rm", "web"]);
    assert_error_125(&o, "cannot remove container \"/web\": container is running");
    assert_eq!(f.ok(&["rm", "-f", "web"]).trim(), "web");
    f.assert_gone(&id, "echo got term");
    assert_eq!(f.ok(&["ps", "-aq"]), "");
}

#[test]
fn stop_kills_after_the_timeout() {
    let f = front_or_skip!();
    let id = f.detached(&[
        "busybox",
        "sh",
        "-c",
        "trap '' TERM; while true; do sleep 0.1; done",
    ]);
    let t0 = Instant::now();
    f.ok(&["stop", "-t", "2", &id[..8]]);
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_secs(2),
        "SIGKILL came early: {took:?}"
    );
    assert!(took < Duration::from_secs(8), "stop took {took:?}");
    assert!(f.status_of(&id).starts_with("Exited (137) "));
    // --stop-signal and --stop-timeout are the container's defaults.
    let id2 = f.detached(&[
        "--stop-signal",
        "USR1",
        "--stop-timeout",
        "1",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 3' USR1; echo ready; while true; do sleep 0.1; done",
    ]);
    assert!(eventually(5, || f.ok(&["logs", &id2]) == "ready\n"));
    f.ok(&["stop", &id2]);
    assert!(
        f.status_of(&id2).starts_with("Exited (3) "),
        "{}",
        f.status_of(&id2)
    );
    let v: serde_json::Value = serde_json::from_str(&f.ok(&["inspect", &id2])).unwrap();
    assert_eq!(v[0]["Config"]["StopSignal"], "USR1");
    assert_eq!(v[0]["State"]["ExitCode"], 3);
}

#[test]
fn prune_removes_stopped_containers_only() {
    let f = front_or_skip!();
    let a = f.detached(&["busybox", "true"]);
    let b = f.detached(&["busybox", "sh", "-c", "exit 2"]);
    let live = f.detached(&["busybox", "sleep", "1000001"]);
    assert!(eventually(5, || f.status_of(&b).starts_with("Exited (2)")));
    assert!(eventually(5, || f.status_of(&a).starts_with("Exited (0)")));
    let out = f.ok(&["container", "prune", "-f"]);
    assert!(out.starts_with("Deleted Containers:\n"), "{out}");
    assert!(
        out.contains(&a) && out.contains(&b) && !out.contains(&live),
        "{out}"
    );
    assert!(
        out.trim_end().ends_with("Total reclaimed space: 0B")
            || out.contains("Total reclaimed space:")
    );
    f.assert_gone(&a, "no-marker-a");
    f.assert_gone(&b, "no-marker-b");
    assert_eq!(f.ok(&["container", "ls", "-q", "--no-trunc"]).trim(), live);
    f.ok(&["rm", "-f", &live]);
    f.assert_gone(&live, "sleep 1000001");
}

#[test]
fn exec_wait_inspect_rename_top() {
    let f = front_or_skip!();
    let id = f.detached(&["--name", "box", "-e", "A=1", "busybox", "sleep", "1000002"]);
    // Under `unshare -r` only uid 0 is mapped: -u 1000 is EINVAL there.
    let (user, want) = front_support::user_1000_or_root();
    let out = f.ok(&[
        "exec",
        "-e",
        "B=2",
        "-w",
        "/tmp",
        "-u",
        user,
        "box",
        "sh",
        "-c",
        "echo $A $B; pwd; id -u; id -g; hostname",
    ]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["1 2", "/tmp", want, want, &id[..12]]
    );
    if front_support::uid_1000_mapped() {
        assert_eq!(
            f.ok(&["exec", "-u", "nook", "box", "id", "-un"]).trim(),
            "nook"
        );
    }
    assert_eq!(f.run(&["exec", "box", "sh", "-c", "exit 4"]).code, 4);
    assert_eq!(f.run(&["exec", "box", "nosuchcmd"]).code, 127);
    let top = f.ok(&["top", "box"]);
    assert!(top.lines().next().unwrap().contains("PID"), "{top}");
    assert!(top.contains("sleep 1000002"), "{top}");
    let v: serde_json::Value = serde_json::from_str(&f.ok(&["inspect", "box"])).unwrap();
    let c = &v[0];
    assert_eq!(c["Id"], id);
    assert_eq!(c["Name"], "/box");
    assert_eq!(c["State"]["Status"], "running");
    assert_eq!(c["State"]["Running"], true);
    assert!(c["State"]["Pid"].as_i64().unwrap() > 0);
    assert_eq!(c["Config"]["Image"], "busybox");
    assert_eq!(c["Config"]["Cmd"], serde_json::json!(["sleep", "1000002"]));
    assert!(c["Config"]["Env"]
        .as_array()
        .unwrap()
        .contains(&"A=1".into()));
    f.ok(&["rename", "box", "box2"]);
    assert!(f.run(&["inspect", "box"]).code == 125);
    let mut waiter = f.spawn(&["wait", "box2"]);
    // TERM is ignored by a PID 1 without a handler (as under docker); KILL is not.
    f.ok(&["kill", "-s", "TERM", "box2"]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(f.status_of(&id).starts_with("Up "));
    f.ok(&["kill", "box2"]);
    let mut out = String::new();
    waiter
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out.trim(), "137");
    assert!(waiter.wait().unwrap().success());
    assert_error_125(&f.run(&["kill", "box2"]), "is not running");
    // the name is free again once the container is removed
    f.ok(&["rm", "box2"]);
    f.assert_gone(&id, "sleep 1000002");
    let again = f.detached(&["--name", "box2", "busybox", "true"]);
    f.ok(&["wait", "box2"]);
    f.ok(&["rm", &again]);
}

#[test]
fn foreground_flags_stdin_signals_and_rm() {
    let f = front_or_skip!();
    let (user, want) = front_support::user_1000_or_root();
    let out = f.ok(&[
        "run",
        "--rm",
        "-e",
        "FOO=bar",
        "--user",
        user,
        "-w",
        "/tmp",
        "--entrypoint",
        "/bin/sh",
        "busybox",
        "-c",
        "echo $FOO; pwd; id -u; id -g",
    ]);
    assert_eq!(out.lines().collect::<Vec<_>>(), ["bar", "/tmp", want, want]);
    // -i streams stdin (and its end) to the container.
    let mut child =
        f.n.command(&["run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"line one\nline two\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "line one\nline two\ndone\n"
    );
    // Without -i the container's stdin is empty.
    assert_eq!(
        f.ok(&["run", "--rm", "busybox", "sh", "-c", "cat; echo end"]),
        "end\n"
    );
    // sig-proxy: SIGINT to nook reaches the container.
    let mut child = f.spawn(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "trap 'echo int; exit 9' INT; echo ready; while true; do sleep 0.1; done",
    ]);
    let mut so = child.stdout.take().unwrap();
    let mut first = [0u8; 6];
    so.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"ready\n");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let mut rest = String::new();
    so.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "int\n");
    assert_eq!(child.wait().unwrap().code(), Some(9));
    assert!(
        eventually(3, || f.ok(&["ps", "-aq"]).is_empty()),
        "--rm removed it"
    );
}

#[test]
fn detached_rm_containers_remove_themselves() {
    let f = front_or_skip!();
    let id = f.detached(&["--rm", "busybox", "sh", "-c", "exit 5"]);
    assert!(eventually(5, || !f.dir(&id).exists()), "--rm removed it");
    f.assert_gone(&id, "no-marker");
    // rm -f of a running --rm container: the monitor and rm do not race.
    let id = f.detached(&["--rm", "--name", "eph", "busybox", "sleep", "1000007"]);
    assert_eq!(f.ok(&["rm", "-f", "eph"]).trim(), "eph");
    f.assert_gone(&id, "sleep 1000007");
    assert_eq!(f.ok(&["ps", "-aq"]), "");
}

#[test]
fn create_then_start_and_a_monitor_left_waiting() {
    let f = front_or_skip!();
    let id = f.ok(&["create", "--name", "later", "busybox", "sleep", "1000008"]);
    let id = id.trim();
    assert_eq!(f.status_of(id), "Created");
    assert_eq!(f.ok(&["start", "later"]).trim(), "later");
    assert!(f.status_of(id).starts_with("Up "));
    f.ok(&["rm", "-f", "later"]);
    f.assert_gone(id, "sleep 1000008");
    // A foreground `run` whose client died before it attached leaves a
    // monitor waiting for a start (made here with the monitor's own command).
    let id = f.ok(&["create", "busybox", "sleep", "1000009"]);
    let id = id.trim();
    let ready = f.ok(&["__monitor", id, "--attach"]);
    assert!(ready.contains("\"ok\":true"), "{ready}");
    assert_eq!(f.status_of(id), "Created");
    f.ok(&["start", id]);
    assert!(f.status_of(id).starts_with("Up "), "{}", f.status_of(id));
    f.ok(&["rm", "-f", id]);
    f.assert_gone(id, "sleep 1000009");
}

/// As a user, `nook` runs each container in a user namespace of its own
/// making; commands from outside it must still reach processes and files of
/// subordinate ids: `exec` joins that namespace, `rm -f` and `restart` stop the
/// container from outside before they re-run in a fresh one, `rm` deletes
/// files owned by subordinate ids; `--userns=keep-id` through the monitor.
#[test]
fn as_a_user_subordinate_ids_are_reached_from_outside() {
    if runtime_tests::mode() != runtime_tests::Mode::Rootless {
        runtime_tests::skip!(
            "only for a real user (rootless mode): as root no namespace stands between nook and the container"
        );
    }
    let f = front_or_skip!();
    let id = f.detached(&[
        "-u",
        "1000:1000",
        "busybox",
        "sh",
        "-c",
        "mkdir /tmp/d; touch /tmp/d/f; chmod 700 /tmp/d; exec sleep 1000011",
    ]);
    assert!(
        eventually(5, || f.run(&["exec", &id, "ls", "/tmp/d/f"]).code == 0),
        "exec from outside the container's user namespace"
    );
    assert_eq!(f.ok(&["exec", &id, "id", "-u"]).trim(), "1000");
    assert_eq!(f.ok(&["exec", "-u", "0", &id, "id", "-u"]).trim(), "0");
    f.ok(&["rm", "-f", &id]);
    f.assert_gone(&id, "sleep 1000011");

    let id = f.detached(&["-u", "1000", "busybox", "sleep", "1000012"]);
    assert_eq!(f.ok(&["restart", "-t", "1", &id]).trim(), id);
    assert!(f.status_of(&id).starts_with("Up "), "{}", f.status_of(&id));
    f.ok(&["rm", "-f", &id]);
    f.assert_gone(&id, "sleep 1000012");

    let id = f.detached(&["--userns=keep-id", "busybox", "sleep", "1000013"]);
    let me = nix::unistd::getuid().as_raw().to_string();
    assert_eq!(f.ok(&["exec", &id, "id", "-u"]).trim(), me);
    f.ok(&["stop", "-t", "1", &id]);
    assert!(
        f.status_of(&id).starts_with("Exited ("),
        "{}",
        f.status_of(&id)
    );
    f.ok(&["rm", &id]);
    f.assert_gone(&id, "sleep 1000013");
}

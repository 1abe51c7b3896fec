//! `nook`'s container commands, continued from front_lifecycle.rs: a killed
//! monitor or client (the container runs on; `rm -f` cleans up), the monitor's
//! footprint and its json-file log (`logs --tail -t`), bad input and two runs
//! racing for one name (one line, exit 125, nothing left), and sizes (`ps -s`,
//! `system df`, `info`, `version`).

#[allow(dead_code)]
mod images_support;
// Shared with tests/front_lifecycle.rs; this file uses only part of it.
#[allow(dead_code)]
#[macro_use]
mod front_support;

use front_support::{assert_error_125, eventually, processes_with};
use std::io::Read;
use std::time::Duration;

#[test]
fn killed_monitor_or_client_leaves_a_container_rm_f_cleans() {
    let f = front_or_skip!();
    // The monitor is killed: the container runs on, shown as Up.
    let id = f.detached(&["busybox", "sleep", "1000003"]);
    let mon = f.monitor_pid(&id);
    let exe = std::fs::read_link(format!("/proc/{mon}/exe")).unwrap();
    assert!(
        !exe.to_string_lossy().contains("memfd"),
        "monitor runs {exe:?}"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(mon),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(f.status_of(&id).starts_with("Up "), "{}", f.status_of(&id));
    assert_eq!(processes_with("sleep 1000003").len(), 1);
    f.ok(&["rm", "-f", &id]);
    f.assert_gone(&id, "sleep 1000003");
    // The monitor is killed and then init dies: Exited (255), cleaned by rm.
    let id = f.detached(&["busybox", "sleep", "1000004"]);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(f.monitor_pid(&id)),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    for p in processes_with("sleep 1000004") {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(p),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    assert!(
        eventually(5, || f.status_of(&id).starts_with("Exited (255) ")),
        "{}",
        f.status_of(&id)
    );
    f.ok(&["rm", &id]);
    f.assert_gone(&id, "sleep 1000004");
    // The foreground client is killed: the container runs on (docker's semantics).
    let mut client = f.spawn(&[
        "run",
        "--name",
        "fg",
        "busybox",
        "sh",
        "-c",
        "echo up; sleep 1000005",
    ]);
    let mut first = [0u8; 3];
    client
        .stdout
        .take()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    client.kill().unwrap();
    client.wait().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let v: serde_json::Value = serde_json::from_str(&f.ok(&["inspect", "fg"])).unwrap();
    let fid = v[0]["Id"].as_str().unwrap().to_string();
    assert!(
        f.status_of(&fid).starts_with("Up "),
        "{}",
        f.status_of(&fid)
    );
    assert_eq!(f.ok(&["logs", "fg"]), "up\n");
    f.ok(&["rm", "-f", "fg"]);
    f.assert_gone(&fid, "sleep 1000005");
}

#[test]
fn monitor_is_small() {
    let f = front_or_skip!();
    let id = f.detached(&["busybox", "sh", "-c", "while true; do echo spam; done"]);
    std::thread::sleep(Duration::from_millis(1500));
    let status = std::fs::read_to_string(format!("/proc/{}/status", f.monitor_pid(&id))).unwrap();
    let kb = |k: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap()
            .parse()
            .unwrap()
    };
    eprintln!(
        "monitor: VmRSS {} kB, RssAnon {} kB, RssFile {} kB, RssShmem {} kB",
        kb("VmRSS:"),
        kb("RssAnon:"),
        kb("RssFile:"),
        kb("RssShmem:")
    );
    assert!(kb("RssAnon:") < 4096, "anonymous memory: {status}");
    assert_eq!(kb("RssShmem:"), 0, "no memfd copy resident");
    let log = f.dir(&id).join("container.log");
    assert!(std::fs::metadata(&log).unwrap().len() > 0);
    f.ok(&["rm", "-f", &id]);
    f.assert_gone(&id, "echo spam");
}

#[test]
fn logs_tail_and_timestamps() {
    let f = front_or_skip!();
    let id = f.detached(&[
        "busybox",
        "sh",
        "-c",
        "for i in 1 2 3 4 5; do echo $i; done",
    ]);
    f.ok(&["wait", &id]);
    assert_eq!(f.ok(&["logs", "--tail", "2", &id]), "4\n5\n");
    let t = f.ok(&["logs", "-t", "-n", "1", &id]);
    let (ts, rest) = t.split_once(' ').unwrap();
    assert_eq!(rest, "5\n");
    assert!(
        ts.len() >= 20 && ts.ends_with('Z') && ts.contains('T'),
        "{ts}"
    );
    let line = std::fs::read_to_string(f.dir(&id).join("container.log")).unwrap();
    let v: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert_eq!(
        (v["log"].as_str(), v["stream"].as_str()),
        (Some("1\n"), Some("stdout"))
    );
    f.ok(&["rm", &id]);
}

#[test]
fn bad_input_is_one_line_125_and_leaves_nothing() {
    let f = front_or_skip!();
    let count = || {
        std::fs::read_dir(f.n.root.join("containers"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    assert_error_125(&f.run(&["run", "nosuchimage"]), "nosuchimage");
    assert_error_125(&f.run(&["run", "--bogus", "busybox"]), "--bogus");
    assert_eq!(count(), 0);
    let id = f.detached(&["--name", "taken", "busybox", "true"]);
    assert_error_125(
        &f.run(&["run", "--name", "taken", "busybox", "true"]),
        "Conflict. The container name \"/taken\" is already in use by container",
    );
    f.ok(&["wait", "taken"]);
    assert_error_125(&f.run(&["exec", "taken", "true"]), "is not running");
    assert_error_125(&f.run(&["rm", "nosuch"]), "No such container: nosuch");
    assert_error_125(&f.run(&["stop", "nosuch"]), "No such container: nosuch");
    // Two ids sharing a first digit make that digit ambiguous.
    let mut ids = vec![id.clone()];
    let prefix = loop {
        ids.push(f.detached(&["busybox", "true"]));
        let firsts: Vec<char> = ids.iter().map(|i| i.chars().next().unwrap()).collect();
        if let Some(c) = firsts
            .iter()
            .find(|c| firsts.iter().filter(|d| d == c).count() > 1)
        {
            break c.to_string();
        }
    };
    assert_error_125(
        &f.run(&["inspect", &prefix]),
        "Multiple IDs found with provided prefix",
    );
    assert_eq!(count(), ids.len(), "failed commands created nothing");
    // A command that is not there: 127, and no container is kept.
    let o = f.run(&["run", "busybox", "nosuchcommand"]);
    assert_eq!(o.code, 127, "{}", o.stderr);
    assert_eq!(count(), ids.len());
    for i in &ids {
        f.ok(&["wait", i]);
    }
    f.ok(&["container", "prune"]);
    assert_eq!(count(), 0);
}

#[test]
fn concurrent_runs_with_one_name_one_wins() {
    let f = front_or_skip!();
    let kids: Vec<_> = (0..2)
        .map(|_| {
            f.spawn(&[
                "run", "-d", "--name", "racer", "busybox", "sleep", "1000006",
            ])
        })
        .collect();
    let outs: Vec<_> = kids
        .into_iter()
        .map(|k| k.wait_with_output().unwrap())
        .collect();
    let codes: Vec<i32> = outs.iter().map(|o| o.status.code().unwrap()).collect();
    assert!(codes.contains(&0) && codes.contains(&125), "{codes:?}");
    let loser = outs.iter().find(|o| o.status.code() == Some(125)).unwrap();
    let err = String::from_utf8_lossy(&loser.stderr);
    assert!(
        err.contains("The container name \"/racer\" is already in use"),
        "{err}"
    );
    assert_eq!(f.ps_all().len(), 1);
    f.ok(&["rm", "-f", "racer"]);
    assert_eq!(processes_with("sleep 1000006"), Vec::<i32>::new());
}

#[test]
fn ps_sizes_system_df_info_version() {
    let f = front_or_skip!();
    let id = f.detached(&[
        "busybox",
        "sh",
        "-c",
        "head -c 100000 /dev/zero > /big; sleep 1000011",
    ]);
    assert!(eventually(5, || f
        .ok(&["exec", &id, "ls", "/big"])
        .contains("big")));
    let ps = f.ok(&["ps", "-s"]);
    assert!(ps.lines().next().unwrap().ends_with("SIZE"), "{ps}");
    assert!(ps.contains("100kB (virtual "), "{ps}");
    let df = f.ok(&["system", "df"]);
    let rows: Vec<Vec<&str>> = df.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]);
    assert_eq!(&rows[1][..3], ["Images", "1", "1"]);
    assert_eq!(&rows[2][..4], ["Containers", "1", "1", "100kB"]);
    let info = f.ok(&["info"]);
    assert!(info.contains(" Containers: 1\n  Running: 1\n"), "{info}");
    assert!(info.contains("Logging Driver: json-file"), "{info}");
    assert!(f.ok(&["version"]).starts_with("Client:\n Version: "));
    assert!(f.ok(&["--version"]).starts_with("nook "));
    f.ok(&["rm", "-f", &id]);
    f.assert_gone(&id, "sleep 1000011");
}

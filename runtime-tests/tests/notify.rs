//! sd_notify passthrough: with NOTIFY_SOCKET set, the container gets a socket
//! at /run/notify/notify.sock, and `run -d` / `start` return only once it has
//! said READY=1, which reaches the caller's socket with MAINPID. runc 1.1 is
//! the oracle (it only looks at datagrams that begin with READY=, so that is
//! what the container sends here).

use runtime_tests::{is_runc, Bundle, Runtime};
use serde_json::{json, Value};
use std::os::unix::net::UnixDatagram;

/// Received datagrams, split into lines, until none comes for a short while.
fn drain(sock: &UnixDatagram) -> Vec<String> {
    let mut lines = Vec::new();
    let mut buf = [0u8; 512];
    sock.set_read_timeout(Some(std::time::Duration::from_millis(300)))
        .unwrap();
    while let Ok(n) = sock.recv(&mut buf) {
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        lines.extend(text.lines().filter(|l| !l.is_empty()).map(str::to_string));
    }
    lines
}

/// `how`: "run -d" or "create+start". What the caller's socket and the container saw.
fn notified(rt: &Runtime, how: &str) -> Value {
    let b = Bundle::new();
    b.save_with(|c| {
        c["process"]["args"] = json!([
            "/bin/sh",
            "-c",
            "sleep 0.5; /probe notify READY=1; sleep 100"
        ]);
    });
    let host_path = rt.dir().join("notify-host.sock");
    let _ = std::fs::remove_file(&host_path);
    let host = UnixDatagram::bind(&host_path).unwrap();
    host.set_nonblocking(true).unwrap();
    let id = rt.new_short_id();
    let b_path = b.path().to_string_lossy().into_owned();
    let with_notify = |args: &[&str]| {
        let mut cmd = rt.command(args);
        cmd.env("NOTIFY_SOCKET", &host_path);
        rt.output_of(cmd)
    };
    match how {
        "run -d" => {
            with_notify(&["run", "--detach", "--bundle", &b_path, &id]).ok();
        }
        _ => {
            with_notify(&["create", "--bundle", &b_path, &id]).ok();
            with_notify(&["start", &id]).ok();
        }
    }
    // Already there when the command returned: it waited for READY=1.
    let mut first = [0u8; 512];
    let waited = host.recv(&mut first).is_ok();
    let mut lines: Vec<String> = String::from_utf8_lossy(&first)
        .trim_end_matches('\0')
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    lines.extend(drain(&host));
    let pid = rt.state_json(&id)["pid"].as_i64().unwrap();
    let env = rt.exec(&["exec", &id, "cat", "/proc/1/environ"]);
    env.ok();
    let mounts = rt.exec(&["exec", &id, "cat", "/proc/1/mountinfo"]);
    mounts.ok();
    let notify_mount = mounts
        .stdout
        .lines()
        .find(|l| l.split(' ').nth(4) == Some("/run/notify"))
        .map(|l| {
            l.split(' ')
                .nth(5)
                .unwrap_or("")
                .split(',')
                .next()
                .unwrap_or("")
                .to_string()
        });
    rt.exec(&["delete", "--force", &id]).ok();
    lines.sort();
    json!({
        "waited for READY": waited,
        "caller got": lines,
        "env": env.stdout.split('\0').filter(|e| e.starts_with("NOTIFY_SOCKET=")).collect::<Vec<_>>(),
        "/run/notify mount": notify_mount,
    })
    .to_string()
    .replace(&pid.to_string(), "<init pid>")
    .parse()
    .unwrap()
}

#[test]
fn notify_socket_passes_ready_through_like_runc() {
    for how in ["run -d", "create+start"] {
        let got = notified(&Runtime::under_test(), how);
        assert_eq!(
            got,
            json!({"waited for READY": true, "caller got": ["MAINPID=<init pid>", "READY=1"],
                   "env": ["NOTIFY_SOCKET=/run/notify/notify.sock"], "/run/notify mount": "ro"}),
            "{how}"
        );
        if !is_runc() {
            assert_eq!(got, notified(&Runtime::runc(), how), "{how}: runc differs");
        }
    }
}

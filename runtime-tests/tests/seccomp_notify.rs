//! seccomp NOTIFY (a test agent receives the listener fd and the state JSON on
//! `listenerPath` and answers a notification) and bad seccomp profiles.
//!
//! runc 1.1.5's wording for the bad profiles (one logrus line each, measured):
//! - unknown action:     `runc run failed: string SCMP_ACT_FOO is not a valid action for seccomp`
//! - unknown operator:   `runc run failed: string SCMP_CMP_BAD is not a valid operator for seccomp`
//! - no listenerPath:    `... unable to start container process: listenerPath is not set`
//! - agent unreachable:  `... failed to connect with seccomp agent specified in the seccomp
//!   profile: dial unix /nonexistent/a.sock: connect: no such file or directory`
//!
//! Neither names the JSON field; nook's messages do, and only they are asserted.

use std::time::Duration;

use runtime_tests::console::ConsoleSocket;
use runtime_tests::seccomp_notify::{recv, respond, Notif};
use runtime_tests::{assert_nothing_left, error_text, is_runc, Bundle, ConfigExt, Runtime};
use serde_json::{json, Value};

const GETPPID: i32 = 110;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// Run the probe making getppid(7) under a NOTIFY rule (with these filter
/// flags); the agent answers 42.
fn notify_under(rt: &Runtime, flags: Value) -> (Value, Notif, Value) {
    let mut b = Bundle::new();
    let sock = b.host_dir("agent").join("s");
    let agent = ConsoleSocket::bind(&sock);
    b.config.set(
        "/linux/seccomp",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock,
               "listenerMetadata": "nook-test-meta", "flags": flags,
               "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]}),
    );
    let serve = std::thread::spawn(move || -> Result<(Value, Notif), String> {
        let (fd, text) = agent.receive_master(Duration::from_secs(30))?;
        let state: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
        let n = recv(&fd, Duration::from_secs(30))?;
        respond(&fd, n.id, 42, 0)?;
        Ok((state, n))
    });
    let (out, answer) = rt.run_probe_output(&b, &["syscall", "110", "7"]);
    let (state, n) = serve.join().expect("agent thread").expect("agent");
    out.ok();
    let bundle = b.path().to_string_lossy().into_owned();
    assert_eq!(state["state"]["bundle"], json!(bundle), "{state}");
    (state, n, answer.expect("probe answer"))
}

#[test]
fn notify_reaches_the_agent_with_state_and_metadata() {
    for rt in [Runtime::under_test(), Runtime::runc()] {
        let (state, n, answer) = notify_under(&rt, json!([]));
        let who = rt.binary().display().to_string();
        assert_eq!(answer, json!({"ret": 42, "errno": null}), "{who}");
        assert_eq!(
            (n.nr, n.arch, n.args[0]),
            (GETPPID, AUDIT_ARCH_X86_64, 7),
            "{who}"
        );
        assert_eq!(state["fds"], json!(["seccompFd"]), "{who}: {state}");
        assert_eq!(state["metadata"], "nook-test-meta", "{who}: {state}");
        assert_eq!(state["state"]["status"], "creating", "{who}: {state}");
        assert!(state["pid"].as_u64().unwrap_or(0) > 1, "{who}: {state}");
        assert_eq!(state["pid"], state["state"]["pid"], "{who}: {state}");
        assert!(state["ociVersion"].is_string(), "{who}: {state}");
        assert!(state["state"]["id"].is_string(), "{who}: {state}");
    }
}

/// `create` fails with one line naming `needle`, and leaves nothing.
fn refused(profile: Value, needles: &[&str]) {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.config.set("/linux/seccomp", profile);
    b.save();
    let id = rt.new_id();
    let out = rt.create_saved(&b, &id, &[]);
    out.failed();
    let lines = out.stderr.lines().filter(|l| !l.trim().is_empty()).count();
    let msg = error_text(&out);
    if !is_runc() {
        assert_eq!(lines, 1, "one line:\n{out}");
        for n in needles {
            assert!(msg.contains(n), "error should mention {n:?}: {msg}");
        }
    }
    assert_nothing_left(&b, &rt, &id);
}

#[test]
fn unknown_action_is_refused() {
    refused(
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_FOO"}]}),
        &["linux.seccomp.syscalls[0].action", "SCMP_ACT_FOO"],
    );
}

#[test]
fn unknown_operator_is_refused() {
    refused(
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO",
                             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_BAD"}]}]}),
        &["linux.seccomp.syscalls[0].args[0].op", "SCMP_CMP_BAD"],
    );
}

#[test]
fn notify_without_listener_path_is_refused() {
    refused(
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]}),
        &["linux.seccomp.listenerPath"],
    );
}

#[test]
fn unreachable_listener_fails_create() {
    refused(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/nonexistent/agent.sock",
               "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]}),
        &["linux.seccomp.listenerPath", "/nonexistent/agent.sock"],
    );
}

/// WAIT_KILLABLE_RECV (Linux 5.19) is passed to seccomp(2) with the listener:
/// the notification still reaches the agent and its answer the caller.
/// (runc 1.1.5 does not know the flag; nook only.)
#[test]
fn wait_killable_recv_goes_with_the_listener() {
    let rt = Runtime::under_test();
    let (_, n, answer) = notify_under(&rt, json!(["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]));
    assert_eq!(answer, json!({"ret": 42, "errno": null}));
    assert_eq!(n.nr, GETPPID);
}

/// Without a NOTIFY rule the kernel refuses the flag: the container runs
/// without it, and `state` says so.
#[test]
fn wait_killable_recv_without_a_listener_is_reported_not_applied() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.config.set(
        "/linux/seccomp",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
               "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}),
    );
    b.save_probe_args(&["sleep", "300"]);
    let id = rt.new_id();
    rt.create_saved(&b, &id, &[]).ok();
    let state = rt.state_json(&id);
    let notes = state["notApplied"].to_string();
    assert!(
        notes.contains("WAIT_KILLABLE_RECV") && notes.contains("SCMP_ACT_NOTIFY"),
        "{state}"
    );
    rt.delete_force(&id).ok();
    assert_nothing_left(&b, &rt, &id);
}

//! Flags, listener and bad input.

use super::*;

#[test]
fn flags_and_listener() {
    let p = compiled(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
        "listenerPath": "/run/agent.sock", "listenerMetadata": "meta",
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]
    }));
    assert_eq!(
        p.flags,
        flags::TSYNC | flags::LOG | flags::SPEC_ALLOW | flags::NEW_LISTENER
    );
    assert!(p.notifies());
    assert_eq!(p.listener_metadata.as_deref(), Some("meta"));
}

fn error(v: Value) -> String {
    match try_plan(v) {
        Ok((p, _)) => panic!("accepted ({} instructions)", p.program.len()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_input_names_the_field() {
    let notify = json!([{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]);
    let cases = [
        (json!({"defaultAction": "SCMP_ACT_FOO"}), "config.json: linux.seccomp.defaultAction: unknown variant `SCMP_ACT_FOO`"),
        (json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}, {"names": ["read"], "action": "SCMP_ACT_FOO"}]}),
         "config.json: linux.seccomp.syscalls[1].action: unknown variant `SCMP_ACT_FOO`"),
        (json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_BAD"}]}]}),
         "config.json: linux.seccomp.syscalls[0].args[0].op: unknown variant `SCMP_CMP_BAD`"),
        (json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": notify}),
         "config.json: linux.seccomp.listenerPath: required when a syscall's action is SCMP_ACT_NOTIFY"),
        (json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/x"}),
         "config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"),
        (json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x", "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_NOTIFY"}]}),
         "config.json: linux.seccomp.syscalls[0].names[1]: SCMP_ACT_NOTIFY cannot be used for the write syscall"),
        (json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}),
         "config.json: linux.seccomp.syscalls[0].args[0].index: 6 is not an argument index (0-5)"),
        (json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]}),
         "config.json: linux.seccomp.syscalls[0].names: empty"),
        (json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}),
         "config.json: linux.seccomp.defaultErrnoRet: 70000 is not an errno (0-4095)"),
    ];
    for (v, want) in cases {
        let got = error(v);
        assert!(got.starts_with(want), "got {got:?}\nwant {want:?}");
        assert!(!got.contains('\n'), "{got}");
    }
}

#[test]
fn an_oversized_program_is_refused() {
    let syscalls: Vec<Value> = (0..1000)
        .map(|v| {
            json!({"names": ["getppid"], "action": "SCMP_ACT_ERRNO",
            "args": [{"index": 0, "value": v, "op": "SCMP_CMP_EQ"}]})
        })
        .collect();
    let err = error(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": syscalls}));
    assert!(
        err.starts_with("config.json: linux.seccomp: the filter needs"),
        "{err}"
    );
}

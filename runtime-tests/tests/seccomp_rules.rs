//! Precedence among overlapping seccomp rules for one syscall, compared with runc
//! (libseccomp builds a decision tree; the order in the profile does not matter).
//! Each case runs in both profile orders; getppid(ARGS) must fail with the errno of
//! the rule that wins, under nook-runtime and runc alike.

use runtime_tests::{Bundle, ConfigExt, Runtime};
use serde_json::{json, Value};

fn rule(errno: u32, conds: Value) -> Value {
    json!({"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno, "args": conds})
}

fn c(index: u8, op: &str, value: u64) -> Value {
    json!({"index": index, "value": value, "op": format!("SCMP_CMP_{op}")})
}

fn errno_under(rt: &Runtime, rules: &Value, args: &[&str]) -> Value {
    let mut b = Bundle::new();
    b.config.set(
        "/linux/seccomp",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules}),
    );
    let mut sub = vec!["syscall", "110"];
    sub.extend_from_slice(args);
    rt.run_probe(&b, &sub)["errno"].clone()
}

#[test]
fn overlapping_rules_resolve_as_under_runc() {
    let cases: [(Value, Value, &[&str], &str); 6] = [
        (
            rule(1, json!(null)),
            rule(13, json!([c(1, "EQ", 4)])),
            &["0", "4"],
            "EPERM",
        ),
        (
            rule(13, json!([c(0, "EQ", 1), c(1, "EQ", 2)])),
            rule(22, json!([c(1, "EQ", 2)])),
            &["1", "2"],
            "EINVAL",
        ),
        (
            rule(13, json!([c(1, "EQ", 4)])),
            rule(22, json!([c(2, "EQ", 5)])),
            &["0", "4", "5"],
            "EINVAL",
        ),
        (
            rule(13, json!([c(1, "GE", 4)])),
            rule(22, json!([c(1, "LE", 6)])),
            &["0", "4"],
            "EINVAL",
        ),
        (
            rule(13, json!([c(1, "GT", 4)])),
            rule(22, json!([c(1, "GE", 2)])),
            &["0", "5"],
            "EACCES",
        ),
        (
            rule(13, json!([c(1, "EQ", 4)])),
            rule(22, json!([c(1, "NE", 5)])),
            &["0", "4"],
            "EINVAL",
        ),
    ];
    let (ours, runc) = (Runtime::under_test(), Runtime::runc());
    for (a, b, args, want) in cases {
        for rules in [json!([a, b]), json!([b, a])] {
            let got = errno_under(&ours, &rules, args);
            assert_eq!(got, errno_under(&runc, &rules, args), "vs runc: {rules}");
            assert_eq!(got, want, "{rules} with {args:?}");
        }
    }
}

//! Precedence among one syscall's rules.

use super::*;

#[test]
fn precedence_among_overlapping_rules_is_libseccomp_s() {
    // Measured with runc 1.1.5 + libseccomp 2.5.4, in both profile orders.
    let rule = |errno: u32, conds: Value| json!({"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno, "args": conds});
    let c =
        |i: u8, op: &str, v: u64| json!({"index": i, "value": v, "op": format!("SCMP_CMP_{op}")});
    let cases = [
        // An unconditional rule wins over conditional ones.
        (
            rule(1, json!(null)),
            rule(13, json!([c(1, "EQ", 4)])),
            [0, 4, 0],
            1,
        ),
        // A rule whose conditions are a subset of another's wins.
        (
            rule(13, json!([c(0, "EQ", 1), c(1, "EQ", 2)])),
            rule(22, json!([c(1, "EQ", 2)])),
            [1, 2, 0],
            22,
        ),
        // The higher argument is compared first.
        (
            rule(13, json!([c(1, "EQ", 4)])),
            rule(22, json!([c(2, "EQ", 5)])),
            [0, 4, 5],
            22,
        ),
        // Same argument: GT/LE before GE/LT before EQ/NE, then the higher value.
        (
            rule(13, json!([c(1, "GE", 4)])),
            rule(22, json!([c(1, "LE", 6)])),
            [0, 4, 0],
            22,
        ),
        (
            rule(13, json!([c(1, "GT", 4)])),
            rule(22, json!([c(1, "GE", 2)])),
            [0, 5, 0],
            13,
        ),
        (
            rule(13, json!([c(1, "EQ", 4)])),
            rule(22, json!([c(1, "NE", 5)])),
            [0, 4, 0],
            22,
        ),
    ];
    for (a, b, args, want) in cases {
        for order in [json!([a, b]), json!([b, a])] {
            let p = compiled(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": order}));
            let got = call(
                &p,
                Abi::X86_64,
                "getppid",
                [args[0], args[1], args[2], 0, 0, 0],
            );
            assert_eq!(got, 0x0005_0000 | want, "{order}");
        }
    }
}

#[test]
fn a_rule_equal_to_the_default_is_dropped() {
    let p = compiled(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["getppid"], "action": "SCMP_ACT_TRAP",
             "args": [{"index": 1, "value": 5, "op": "SCMP_CMP_EQ"}]}
        ]
    }));
    assert_eq!(
        call(&p, Abi::X86_64, "getppid", [0, 5, 0, 0, 0, 0]),
        0x0003_0000
    );
    assert_eq!(call(&p, Abi::X86_64, "getppid", [0; 6]), ALLOW);
}

//! The generated program is *run* (interp.rs) on seccomp_data cases.

use super::interp::{run, Data};
use super::*;
use crate::error::Result;
use oci_spec::runtime::LinuxSeccomp;
use serde_json::{json, Value};

mod default;
mod input;
mod rules;

const AARCH64: u32 = 0xc000_00b7;
const EPERM: u32 = 0x0005_0001;
const ENOSYS: u32 = 0x0005_0026;
const ALLOW: u32 = 0x7fff_0000;
const KILL: u32 = 0;

fn try_plan(v: Value) -> Result<(SeccompPlan, Vec<String>)> {
    let spec = json!({"ociVersion": "1.0.2", "linux": {"seccomp": v}});
    let spec = crate::spec::parse(spec.to_string().as_bytes())?;
    let s: &LinuxSeccomp = spec.linux().as_ref().unwrap().seccomp().as_ref().unwrap();
    let mut notes = Vec::new();
    plan(s, &mut notes).map(|p| (p, notes))
}

fn compiled(v: Value) -> SeccompPlan {
    try_plan(v).unwrap().0
}

fn call(p: &SeccompPlan, abi: Abi, name: &str, args: [u64; 6]) -> u32 {
    let nr = lookup(abi, name).unwrap_or_else(|| panic!("{name}"));
    run(
        &p.program,
        &Data {
            nr,
            arch: abi.audit_arch(),
            args,
        },
    )
}

fn nr(p: &SeccompPlan, arch: u32, nr: u32) -> u32 {
    run(
        &p.program,
        &Data {
            nr,
            arch,
            args: [0; 6],
        },
    )
}

fn allow_list(default: &str, arches: Value) -> SeccompPlan {
    compiled(json!({
        "defaultAction": default,
        "architectures": arches,
        "syscalls": [{"names": ["read", "write", "getppid", "clone3"], "action": "SCMP_ACT_ALLOW"}]
    }))
}

#[test]
fn allow_list_with_errno_default() {
    let p = allow_list("SCMP_ACT_ERRNO", json!(["SCMP_ARCH_X86_64"]));
    assert_eq!(call(&p, Abi::X86_64, "getppid", [0; 6]), ALLOW);
    assert_eq!(call(&p, Abi::X86_64, "read", [0; 6]), ALLOW);
    assert_eq!(call(&p, Abi::X86_64, "getpid", [0; 6]), EPERM);
    // Above clone3 (435), the highest named: newer than the profile → ENOSYS.
    assert_eq!(call(&p, Abi::X86_64, "futex_waitv", [0; 6]), ENOSYS);
    assert_eq!(nr(&p, AUDIT_ARCH_X86_64, 1000), ENOSYS);
    assert_eq!(nr(&p, AUDIT_ARCH_X86_64, 435), ALLOW);
}

#[test]
fn no_enosys_stub_without_listed_architectures_or_with_a_permissive_default() {
    // runc builds the stub only for architectures the profile lists.
    let p = allow_list("SCMP_ACT_ERRNO", json!(null));
    assert_eq!(p.abis, vec![Abi::X86_64]);
    assert_eq!(nr(&p, AUDIT_ARCH_X86_64, 1000), EPERM);
    let p = allow_list("SCMP_ACT_LOG", json!(["SCMP_ARCH_X86_64"]));
    assert_eq!(nr(&p, AUDIT_ARCH_X86_64, 1000), 0x7ffc_0000);
    // A blocking default other than ERRNO still gets the stub.
    let p = allow_list("SCMP_ACT_KILL_PROCESS", json!(["SCMP_ARCH_X86_64"]));
    assert_eq!(nr(&p, AUDIT_ARCH_X86_64, 1000), ENOSYS);
    assert_eq!(call(&p, Abi::X86_64, "getpid", [0; 6]), 0x8000_0000);
}

#[test]
fn every_action_returns_its_kernel_value() {
    let cases = [
        ("SCMP_ACT_ERRNO", json!(13), 0x0005_000d),
        ("SCMP_ACT_ERRNO", json!(null), EPERM),
        ("SCMP_ACT_KILL", json!(null), KILL),
        ("SCMP_ACT_KILL_THREAD", json!(null), KILL),
        ("SCMP_ACT_KILL_PROCESS", json!(null), 0x8000_0000),
        ("SCMP_ACT_TRAP", json!(null), 0x0003_0000),
        ("SCMP_ACT_TRACE", json!(7), 0x7ff0_0007),
        ("SCMP_ACT_LOG", json!(null), 0x7ffc_0000),
        ("SCMP_ACT_NOTIFY", json!(null), 0x7fc0_0000),
    ];
    for (action, errno, want) in cases {
        let p = compiled(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": "/run/agent.sock",
            "syscalls": [{"names": ["getppid"], "action": action, "errnoRet": errno}]
        }));
        assert_eq!(call(&p, Abi::X86_64, "getppid", [0; 6]), want, "{action}");
        assert_eq!(call(&p, Abi::X86_64, "getpid", [0; 6]), ALLOW, "{action}");
    }
    let p = compiled(json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38}));
    assert_eq!(call(&p, Abi::X86_64, "getpid", [0; 6]), ENOSYS);
}

#[test]
fn foreign_architectures_are_killed_unless_listed() {
    let p = allow_list("SCMP_ACT_ERRNO", json!(["SCMP_ARCH_X86_64"]));
    assert_eq!(nr(&p, AARCH64, 39), KILL);
    assert_eq!(nr(&p, AUDIT_ARCH_I386, 64), KILL);
    // An x32 call on an x86_64 filter without x32: libseccomp's bad-arch action.
    assert_eq!(call(&p, Abi::X32, "getppid", [0; 6]), KILL);
    let all = json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    let p = allow_list("SCMP_ACT_ERRNO", all);
    for abi in [Abi::X86_64, Abi::X86, Abi::X32] {
        assert_eq!(call(&p, abi, "getppid", [0; 6]), ALLOW, "{abi:?}");
        assert_eq!(call(&p, abi, "getpid", [0; 6]), EPERM, "{abi:?}");
    }
    assert_eq!(nr(&p, AUDIT_ARCH_I386, 64), ALLOW);
    assert_eq!(nr(&p, AUDIT_ARCH_I386, 1000), ENOSYS);
    assert_eq!(nr(&p, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT + 1000), ENOSYS);
    assert_eq!(nr(&p, AARCH64, 39), KILL);
    // x32 alone: plain x86_64 numbers are the foreign ones.
    let p = allow_list("SCMP_ACT_ERRNO", json!(["SCMP_ARCH_X32"]));
    assert_eq!(call(&p, Abi::X32, "getppid", [0; 6]), ALLOW);
    assert_eq!(call(&p, Abi::X86_64, "getppid", [0; 6]), KILL);
}

const INTERESTING: [u64; 12] = [
    0,
    1,
    2,
    0x7fff_ffff,
    0xffff_fffe,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0001,
    0x1_ffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX - 1,
    u64::MAX,
];

fn reference(op: &str, arg: u64, value: u64, two: u64) -> bool {
    match op {
        "SCMP_CMP_NE" => arg != value,
        "SCMP_CMP_LT" => arg < value,
        "SCMP_CMP_LE" => arg <= value,
        "SCMP_CMP_EQ" => arg == value,
        "SCMP_CMP_GE" => arg >= value,
        "SCMP_CMP_GT" => arg > value,
        "SCMP_CMP_MASKED_EQ" => arg & value == two,
        _ => unreachable!(),
    }
}

#[test]
fn all_seven_operators_compare_64_bit_values() {
    let ops = ["NE", "LT", "LE", "EQ", "GE", "GT", "MASKED_EQ"];
    for op in ops.map(|o| format!("SCMP_CMP_{o}")) {
        for value in INTERESTING {
            let two = value & 0xffff_0000_ffff_0001;
            let p = compiled(json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
                    "args": [{"index": 3, "value": value, "valueTwo": two, "op": op}]}]
            }));
            for arg in INTERESTING
                .iter()
                .chain(&[value.wrapping_add(1), value.wrapping_sub(1)])
            {
                let mut args = [0; 6];
                args[3] = *arg;
                let got = call(&p, Abi::X86_64, "getppid", args) == 0x0005_0005;
                let want = reference(&op, *arg, value, two);
                assert_eq!(got, want, "{op} arg={arg:#x} value={value:#x} two={two:#x}");
            }
        }
    }
}

#[test]
fn i386_compares_the_low_half_only() {
    let p = compiled(json!({
        "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"],
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO",
            "args": [{"index": 0, "value": 10, "op": "SCMP_CMP_GT"}]}]
    }));
    assert_eq!(call(&p, Abi::X86, "getppid", [11, 0, 0, 0, 0, 0]), EPERM);
    assert_eq!(call(&p, Abi::X86, "getppid", [10, 0, 0, 0, 0, 0]), ALLOW);
}

#[test]
fn several_args_must_all_hold_but_repeated_indexes_are_alternatives() {
    let p = compiled(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "args": [
                {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                {"index": 5, "value": 0x1_0000_0000u64, "op": "SCMP_CMP_GE"}]},
            {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "args": [
                {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                {"index": 0, "value": 7, "op": "SCMP_CMP_EQ"}]}
        ]
    }));
    let ppid = |a0, a5| call(&p, Abi::X86_64, "getppid", [a0, 0, 0, 0, 0, a5]);
    assert_eq!(ppid(1, 0x1_0000_0000), EPERM);
    assert_eq!(ppid(1, 0xffff_ffff), ALLOW);
    assert_eq!(ppid(2, 0x1_0000_0000), ALLOW);
    let pid = |a0| call(&p, Abi::X86_64, "getpid", [a0, 0, 0, 0, 0, 0]);
    assert_eq!((pid(1), pid(7), pid(3)), (EPERM, EPERM, ALLOW));
    assert_eq!(p.rules.len(), 3);
}

#[test]
fn unknown_names_are_skipped_with_a_note() {
    let (p, notes) = try_plan(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["getppid", "no_such_call"], "action": "SCMP_ACT_ALLOW"}]
    }))
    .unwrap();
    assert_eq!(p.rules.len(), 1);
    assert_eq!(
        notes,
        ["linux.seccomp.syscalls[0].names[1]: unknown syscall \"no_such_call\" skipped"]
    );
}

#[test]
fn long_blocks_and_sections_use_long_jumps() {
    // 40 conditional rules on one syscall (> 255 instructions) and the whole table.
    let mut syscalls: Vec<Value> = (0..40)
        .map(|v| {
            json!({"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": v + 1,
            "args": [{"index": 2, "value": v, "op": "SCMP_CMP_EQ"},
                     {"index": 4, "value": v, "op": "SCMP_CMP_LE"}]})
        })
        .collect();
    let all: Vec<&str> = names(Abi::X86_64).filter(|n| *n != "getppid").collect();
    syscalls.push(json!({"names": all, "action": "SCMP_ACT_ALLOW"}));
    let p = compiled(json!({
        "defaultAction": "SCMP_ACT_KILL_PROCESS", "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": syscalls}));
    assert!(p.program.len() > 1000, "{}", p.program.len());
    for v in 0..40u64 {
        let got = call(&p, Abi::X86_64, "getppid", [0, 0, v, 0, v, 0]);
        assert_eq!(got, 0x0005_0000 + v as u32 + 1);
    }
    assert_eq!(
        call(&p, Abi::X86_64, "getppid", [0, 0, 3, 0, 4, 0]),
        0x8000_0000
    );
    for name in names(Abi::X86_64).filter(|n| *n != "getppid") {
        assert_eq!(call(&p, Abi::X86_64, name, [0; 6]), ALLOW, "{name}");
    }
    assert_eq!(nr(&p, AARCH64, 0), KILL);
}

#[test]
fn wait_killable_recv_goes_only_with_a_listener() {
    let with = compiled(json!({
        "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",
        "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_LOG"],
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]
    }));
    assert_eq!(
        with.flags,
        flags::WAIT_KILLABLE_RECV | flags::NEW_LISTENER | flags::LOG
    );
    let (without, notes) = try_plan(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]
    }))
    .unwrap();
    assert_eq!(without.flags, 0);
    assert!(
        notes.iter().any(|n| n.contains("WAIT_KILLABLE_RECV")),
        "{notes:?}"
    );
}

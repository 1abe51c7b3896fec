//! The device program run in a small eBPF interpreter (only what a cgroup device
//! program may do: ALU64/JMP/JMP32 on registers, 32-bit loads from the context).

use super::*;
use crate::plan::cgroup::devices::device_rules;
use oci_spec::runtime::LinuxDeviceCgroup;

/// Run `prog` on the context (type, access, major, minor); returns r0.
fn run(prog: &[Insn], kind: i32, access: i32, major: u32, minor: u32) -> u64 {
    let ctx = [((access << 16) | kind) as u32, major, minor];
    let mut r = [0u64; 11];
    const CTX: u64 = 0x1000; // r1 as a pointer the loads resolve against ctx
    r[1] = CTX;
    let mut pc = 0usize;
    for _ in 0..100_000 {
        let n = prog[pc];
        pc += 1;
        let (d, s) = (n.dst as usize, n.src as usize);
        let imm64 = n.imm as i64 as u64;
        let jump = |cond: bool, pc: &mut usize| {
            if cond {
                *pc = (*pc as i64 + n.off as i64) as usize;
            }
        };
        match n.code {
            LDX_MEM_W => {
                assert_eq!(r[s], CTX, "loads only from the context");
                assert!(n.off >= 0 && n.off % 4 == 0 && n.off < 12, "off {}", n.off);
                r[d] = ctx[n.off as usize / 4] as u64;
            }
            ALU64_MOV_K => r[d] = imm64,
            ALU64_MOV_X => r[d] = r[s],
            ALU64_AND_K => r[d] &= imm64,
            ALU64_RSH_K => r[d] >>= n.imm,
            JMP32_JNE_K => jump(r[d] as u32 != n.imm as u32, &mut pc),
            JMP_JEQ_K => jump(r[d] == imm64, &mut pc),
            JMP_JNE_K => jump(r[d] != imm64, &mut pc),
            JMP_EXIT => return r[0],
            c => panic!("opcode {c:#x} at {}", pc - 1),
        }
        assert!(pc < prog.len(), "ran off the end");
    }
    panic!("no exit");
}

fn config(rules: serde_json::Value) -> Vec<LinuxDeviceCgroup> {
    serde_json::from_value(rules).unwrap()
}

fn program(rules: serde_json::Value) -> Vec<Insn> {
    device_program(&device_rules(&config(rules), &[]))
}

fn default_program() -> Vec<Insn> {
    program(serde_json::json!([{"allow": false, "access": "rwm"}]))
}

const RW: i32 = ACC_READ | ACC_WRITE;

#[test]
fn standard_nodes_are_allowed() {
    let p = default_program();
    for (major, minor) in [
        (1, 3),
        (1, 5),
        (1, 7),
        (1, 8),
        (1, 9),
        (5, 0),
        (5, 2),
        (10, 200),
    ] {
        assert_eq!(run(&p, DEV_CHAR, RW, major, minor), 1, "{major}:{minor}");
        assert_eq!(run(&p, DEV_CHAR, ACC_MKNOD, major, minor), 1);
    }
    assert_eq!(run(&p, DEV_CHAR, ACC_READ, 136, 7), 1, "ptys");
    assert_eq!(
        run(&p, DEV_BLOCK, ACC_READ, 1, 3),
        0,
        "block 1:3 is not /dev/null"
    );
}

#[test]
fn everything_else_is_denied_but_mknod() {
    let p = default_program();
    assert_eq!(run(&p, DEV_BLOCK, ACC_READ, 8, 0), 0);
    assert_eq!(run(&p, DEV_BLOCK, ACC_WRITE, 8, 0), 0);
    assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 1), 0, "/dev/mem");
    assert_eq!(run(&p, DEV_CHAR, ACC_MKNOD, 1, 1), 1);
    assert_eq!(run(&p, DEV_BLOCK, ACC_MKNOD, 8, 0), 1);
    assert_eq!(
        run(&p, DEV_CHAR, ACC_MKNOD | ACC_READ, 1, 1),
        0,
        "m allowed, r not"
    );
}

#[test]
fn a_configured_allow_grants_only_its_access() {
    let p = program(serde_json::json!([{"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"}]));
    assert_eq!(run(&p, DEV_CHAR, RW, 10, 229), 1);
    assert_eq!(run(&p, DEV_CHAR, ACC_READ, 10, 229), 1);
    assert_eq!(run(&p, DEV_CHAR, RW, 10, 228), 0);
    // mknod comes from the default "c *:* m", not from this rule.
    assert_eq!(run(&p, DEV_CHAR, ACC_MKNOD, 10, 229), 1);
    let p = program(
        serde_json::json!([{"allow": true, "type": "b", "major": 8, "minor": 0, "access": "r"}]),
    );
    assert_eq!(run(&p, DEV_BLOCK, ACC_READ, 8, 0), 1);
    assert_eq!(run(&p, DEV_BLOCK, RW, 8, 0), 0, "write is not allowed");
    assert_eq!(run(&p, DEV_BLOCK, ACC_READ, 8, 1), 0);
}

#[test]
fn the_last_matching_rule_wins() {
    // A deny after an allow wins ...
    let allow_then_deny = device_program(&[
        rule(true, 'c', Some(10), None, "rwm"),
        rule(false, 'c', Some(10), Some(229), "w"),
    ]);
    assert_eq!(run(&allow_then_deny, DEV_CHAR, ACC_READ, 10, 229), 1);
    assert_eq!(run(&allow_then_deny, DEV_CHAR, ACC_WRITE, 10, 229), 0);
    assert_eq!(run(&allow_then_deny, DEV_CHAR, RW, 10, 229), 0);
    assert_eq!(run(&allow_then_deny, DEV_CHAR, RW, 10, 1), 1);
    // ... and an allow after a deny too; the config's deny of a default is overridden
    // by the default that comes after it.
    let deny_then_allow = device_program(&[
        rule(false, 'a', None, None, "rwm"),
        rule(true, 'c', Some(10), Some(229), "r"),
        rule(true, 'c', Some(10), Some(229), "w"),
    ]);
    assert_eq!(
        run(&deny_then_allow, DEV_CHAR, RW, 10, 229),
        1,
        "bits add up"
    );
    let p = program(
        serde_json::json!([{"allow": false, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]),
    );
    assert_eq!(run(&p, DEV_CHAR, RW, 1, 3), 1);
    let p = program(serde_json::json!([{"allow": true, "access": "rwm"}]));
    assert_eq!(run(&p, DEV_BLOCK, RW, 8, 0), 1, "allow all");
}

#[test]
fn no_rules_deny_all_and_every_jump_stays_inside() {
    let p = device_program(&[]);
    assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 3), 0);
    let p = default_program();
    for (at, n) in p.iter().enumerate() {
        let to = at as i64 + 1 + n.off as i64;
        assert!(
            n.off == 0 || (to > at as i64 && (to as usize) < p.len()),
            "{at}"
        );
    }
    assert_eq!(
        Insn {
            code: 0x61,
            dst: 2,
            src: 1,
            off: 4,
            imm: -1
        }
        .encode(),
        [0x61, 0x12, 4, 0, 0xff, 0xff, 0xff, 0xff]
    );
}

fn rule(
    allow: bool,
    kind: char,
    major: Option<u32>,
    minor: Option<u32>,
    access: &str,
) -> DeviceRule {
    DeviceRule {
        allow,
        kind,
        major,
        minor,
        access: access.into(),
    }
}

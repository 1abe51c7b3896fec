//! The classic-BPF program for a profile. Shape (every path ends in a `ret`,
//! so a block never needs to jump back out):
//!
//! ```text
//! ld arch
//! jeq AUDIT_ARCH_X86_64 ─► ld nr; jge X32_BIT ─► x32 section | x86_64 section
//! jeq AUDIT_ARCH_I386   ─► ld nr; i386 section
//! ret KILL_THREAD                      (foreign arch: libseccomp's bad-arch action)
//! section: [jgt MAX → ret ERRNO(ENOSYS)]  (runc's stub, when the default blocks)
//!          jeq NR1 → block1; jeq NR2 → block2; ...; ret DEFAULT
//! block:   ret ACTION of an unconditional rule; else per conditional rule, in
//!          libseccomp's precedence: conditions (fail → next rule), ret ACTION;
//!          then ret DEFAULT
//! ```
//! Conditional jumps reach at most 255 instructions; longer skips go through `ja`.

use super::{Abi, Action, Cond, Op, Rule, X32_SYSCALL_BIT};
use crate::error::{Error, Result};

/// One `struct sock_filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// The kernel refuses longer programs.
pub const BPF_MAXINSNS: usize = 4096;

pub const LD_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
pub const JA: u16 = 0x05; // BPF_JMP | BPF_JA
pub const JEQ: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
pub const JGT: u16 = 0x25;
pub const JGE: u16 = 0x35;
pub const AND: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K
pub const RET: u16 = 0x06; // BPF_RET | BPF_K

const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const ENOSYS: u16 = 38;

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
    Insn { code, jt, jf, k }
}

fn ret(a: Action) -> Insn {
    insn(RET, 0, 0, a.ret())
}

/// Emit "if (A <code> k) { then } else { what follows }"; `then` must end in a ret.
fn emit_if(out: &mut Vec<Insn>, code: u16, k: u32, then: Vec<Insn>) {
    match u8::try_from(then.len()) {
        Ok(n) => out.push(insn(code, 0, n, k)),
        Err(_) => {
            out.push(insn(code, 1, 0, k));
            out.push(insn(JA, 0, 0, then.len() as u32));
        }
    }
    out.extend(then);
}

/// Compile a profile. `listed` are the ABIs the profile names (they get the ENOSYS stub).
pub fn compile(default: Action, abis: &[Abi], listed: &[Abi], rules: &[Rule]) -> Result<Vec<Insn>> {
    let mut out = vec![insn(LD_ABS, 0, 0, OFF_ARCH)];
    let has = |a: Abi| abis.contains(&a);
    let section = |a: Abi| -> Vec<Insn> {
        if has(a) {
            abi_section(a, default, listed.contains(&a), rules)
        } else {
            vec![ret(Action::KillThread)]
        }
    };
    if has(Abi::X86_64) || has(Abi::X32) {
        let mut body = vec![insn(LD_ABS, 0, 0, OFF_NR)];
        emit_if(&mut body, JGE, X32_SYSCALL_BIT, section(Abi::X32));
        body.extend(section(Abi::X86_64));
        emit_if(&mut out, JEQ, Abi::X86_64.audit_arch(), body);
    }
    if has(Abi::X86) {
        let mut body = vec![insn(LD_ABS, 0, 0, OFF_NR)];
        body.extend(section(Abi::X86));
        emit_if(&mut out, JEQ, Abi::X86.audit_arch(), body);
    }
    out.push(ret(Action::KillThread));
    if out.len() > BPF_MAXINSNS {
        return Err(Error::config(
            "linux.seccomp",
            format!(
                "the filter needs {} instructions, the kernel takes {BPF_MAXINSNS}",
                out.len()
            ),
        ));
    }
    Ok(out)
}

/// Rules of one ABI grouped by syscall number, in the order they first appear.
fn by_number<'a>(
    default: Action,
    rules: &'a [Rule],
    nrs: &[Option<u32>],
) -> Vec<(u32, Vec<&'a Rule>)> {
    let mut groups: Vec<(u32, Vec<&Rule>)> = Vec::new();
    let mut index: std::collections::BTreeMap<u32, usize> = Default::default();
    for (r, nr) in rules.iter().zip(nrs) {
        let Some(nr) = *nr else { continue };
        if r.action == default {
            continue;
        }
        match index.get(&nr) {
            Some(&i) => groups[i].1.push(r),
            None => {
                index.insert(nr, groups.len());
                groups.push((nr, vec![r]));
            }
        }
    }
    groups
}

/// The section for one ABI; the accumulator holds the syscall number on entry.
fn abi_section(abi: Abi, default: Action, stub: bool, rules: &[Rule]) -> Vec<Insn> {
    let mut out = Vec::new();
    let nrs: Vec<Option<u32>> = rules.iter().map(|r| super::lookup(abi, &r.name)).collect();
    // runc's stub: numbers above the highest one the profile names (whatever its
    // action) are newer than the profile; ENOSYS lets libc fall back.
    let max = nrs.iter().flatten().max();
    if let (true, false, Some(max)) = (stub, default.lets_through(), max) {
        emit_if(&mut out, JGT, *max, vec![ret(Action::Errno(ENOSYS))]);
    }
    for (nr, group) in by_number(default, rules, &nrs) {
        emit_if(&mut out, JEQ, nr, block(abi, default, &group));
    }
    out.push(ret(default));
    out
}

/// libseccomp's precedence among one syscall's rules, as measured through runc
/// (docs/seccomp.md): a rule whose conditions are a subset of another's wins over
/// it (so an unconditional rule wins over all); among the rest, the comparison on
/// the highest argument is made first, then the one with the higher internal
/// operator (GT/LE over GE/LT over EQ/NE), then the higher value.
fn precedence<'a>(group: &[&'a Rule]) -> Vec<&'a Rule> {
    let subset = |x: &Rule, y: &Rule| x.conds.iter().all(|c| y.conds.contains(c));
    let mut kept: Vec<&Rule> = Vec::new();
    for (i, r) in group.iter().enumerate() {
        let covered = group
            .iter()
            .enumerate()
            .any(|(j, x)| j != i && subset(x, r) && (!subset(r, x) || j < i));
        if !covered {
            kept.push(r);
        }
    }
    let rank = |c: &Cond| match c.op {
        Op::Eq | Op::Ne => 4,
        Op::Ge | Op::Lt => 5,
        Op::Gt | Op::Le => 6,
        Op::MaskedEq { .. } => 7,
    };
    let key = |r: &Rule| {
        let mut k: Vec<(u8, u8, u64)> = r
            .conds
            .iter()
            .map(|c| (c.index, rank(c), c.value))
            .collect();
        k.sort_unstable_by(|a, b| b.cmp(a));
        k
    };
    kept.sort_by_key(|r| std::cmp::Reverse(key(r)));
    kept
}

/// One syscall's rules in libseccomp's precedence; the default when none matches.
fn block(abi: Abi, default: Action, group: &[&Rule]) -> Vec<Insn> {
    let mut out = Vec::new();
    let ordered = precedence(group);
    if let Some(r) = ordered.iter().find(|r| r.conds.is_empty()) {
        return vec![ret(r.action)];
    }
    for r in ordered {
        let mut code: Vec<(Insn, Fail)> = Vec::new();
        for c in &r.conds {
            cond(&mut code, c, abi.wide_args());
        }
        code.push((ret(r.action), Fail::None));
        let len = code.len();
        out.extend(code.into_iter().enumerate().map(|(i, (mut ins, fail))| {
            // A failed condition goes to the instruction after this rule's ret.
            let to_end = (len - i - 1) as u8;
            match fail {
                Fail::None => {}
                Fail::True => ins.jt = to_end,
                Fail::False => ins.jf = to_end,
            }
            ins
        }));
    }
    out.push(ret(default));
    out
}

/// Which branch of a conditional jump means "condition failed".
#[derive(Clone, Copy)]
enum Fail {
    None,
    True,
    False,
}

/// Code for one condition: falls through when it holds, takes the `Fail` branch
/// otherwise. Wide (64-bit) arguments compare the high half first.
fn cond(out: &mut Vec<(Insn, Fail)>, c: &Cond, wide: bool) {
    if wide {
        cond_wide(out, c);
    } else {
        cond_narrow(out, c);
    }
}

type Emit = (Insn, Fail);

fn ld(off: u32) -> Emit {
    (insn(LD_ABS, 0, 0, off), Fail::None)
}

fn j(code: u16, jt: u8, jf: u8, k: u32, fail: Fail) -> Emit {
    (insn(code, jt, jf, k), fail)
}

/// 32-bit ABI: the kernel zero-extends arguments; only the low half counts.
fn cond_narrow(out: &mut Vec<Emit>, c: &Cond) {
    let vlo = c.value as u32;
    out.push(ld(16 + 8 * u32::from(c.index)));
    out.extend(match c.op {
        Op::Eq => vec![j(JEQ, 0, 0, vlo, Fail::False)],
        Op::Ne => vec![j(JEQ, 0, 0, vlo, Fail::True)],
        Op::Gt => vec![j(JGT, 0, 0, vlo, Fail::False)],
        Op::Ge => vec![j(JGE, 0, 0, vlo, Fail::False)],
        Op::Lt => vec![j(JGE, 0, 0, vlo, Fail::True)],
        Op::Le => vec![j(JGT, 0, 0, vlo, Fail::True)],
        Op::MaskedEq { mask } => vec![
            j(AND, 0, 0, mask as u32, Fail::None),
            j(JEQ, 0, 0, vlo, Fail::False),
        ],
    });
}

fn cond_wide(out: &mut Vec<Emit>, c: &Cond) {
    let lo_off = 16 + 8 * u32::from(c.index);
    let (vhi, vlo) = ((c.value >> 32) as u32, c.value as u32);
    let (hi, lo) = (ld(lo_off + 4), ld(lo_off));
    // The low-half compare of the ordering operators.
    let last = if matches!(c.op, Op::Gt | Op::Le) {
        JGT
    } else {
        JGE
    };
    let seq = match c.op {
        Op::Eq => vec![
            hi,
            j(JEQ, 0, 0, vhi, Fail::False),
            lo,
            j(JEQ, 0, 0, vlo, Fail::False),
        ],
        // High halves differ: holds, skip the low compare.
        Op::Ne => vec![
            hi,
            j(JEQ, 0, 2, vhi, Fail::None),
            lo,
            j(JEQ, 0, 0, vlo, Fail::True),
        ],
        Op::Gt | Op::Ge => vec![
            hi,
            j(JGT, 3, 0, vhi, Fail::None),
            j(JEQ, 0, 0, vhi, Fail::False),
            lo,
            j(last, 0, 0, vlo, Fail::False),
        ],
        Op::Lt | Op::Le => vec![
            hi,
            j(JGT, 0, 0, vhi, Fail::True),
            j(JEQ, 0, 2, vhi, Fail::None),
            lo,
            j(last, 0, 0, vlo, Fail::True),
        ],
        Op::MaskedEq { mask } => vec![
            hi,
            j(AND, 0, 0, (mask >> 32) as u32, Fail::None),
            j(JEQ, 0, 0, vhi, Fail::False),
            lo,
            j(AND, 0, 0, mask as u32, Fail::None),
            j(JEQ, 0, 0, vlo, Fail::False),
        ],
    };
    out.extend(seq);
}

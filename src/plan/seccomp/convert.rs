//! `linux.seccomp` (oci-spec types) → `SeccompPlan`, with the checks that name
//! the offending field. Unknown actions and operators are already refused by
//! the parser (`config.json: linux.seccomp.syscalls[3].action: unknown variant ...`).

use super::{flags, Abi, Action, Cond, Op, Rule, SeccompPlan};
use crate::error::{Error, Result};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction as A, LinuxSeccompFilterFlag as F,
    LinuxSeccompOperator as O, LinuxSyscall,
};

const FIELD: &str = "linux.seccomp";
const EPERM: u16 = 1;

fn action(a: A, errno: Option<u32>, field: &str) -> Result<Action> {
    let errno = match errno {
        None => EPERM,
        // The kernel keeps 16 bits of SECCOMP_RET_DATA; errno values stop at 4095.
        Some(e) if e <= 4095 => e as u16,
        Some(e) => {
            return Err(Error::config(
                field,
                format!("{e} is not an errno (0-4095)"),
            ))
        }
    };
    Ok(match a {
        A::ScmpActAllow => Action::Allow,
        A::ScmpActErrno => Action::Errno(errno),
        A::ScmpActKill | A::ScmpActKillThread => Action::KillThread,
        A::ScmpActKillProcess => Action::KillProcess,
        A::ScmpActTrap => Action::Trap,
        A::ScmpActTrace => Action::Trace(errno),
        A::ScmpActLog => Action::Log,
        A::ScmpActNotify => Action::Notify,
    })
}

/// Architectures the filter covers; `None` for ones that never reach an x86 kernel.
fn abi(a: Arch) -> Option<Abi> {
    match a {
        Arch::ScmpArchNative | Arch::ScmpArchX86_64 => Some(Abi::X86_64),
        Arch::ScmpArchX32 => Some(Abi::X32),
        Arch::ScmpArchX86 => Some(Abi::X86),
        _ => None,
    }
}

fn flag(f: F) -> u32 {
    match f {
        F::SeccompFilterFlagTsync => flags::TSYNC,
        F::SeccompFilterFlagLog => flags::LOG,
        F::SeccompFilterFlagSpecAllow => flags::SPEC_ALLOW,
        F::SeccompFilterFlagWaitKillableRecv => flags::WAIT_KILLABLE_RECV,
    }
}

fn op(o: O, value_two: Option<u64>, value: u64) -> (Op, u64) {
    match o {
        O::ScmpCmpNe => (Op::Ne, value),
        O::ScmpCmpLt => (Op::Lt, value),
        O::ScmpCmpLe => (Op::Le, value),
        O::ScmpCmpEq => (Op::Eq, value),
        O::ScmpCmpGe => (Op::Ge, value),
        O::ScmpCmpGt => (Op::Gt, value),
        // libseccomp: `value` is the mask, `valueTwo` the datum.
        O::ScmpCmpMaskedEq => (Op::MaskedEq { mask: value }, value_two.unwrap_or(0)),
    }
}

/// The conditions of one entry; two on the same argument become separate
/// rules (OR), as runc does.
fn condition_sets(s: &LinuxSyscall, field: &str) -> Result<Vec<Vec<Cond>>> {
    let mut conds = Vec::new();
    for (j, a) in s.args().iter().flatten().enumerate() {
        let index = u8::try_from(a.index())
            .ok()
            .filter(|i| *i < 6)
            .ok_or_else(|| {
                Error::config(
                    format!("{field}.args[{j}].index"),
                    format!("{} is not an argument index (0-5)", a.index()),
                )
            })?;
        let (op, value) = op(a.op(), a.value_two(), a.value());
        conds.push(Cond { index, op, value });
    }
    let repeated = (0..6).any(|i| conds.iter().filter(|c| c.index == i).count() > 1);
    Ok(if repeated {
        conds.into_iter().map(|c| vec![c]).collect()
    } else {
        vec![conds]
    })
}

fn rules(s: &LinuxSyscall, i: usize, abis: &[Abi], notes: &mut Vec<String>) -> Result<Vec<Rule>> {
    let field = format!("{FIELD}.syscalls[{i}]");
    if s.names().is_empty() {
        return Err(Error::config(format!("{field}.names"), "empty"));
    }
    let act = action(s.action(), s.errno_ret(), &format!("{field}.errnoRet"))?;
    let sets = condition_sets(s, &field)?;
    let mut out = Vec::new();
    for (n, name) in s.names().iter().enumerate() {
        if name.is_empty() {
            return Err(Error::config(format!("{field}.names[{n}]"), "empty"));
        }
        if act == Action::Notify && name == "write" {
            // init reports Ready with write(2) after the filter is loaded.
            return Err(Error::config(
                format!("{field}.names[{n}]"),
                "SCMP_ACT_NOTIFY cannot be used for the write syscall",
            ));
        }
        if !abis.iter().any(|a| super::lookup(*a, name).is_some()) {
            notes.push(format!(
                "{field}.names[{n}]: unknown syscall {name:?} skipped"
            ));
            continue;
        }
        for conds in &sets {
            out.push(Rule {
                name: name.clone(),
                action: act,
                conds: conds.clone(),
            });
        }
    }
    Ok(out)
}

/// Plain data and the compiled program for `linux.seccomp`.
pub fn plan(s: &LinuxSeccomp, notes: &mut Vec<String>) -> Result<SeccompPlan> {
    plan_with(s, notes, None)
}

/// [`plan`], with the program already compiled for this profile (a cache hit):
/// the rules are still checked and converted (their notes are the plan's), the
/// compile is skipped.
pub fn plan_with(
    s: &LinuxSeccomp,
    notes: &mut Vec<String>,
    compiled: Option<Vec<super::Insn>>,
) -> Result<SeccompPlan> {
    let default_action = action(
        s.default_action(),
        s.default_errno_ret(),
        &format!("{FIELD}.defaultErrnoRet"),
    )?;
    if default_action == Action::Notify {
        return Err(Error::config(
            format!("{FIELD}.defaultAction"),
            "SCMP_ACT_NOTIFY cannot be the default action",
        ));
    }
    let mut listed_abis = Vec::new();
    for (i, a) in s.architectures().iter().flatten().enumerate() {
        match abi(*a) {
            Some(x) if !listed_abis.contains(&x) => listed_abis.push(x),
            Some(_) => {}
            None => notes.push(format!(
                "{FIELD}.architectures[{i}]: {a:?} never runs on this host, no section compiled"
            )),
        }
    }
    let abis = if listed_abis.is_empty() {
        vec![Abi::X86_64]
    } else {
        listed_abis.clone()
    };
    let mut rule_list = Vec::new();
    for (i, sc) in s.syscalls().iter().flatten().enumerate() {
        rule_list.extend(rules(sc, i, &abis, notes)?);
    }
    let mut flag_bits = s.flags().iter().flatten().fold(0, |b, f| b | flag(*f));
    if rule_list.iter().any(|r| r.action == Action::Notify) {
        flag_bits |= flags::NEW_LISTENER;
        if s.listener_path().is_none() {
            return Err(Error::config(
                format!("{FIELD}.listenerPath"),
                "required when a syscall's action is SCMP_ACT_NOTIFY",
            ));
        }
    } else if flag_bits & flags::WAIT_KILLABLE_RECV != 0 {
        // It changes how a notifying syscall waits for its listener; the
        // kernel refuses it without one (EINVAL).
        flag_bits &= !flags::WAIT_KILLABLE_RECV;
        notes.push(format!(
            "{FIELD}.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: not applied: no syscall has SCMP_ACT_NOTIFY"
        ));
    }
    let program = match compiled {
        Some(p) => p,
        None => super::compile(default_action, &abis, &listed_abis, &rule_list)?,
    };
    Ok(SeccompPlan {
        default_action,
        abis,
        listed_abis,
        rules: rule_list,
        flags: flag_bits,
        listener_path: s.listener_path().clone(),
        listener_metadata: s.listener_metadata().clone(),
        program,
    })
}

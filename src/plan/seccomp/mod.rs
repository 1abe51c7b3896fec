//! `linux.seccomp` as plain data, and the classic-BPF program compiled from it
//! (pure Rust, no libseccomp: the binary stays static). The program is built in
//! the parent, before any clone, and loaded by init (`kernel::seccomp`).
//!
//! Semantics follow runc 1.1 + libseccomp 2.5 (docs/seccomp.md): one rule per
//! syscall name; a rule whose action equals the default action is dropped; a
//! rule with two conditions on the same argument becomes one rule per
//! condition (OR); unknown syscall names are skipped with a note; syscalls
//! numbered above the highest one the profile names get ENOSYS unless the
//! default action lets syscalls through (runc's -ENOSYS stub).
#![forbid(unsafe_code)]

mod bpf;
mod convert;
mod default;
mod interp;
mod table;
#[cfg(test)]
mod tests;

pub use bpf::{compile, Insn, BPF_MAXINSNS};
pub use convert::{plan, plan_with};
pub use default::default_profile;
pub use table::{lookup, names};

use std::path::PathBuf;

/// What the filter does with a syscall (`SECCOMP_RET_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Allow,
    /// Fail with this errno (EPERM when the profile gives none).
    Errno(u16),
    /// `SCMP_ACT_KILL` and `SCMP_ACT_KILL_THREAD`.
    KillThread,
    KillProcess,
    /// SIGSYS to the caller.
    Trap,
    /// Hand to a ptrace tracer with this data (ENOSYS without a tracer).
    Trace(u16),
    /// Allowed and logged.
    Log,
    /// Sent to the listener on `listenerPath` (`SECCOMP_RET_USER_NOTIF`).
    Notify,
}

impl Action {
    /// The 32-bit value a BPF `ret` gives the kernel.
    pub fn ret(self) -> u32 {
        match self {
            Action::KillProcess => 0x8000_0000,
            Action::KillThread => 0,
            Action::Trap => 0x0003_0000,
            Action::Errno(e) => 0x0005_0000 | u32::from(e),
            Action::Notify => 0x7fc0_0000,
            Action::Trace(d) => 0x7ff0_0000 | u32::from(d),
            Action::Log => 0x7ffc_0000,
            Action::Allow => 0x7fff_0000,
        }
    }

    /// Actions that let an unknown syscall through, so no ENOSYS stub is wanted.
    pub fn lets_through(self) -> bool {
        matches!(self, Action::Allow | Action::Log | Action::Trace(_))
    }
}

/// The syscall ABIs nook compiles for (all reported as x86 audit arches).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Abi {
    X86_64,
    X32,
    X86,
}

pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

impl Abi {
    pub fn audit_arch(self) -> u32 {
        match self {
            Abi::X86_64 | Abi::X32 => AUDIT_ARCH_X86_64,
            Abi::X86 => AUDIT_ARCH_I386,
        }
    }

    /// Whether arguments are 64 bits wide (compared as two 32-bit halves).
    pub fn wide_args(self) -> bool {
        self != Abi::X86
    }
}

/// A comparison on one argument (libseccomp's `SCMP_CMP_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    /// `(arg & mask) == value`.
    MaskedEq {
        mask: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cond {
    pub index: u8,
    pub op: Op,
    pub value: u64,
}

/// One syscall name, its action and the conditions that must all hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    pub name: String,
    pub action: Action,
    pub conds: Vec<Cond>,
}

/// Filter flags for seccomp(2) (`SECCOMP_FILTER_FLAG_*`).
pub mod flags {
    pub const TSYNC: u32 = 1;
    pub const LOG: u32 = 2;
    pub const SPEC_ALLOW: u32 = 4;
    pub const NEW_LISTENER: u32 = 8;
    pub const WAIT_KILLABLE_RECV: u32 = 32;
}

/// The profile as plain data plus the compiled program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeccompPlan {
    pub default_action: Action,
    /// ABIs with a section in the filter (the native one when none is listed).
    pub abis: Vec<Abi>,
    /// ABIs given explicitly in `architectures`: only these get the ENOSYS stub (as runc).
    pub listed_abis: Vec<Abi>,
    pub rules: Vec<Rule>,
    /// seccomp(2) flags, NEW_LISTENER included when a rule notifies.
    pub flags: u32,
    pub listener_path: Option<PathBuf>,
    pub listener_metadata: Option<String>,
    pub program: Vec<Insn>,
}

impl SeccompPlan {
    pub fn notifies(&self) -> bool {
        self.flags & flags::NEW_LISTENER != 0
    }

    /// Whether the filter lets this native (x86-64) syscall through untouched
    /// (`SECCOMP_RET_ALLOW`): init asks before making a syscall the container's
    /// profile did not ask for, after the filter is loaded.
    pub fn allows(&self, nr: i64, args: [u64; 6]) -> bool {
        let Ok(nr) = u32::try_from(nr) else {
            return false;
        };
        let data = interp::Data {
            nr,
            arch: AUDIT_ARCH_X86_64,
            args,
        };
        interp::eval(&self.program, &data) == Some(Action::Allow.ret())
    }
}

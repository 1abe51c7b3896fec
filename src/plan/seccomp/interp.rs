//! A tiny classic-BPF interpreter for the instructions `bpf.rs` emits: tests
//! run the generated program against `seccomp_data` cases instead of reading
//! it, and init asks it whether a syscall of its own would pass the filter
//! (`SeccompPlan::allows`).

use super::bpf::{Insn, AND, JA, JEQ, JGE, JGT, LD_ABS, RET};

/// `struct seccomp_data`.
#[derive(Debug, Clone, Copy)]
pub struct Data {
    pub nr: u32,
    pub arch: u32,
    pub args: [u64; 6],
}

impl Data {
    fn word(&self, off: u32) -> Option<u32> {
        match off {
            0 => Some(self.nr),
            4 => Some(self.arch),
            16..=63 if off.is_multiple_of(4) => {
                let a = self.args[((off - 16) / 8) as usize];
                Some(if off.is_multiple_of(8) {
                    a as u32
                } else {
                    (a >> 32) as u32
                })
            }
            _ => None,
        }
    }
}

/// Run `prog` on `data`: the `ret` value, or None for what the kernel's
/// verifier would refuse (unknown opcode, bad load, a jump past the end).
pub fn eval(prog: &[Insn], data: &Data) -> Option<u32> {
    let (mut pc, mut a) = (0usize, 0u32);
    loop {
        let i = *prog.get(pc)?;
        let jump = |taken: bool| pc + 1 + usize::from(if taken { i.jt } else { i.jf });
        pc = match i.code {
            LD_ABS => {
                a = data.word(i.k)?;
                pc + 1
            }
            AND => {
                a &= i.k;
                pc + 1
            }
            JA => pc + 1 + i.k as usize,
            JEQ => jump(a == i.k),
            JGT => jump(a > i.k),
            JGE => jump(a >= i.k),
            RET => return Some(i.k),
            _ => return None,
        };
    }
}

/// `eval` for tests: panics on a program the kernel would refuse.
#[cfg(test)]
pub fn run(prog: &[Insn], data: &Data) -> u32 {
    eval(prog, data).expect("a program the kernel's verifier would refuse")
}

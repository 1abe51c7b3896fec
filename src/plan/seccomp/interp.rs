//! A tiny classic-BPF interpreter for the instructions `bpf.rs` emits, so tests
//! run the generated program against `seccomp_data` cases instead of reading it.

use super::bpf::{Insn, AND, JA, JEQ, JGE, JGT, LD_ABS, RET};

/// `struct seccomp_data`.
#[derive(Debug, Clone, Copy)]
pub struct Data {
    pub nr: u32,
    pub arch: u32,
    pub args: [u64; 6],
}

impl Data {
    fn word(&self, off: u32) -> u32 {
        match off {
            0 => self.nr,
            4 => self.arch,
            16..=63 if off.is_multiple_of(4) => {
                let a = self.args[((off - 16) / 8) as usize];
                if off.is_multiple_of(8) {
                    a as u32
                } else {
                    (a >> 32) as u32
                }
            }
            _ => panic!("load from offset {off}"),
        }
    }
}

/// Run `prog` on `data`; panics on what the kernel's verifier would refuse.
pub fn run(prog: &[Insn], data: &Data) -> u32 {
    let (mut pc, mut a) = (0usize, 0u32);
    loop {
        let i = prog[pc];
        let jump = |taken: bool| pc + 1 + usize::from(if taken { i.jt } else { i.jf });
        pc = match i.code {
            LD_ABS => {
                a = data.word(i.k);
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
            RET => return i.k,
            c => panic!("unknown opcode {c:#x} at {pc}"),
        };
        assert!(pc < prog.len(), "jump past the end");
    }
}

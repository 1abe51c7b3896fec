//! The cgroup v2 device allow-list as an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE),
//! generated here as plain instructions; `kernel::bpf` loads and attaches it.
//!
//! The kernel calls it with r1 = `struct bpf_cgroup_dev_ctx { u32 access_type; u32
//! major; u32 minor; }` where `access_type = (access << 16) | type` (access bits:
//! mknod 1, read 2, write 4; type: block 1, char 2). It returns 1 to allow, 0 to deny.
//!
//! Semantics (those of the v1 controller that runc and crun emulate): everything is
//! denied, then the rules apply in order and, for each requested access bit, the
//! last rule that matches the device and names that bit decides it. An access is
//! allowed when every one of its bits is. The program walks the rules last to first
//! with r2 = the bits still undecided: a matching deny that names one of them
//! denies; a matching allow clears the bits it names and allows once none is left.

use super::devices::DeviceRule;

/// One eBPF instruction (`struct bpf_insn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    /// The 8 bytes the kernel reads (little-endian, registers packed dst low, src high).
    pub fn encode(&self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = self.code;
        b[1] = (self.src << 4) | (self.dst & 0x0f);
        b[2..4].copy_from_slice(&self.off.to_le_bytes());
        b[4..8].copy_from_slice(&self.imm.to_le_bytes());
        b
    }
}

// Opcodes: class | op | source.
pub const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
pub const ALU64_MOV_K: u8 = 0xb7;
pub const ALU64_MOV_X: u8 = 0xbf;
pub const ALU64_AND_K: u8 = 0x57;
pub const ALU64_RSH_K: u8 = 0x77;
pub const JMP32_JNE_K: u8 = 0x56; // BPF_JMP32 | BPF_JNE | BPF_K
pub const JMP_JEQ_K: u8 = 0x15;
pub const JMP_JNE_K: u8 = 0x55;
pub const JMP_EXIT: u8 = 0x95;

pub const DEV_BLOCK: i32 = 1;
pub const DEV_CHAR: i32 = 2;
pub const ACC_MKNOD: i32 = 1;
pub const ACC_READ: i32 = 2;
pub const ACC_WRITE: i32 = 4;

fn i(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        dst,
        src,
        off,
        imm,
    }
}

fn access_bits(access: &str) -> i32 {
    access.chars().fold(0, |bits, c| {
        bits | match c {
            'm' => ACC_MKNOD,
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            _ => 0,
        }
    })
}

/// The program for `rules` (see the module comment for what it decides).
pub fn device_program(rules: &[DeviceRule]) -> Vec<Insn> {
    let mut prog = vec![
        i(LDX_MEM_W, 2, 1, 0, 0), // r2 = access_type
        i(ALU64_MOV_X, 3, 2, 0, 0),
        i(ALU64_AND_K, 3, 0, 0, 0xffff), // r3 = device type
        i(ALU64_RSH_K, 2, 0, 0, 16),     // r2 = requested access bits
        i(LDX_MEM_W, 4, 1, 4, 0),        // r4 = major
        i(LDX_MEM_W, 5, 1, 8, 0),        // r5 = minor
    ];
    for rule in rules.iter().rev() {
        prog.extend(rule_block(rule));
    }
    prog.push(i(ALU64_MOV_K, 0, 0, 0, 0));
    prog.push(i(JMP_EXIT, 0, 0, 0, 0));
    prog
}

/// One rule; every jump goes to the end of the block (the next rule).
fn rule_block(rule: &DeviceRule) -> Vec<Insn> {
    const NEXT: i16 = i16::MAX; // patched below
    let (kind, major, minor, access) = match rule.kind {
        'a' => (None, None, None, ACC_MKNOD | ACC_READ | ACC_WRITE),
        'c' => (
            Some(DEV_CHAR),
            rule.major,
            rule.minor,
            access_bits(&rule.access),
        ),
        'b' => (
            Some(DEV_BLOCK),
            rule.major,
            rule.minor,
            access_bits(&rule.access),
        ),
        _ => return Vec::new(), // fifos are not device-controlled
    };
    if access == 0 {
        return Vec::new();
    }
    let mut b = Vec::new();
    if let Some(t) = kind {
        b.push(i(JMP32_JNE_K, 3, 0, NEXT, t));
    }
    if let Some(n) = major {
        b.push(i(JMP32_JNE_K, 4, 0, NEXT, n as i32));
    }
    if let Some(n) = minor {
        b.push(i(JMP32_JNE_K, 5, 0, NEXT, n as i32));
    }
    b.push(i(ALU64_MOV_X, 0, 2, 0, 0));
    b.push(i(ALU64_AND_K, 0, 0, 0, access)); // r0 = undecided bits this rule names
    b.push(i(JMP_JEQ_K, 0, 0, NEXT, 0));
    if rule.allow {
        b.push(i(ALU64_AND_K, 2, 0, 0, !access));
        b.push(i(JMP_JNE_K, 2, 0, NEXT, 0));
        b.push(i(ALU64_MOV_K, 0, 0, 0, 1));
    } else {
        b.push(i(ALU64_MOV_K, 0, 0, 0, 0));
    }
    b.push(i(JMP_EXIT, 0, 0, 0, 0));
    let len = b.len();
    for (at, insn) in b.iter_mut().enumerate() {
        if insn.off == NEXT {
            insn.off = (len - at - 1) as i16;
        }
    }
    b
}

#[cfg(test)]
#[path = "bpf_tests.rs"]
mod tests;

//! The exec stub: a tiny static x86-64 program, made per container in a sealed
//! memfd, that init executes instead of the container's program and that
//! only `execve`s that program. Its job is the CVE-2019-5736 defence without
//! re-executing the whole runtime: while init runs, /proc/self/exe is the
//! runtime's binary, and a container program that resolves /proc/self/exe at
//! its execve (`#!/proc/self/exe`, a symlink to it, an ELF interpreter
//! naming it) would run, and get a handle on, the host's file. Through the
//! stub, that execve runs from the stub's memfd: /proc/self/exe is the stub,
//! never the host binary.
//!
//! It is used only where no container process can see init before its
//! execve (a pid namespace of its own; see `container::sealing`); elsewhere
//! the runtime re-executes itself from a sealed view first (selfexe.rs).
//!
//! For `create`, the stub made with `gate` also waits at the start gate in
//! init's place (kernel::start_gate): init execs it as soon as it is ready,
//! `create` returns once that exec has closed init's end of the channel, and
//! the container waiting for `start` is this program (a page or two), not
//! the runtime. init names the gate's O_PATH handle (inherited, not
//! close-on-exec) by the first argument.
//!
//! The program (hand-assembled, 176 bytes of headers and about 360 of code):
//! ```text
//! gate:    (entered here when made for a gate)
//!          prctl(PR_SET_DUMPABLE, 0)              ; as init was (the exec undoes it)
//!          if argc < 3 or argv[0] does not start with "/proc/self/fd/":
//!              argc = 1, go to exec               ; which says ENOEXEC
//!          fd = openat(AT_FDCWD, argv[0], O_WRONLY|O_CLOEXEC)  ; "/proc/self/fd/N":
//!                                                 ; blocks until `start` reads
//!          write(fd, "0", 1)                      ; fails: go to gate_failed
//!          close(N)                               ; N parsed from argv[0]
//!          drop argv[0] (argc - 1 where it was), go to exec
//! exec:    (entered here otherwise)
//!          if argc < 2: rax = -ENOEXEC, go to exec_failed
//!          rdi = argv[0]            ; the program's path (init resolved PATH)
//!          rsi = &argv[1]           ; the program's own argv
//!          rdx = &argv[argc + 1]    ; envp
//!          execve(rdi, rsi, rdx)
//!          ; it returned: -errno in rax
//! exec_failed:
//!          prefix = EXEC_PREFIX ("nook-runtime init: ... \"prog\": "), status 127
//! report:  i = -rax, or 0 if i >= number of messages
//!          write(2, prefix)
//!          write(2, BLOB + OFF[i], LEN[i])   ; the errno's text and "\n"
//!          exit_group(status)
//! gate_failed:
//!          prefix = GATE_PREFIX ("nook-runtime init: open exec fifo ...: "),
//!          status 1, go to report
//! ```
//! init always passes the path and the program's argv (never empty), and at
//! a gate the gate's path first: fewer arguments, or at a gate a first one
//! that is not the gate's, means the stub was entered again through
//! /proc/self/exe by the program it execs (`#!/proc/self/exe`, whose path then
//! comes first); it stops there instead of looping.
//! The messages and exit statuses are init's own for a failed execve
//! (`process::exec_error_prefix`) and a failed gate (`start_gate`).

use crate::error::{Result, SysResult};
use nix::fcntl::{FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use std::os::fd::OwnedFd;

/// The memfd's name, as /proc/<pid>/exe shows it while the stub runs.
pub const NAME: &str = "nook-exec-stub";
/// Where the one segment is loaded (the file is mapped whole, read + execute).
const BASE: u64 = 0x40_0000;
const EHDR: usize = 64;
const PHDR: usize = 56;
/// Messages for errno 0..ERRNOS (0: an errno outside the table).
const ERRNOS: usize = 134;

/// A sealed memfd holding the stub for a program named `prog` (the config's
/// `process.args[0]`, for the failure message).
pub fn create(prog: &str, gate: bool) -> Result<OwnedFd> {
    use std::io::Write;
    let image = image(prog, gate, &super::process::exec_error_text);
    // MFD_EXEC (6.3+) keeps it executable where vm.memfd_noexec is 1; with 2
    // the flag is refused and so is the stub (the caller re-executes instead).
    let base = MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING;
    let fd = memfd_create(NAME, base | MFdFlags::from_bits_retain(libc::MFD_EXEC))
        .or_else(|e| match e {
            nix::errno::Errno::EINVAL => memfd_create(NAME, base),
            e => Err(e),
        })
        .sys("memfd_create", NAME)?;
    let mut file = std::fs::File::from(fd);
    file.write_all(&image)
        .map_err(|e| crate::error::Error::io("write", NAME, e))?;
    let seals = SealFlag::F_SEAL_SEAL
        | SealFlag::F_SEAL_SHRINK
        | SealFlag::F_SEAL_GROW
        | SealFlag::F_SEAL_WRITE;
    nix::fcntl::fcntl(&file, FcntlArg::F_ADD_SEALS(seals)).sys("fcntl(F_ADD_SEALS)", NAME)?;
    Ok(file.into())
}

/// What a rip-relative displacement points at, or whose length an
/// immediate is.
#[derive(Clone, Copy)]
enum Target {
    ExecPrefix,
    GatePrefix,
    /// The byte written to the start gate.
    Zero,
    Table,
    Blob,
}

/// Machine code being put together: bytes, labels, and the 32-bit fields
/// filled in once every label and the data's place are known.
#[derive(Default)]
struct Asm {
    bytes: Vec<u8>,
    labels: Vec<(&'static str, usize)>,
    /// (offset of a rel32, the label it jumps to)
    jumps: Vec<(usize, &'static str)>,
    /// (offset of a rip-relative disp32, what it points at)
    data: Vec<(usize, Target)>,
    /// (offset of an imm32, the message whose length it is)
    lengths: Vec<(usize, Target)>,
}

impl Asm {
    fn op(&mut self, bytes: &[u8]) {
        self.bytes.extend(bytes);
    }
    fn label(&mut self, name: &'static str) {
        self.labels.push((name, self.bytes.len()));
    }
    fn at(&self, name: &str) -> usize {
        let found = self.labels.iter().find(|(n, _)| *n == name);
        found.expect("label defined").1
    }
    /// `opcode` followed by a rel32 to `to`.
    fn jump(&mut self, opcode: &[u8], to: &'static str) {
        self.op(opcode);
        self.jumps.push((self.bytes.len(), to));
        self.op(&[0; 4]);
    }
    /// `opcode` followed by a rip-relative disp32 to `to`.
    fn rip(&mut self, opcode: &[u8], to: Target) {
        self.op(opcode);
        self.data.push((self.bytes.len(), to));
        self.op(&[0; 4]);
    }
    /// `opcode` followed by the length of message `of` as an imm32.
    fn length(&mut self, opcode: &[u8], of: Target) {
        self.op(opcode);
        self.lengths.push((self.bytes.len(), of));
        self.op(&[0; 4]);
    }
}

/// The code, and where it is entered. The exec part always; with `gate`, the
/// start-gate part before it (entered first).
fn code(gate: bool) -> (Asm, usize) {
    let mut a = Asm::default();
    // [rsp] = argc, then argv, NULL, envp.
    a.label("exec");
    a.op(&[0x48, 0x8b, 0x04, 0x24]); // mov rax, [rsp]
    a.op(&[0x48, 0x83, 0xf8, 0x02]); // cmp rax, 2
    a.jump(&[0x0f, 0x82], "enoexec"); // jb
    a.op(&[0x48, 0x8b, 0x7c, 0x24, 0x08]); // mov rdi, [rsp+8]
    a.op(&[0x48, 0x8d, 0x74, 0x24, 0x10]); // lea rsi, [rsp+16]
    a.op(&[0x48, 0x8d, 0x54, 0xc4, 0x10]); // lea rdx, [rsp+rax*8+16]
    a.op(&[0xb8, 59, 0, 0, 0]); // mov eax, SYS_execve
    a.op(&[0x0f, 0x05]); // syscall
    a.jump(&[0xe9], "exec_failed"); // jmp
    a.label("enoexec");
    a.op(&[0xb8]); // mov eax, -ENOEXEC
    a.op(&(-libc::ENOEXEC).to_le_bytes());
    a.label("exec_failed");
    a.rip(&[0x4c, 0x8d, 0x2d], Target::ExecPrefix); // lea r13, [rip+EXEC_PREFIX]
    a.length(&[0x41, 0xbe], Target::ExecPrefix); // mov r14d, its length
    a.op(&[0x41, 0xbf, 127, 0, 0, 0]); // mov r15d, 127
                                       // eax = -errno; r13, r14d: the prefix; r15d: the exit status.
    a.label("report");
    a.op(&[0xf7, 0xd8]); // neg eax
    a.op(&[0x3d]); // cmp eax, ERRNOS
    a.op(&(ERRNOS as u32).to_le_bytes());
    a.op(&[0x72, 0x02]); // jb +2
    a.op(&[0x31, 0xc0]); // xor eax, eax
    a.op(&[0x89, 0xc3]); // mov ebx, eax
    a.op(&[0xbf, 2, 0, 0, 0]); // mov edi, 2
    a.op(&[0x4c, 0x89, 0xee]); // mov rsi, r13
    a.op(&[0x44, 0x89, 0xf2]); // mov edx, r14d
    a.op(&[0xb8, 1, 0, 0, 0]); // mov eax, SYS_write
    a.op(&[0x0f, 0x05]); // syscall
    a.rip(&[0x48, 0x8d, 0x0d], Target::Table); // lea rcx, [rip+TABLE]
    a.op(&[0x0f, 0xb7, 0x34, 0x99]); // movzx esi, word [rcx+rbx*4]
    a.op(&[0x0f, 0xb7, 0x54, 0x99, 0x02]); // movzx edx, word [rcx+rbx*4+2]
    a.rip(&[0x48, 0x8d, 0x05], Target::Blob); // lea rax, [rip+BLOB]
    a.op(&[0x48, 0x01, 0xc6]); // add rsi, rax
    a.op(&[0xbf, 2, 0, 0, 0]); // mov edi, 2
    a.op(&[0xb8, 1, 0, 0, 0]); // mov eax, SYS_write
    a.op(&[0x0f, 0x05]); // syscall
    a.op(&[0x44, 0x89, 0xff]); // mov edi, r15d
    a.op(&[0xb8, 231, 0, 0, 0]); // mov eax, SYS_exit_group
    a.op(&[0x0f, 0x05]); // syscall
    if !gate {
        return (a, 0);
    }
    // argv[0] = "/proc/self/fd/N", N the gate's O_PATH handle.
    a.label("gate");
    // Not dumpable while it waits, as init was: a process that joins the pid
    // namespace meanwhile may not read its fds (the host's exec.fifo) or
    // environment. The program's execve makes it dumpable again.
    a.op(&[0xbf]); // mov edi, PR_SET_DUMPABLE
    a.op(&(libc::PR_SET_DUMPABLE as u32).to_le_bytes());
    a.op(&[0x31, 0xf6]); // xor esi, esi
    a.op(&[0xb8]); // mov eax, SYS_prctl
    a.op(&(libc::SYS_prctl as u32).to_le_bytes());
    a.op(&[0x0f, 0x05]); // syscall
    a.op(&[0x48, 0x8b, 0x04, 0x24]); // mov rax, [rsp]
    a.op(&[0x48, 0x83, 0xf8, 0x03]); // cmp rax, 3
    a.jump(&[0x0f, 0x82], "not_gate"); // jb
    let gate = GATE_PATH.as_bytes();
    let (q, d, w) = (&gate[..8], &gate[8..12], &gate[12..14]);
    a.op(&[0x48, 0x8b, 0x74, 0x24, 0x08]); // mov rsi, [rsp+8]
    a.op(&[0x48, 0xb8]); // mov rax, "/proc/se"
    a.op(q);
    a.op(&[0x48, 0x39, 0x06]); // cmp [rsi], rax
    a.jump(&[0x0f, 0x85], "not_gate"); // jne
    a.op(&[0x81, 0x7e, 0x08]); // cmp dword [rsi+8], "lf/f"
    a.op(d);
    a.jump(&[0x0f, 0x85], "not_gate"); // jne
    a.op(&[0x66, 0x81, 0x7e, 0x0c]); // cmp word [rsi+12], "d/"
    a.op(w);
    a.jump(&[0x0f, 0x84], "gate_open"); // je
    a.label("not_gate");
    a.op(&[0x48, 0xc7, 0x04, 0x24, 1, 0, 0, 0]); // mov qword [rsp], 1
    a.jump(&[0xe9], "exec"); // jmp: entered again, the exec part says ENOEXEC
    a.label("gate_open");
    a.op(&[0x48, 0xc7, 0xc7]); // mov rdi, AT_FDCWD
    a.op(&libc::AT_FDCWD.to_le_bytes());
    a.op(&[0x48, 0x8b, 0x74, 0x24, 0x08]); // mov rsi, [rsp+8]
    a.op(&[0xba]); // mov edx, O_WRONLY | O_CLOEXEC
    a.op(&((libc::O_WRONLY | libc::O_CLOEXEC) as u32).to_le_bytes());
    a.op(&[0x45, 0x31, 0xd2]); // xor r10d, r10d
    a.op(&[0xb8]); // mov eax, SYS_openat
    a.op(&(libc::SYS_openat as u32).to_le_bytes());
    a.op(&[0x0f, 0x05]); // syscall: blocks until `start` opens the other end
    a.op(&[0x48, 0x85, 0xc0]); // test rax, rax
    a.jump(&[0x0f, 0x88], "gate_failed"); // js
    a.op(&[0x48, 0x89, 0xc7]); // mov rdi, rax
    a.rip(&[0x48, 0x8d, 0x35], Target::Zero); // lea rsi, [rip+ZERO]
    a.op(&[0xba, 1, 0, 0, 0]); // mov edx, 1
    a.op(&[0xb8, 1, 0, 0, 0]); // mov eax, SYS_write
    a.op(&[0x0f, 0x05]); // syscall
    a.op(&[0x48, 0x85, 0xc0]); // test rax, rax
    a.jump(&[0x0f, 0x88], "gate_failed"); // js
    a.op(&[0x48, 0x8b, 0x74, 0x24, 0x08]); // mov rsi, [rsp+8]
    a.op(&[0x48, 0x83, 0xc6, GATE_PATH.len() as u8]); // add rsi, len("/proc/self/fd/")
    a.op(&[0x31, 0xff]); // xor edi, edi
    a.label("digit");
    a.op(&[0x0f, 0xb6, 0x06]); // movzx eax, byte [rsi]
    a.op(&[0x85, 0xc0]); // test eax, eax
    a.jump(&[0x0f, 0x84], "close"); // jz
    a.op(&[0x6b, 0xff, 0x0a]); // imul edi, edi, 10
    a.op(&[0x8d, 0x7c, 0x07, 0xd0]); // lea edi, [rdi+rax-'0']
    a.op(&[0x48, 0xff, 0xc6]); // inc rsi
    a.jump(&[0xe9], "digit"); // jmp
    a.label("close");
    a.op(&[0xb8, 3, 0, 0, 0]); // mov eax, SYS_close
    a.op(&[0x0f, 0x05]); // syscall: the handle, not for the program
    a.op(&[0x48, 0x8b, 0x04, 0x24]); // mov rax, [rsp]
    a.op(&[0x48, 0xff, 0xc8]); // dec rax
    a.op(&[0x48, 0x89, 0x44, 0x24, 0x08]); // mov [rsp+8], rax
    a.op(&[0x48, 0x83, 0xc4, 0x08]); // add rsp, 8: argc - 1, then argv[1..]
    a.jump(&[0xe9], "exec"); // jmp
    a.label("gate_failed");
    a.rip(&[0x4c, 0x8d, 0x2d], Target::GatePrefix); // lea r13, [rip+GATE_PREFIX]
    a.length(&[0x41, 0xbe], Target::GatePrefix); // mov r14d, its length
    a.op(&[0x41, 0xbf, 1, 0, 0, 0]); // mov r15d, 1
    a.jump(&[0xe9], "report"); // jmp
    let entry = a.at("gate");
    (a, entry)
}

/// How init names the gate's handle to the stub (argv[0]), before its number.
pub const GATE_PATH: &str = "/proc/self/fd/";

/// The whole ELF file: header, a PT_LOAD of the file (r-x) and a PT_GNU_STACK
/// (rw-, so the stack is not executable), code, then the data: the two
/// message prefixes, the gate's byte, the table of (offset, length) per
/// errno, and the texts.
fn image(prog: &str, gate: bool, text_of: &dyn Fn(i32) -> String) -> Vec<u8> {
    let exec_prefix = super::process::exec_error_prefix(prog).into_bytes();
    let gate_prefix = super::start_gate::stub_error_prefix().into_bytes();
    let mut table = Vec::with_capacity(ERRNOS * 4);
    let mut blob: Vec<u8> = Vec::new();
    for errno in 0..ERRNOS as i32 {
        let text = format!("{}\n", text_of(errno));
        let (off, len) = (blob.len(), text.len());
        assert!(
            off + len <= u16::MAX as usize,
            "errno texts outgrew the table"
        );
        table.extend((off as u16).to_le_bytes());
        table.extend((len as u16).to_le_bytes());
        blob.extend(text.as_bytes());
    }
    let (code, entry) = code(gate);
    let code_at = EHDR + 2 * PHDR;
    let exec_prefix_at = code_at + code.bytes.len();
    let gate_prefix_at = exec_prefix_at + exec_prefix.len();
    let zero_at = gate_prefix_at + gate_prefix.len();
    let table_at = zero_at + 1;
    let blob_at = table_at + table.len();
    let total = blob_at + blob.len();

    let mut out = Vec::with_capacity(total);
    // ELF header.
    out.extend([0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    out.extend([0; 8]);
    out.extend(2u16.to_le_bytes()); // ET_EXEC
    out.extend(62u16.to_le_bytes()); // EM_X86_64
    out.extend(1u32.to_le_bytes()); // EV_CURRENT
    out.extend((BASE + (code_at + entry) as u64).to_le_bytes()); // e_entry
    out.extend((EHDR as u64).to_le_bytes()); // e_phoff
    out.extend(0u64.to_le_bytes()); // e_shoff
    out.extend(0u32.to_le_bytes()); // e_flags
    out.extend((EHDR as u16).to_le_bytes());
    out.extend((PHDR as u16).to_le_bytes());
    out.extend(2u16.to_le_bytes()); // e_phnum
    out.extend([0; 6]); // e_shentsize, e_shnum, e_shstrndx
                        // PT_LOAD, r-x, the whole file.
    out.extend(1u32.to_le_bytes());
    out.extend(5u32.to_le_bytes());
    out.extend(0u64.to_le_bytes());
    out.extend(BASE.to_le_bytes());
    out.extend(BASE.to_le_bytes());
    out.extend((total as u64).to_le_bytes());
    out.extend((total as u64).to_le_bytes());
    out.extend(0x1000u64.to_le_bytes());
    // PT_GNU_STACK, rw-.
    out.extend(0x6474_e551u32.to_le_bytes());
    out.extend(6u32.to_le_bytes());
    out.extend([0; 40]);
    out.extend(16u64.to_le_bytes());
    debug_assert_eq!(out.len(), code_at);

    let mut bytes = code.bytes.clone();
    let mut put = |at: usize, v: i32| bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
    // rel32 and rip-relative: from the end of the 4-byte field (the next instruction).
    for &(at, label) in &code.jumps {
        put(at, code.at(label) as i32 - (at + 4) as i32);
    }
    for &(at, target) in &code.data {
        let to = match target {
            Target::ExecPrefix => exec_prefix_at,
            Target::GatePrefix => gate_prefix_at,
            Target::Zero => zero_at,
            Target::Table => table_at,
            Target::Blob => blob_at,
        };
        put(at, to as i32 - (code_at + at + 4) as i32);
    }
    for &(at, of) in &code.lengths {
        let len = match of {
            Target::GatePrefix => gate_prefix.len(),
            _ => exec_prefix.len(),
        };
        put(at, len as i32);
    }
    out.extend(bytes);
    out.extend(exec_prefix);
    out.extend(gate_prefix);
    out.push(b'0');
    out.extend(table);
    out.extend(blob);
    out
}

#[cfg(test)]
mod tests;

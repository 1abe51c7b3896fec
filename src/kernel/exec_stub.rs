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
//! The program (hand-assembled, 176 bytes of headers and about 120 of code):
//! ```text
//! _start:  if argc < 2: rax = -ENOEXEC, go to short
//!          rdi = argv[0]            ; the program's path (init resolved PATH)
//!          rsi = &argv[1]           ; the program's own argv
//!          rdx = &argv[argc + 1]    ; envp
//!          execve(rdi, rsi, rdx)
//!          ; it returned: -errno in rax
//! short:
//!          i = -rax, or 0 if i >= number of messages
//!          write(2, PREFIX, PREFIX_LEN)      ; "nook-runtime init: ... \"prog\": "
//!          write(2, BLOB + OFF[i], LEN[i])   ; the errno's text and "\n"
//!          exit_group(127)
//! ```
//! init always passes the path and the program's argv (never empty): fewer
//! than two arguments means the stub was entered again through
//! /proc/self/exe by the program it execs (`#!/proc/self/exe`), each round
//! one argument shorter; it stops there instead of looping.
//! The message is init's own for a failed execve (`process::exec_error`);
//! 127 is the exit status init gives it too.

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
pub fn create(prog: &str) -> Result<OwnedFd> {
    use std::io::Write;
    let image = image(prog, &super::process::exec_error_text);
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

/// Code bytes with the places of the three rip-relative displacements and of
/// the two immediates filled in by `image`.
struct Code {
    bytes: Vec<u8>,
    /// (offset of a disp32, what it points at)
    fixups: Vec<(usize, Target)>,
    prefix_len_at: usize,
}

#[derive(Clone, Copy)]
enum Target {
    Prefix,
    Table,
    Blob,
}

fn code() -> Code {
    let mut b: Vec<u8> = Vec::new();
    let mut fixups = Vec::new();
    b.extend([0x48, 0x8b, 0x04, 0x24]); // mov rax, [rsp]
    b.extend([0x48, 0x83, 0xf8, 0x02]); // cmp rax, 2
    b.extend([0x72, 0x18]); // jb short: the 24 bytes below
    b.extend([0x48, 0x8b, 0x7c, 0x24, 0x08]); // mov rdi, [rsp+8]
    b.extend([0x48, 0x8d, 0x74, 0x24, 0x10]); // lea rsi, [rsp+16]
    b.extend([0x48, 0x8d, 0x54, 0xc4, 0x10]); // lea rdx, [rsp+rax*8+16]
    b.extend([0xb8, 59, 0, 0, 0]); // mov eax, SYS_execve
    b.extend([0x0f, 0x05]); // syscall
    b.extend([0xeb, 0x05]); // jmp over the next instruction
    b.push(0xb8); // short: mov eax, -ENOEXEC
    b.extend((-libc::ENOEXEC).to_le_bytes());
    b.extend([0xf7, 0xd8]); // neg eax
    b.push(0x3d); // cmp eax, ERRNOS
    b.extend((ERRNOS as u32).to_le_bytes());
    b.extend([0x72, 0x02]); // jb +2
    b.extend([0x31, 0xc0]); // xor eax, eax
    b.extend([0x89, 0xc3]); // mov ebx, eax
    b.extend([0xbf, 2, 0, 0, 0]); // mov edi, 2
    b.extend([0x48, 0x8d, 0x35]); // lea rsi, [rip+PREFIX]
    fixups.push((b.len(), Target::Prefix));
    b.extend([0; 4]);
    b.push(0xba); // mov edx, PREFIX_LEN
    let prefix_len_at = b.len();
    b.extend([0; 4]);
    b.extend([0xb8, 1, 0, 0, 0]); // mov eax, SYS_write
    b.extend([0x0f, 0x05]); // syscall
    b.extend([0x48, 0x8d, 0x0d]); // lea rcx, [rip+TABLE]
    fixups.push((b.len(), Target::Table));
    b.extend([0; 4]);
    b.extend([0x0f, 0xb7, 0x34, 0x99]); // movzx esi, word [rcx+rbx*4]
    b.extend([0x0f, 0xb7, 0x54, 0x99, 0x02]); // movzx edx, word [rcx+rbx*4+2]
    b.extend([0x48, 0x8d, 0x05]); // lea rax, [rip+BLOB]
    fixups.push((b.len(), Target::Blob));
    b.extend([0; 4]);
    b.extend([0x48, 0x01, 0xc6]); // add rsi, rax
    b.extend([0xbf, 2, 0, 0, 0]); // mov edi, 2
    b.extend([0xb8, 1, 0, 0, 0]); // mov eax, SYS_write
    b.extend([0x0f, 0x05]); // syscall
    b.extend([0xbf, 127, 0, 0, 0]); // mov edi, 127
    b.extend([0xb8, 231, 0, 0, 0]); // mov eax, SYS_exit_group
    b.extend([0x0f, 0x05]); // syscall
    Code {
        bytes: b,
        fixups,
        prefix_len_at,
    }
}

/// The whole ELF file: header, a PT_LOAD of the file (r-x) and a PT_GNU_STACK
/// (rw-, so the stack is not executable), code, then the data: the message
/// prefix, the table of (offset, length) per errno, and the texts.
fn image(prog: &str, text_of: &dyn Fn(i32) -> String) -> Vec<u8> {
    let prefix = super::process::exec_error_prefix(prog).into_bytes();
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
    let code = code();
    let code_at = EHDR + 2 * PHDR;
    let prefix_at = code_at + code.bytes.len();
    let table_at = prefix_at + prefix.len();
    let blob_at = table_at + table.len();
    let total = blob_at + blob.len();

    let mut out = Vec::with_capacity(total);
    // ELF header.
    out.extend([0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    out.extend([0; 8]);
    out.extend(2u16.to_le_bytes()); // ET_EXEC
    out.extend(62u16.to_le_bytes()); // EM_X86_64
    out.extend(1u32.to_le_bytes()); // EV_CURRENT
    out.extend((BASE + code_at as u64).to_le_bytes()); // e_entry
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

    let mut bytes = code.bytes;
    for (at, target) in code.fixups {
        let to = match target {
            Target::Prefix => prefix_at,
            Target::Table => table_at,
            Target::Blob => blob_at,
        };
        // rip-relative: from the end of the 4-byte field (the next instruction).
        let disp = to as i64 - (code_at + at + 4) as i64;
        bytes[at..at + 4].copy_from_slice(&(disp as i32).to_le_bytes());
    }
    let at = code.prefix_len_at;
    bytes[at..at + 4].copy_from_slice(&(prefix.len() as u32).to_le_bytes());
    out.extend(bytes);
    out.extend(prefix);
    out.extend(table);
    out.extend(blob);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;

    /// The image as a file on disk, run like any program.
    fn stub_file(prog: &str) -> (tempfile_dir::Dir, std::path::PathBuf) {
        let dir = tempfile_dir::Dir::new();
        let path = dir.0.join("stub");
        std::fs::write(&path, image(prog, &crate::kernel::process::exec_error_text)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        (dir, path)
    }

    mod tempfile_dir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let n = N.fetch_add(1, Ordering::Relaxed);
                let p =
                    std::env::temp_dir().join(format!("nook-stub-test-{}-{n}", std::process::id()));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn the_stub_execs_the_program_with_its_argv_and_environment() {
        let (_dir, stub) = stub_file("sh");
        let script = "head -c 8 /proc/$$/cmdline; echo \"|$0|$1|$NOOK_STUB_T\"";
        let out = Command::new(&stub)
            .arg0("/bin/sh")
            .args(["sh-argv0", "-c", script, "zero", "one"])
            .env_clear()
            .env("NOOK_STUB_T", "env kept")
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "sh-argv0|zero|one|env kept\n",
            "{out:?}"
        );
        assert_eq!(out.status.code(), Some(0));
    }

    #[test]
    fn a_failed_execve_says_what_init_says_and_exits_127() {
        let (dir, stub) = stub_file("prog");
        let cases = [
            (dir.0.join("missing"), libc::ENOENT),
            (dir.0.clone(), libc::EACCES),
        ];
        for (path, errno) in cases {
            let out = Command::new(&stub)
                .arg0(&path)
                .arg("prog")
                .output()
                .unwrap();
            let want = format!(
                "{}{}\n",
                crate::kernel::process::exec_error_prefix("prog"),
                crate::kernel::process::exec_error_text(errno)
            );
            assert_eq!(String::from_utf8_lossy(&out.stderr), want);
            assert_eq!(out.status.code(), Some(127));
        }
        // Not an executable format: ENOEXEC's text.
        let text = dir.0.join("text");
        std::fs::write(&text, "just words\n").unwrap();
        std::fs::set_permissions(&text, std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = Command::new(&stub)
            .arg0(&text)
            .arg("prog")
            .output()
            .unwrap();
        let enoexec = crate::kernel::process::exec_error_text(libc::ENOEXEC);
        assert!(
            String::from_utf8_lossy(&out.stderr).ends_with(&format!("\": {enoexec}\n")),
            "{out:?}"
        );
    }

    #[test]
    fn entered_without_a_program_it_stops_with_enoexec() {
        let (_dir, stub) = stub_file("prog");
        let out = Command::new(&stub).arg0("/bin/true").output().unwrap();
        let want = format!(
            "{}{}\n",
            crate::kernel::process::exec_error_prefix("prog"),
            crate::kernel::process::exec_error_text(libc::ENOEXEC)
        );
        assert_eq!(String::from_utf8_lossy(&out.stderr), want);
        assert_eq!(out.status.code(), Some(127));
    }

    #[test]
    fn an_errno_outside_the_table_gets_entry_zero() {
        let text = |e: i32| format!("text {e}");
        let img = image("p", &text);
        let blob = String::from_utf8_lossy(&img);
        assert!(blob.contains("text 0\n") && blob.contains("text 133\n"));
        assert!(!blob.contains("text 134"));
    }

    #[test]
    fn the_sealed_memfd_cannot_be_written() {
        let fd = create("p").unwrap();
        let err = nix::unistd::write(&fd, b"x").unwrap_err();
        assert_eq!(err, nix::errno::Errno::EPERM);
    }

    use std::os::unix::process::CommandExt;
}

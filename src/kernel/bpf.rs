//! eBPF for cgroup v2 device control: bpf(2) BPF_PROG_LOAD of a
//! BPF_PROG_TYPE_CGROUP_DEVICE program and BPF_PROG_ATTACH to a cgroup directory.
//! The instructions come from `plan::cgroup::bpf`.

use crate::error::{Error, Result};
use crate::plan::cgroup::bpf::Insn;
use nix::errno::Errno;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;
const LOG_SIZE: usize = 64 * 1024;

/// `union bpf_attr` for BPF_PROG_LOAD, up to `expected_attach_type` (the kernel
/// accepts a shorter attr than its own and zero-fills the rest).
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// `union bpf_attr` for BPF_PROG_ATTACH.
#[repr(C)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> libc::c_long {
    // SAFETY: `attr` is a live, initialized repr(C) prefix of `union bpf_attr` of the
    // size passed; every pointer inside it points at memory the caller keeps alive
    // for the call. The kernel only reads it (and writes the log buffer it names).
    unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    }
}

/// Load the device program; returns its fd. On a verifier refusal the error carries
/// the last line of the verifier's log.
pub fn load_device_program(prog: &[Insn]) -> Result<OwnedFd> {
    let code: Vec<u8> = prog.iter().flat_map(|i| i.encode()).collect();
    // No helper is called, so the license need not be GPL-compatible.
    let license = c"Apache-2.0";
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: prog.len() as u32,
        insns: code.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..Default::default()
    };
    attr.prog_name[..10].copy_from_slice(b"nook_devcg");
    let ret = bpf(BPF_PROG_LOAD, &mut attr);
    if ret >= 0 {
        // SAFETY: BPF_PROG_LOAD returned a new fd that nothing else owns.
        return Ok(unsafe { OwnedFd::from_raw_fd(ret as i32) });
    }
    let errno = Errno::last();
    if errno == Errno::EPERM {
        return Err(Error::sys(
            "bpf(BPF_PROG_LOAD)",
            "cgroup device program",
            errno,
        ));
    }
    // Again with the verifier's log, for the message.
    let mut log = vec![0u8; LOG_SIZE];
    attr.log_level = 1;
    attr.log_size = LOG_SIZE as u32;
    attr.log_buf = log.as_mut_ptr() as u64;
    let ret = bpf(BPF_PROG_LOAD, &mut attr);
    if ret >= 0 {
        // SAFETY: as above.
        return Ok(unsafe { OwnedFd::from_raw_fd(ret as i32) });
    }
    let text = String::from_utf8_lossy(&log);
    let last = text
        .trim_end_matches('\0')
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("no verifier log")
        .trim()
        .to_string();
    Err(Error::sys(
        "bpf(BPF_PROG_LOAD)",
        format!(
            "cgroup device program of {} instructions (verifier: {last})",
            prog.len()
        ),
        errno,
    ))
}

/// Attach `prog` to the cgroup directory `dir` (BPF_F_ALLOW_MULTI: the programs of
/// the ancestors still run, and all must allow). The attachment lasts as long as the
/// cgroup does; the program fd may be closed afterwards.
pub fn attach_device_program(prog: &OwnedFd, dir: &Path) -> Result<()> {
    let cgroup = std::fs::File::open(dir).map_err(|e| Error::io("open", dir, e))?;
    let mut attr = ProgAttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
    };
    if bpf(BPF_PROG_ATTACH, &mut attr) < 0 {
        return Err(Error::sys(
            "bpf(BPF_PROG_ATTACH)",
            dir.display(),
            Errno::last(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::cgroup::{bpf::device_program, device_rules};

    /// The verifier takes the default program (as root; loading attaches nothing).
    #[test]
    fn the_verifier_accepts_the_default_program() {
        let rules: Vec<oci_spec::runtime::LinuxDeviceCgroup> =
            serde_json::from_str(r#"[{"allow": false, "access": "rwm"}]"#).unwrap();
        let prog = device_program(&device_rules(&rules, &[]));
        match load_device_program(&prog) {
            Ok(_) => {}
            Err(e) if e.errno() == Some(Errno::EPERM) => eprintln!("skipped: {e}"),
            Err(e) => panic!("{e}"),
        }
        let bad = [Insn {
            code: 0x95,
            dst: 0,
            src: 0,
            off: 0,
            imm: 0,
        }];
        match load_device_program(&bad) {
            Err(e) if e.errno() == Some(Errno::EPERM) => {}
            Err(e) => assert!(e.to_string().contains("verifier: "), "{e}"),
            Ok(_) => panic!("r0 is never set: the verifier should refuse"),
        }
    }
}

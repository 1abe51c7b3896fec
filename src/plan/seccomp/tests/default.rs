//! The default profile for `nook run`, run through the interpreter.

use super::*;

const CLONE_NEWUSER: u64 = 0x1000_0000;
/// What glibc's pthread_create passes to clone.
const THREAD_FLAGS: u64 = 0x003d_0f00;

fn default_plan(caps: &[&str]) -> SeccompPlan {
    let mask = caps.iter().fold(0u64, |m, c| {
        m | 1u64
            << std::str::FromStr::from_str(c)
                .map(|c: caps::Capability| c.index())
                .unwrap()
    });
    compiled(default_profile(mask))
}

fn x64(p: &SeccompPlan, name: &str, a0: u64) -> u32 {
    call(p, Abi::X86_64, name, [a0, 0, 0, 0, 0, 0])
}

#[test]
fn blocks_what_docker_documents_as_blocked() {
    let p = default_plan(&[]);
    assert!(p.program.len() < BPF_MAXINSNS, "{}", p.program.len());
    for name in ["getppid", "read", "openat", "execve", "io_setup", "ptrace"] {
        assert_eq!(x64(&p, name, 0), ALLOW, "{name}");
    }
    for name in [
        "mount",
        "umount2",
        "unshare",
        "setns",
        "kexec_load",
        "reboot",
        "keyctl",
    ] {
        assert_eq!(x64(&p, name, 0), EPERM, "{name}");
    }
    for name in [
        "init_module",
        "bpf",
        "perf_event_open",
        "acct",
        "settimeofday",
        "io_uring_setup",
    ] {
        assert_eq!(x64(&p, name, 0), EPERM, "{name}");
    }
    assert_eq!(x64(&p, "clone", THREAD_FLAGS), ALLOW);
    assert_eq!(x64(&p, "clone", CLONE_NEWUSER | 0x11), EPERM);
    assert_eq!(x64(&p, "clone3", 0), ENOSYS, "glibc falls back to clone");
    assert_eq!(x64(&p, "personality", 0), ALLOW);
    assert_eq!(x64(&p, "personality", 0xffff_ffff), ALLOW);
    assert_eq!(x64(&p, "personality", 1), EPERM);
    assert_eq!(x64(&p, "socket", 2), ALLOW);
    assert_eq!(x64(&p, "socket", 40), EPERM, "AF_VSOCK");
    assert_eq!(nr(&p, AUDIT_ARCH_X86_64, 1000), ENOSYS);
    // 32-bit programs work: their ABI-only calls are allowed too.
    assert_eq!(call(&p, Abi::X86, "socketcall", [0; 6]), ALLOW);
    assert_eq!(call(&p, Abi::X86, "mmap2", [0; 6]), ALLOW);
    assert_eq!(call(&p, Abi::X86, "mount", [0; 6]), EPERM);
    assert_eq!(call(&p, Abi::X32, "getppid", [0; 6]), ALLOW);
}

#[test]
fn capabilities_lift_their_lists() {
    let p = default_plan(&["CAP_SYS_ADMIN", "CAP_SYS_TIME"]);
    for name in ["mount", "unshare", "setns", "settimeofday", "clock_settime"] {
        assert_eq!(x64(&p, name, 0), ALLOW, "{name}");
    }
    assert_eq!(x64(&p, "clone", CLONE_NEWUSER), ALLOW);
    assert_eq!(x64(&p, "clone3", 0), ALLOW);
    for name in ["reboot", "init_module", "keyctl", "acct"] {
        assert_eq!(x64(&p, name, 0), EPERM, "{name}");
    }
}

#[test]
fn names_in_the_data_file_are_known() {
    // A typo in default.json would silently allow the syscall: every name must be
    // in some table (or be one the kernel dropped, listed here).
    let data: Value = serde_json::from_str(include_str!("../default.json")).unwrap();
    let gone = ["stime", "vm86", "vm86old", "_sysctl"];
    let lists = data["denied"].as_object().unwrap().values();
    for name in lists.flat_map(|l| l.as_array().unwrap()) {
        let name = name.as_str().unwrap();
        let known = [Abi::X86_64, Abi::X86, Abi::X32]
            .iter()
            .any(|a| lookup(*a, name).is_some());
        assert!(known || gone.contains(&name), "{name}");
    }
}

/// What init asks before giving back its pages at the start gate.
#[test]
fn allows_answers_for_the_filter_as_loaded() {
    let madvise = |p: &SeccompPlan, advice: u64| p.allows(28, [0x1000, 0x2000, advice, 0, 0, 0]);
    const DONTNEED: u64 = 4;
    assert!(madvise(&default_plan(&[]), DONTNEED));
    let only_openat = compiled(json!({
        "defaultAction": "SCMP_ACT_KILL_PROCESS",
        "syscalls": [{"names": ["openat"], "action": "SCMP_ACT_ALLOW"}]
    }));
    assert!(!madvise(&only_openat, DONTNEED));
    assert!(only_openat.allows(257, [0; 6]));
    let logged = compiled(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["madvise"], "action": "SCMP_ACT_LOG"}]
    }));
    assert!(
        !madvise(&logged, DONTNEED),
        "only an untouched syscall counts"
    );
    let by_advice = compiled(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["madvise"], "action": "SCMP_ACT_ERRNO",
                      "args": [{"index": 2, "value": 4, "op": "SCMP_CMP_EQ"}]}]
    }));
    assert!(!madvise(&by_advice, DONTNEED));
    assert!(madvise(&by_advice, 8));
    assert!(!default_plan(&[]).allows(-1, [0; 6]));
}

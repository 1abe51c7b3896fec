//! The stub run for real: the exec, the gate, re-entry and the errors.

use super::*;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

/// The image as a file on disk, run like any program.
fn stub_file(prog: &str) -> (tempfile_dir::Dir, std::path::PathBuf) {
    stub_file_for(prog, false)
}

fn stub_file_for(prog: &str, gate: bool) -> (tempfile_dir::Dir, std::path::PathBuf) {
    let dir = tempfile_dir::Dir::new();
    let path = dir.0.join("stub");
    std::fs::write(
        &path,
        image(prog, gate, &crate::kernel::process::exec_error_text),
    )
    .unwrap();
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
            let p = std::env::temp_dir().join(format!("nook-stub-test-{}-{n}", std::process::id()));
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
    let img = image("p", true, &text);
    let blob = String::from_utf8_lossy(&img);
    assert!(blob.contains("text 0\n") && blob.contains("text 133\n"));
    assert!(!blob.contains("text 134"));
}

#[test]
fn at_a_gate_it_waits_for_the_reader_writes_the_byte_and_leaves_no_handle() {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    let (dir, stub) = stub_file_for("sh", true);
    let fifo = dir.0.join("exec.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    // Inherited by the stub, as init's handle is (no O_CLOEXEC).
    let handle = nix::fcntl::open(
        &fifo,
        nix::fcntl::OFlag::O_PATH,
        nix::sys::stat::Mode::empty(),
    )
    .unwrap();
    let n = handle.as_raw_fd();
    let script = format!("test -e /proc/self/fd/{n} && echo leaked || echo closed; echo \"$0 $1\"");
    let child = Command::new(&stub)
        .arg0(format!("{GATE_PATH}{n}"))
        .args(["/bin/sh", "sh", "-c", &script, "zero", "one"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(handle);
    // Nobody has opened the gate: the program cannot have run yet.
    let exe = std::fs::read_link(format!("/proc/{}/exe", child.id())).unwrap();
    assert_eq!(exe, stub);
    let mut gate = std::fs::File::open(&fifo).unwrap();
    let mut got = Vec::new();
    // The byte, then end-of-file: its end was close-on-exec.
    gate.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"0");
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "closed\nzero one\n");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_gate_it_cannot_open_says_so_as_init_would_and_exits_1() {
    let (_dir, stub) = stub_file_for("prog", true);
    let out = Command::new(&stub)
        .arg0(format!("{GATE_PATH}987654"))
        .args(["/bin/true", "true"])
        .output()
        .unwrap();
    let want = format!(
        "{}{}\n",
        crate::kernel::start_gate::stub_error_prefix(),
        crate::kernel::process::exec_error_text(libc::ENOENT)
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), want);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn at_a_gate_without_a_program_or_the_gates_path_it_stops_with_enoexec() {
    let (_dir, stub) = stub_file_for("prog", true);
    let gate = format!("{GATE_PATH}0");
    // Entered again through /proc/self/exe: the script's path comes first.
    let cases = [
        (gate.as_str(), &[][..]),
        (gate.as_str(), &["/bin/true"][..]),
        ("/proc/self/exe", &["/evil.sh", "a", "b"][..]),
        ("/proc/self/fdX0", &["/bin/true", "true"][..]),
    ];
    for (arg0, args) in cases {
        let out = Command::new(&stub).arg0(arg0).args(args).output().unwrap();
        let want = format!(
            "{}{}\n",
            crate::kernel::process::exec_error_prefix("prog"),
            crate::kernel::process::exec_error_text(libc::ENOEXEC)
        );
        assert_eq!(String::from_utf8_lossy(&out.stderr), want, "{args:?}");
        assert_eq!(out.status.code(), Some(127));
    }
}

#[test]
fn the_sealed_memfd_cannot_be_written() {
    let fd = create("p", false).unwrap();
    let err = nix::unistd::write(&fd, b"x").unwrap_err();
    assert_eq!(err, nix::errno::Errno::EPERM);
}

use std::os::unix::process::CommandExt;

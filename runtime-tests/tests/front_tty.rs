//! `nook run -it` and `nook exec -it` through a real pty (`script(1)` gives
//! nook a terminal; the test types into it): one process and the short id
//! as hostname, the terminal size reaches the container and follows a
//! resize (SIGWINCH), the exit status comes back, and the terminal is
//! restored afterwards.

#[allow(dead_code)]
mod images_support;
// Shared with tests/front_lifecycle.rs; this file uses only part of it.
#[allow(dead_code)]
#[macro_use]
mod front_support;

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `script` running a shell command line on a new pty; we type and read.
struct Pty {
    child: Child,
    out: Arc<Mutex<String>>,
}

impl Pty {
    fn start(cmdline: &str) -> Pty {
        let mut child = Command::new("script")
            .args(["-qefc", cmdline, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("script(1)");
        let out = Arc::new(Mutex::new(String::new()));
        let (o, mut so) = (out.clone(), child.stdout.take().unwrap());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = so.read(&mut buf) {
                if n == 0 {
                    break;
                }
                o.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Pty { child, out }
    }
    fn text(&self) -> String {
        self.out.lock().unwrap().clone()
    }
    /// Wait until the output has `n` occurrences of `what`.
    fn wait_for(&self, what: &str, n: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.text().matches(what).count() < n {
            assert!(
                Instant::now() < deadline,
                "no {what:?} in {:?}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.text()
    }
    fn send(&mut self, s: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(s.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    fn finish(mut self) -> (i32, String) {
        drop(self.child.stdin.take());
        let code = self.child.wait().unwrap().code().unwrap_or(-1);
        std::thread::sleep(Duration::from_millis(100));
        (code, self.text())
    }
}

fn have_script() -> bool {
    Command::new("script").arg("--version").output().is_ok()
}

fn nook(f: &front_support::Front) -> String {
    format!(
        "{} --root {}",
        images_support::nook_bin().display(),
        f.n.root.display()
    )
}

#[test]
fn run_it_shell_is_alone_with_its_id_as_hostname() {
    let f = front_or_skip!();
    if !have_script() {
        runtime_tests::skip!("script(1) is not installed");
    }
    let cmd = format!(
        "stty rows 30 cols 100; {} run -it busybox sh; echo nook-exit=$?; stty -a",
        nook(&f)
    );
    let mut p = Pty::start(&cmd);
    p.wait_for("/ # ", 1);
    // Wait for the output, not a prompt: ash redraws its prompt on its own.
    p.send("hostname; ps -o pid,args | wc -l; stty size; echo done-$((6*7))\n");
    p.wait_for("done-42", 1);
    // A resize of nook's terminal follows into the container (SIGWINCH).
    let tty = std::fs::read_link(format!("/proc/{}/fd/0", client_pid(&f))).unwrap();
    assert!(Command::new("stty")
        .arg("-F")
        .arg(&tty)
        .args(["rows", "40", "cols", "120"])
        .status()
        .unwrap()
        .success());
    std::thread::sleep(Duration::from_millis(300));
    p.send("stty size; exit 3\n");
    let (code, text) = p.finish();
    assert_eq!(code, 0, "{text}");
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let at = lines
        .iter()
        .position(|l| l.ends_with("stty size; echo done-$((6*7))"))
        .unwrap();
    let host = lines[at + 1];
    assert_eq!(host.len(), 12, "hostname is the short id: {text}");
    let ids = f.ok(&["ps", "-aq"]);
    assert_eq!(ids.trim(), host, "{text}");
    // A header, sh and ps; wc too when it already ran as ps read /proc (the
    // pipeline starts both; either order happens).
    assert!(
        ["3", "4"].contains(&lines[at + 2].trim()),
        "the shell is alone (ps and wc aside): {text}"
    );
    assert_eq!(lines[at + 3], "30 100", "{text}");
    assert!(
        lines.contains(&"40 120"),
        "resize reached the container: {text}"
    );
    assert!(text.contains("nook-exit=3"), "{text}");
    // The terminal is back in cooked mode with echo.
    let stty = &text[text.find("nook-exit=3").unwrap()..];
    assert!(
        stty.contains(" icanon") && stty.contains(" echo "),
        "{stty}"
    );
    f.ok(&["rm", host]);
}

/// The pid of the running `nook run` client (the one on a terminal).
fn client_pid(f: &front_support::Front) -> i32 {
    let root = f.n.root.display().to_string();
    front_support::processes_with(&root)
        .into_iter()
        .find(|p| {
            let cmd = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd);
            cmd.contains("\0run\0-it") && !cmd.contains("script")
        })
        .expect("the nook client")
}

#[test]
fn exec_it_into_a_detached_container() {
    let f = front_or_skip!();
    if !have_script() {
        runtime_tests::skip!("script(1) is not installed");
    }
    let id = f.detached(&["--name", "bg", "busybox", "sleep", "1000010"]);
    let cmd = format!("{} exec -it bg sh; echo exec-exit=$?", nook(&f));
    let mut p = Pty::start(&cmd);
    p.wait_for("/ # ", 1);
    p.send("tty; ps -o pid,args | grep -c sleep.1000010; exit 4\n");
    let (_, text) = p.finish();
    assert!(
        text.contains("/dev/pts/"),
        "a terminal in the container: {text}"
    );
    assert!(text.contains("exec-exit=4"), "{text}");
    f.ok(&["rm", "-f", "bg"]);
    f.assert_gone(&id, "sleep 1000010");
}

#[test]
fn detach_keys_leave_the_container_running() {
    let f = front_or_skip!();
    if !have_script() {
        runtime_tests::skip!("script(1) is not installed");
    }
    // run -it, then docker's default ctrl-p ctrl-q: nook exits 0 quietly,
    // the shell runs on.
    let cmd = format!(
        "{} run -it --name dk busybox sh; echo run-exit=$?",
        nook(&f)
    );
    let mut p = Pty::start(&cmd);
    p.wait_for("/ # ", 1);
    p.send("echo first-$((40+2))\n");
    p.wait_for("first-42", 1);
    // A lone ctrl-p is passed on (held until the next key shows it is not
    // the sequence); ctrl-p ctrl-q detaches.
    p.send("\x10\x10\x11");
    let (code, text) = p.finish();
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("run-exit=0"), "{text}");
    let status = f.ok(&["ps", "-a", "--filter", "name=dk", "--format", "{{.Status}}"]);
    assert!(
        status.starts_with("Up "),
        "still running after detach: {status:?}\n{text}"
    );
    // attach with other keys: docker's "read escape sequence" and exit 1;
    // the shell still has its state (the same process).
    let cmd = format!(
        "{} attach --detach-keys ctrl-a,x dk; echo attach-exit=$?",
        nook(&f)
    );
    let mut p = Pty::start(&cmd);
    std::thread::sleep(Duration::from_millis(500));
    p.send("echo second-$((50+5))\n");
    p.wait_for("second-55", 1);
    p.send("\x01x");
    let (_, text) = p.finish();
    assert!(text.contains("read escape sequence"), "{text}");
    assert!(text.contains("attach-exit=1"), "{text}");
    // attach again and end the shell: attach returns its status.
    let cmd = format!("{} attach dk; echo attach-exit=$?", nook(&f));
    let mut p = Pty::start(&cmd);
    std::thread::sleep(Duration::from_millis(500));
    p.send("exit 5\n");
    let (_, text) = p.finish();
    assert!(text.contains("attach-exit=5"), "{text}");
    assert!(f
        .ok(&["ps", "-a", "--filter", "name=dk", "--format", "{{.Status}}"])
        .starts_with("Exited (5)"));
    f.ok(&["rm", "dk"]);
}

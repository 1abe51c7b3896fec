//! `process.terminal: true` with `create --console-socket`: the runtime sends the pty
//! master over the socket, and the container sees a terminal on 0, 1 and 2.

use std::time::Duration;

use runtime_tests::console::{read_master, ConsoleSocket};
use runtime_tests::runtime::last_json_line;
use runtime_tests::{assert_nothing_left, error_text, Bundle, ConfigExt, Runtime};

#[test]
fn terminal_through_console_socket() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    let sock = ConsoleSocket::bind(&b.host_dir("c").join("sock"));
    b.config.terminal(true).probe_args(&["tty"]);
    let id = rt.new_id();
    let s = sock.path().to_string_lossy().into_owned();
    rt.create(&b, &id, &["--console-socket", &s]).ok();
    let (master, _name) = sock
        .receive_master(Duration::from_secs(10))
        .expect("pty master from the runtime");
    rt.start(&id).ok();
    let text = read_master(&master, Duration::from_secs(10), |t| {
        last_json_line(t).is_some()
    });
    let r = last_json_line(&text).unwrap_or_else(|| panic!("no JSON through the pty: {text:?}"));
    assert_eq!(r["isatty"], serde_json::json!([true, true, true]), "{r}");
    assert_eq!(r["ctty"], true, "the pty is the controlling terminal: {r}");
    let name = r["ttyname"].as_str().unwrap_or_default();
    assert!(name.starts_with("/dev/pts/"), "{r}");
    // Output through a terminal has CRLF line ends: the line discipline was in between.
    assert!(text.contains("\r\n"), "{text:?}");
    assert_eq!(
        rt.wait_status(&id, "stopped", Duration::from_secs(10))
            .as_deref(),
        Some("stopped")
    );
    rt.delete(&id).ok();
    assert_nothing_left(&b, &rt, &id);
}

#[test]
fn terminal_report_shows_pty_on_all_stdio() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    let sock = ConsoleSocket::bind(&b.host_dir("c").join("sock"));
    b.config.terminal(true).probe_args(&[]);
    let id = rt.new_id();
    let s = sock.path().to_string_lossy().into_owned();
    rt.create(&b, &id, &["--console-socket", &s]).ok();
    let (master, _) = sock
        .receive_master(Duration::from_secs(10))
        .expect("master");
    rt.start(&id).ok();
    let text = read_master(&master, Duration::from_secs(10), |t| {
        last_json_line(t).is_some()
    });
    let r = last_json_line(&text).unwrap_or_else(|| panic!("no report: {text:?}"));
    for fd in ["0", "1", "2"] {
        assert_eq!(r["tty"][fd]["isatty"], true, "fd {fd}: {}", r["tty"]);
        let target = r["tty"][fd]["target"].as_str().unwrap_or_default();
        assert!(target.starts_with("/dev/pts/"), "fd {fd} -> {target}");
    }
    rt.delete_force(&id);
}

#[test]
fn terminal_without_console_socket_is_refused() {
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.config.terminal(true);
    let id = rt.new_id();
    let out = rt.create(&b, &id, &[]);
    out.failed();
    // runc: "cannot allocate tty if runc will detach without setting console socket"
    let msg = error_text(&out);
    assert!(msg.contains("console"), "{out}");
    assert_nothing_left(&b, &rt, &id);
}

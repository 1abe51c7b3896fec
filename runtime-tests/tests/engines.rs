//! The runtime under test behind real engines: podman (`--runtime`), containerd (`ctr run
//! --runc-binary`) and dockerd (`runtimes` in daemon.json), each started with private
//! state under a temp dir, offline, with an image built from the fixture rootfs. Every
//! engine goes through the same scenario; the runtime argv each engine used is printed
//! (run with `--nocapture`) and checked. See docs/engines.md.
//!
//! The tests are `#[ignore]`d so the behaviour suite does not start engines; `make
//! test-engines` runs them with `--include-ignored`, one at a time.
//! `NOOK_RUNTIME=/usr/sbin/runc` runs the same tests with runc, the oracle.

use runtime_tests::engines::cleanup::cgroup_dirs;
use runtime_tests::engines::{containerd::Containerd, docker::Docker, podman::Podman, Engine};
use runtime_tests::env::unique_name;
use runtime_tests::{mode, skip, Mode, Output};

/// Panic with the command's output, the runtime calls so far and `what`.
fn fail(e: &dyn Engine, what: &str, out: &Output) -> ! {
    panic!(
        "[{}] {what}\n{out}\n--- runtime calls ---\n{}",
        e.name(),
        e.sandbox().runtime_calls()
    );
}

fn expect_ok(e: &dyn Engine, what: &str, out: Output) -> Output {
    if !out.success() {
        fail(e, what, &out);
    }
    out
}

fn expect_status(e: &dyn Engine, name: &str, wanted: &[&str]) {
    let mut seen = String::new();
    for _ in 0..50 {
        seen = e.status(name);
        if wanted.contains(&seen.as_str()) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!(
        "[{}] {name}: status {seen:?}, wanted one of {wanted:?}\n--- runtime calls ---\n{}",
        e.name(),
        e.sandbox().runtime_calls()
    );
}

const STOPPED: &[&str] = &["exited", "stopped"];

/// The container's memory limit as seen inside (cgroup v1, else v2).
const READ_LIMIT: &str = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null \
                          || cat /sys/fs/cgroup/memory.max";

/// Foreground runs: output, exit code, memory limit, terminal, a runtime error.
fn foreground(e: &dyn Engine) {
    let out = expect_ok(e, "run echo hi", e.run_rm(&[], &["echo", "hi"]));
    assert_eq!(out.stdout.trim(), "hi", "[{}] run output\n{out}", e.name());

    let out = e.run_rm(&[], &["sh", "-c", "exit 3"]);
    if out.status != 3 {
        fail(e, "exit code 3 propagated", &out);
    }

    if e.limits() {
        let flags = e.memory_flags(64 << 20);
        let out = expect_ok(
            e,
            "run --memory",
            e.run_rm(&flags, &["sh", "-c", READ_LIMIT]),
        );
        assert_eq!(
            out.stdout.trim(),
            "67108864",
            "[{}] memory limit\n{out}",
            e.name()
        );
    }

    let out = expect_ok(e, "run -t tty", e.run_rm(&e.tty_flags(), &["tty"]));
    if !out.stdout.contains("/dev/pts/") {
        fail(e, "run -t: stdin is a pty", &out);
    }

    let out = e.run_rm(&[], &["/nonexistent"]);
    let text = format!("{}{}", out.stdout, out.stderr);
    if out.success() || !text.contains("/nonexistent") || !text.contains("no such file") {
        fail(
            e,
            "a missing executable: the runtime's error is shown",
            &out,
        );
    }
    // nook's own wording (runc's says `stat /nonexistent: ...`): the engine shows the
    // runtime's error, not one of its own.
    let own = "exec: \"/nonexistent\": no such file or directory";
    if !runtime_tests::is_runc() && !text.contains(own) {
        fail(
            e,
            "a missing executable: nook-runtime's message is shown",
            &out,
        );
    }
}

/// Detached: exec (plain and with a pty), top, pause/unpause, stop, kill, rm.
fn detached(e: &dyn Engine) {
    let name = unique_name("d-");
    expect_ok(e, "run -d", e.run_detached(&name, &["sleep", "1000"]));
    expect_status(e, &name, &["running"]);

    let out = e.exec(&name, &["sh", "-c", "echo in-exec; exit 5"]);
    if out.status != 5 || out.stdout.trim() != "in-exec" {
        fail(e, "exec output and exit code 5", &out);
    }
    let out = expect_ok(e, "exec -t tty", e.exec_tty(&name, &["tty"]));
    if !out.stdout.contains("/dev/pts/") {
        fail(e, "exec -t: stdin is a pty", &out);
    }

    let out = expect_ok(e, "top", e.top(&name));
    if out.stdout.lines().count() < 2 {
        fail(e, "top lists the container's process", &out);
    }

    let update = match e.limits() {
        true => e.update_memory(&name, 96 << 20),
        false => None,
    };
    if let Some(out) = update {
        expect_ok(e, "update --memory", out);
        let out = expect_ok(
            e,
            "read the limit",
            e.exec(&name, &["sh", "-c", READ_LIMIT]),
        );
        assert_eq!(
            out.stdout.trim(),
            "100663296",
            "[{}] updated limit\n{out}",
            e.name()
        );
        let calls = e.sandbox().runtime_calls();
        assert!(
            calls
                .lines()
                .any(|l| l.split_whitespace().any(|w| w == "update")),
            "[{}] the engine did not call the runtime's update:\n{calls}",
            e.name()
        );
    }

    if e.limits() {
        expect_ok(e, "pause", e.pause(&name));
        expect_status(e, &name, &["paused"]);
        expect_ok(e, "unpause", e.unpause(&name));
        expect_status(e, &name, &["running"]);
    }

    expect_ok(e, "stop", e.stop(&name));
    expect_status(e, &name, STOPPED);
    expect_ok(e, "rm", e.rm(&name));
    assert!(
        !e.exists(&name),
        "[{}] {name} still exists after rm",
        e.name()
    );

    let name = unique_name("k-");
    expect_ok(e, "run -d", e.run_detached(&name, &["sleep", "1000"]));
    expect_status(e, &name, &["running"]);
    expect_ok(e, "kill", e.kill(&name));
    expect_status(e, &name, STOPPED);
    expect_ok(e, "rm after kill", e.rm(&name));
    assert!(
        !e.exists(&name),
        "[{}] {name} still exists after rm",
        e.name()
    );
}

/// The runtime commands the engine used, printed as a record and checked.
fn record(e: &dyn Engine, expected: &[&str]) {
    let calls = e.sandbox().runtime_calls();
    eprintln!("== runtime calls by {} ==\n{calls}", e.name());
    for cmd in expected {
        let used = calls.lines().any(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words.windows(1).any(|w| w[0] == *cmd)
        });
        assert!(used, "[{}] never called `{cmd}`:\n{calls}", e.name());
    }
}

/// After every container was removed, the runtime must have removed the cgroups it made
/// under the engine's cgroup parent (podman's own `conmon` cgroup aside).
fn no_container_cgroups_left(e: &dyn Engine) {
    let parent = e.sandbox().cgroup_parent();
    let left: Vec<String> = cgroup_dirs(parent)
        .iter()
        .filter_map(|d| d.strip_prefix("/sys/fs/cgroup").ok())
        .map(|d| d.display().to_string())
        .filter(|d| !d.ends_with(parent) && !d.ends_with("/conmon"))
        .collect();
    assert!(
        left.is_empty(),
        "[{}] cgroups left after rm: {left:?}\n--- runtime calls ---\n{}",
        e.name(),
        e.sandbox().runtime_calls()
    );
}

fn scenario(e: &dyn Engine) {
    foreground(e);
    detached(e);
    no_container_cgroups_left(e);
    let frozen: &[&str] = if e.limits() {
        &["pause", "resume"]
    } else {
        &[]
    };
    let mut verbs = vec!["create", "start", "exec", "kill", "delete"];
    verbs.extend_from_slice(frozen);
    record(e, &verbs);
}

macro_rules! engine_test {
    ($test:ident, $ty:ty) => {
        engine_test!($test, $ty, start);
    };
    ($test:ident, $ty:ty, $start:ident) => {
        #[test]
        #[ignore = "starts engines: run by `make test-engines` (--include-ignored)"]
        fn $test() {
            if mode() != Mode::Root {
                skip!("engines run as real root only");
            }
            let engine = match <$ty>::$start() {
                Err(reason) => skip!("{reason}"),
                Ok(Err(setup)) => panic!("engine setup failed: {setup}"),
                Ok(Ok(e)) => e,
            };
            scenario(&engine);
        }
    };
}

engine_test!(podman_with_runtime_path, Podman);
engine_test!(podman_rootless_with_runtime_path, Podman, start_rootless);
engine_test!(containerd_ctr_runc_binary, Containerd);
engine_test!(dockerd_registered_runtime, Docker);

/// A user-defined bridge network: dockerd configures the container's interface from a
/// prestart hook (`/proc/<dockerd>/exe libnetwork-setkey ...`) that the runtime runs.
#[test]
#[ignore = "starts engines: run by `make test-engines` (--include-ignored)"]
fn dockerd_user_network_prestart_hook() {
    if mode() != Mode::Root {
        skip!("engines run as real root only");
    }
    let d = match Docker::start() {
        Err(reason) => skip!("{reason}"),
        Ok(Err(setup)) => panic!("engine setup failed: {setup}"),
        Ok(Ok(d)) => d,
    };
    let out = match d.run_on_user_network(&["ifconfig", "eth0"]) {
        Ok(out) => expect_ok(&d, "run on a user-defined network", out),
        Err(setup) => panic!("docker network create/rm failed:\n{setup}"),
    };
    let (_, subnet) = d.network();
    let prefix = subnet.rsplit_once('.').map(|(p, _)| p).unwrap_or_default();
    if !out.stdout.contains(&format!("inet addr:{prefix}.")) {
        fail(
            &d,
            "eth0 configured by the network (prestart hook ran)",
            &out,
        );
    }
    assert!(
        d.sandbox().runtime_calls().contains("create"),
        "the runtime under test was not used"
    );
}

/// `features` (runtime-spec features.json), which CRI and newer engines read. Runs with
/// the behaviour suite (no engine needed).
#[test]
fn features_document() {
    let rt = runtime_tests::Runtime::under_test();
    let out = rt.exec(&["features"]);
    out.ok();
    let f: serde_json::Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("features JSON: {e}\n{out}"));
    assert!(
        f["ociVersionMax"]
            .as_str()
            .is_some_and(|v| v.starts_with("1.")),
        "{f}"
    );
    let list = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let ns = list(&f["linux"]["namespaces"]);
    for kind in ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"] {
        assert!(
            ns.iter().any(|n| n == kind),
            "namespace {kind} missing: {ns:?}"
        );
    }
    let opts = list(&f["mountOptions"]);
    for o in ["bind", "rbind", "ro", "nosuid", "rprivate"] {
        assert!(
            opts.iter().any(|x| x == o),
            "mount option {o} missing: {opts:?}"
        );
    }
    assert!(list(&f["linux"]["capabilities"])
        .iter()
        .any(|c| c == "CAP_SYS_ADMIN"));
    assert_eq!(list(&f["hooks"]).len(), 6, "{f}");
    assert_eq!(f["linux"]["cgroup"]["v1"], true, "{f}");
    // Both runtimes compile seccomp filters with every operator.
    assert_eq!(f["linux"]["seccomp"]["enabled"], true, "{f}");
    assert!(
        list(&f["linux"]["seccomp"]["operators"])
            .iter()
            .any(|o| o == "SCMP_CMP_MASKED_EQ"),
        "{f}"
    );
    if !runtime_tests::is_runc() {
        // Not implemented by nook: must not be advertised.
        assert!(!opts.iter().any(|x| x == "rro"), "{opts:?}");
    }
}

//! Harness for nook-runtime behaviour tests.
//!
//! The tests in `tests/` drive a runtime binary exactly as an engine does (`create`,
//! `start`, `state`, `kill`, `delete`, `run`, ...) on throw-away bundles, and read what the
//! container saw from `/probe`'s JSON report. Nothing here parses shell output.
//!
//! - [`Bundle`]: a temp bundle per test: a copy of the fixture rootfs plus a config built
//!   from [`config::base_config`] and edited with [`ConfigExt`].
//! - [`Runtime`]: a runtime binary with a private `--root`; [`Runtime::under_test`] is
//!   `$NOOK_RUNTIME` (default `target/debug/nook-runtime`), [`Runtime::runc`] the oracle.
//! - [`mode()`] and [`skip!`]: the suite runs as real root and inside `unshare -r`.
//! - [`assert_nothing_left`]: no state, mount, process or cgroup of a container remains.
//! - [`diff`]: normalise and compare two probe reports (differential tests).
//! - [`shape`]: how init was made, as a createRuntime hook sees it.
//!
//! See docs/testing.md.

pub mod bundle;
pub mod caps;
pub mod cgroups;
pub mod config;
pub mod console;
pub mod diff;
pub mod edit;
pub mod engines;
pub mod env;
pub mod leftovers;
pub mod output;
pub mod report;
pub mod runtime;
pub mod seccomp_notify;
pub mod shape;

pub use bundle::Bundle;
pub use config::ConfigExt;
pub use env::{is_runc, mode, Mode};
pub use leftovers::assert_nothing_left;
pub use runtime::{Output, Runtime};

/// Skip the current test: print `SKIP <binary>::<test>: <reason> [<mode>]` on stderr, append
/// the same line to `$NOOK_SKIP_LOG` (default `target/test-skips.log`), and return.
#[macro_export]
macro_rules! skip {
    ($($reason:tt)+) => {{
        $crate::env::record_skip(&format!($($reason)+));
        return;
    }};
}

/// Skip the current test when containers run in a user namespace below the host's
/// (`userns` and `rootless` modes), with a reason.
#[macro_export]
macro_rules! skip_in_userns {
    ($($reason:tt)+) => {{
        if $crate::mode().in_userns() {
            $crate::skip!($($reason)+);
        }
    }};
}

/// Skip the current test when only uid/gid 0 can be mapped (`userns`, or `rootless`
/// without a subuid range), with a reason.
#[macro_export]
macro_rules! skip_if_only_root_mapped {
    ($($reason:tt)+) => {{
        if $crate::env::only_root_mapped() {
            $crate::skip!($($reason)+);
        }
    }};
}

/// A short error text as runtimes print it: the last non-empty line of stderr, or of
/// the `--log` file when stderr is empty.
pub fn error_text(out: &Output) -> String {
    out.stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .to_string()
}

/// A container running `/bin/true` under a memory limit of `bytes` (v1 or v2): the
/// runtime under test must start it (its own pages are not charged to the container);
/// runc 1.1.5 is expected to fail under 1 MiB (DIVERGENCE: its init does not fit).
/// Nothing may be left behind either way.
pub fn assert_true_runs_under_memory_limit(bytes: u64) {
    let rt = Runtime::under_test();
    let b = Bundle::new();
    b.save_with(|c| {
        c["linux"]["resources"] = serde_json::json!({"memory": {"limit": bytes}});
        c["process"]["args"] = serde_json::json!(["/bin/true"]);
    });
    let id = rt.new_id();
    let out = rt.run_saved(&b, &id, &[]);
    if is_runc() {
        assert_ne!(
            out.status, 0,
            "runc was expected to fail under {bytes} bytes:\n{out}"
        );
    } else {
        out.ok();
    }
    assert_nothing_left(&b, &rt, &id);
}

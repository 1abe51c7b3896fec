//! Helpers for the `nook` container-command tests: a store with the fixture
//! busybox image, commands with a timeout, and the leftovers check (mounts,
//! processes, cgroups, files) for containers that are gone.

use crate::images_support::{nook_with_busybox, Nook, Out};
use runtime_tests::leftovers::{cgroups_named, mounts_mentioning};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A container that prints `tick` until SIGINT, then `got-int` and exits 7.
pub const TICK: &str = "trap 'echo got-int; exit 7' INT; while true; do echo tick; sleep 0.1; done";

pub struct Front {
    pub n: Nook,
}

/// Can a container run as uid 1000? Not under `unshare -r` (`userns` mode:
/// only uid 0 is mapped). As a user, `nook` maps the whole subuid range.
pub fn uid_1000_mapped() -> bool {
    runtime_tests::mode() != runtime_tests::Mode::Userns
}

/// The `-u` value to run as and the id it gives: `1000:1000` where uid 1000 is
/// mapped, else `0:0` (under `unshare -r` -u 1000 is EINVAL).
pub fn user_1000_or_root() -> (&'static str, &'static str) {
    match uid_1000_mapped() {
        true => ("1000:1000", "1000"),
        false => ("0:0", "0"),
    }
}

/// A store with busybox loaded, or the reason to skip.
pub fn front() -> Result<Front, String> {
    let n = nook_with_busybox().ok_or("fixture images missing: run `make fixtures`")?;
    Ok(Front { n })
}

#[macro_export]
macro_rules! front_or_skip {
    () => {
        match front_support::front() {
            Ok(f) => f,
            Err(why) => runtime_tests::skip!("{why}"),
        }
    };
}

impl Front {
    pub fn run(&self, args: &[&str]) -> Out {
        self.n.run(args)
    }
    pub fn ok(&self, args: &[&str]) -> String {
        self.n.ok(args)
    }
    /// A `nook` command left running (stdout and stderr piped).
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.n
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn nook")
    }
    /// `run -d ...`: the full id.
    pub fn detached(&self, args: &[&str]) -> String {
        let mut all = vec!["run", "-d"];
        all.extend_from_slice(args);
        let id = self.ok(&all).trim().to_string();
        assert_eq!(id.len(), 64, "run -d prints the full id: {id:?}");
        id
    }
    pub fn dir(&self, id: &str) -> PathBuf {
        self.n.root.join("containers").join(id)
    }
    pub fn monitor_pid(&self, id: &str) -> i32 {
        let text = std::fs::read_to_string(self.dir(id).join("monitor.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["pid"].as_i64().unwrap() as i32
    }
    /// `ps -a` as JSON objects.
    pub fn ps_all(&self) -> Vec<serde_json::Value> {
        self.ok(&["ps", "-a", "--no-trunc", "--format", "json"])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
    pub fn status_of(&self, id: &str) -> String {
        self.ps_all()
            .into_iter()
            .find(|v| v["ID"] == id)
            .map(|v| v["Status"].as_str().unwrap().to_string())
            .unwrap_or_else(|| "<absent>".into())
    }
    /// Nothing of container `id` remains: directory, runtime state, mounts
    /// of the store, cgroup, and no process whose command line has `marker`.
    pub fn assert_gone(&self, id: &str, marker: &str) {
        let mut problems = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            problems.clear();
            if self.dir(id).exists() {
                problems.push(format!("{} exists", self.dir(id).display()));
            }
            let rt = self.n.root.join("runtime").join(id);
            if rt.exists() {
                problems.push(format!("{} exists", rt.display()));
            }
            problems.extend(mounts_mentioning(&self.n.root));
            problems.extend(cgroups_named(&format!("nook/{id}")));
            problems.extend(
                processes_with(marker)
                    .iter()
                    .map(|p| format!("process {p}")),
            );
            problems.extend(
                processes_with(id)
                    .iter()
                    .map(|p| format!("process {p} (monitor?)")),
            );
            if problems.is_empty() || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(problems.is_empty(), "left behind: {problems:#?}");
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        // Whatever a failed test left running.
        let ids = self.n.run(&["ps", "-aq", "--no-trunc"]).stdout;
        let ids: Vec<&str> = ids.lines().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids);
            self.n.run(&args);
        }
    }
}

/// Pids whose command line contains `needle`.
pub fn processes_with(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| *p != me)
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .map(|c| {
                    String::from_utf8_lossy(&c)
                        .replace('\0', " ")
                        .contains(needle)
                })
                .unwrap_or(false)
        })
        .collect()
}

/// Poll `cond` for up to `secs` seconds.
pub fn eventually(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// One line of stderr, with docker's exit code 125.
pub fn assert_error_125(o: &Out, needle: &str) {
    assert_eq!(o.code, 125, "exit code: {}", o.stderr);
    assert_eq!(
        o.stderr.trim().lines().count(),
        1,
        "one line: {:?}",
        o.stderr
    );
    assert!(o.stderr.contains(needle), "{:?} lacks {needle:?}", o.stderr);
}

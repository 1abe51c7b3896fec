//! How a container's processes are kept from the runtime's binary on the host
//! (CVE-2019-5736): the decision for `create` and `run`.
//!
//! The danger is init's final execve: a program that resolves /proc/self/exe
//! there runs the runtime's binary inside the container, with a handle on the
//! host's file. Two defences:
//! - the **exec stub** (kernel::exec_stub): init execs a tiny sealed program
//!   that execs the container's program, so /proc/self/exe at that execve is
//!   the stub. Cheap (a memfd of a few KiB and one small exec), so it is the
//!   default where it changes nothing else:
//!   - with a start gate (`create`), init execs the stub as soon as it is
//!     ready and the stub waits at the gate (start_gate): a container
//!     waiting for `start` could have its pid namespace joined by another
//!     container meanwhile (by path), whose processes must not see an init
//!     running from the host's file (security.rs tries exactly that);
//!   - no createContainer or startContainer hooks: init forks and execs
//!     those in the container's namespaces, a startContainer hook's path
//!     resolved in the image, so a hook that resolves /proc/self/exe would
//!     reach the host's file (and a process it leaves behind could hold it);
//!   - init is in a pid namespace of its own, so no container process can
//!     see it (its /proc/<pid>/exe) before its execve;
//!   - the exec through the stub leaves the capabilities as they were: the
//!     process is root (exec gives root the same sets each time), or every
//!     capability it has is ambient (kept as it is by an exec);
//!   - the seccomp filter lets the stub's `execveat` and `execve` through,
//!     and at a gate its `prctl` (not dumpable while it waits, as init) and
//!     its `openat`, `write` and `close` of the gate.
//!
//!   (nook sets no LSM labels, whose exec transitions would apply to the
//!   stub: with LSM support this gains a condition.)
//! - otherwise the runtime **re-executes itself** from a sealed view of its
//!   binary (kernel::selfexe) before anything is made, and its processes
//!   never run from the host's file at all. `exec` always does this: the
//!   container's processes can see the process that joins them.
#![forbid(unsafe_code)]

use crate::error::Result;
use crate::kernel::{exec_stub, selfexe};
use crate::plan::{NsKind, Plan};
use std::os::fd::{AsRawFd, OwnedFd};

/// The stub for this container, or `None` when the runtime already runs from
/// a sealed view. Where the stub cannot be used, re-executes (returns only on
/// failure to). `gateless`: `run` without a start gate; else the stub waits
/// at the gate.
pub fn prepare(plan: &Plan, gateless: bool) -> Result<Option<OwnedFd>> {
    if selfexe::is_sealed_copy() {
        return Ok(None);
    }
    let why_not = match why_not_stub(plan) {
        None => match exec_stub::create(&plan.process.args[0], !gateless) {
            Ok(stub) if seccomp_allows(plan, &stub, !gateless) => return Ok(Some(stub)),
            Ok(_) => "the seccomp filter does not let the stub's system calls through".to_string(),
            Err(e) => e.to_string(),
        },
        Some(why) => why.to_string(),
    };
    crate::log::debug(&format!(
        "exec stub not used ({why_not}): re-executing sealed"
    ));
    let Err(e) = selfexe::reexec_sealed();
    Err(e)
}

/// Why the stub would not be safe, or would change the container, for `plan`.
fn why_not_stub(plan: &Plan) -> Option<&'static str> {
    if !cfg!(target_arch = "x86_64") {
        return Some("the stub is x86-64 code");
    }
    let hooks = &plan.hooks;
    if !hooks.create_container.is_empty() || !hooks.start_container.is_empty() {
        return Some("init runs hooks in the container's namespaces");
    }
    let own_pid_ns = plan
        .namespaces
        .iter()
        .any(|n| n.kind == NsKind::Pid && n.path.is_none());
    if !own_pid_ns {
        return Some("init has no pid namespace of its own");
    }
    let p = &plan.process;
    let caps_kept = p.uid == 0
        || p.caps
            .as_ref()
            .is_some_and(|c| (c.permitted | c.effective | c.inheritable) & !c.ambient == 0);
    if !caps_kept {
        return Some("a non-root process with capabilities that are not all ambient");
    }
    None
}

/// The filter, as loaded, must let init's `execveat` of the stub and the
/// stub's `execve` through untouched, and at a gate the stub's
/// `prctl(PR_SET_DUMPABLE, 0)`, its `openat` of the gate
/// (write-only, close-on-exec), its one-byte `write` and the handle's
/// `close`. Pointer arguments are not known here (filters do not look at
/// them); nor are the fds the stub writes to and closes, taken as 3 (a
/// filter that tells fds apart is not one this runtime can foresee).
fn seccomp_allows(plan: &Plan, stub: &OwnedFd, gate: bool) -> bool {
    plan.seccomp.as_ref().is_none_or(|f| {
        let fd = stub.as_raw_fd() as u64;
        let at_empty_path = libc::AT_EMPTY_PATH as u64;
        let execs = f.allows(libc::SYS_execveat, [fd, 0, 0, 0, at_empty_path, 0])
            && f.allows(libc::SYS_execve, [0; 6]);
        let at_fdcwd = libc::AT_FDCWD as i64 as u64;
        let flags = (libc::O_WRONLY | libc::O_CLOEXEC) as u64;
        let dumpable = libc::PR_SET_DUMPABLE as u64;
        let waits = !gate
            || f.allows(libc::SYS_prctl, [dumpable, 0, 0, 0, 0, 0])
                && f.allows(libc::SYS_openat, [at_fdcwd, 0, flags, 0, 0, 0])
                && f.allows(libc::SYS_write, [3, 0, 1, 0, 0, 0])
                && f.allows(libc::SYS_close, [3, 0, 0, 0, 0, 0]);
        execs && waits
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(edit: impl FnOnce(&mut serde_json::Value)) -> Plan {
        crate::plan::for_test(edit)
    }

    fn stub_ok(p: &Plan) -> bool {
        why_not_stub(p).is_none() || !cfg!(target_arch = "x86_64")
    }

    #[test]
    fn the_default_config_takes_the_stub() {
        assert!(stub_ok(&plan(|_| {})));
    }

    #[test]
    fn hooks_run_by_init_take_the_re_exec() {
        for kind in ["createContainer", "startContainer"] {
            let p = plan(|v| v["hooks"] = json!({kind: [{"path": "/bin/true"}]}));
            assert!(why_not_stub(&p).is_some(), "{kind}");
        }
        for kind in ["prestart", "createRuntime", "poststart", "poststop"] {
            let p = plan(|v| v["hooks"] = json!({kind: [{"path": "/bin/true"}]}));
            assert_eq!(why_not_stub(&p), None, "{kind}: run by the runtime");
        }
    }

    #[test]
    fn a_pid_namespace_not_its_own_takes_the_re_exec() {
        let none = plan(|v| {
            let ns = v["linux"]["namespaces"].as_array_mut().unwrap();
            ns.retain(|n| n["type"] != "pid");
        });
        assert!(why_not_stub(&none).is_some());
        let joined = plan(|v| {
            for n in v["linux"]["namespaces"].as_array_mut().unwrap() {
                if n["type"] == "pid" {
                    n["path"] = json!("/proc/1/ns/pid");
                }
            }
        });
        assert!(why_not_stub(&joined).is_some());
    }

    #[test]
    fn a_non_root_process_takes_the_stub_only_with_every_capability_ambient() {
        let set = |v: &mut serde_json::Value, ambient: bool| {
            v["process"]["user"] = json!({"uid": 1000, "gid": 1000});
            let caps = json!(["CAP_NET_RAW"]);
            let c = &mut v["process"]["capabilities"];
            for s in ["bounding", "effective", "permitted", "inheritable"] {
                c[s] = caps.clone();
            }
            c["ambient"] = if ambient { caps } else { json!([]) };
        };
        assert!(why_not_stub(&plan(|v| set(v, false))).is_some());
        assert!(stub_ok(&plan(|v| set(v, true))));
        let root = plan(|v| v["process"]["capabilities"]["ambient"] = json!([]));
        assert!(stub_ok(&root), "root: exec gives the same sets each time");
    }

    #[test]
    fn a_filter_refusing_the_stubs_execs_takes_the_re_exec() {
        let fd: OwnedFd = std::fs::File::open("/dev/null").unwrap().into();
        let with = |names: serde_json::Value| {
            plan(|v| {
                v["linux"]["seccomp"] = json!({
                    "defaultAction": "SCMP_ACT_ALLOW",
                    "architectures": ["SCMP_ARCH_X86_64"],
                    "syscalls": [{"names": names, "action": "SCMP_ACT_ERRNO"}]
                });
            })
        };
        for gate in [false, true] {
            assert!(seccomp_allows(&plan(|_| {}), &fd, gate), "no filter");
            assert!(seccomp_allows(&with(json!(["mkdir"])), &fd, gate));
            assert!(!seccomp_allows(&with(json!(["execveat"])), &fd, gate));
            assert!(!seccomp_allows(&with(json!(["execve"])), &fd, gate));
        }
        // The gate's syscalls matter only to a stub that waits there.
        for name in ["prctl", "openat", "write", "close"] {
            let f = with(json!([name]));
            assert!(seccomp_allows(&f, &fd, false), "{name}");
            assert!(!seccomp_allows(&f, &fd, true), "{name}");
        }
    }
}

//! One clone: the parent clones init straight into its new namespaces
//! (clone3 with the CLONE_NEW* flags and, on cgroup v2, CLONE_INTO_CGROUP), as
//! crun does: init is PID 1 from birth, and no intermediate process forks,
//! exits and wakes anyone. The parent writes the id maps while init waits for
//! its Ack. Where one clone cannot do it, `split` says so and the
//! intermediate (intermediate.rs) does the work.
#![forbid(unsafe_code)]

use super::channel::{Channel, Msg};
use super::Request;
use crate::error::Result;
use crate::kernel::cgroup::Joining;
use crate::kernel::{namespace, process};
use crate::plan::{NsKind, Plan};
use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use std::convert::Infallible;

/// The new namespaces of a one-clone launch: made by the clone itself, or by
/// init's `unshare` once the parent has placed it and written its maps.
#[derive(Debug, Clone, Copy)]
pub struct Split {
    pub clone: CloneFlags,
    pub later: CloneFlags,
}

/// How to launch `req` with one clone, or `None` where it takes the
/// intermediate:
/// - exec joins a running container (setns, then a fork for its pid namespace);
/// - a namespace given by path is joined with setns, in runc's order (a user
///   namespace first, host-owned ones with our own privileges), and a pid
///   namespace joined by path only holds the *children* of who joined it;
/// - a new user namespace whose maps the parent could not write: `/proc/<pid>/`
///   of a non-dumpable child belongs to root, which `newuidmap` refuses (the
///   child inherits our dumpable flag, and it must already be set at birth).
///
/// A new time namespace is made by the clone (the child is born in it): nook
/// writes no `timeOffsets`; offsets, which must be written before any process
/// enters the namespace, would take the intermediate's unshare + write + fork.
///
/// With a cgroup made in steps (`Request::cgroup_later`) the network
/// namespace is made by init's `unshare`, not by the clone: the longest part
/// of the clone (a loopback device, sysctl tables, sysfs entries) then runs
/// beside the parent's making of the v1 hierarchies, on another CPU.
pub fn split(req: &Request) -> Option<Split> {
    let dumpable = || nix::sys::prctl::get_dumpable().unwrap_or(false);
    let net_later = req.cgroup_later.is_some();
    split_for(req.plan, req.exec_into.is_some(), net_later, dumpable)
}

fn split_for(
    plan: &Plan,
    exec: bool,
    net_later: bool,
    dumpable: impl Fn() -> bool,
) -> Option<Split> {
    if exec || plan.namespaces.iter().any(|n| n.path.is_some()) {
        return None;
    }
    let new_user = plan.has_new(NsKind::User);
    if new_user && !dumpable() {
        return None;
    }
    let mut split = Split {
        clone: CloneFlags::empty(),
        later: CloneFlags::empty(),
    };
    for ns in plan.namespaces.iter().filter(|n| n.path.is_none()) {
        let later = match ns.kind {
            // Rooted at the cgroup its creator is in: on v1 init moves
            // itself only after the clone. (With CLONE_INTO_CGROUP the kernel
            // roots a cloned cgroup namespace at the target, but one rule for
            // both layouts costs one unshare.)
            NsKind::Cgroup => true,
            // Their first objects take their creator's ids (the loopback
            // device's sysfs files, the mqueue root): made, as by runc, once
            // init is root of its user namespace, not by the host's root.
            // Net also beside the parent's work (`split`).
            NsKind::Net => new_user || net_later,
            NsKind::Ipc => new_user,
            _ => false,
        };
        if later {
            split.later |= ns.kind.flag();
        } else {
            split.clone |= ns.kind.flag();
        }
    }
    Some(split)
}

/// init's first steps after the clone (the intermediate's share of the work),
/// then the recipe (init.rs).
pub fn main(
    req: &Request,
    chan: &Channel,
    joining: &Joining,
    later: CloneFlags,
    ack: bool,
    waits: super::init::Waits,
) -> Result<Infallible> {
    let born = joining
        .join_v1()
        .and_then(|_| born(req, chan, later, ack))
        .and_then(|_| match waits.cgroup_later {
            // The v1 hierarchies the parent made meanwhile: joined before
            // any mount, hook or device node (as where they are made first).
            true => chan.expect_ack().and_then(|_| req.cgroup.join_v1()),
            false => Ok(()),
        });
    if let Err(e) = born {
        let _ = chan.send(&Msg::Error { msg: e.to_string() });
        return Err(e);
    }
    super::init::main(req, chan, waits)
}

fn born(req: &Request, chan: &Channel, later: CloneFlags, ack: bool) -> Result<()> {
    // If the runtime dies while we set up, so do we. (Had it died before this
    // line, its end of the channel is closed: the wait below fails, or
    // without one, the check.)
    process::set_parent_death_signal(Some(Signal::SIGKILL))?;
    // We are in the container's cgroup (born in its cgroup2 directory, or
    // moved by the parent where the kernel could not do that), and the
    // parent has written our id maps. Where it had neither to do, it sends
    // no Ack: the round trip was init's longest wait of a plain `run`.
    if ack {
        chan.expect_ack()?;
    } else if chan.peer_gone() {
        return Err(crate::error::Error::Init("runtime went away".into()));
    }
    // /proc/PID/exe of a half-made container must not be reachable (CVE-2019-5736).
    process::set_dumpable(false)?;
    if req.plan.has_new(NsKind::User) {
        super::intermediate::become_root()?;
        // A change of ids clears the death signal: set it again.
        process::set_parent_death_signal(Some(Signal::SIGKILL))?;
    }
    if !later.is_empty() {
        namespace::create(later)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(namespaces: serde_json::Value) -> Plan {
        crate::plan::for_test(|v| {
            v["linux"]["namespaces"] = namespaces;
            let map = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
            v["linux"]["uidMappings"] = map.clone();
            v["linux"]["gidMappings"] = map;
        })
    }

    const NEW_FIVE: CloneFlags = CloneFlags::CLONE_NEWPID
        .union(CloneFlags::CLONE_NEWNET)
        .union(CloneFlags::CLONE_NEWIPC)
        .union(CloneFlags::CLONE_NEWUTS)
        .union(CloneFlags::CLONE_NEWNS);

    #[test]
    fn runcs_default_namespaces_all_come_with_the_clone() {
        let p = plan(
            json!([{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
            {"type": "uts"}, {"type": "mount"}]),
        );
        let s = split_for(&p, false, false, || true).unwrap();
        assert_eq!(s.clone, NEW_FIVE);
        assert!(s.later.is_empty());
    }

    #[test]
    fn net_waits_for_init_beside_a_cgroup_made_in_steps() {
        let p = plan(
            json!([{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
            {"type": "uts"}, {"type": "mount"}]),
        );
        let s = split_for(&p, false, true, || true).unwrap();
        assert_eq!(s.clone, NEW_FIVE - CloneFlags::CLONE_NEWNET);
        assert_eq!(s.later, CloneFlags::CLONE_NEWNET);
        let host_net = plan(json!([{"type": "pid"}, {"type": "mount"}]));
        let s = split_for(&host_net, false, true, || true).unwrap();
        assert!(s.later.is_empty(), "no network namespace asked for");
    }

    #[test]
    fn cgroup_namespace_waits_for_the_placement() {
        let p = plan(json!([{"type": "pid"}, {"type": "cgroup"}, {"type": "mount"}]));
        let s = split_for(&p, false, false, || true).unwrap();
        assert_eq!(s.clone, CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWNS);
        assert_eq!(s.later, CloneFlags::CLONE_NEWCGROUP);
    }

    #[test]
    fn in_a_new_user_namespace_net_and_ipc_wait_for_the_maps() {
        let p = plan(
            json!([{"type": "user"}, {"type": "pid"}, {"type": "network"},
            {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "time"}]),
        );
        let s = split_for(&p, false, false, || true).unwrap();
        let time = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);
        assert_eq!(
            s.clone,
            CloneFlags::CLONE_NEWUSER
                | CloneFlags::CLONE_NEWPID
                | CloneFlags::CLONE_NEWUTS
                | CloneFlags::CLONE_NEWNS
                | time
        );
        assert_eq!(s.later, CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWIPC);
    }

    #[test]
    fn paths_exec_and_unwritable_maps_take_the_intermediate() {
        let joined = plan(json!([{"type": "pid"}, {"type": "network", "path": "/proc/1/ns/net"}]));
        assert!(
            split_for(&joined, false, false, || true).is_none(),
            "a path"
        );
        let five = plan(json!([{"type": "pid"}, {"type": "mount"}]));
        assert!(split_for(&five, true, false, || true).is_none(), "exec");
        assert!(
            split_for(&five, false, false, || false).is_some(),
            "no user namespace: no maps"
        );
        let user = plan(json!([{"type": "user"}, {"type": "pid"}, {"type": "mount"}]));
        assert!(
            split_for(&user, false, false, || false).is_none(),
            "maps a non-dumpable child"
        );
    }
}

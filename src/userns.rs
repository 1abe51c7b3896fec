//! Rootless `nook`: the commands that write images or run containers re-run
//! themselves inside a user namespace that maps the user to root and
//! container ids 1.. onto the user's /etc/subuid and /etc/subgid ranges, and a
//! mount namespace of their own (as `podman unshare` does). Inside, layers
//! unpack with their real owners (0, 1000, 65534 become the user, and
//! start+999, start+65533 of the range on the host), overlayfs mounts, and the
//! runtime runs as uid 0 of that namespace. Nothing created can be owned by an
//! id outside the user's ranges: the kernel maps every id through them.
//!
//! ```text
//!  nook (user, host namespace)            nook (same argv, _NOOK_USERNS=pending:R:G)
//!    │ spawn ───────────────────────────► │ unshare(USER|NS); write R
//!    │ ◄─────────────────────────── ready │
//!    │ newuidmap/newgidmap PID …          │
//!    │ write G ─────────────────────────► │ setresuid/gid(0); _NOOK_USERNS=in:UID:GID:N
//!    │ forward signals, wait              │ the command, as uid 0 of the namespace
//!    │ exit with its status               │
//! ```
#![forbid(unsafe_code)]

use crate::error::{Context, Error, Result, SysResult};
use crate::kernel::{idmap, namespace};
use crate::plan::{IdMap, IdMaps, MapWriter};
use crate::subid::{Delegation, Kind};
use nix::sched::CloneFlags;
use nix::sys::signal::{SigSet, Signal};
use std::os::fd::{AsFd, AsRawFd};

const VAR: &str = "_NOOK_USERNS";

/// Where this process stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Not asked for: root, or a command that needs no namespace.
    Outside,
    /// The child, before the parent wrote its maps (fds of the two pipes).
    Pending { ready: i32, go: i32 },
    /// Inside: the invoking user's host uid and gid, and how many ids are mapped.
    Inside { uid: u32, gid: u32, ids: u32 },
}

pub fn stage() -> Stage {
    let v = std::env::var(VAR).unwrap_or_default();
    let f: Vec<&str> = v.split(':').collect();
    match f.as_slice() {
        ["pending", r, g] => match (r.parse(), g.parse()) {
            (Ok(ready), Ok(go)) => Stage::Pending { ready, go },
            _ => Stage::Outside,
        },
        ["in", u, g, n] => match (u.parse(), g.parse(), n.parse()) {
            (Ok(uid), Ok(gid), Ok(ids)) => Stage::Inside { uid, gid, ids },
            _ => Stage::Outside,
        },
        _ => Stage::Outside,
    }
}

/// Should this process (about to run a command that writes the store) first
/// move into the user namespace? Only when not root and not already inside.
pub fn wanted() -> bool {
    !nix::unistd::geteuid().is_root() && stage() == Stage::Outside
}

/// The maps: the user as 0, then each delegated range in order from 1.
pub fn maps(own: u32, ranges: &[crate::subid::Range]) -> Vec<IdMap> {
    let mut out = vec![IdMap {
        container: 0,
        host: own,
        size: 1,
    }];
    let mut next = 1u32;
    for r in ranges {
        out.push(IdMap {
            container: next,
            host: r.start,
            size: r.count,
        });
        next = next.saturating_add(r.count);
    }
    out
}

/// The parent: start this command again inside the namespace, write its
/// maps, pass on signals, and return its exit status (128+N if killed by N).
pub fn run_inside() -> Result<i32> {
    crate::doctor::require_rootless()?;
    let (uid, gid) = (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    );
    let d = Delegation::detect(uid);
    let helper = |k: Kind| {
        d.helper(k)
            .cloned()
            .ok_or_else(|| Error::unsupported("rootless", format!("{} not found", k.helper())))
    };
    let id_maps = IdMaps {
        uid: maps(uid, &d.subuid),
        gid: maps(gid, &d.subgid),
        uid_writer: MapWriter::Helper(helper(Kind::Uid)?),
        gid_writer: MapWriter::Helper(helper(Kind::Gid)?),
    };
    let ids = id_maps
        .uid
        .iter()
        .map(|m| m.size)
        .sum::<u32>()
        .min(id_maps.gid.iter().map(|m| m.size).sum());
    // Close-on-exec but for the child's two ends, which it inherits.
    let pipe = || nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).sys("pipe2", "userns sync");
    let (ready_r, ready_w) = pipe()?;
    let (go_r, go_w) = pipe()?;
    for fd in [&ready_w, &go_r] {
        nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        )
        .sys("fcntl(F_SETFD)", "userns sync")?;
    }
    // Signals wait here for the child (blocked before it exists; std resets
    // the mask in the child).
    let mut sigs = SigSet::empty();
    for s in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGCHLD,
    ] {
        sigs.add(s);
    }
    sigs.thread_block().sys("sigprocmask", "nook")?;
    let exe = std::fs::read_link("/proc/self/exe")
        .map_err(|e| Error::io("readlink", "/proc/self/exe", e))?;
    let mut child = std::process::Command::new(&exe)
        .args(std::env::args_os().skip(1))
        .env(
            VAR,
            format!("pending:{}:{}", ready_w.as_raw_fd(), go_r.as_raw_fd()),
        )
        .env("_NOOK_USERNS_ORIGIN", format!("{uid}:{gid}:{ids}"))
        .spawn()
        .map_err(|e| Error::io("exec", &exe, e))?;
    drop((ready_w, go_r));
    let pid = child.id() as i32;
    let mut byte = [0u8; 1];
    let ready = nix::unistd::read(ready_r.as_fd(), &mut byte).unwrap_or(0) == 1;
    if ready {
        if let Err(e) = idmap::apply(pid, &id_maps) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        nix::unistd::write(&go_w, b"g").sys("write", "userns sync")?;
    }
    drop(go_w);
    let sfd = nix::sys::signalfd::SignalFd::new(&sigs).sys("signalfd", "nook")?;
    loop {
        if let Some(st) = child.try_wait().map_err(|e| Error::io("wait", &exe, e))? {
            use std::os::unix::process::ExitStatusExt;
            return Ok(st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0)));
        }
        let Ok(Some(info)) = sfd.read_signal() else {
            continue;
        };
        if let Some(s) = to_forward(info.ssi_signo, info.ssi_code) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), s);
        }
    }
}

/// The signal to pass on to the child, if any. A terminal sends SIGINT and
/// SIGQUIT to the whole process group, the child included (code SI_KERNEL):
/// passing those on would deliver them twice. Sent by kill(2) (SI_USER, e.g.
/// to this pid alone), every one is passed on.
fn to_forward(signo: u32, code: i32) -> Option<Signal> {
    let s = Signal::try_from(signo as i32).ok()?;
    match s {
        Signal::SIGCHLD => None,
        Signal::SIGINT | Signal::SIGQUIT if code == libc::SI_KERNEL => None,
        s => Some(s),
    }
}

/// A command on an existing container, by a user outside any namespace of
/// nook's: join the user namespace of the container's process `pid` (made by
/// the `nook run` or `start` that created it, owned by this user), so that its
/// namespaces may be joined and its processes, whatever their ids, signalled.
/// Nothing to do as root, inside a namespace already, or when it is ours.
pub fn join_container(pid: i32) -> Result<()> {
    if nix::unistd::geteuid().is_root() || stage() != Stage::Outside {
        return Ok(());
    }
    let theirs = std::path::PathBuf::from(format!("/proc/{pid}/ns/user"));
    let ino = |p: &std::path::Path| {
        std::fs::metadata(p).ok().map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.ino()
        })
    };
    if ino(&theirs).is_none() || ino(&theirs) == ino("/proc/self/ns/user".as_ref()) {
        return Ok(());
    }
    namespace::join(&theirs, CloneFlags::CLONE_NEWUSER)
        .context(|| "joining the container's user namespace".to_string())
}

/// The child, first thing in main: enter the namespaces, wait for the maps,
/// become root there, and mark the environment (a later re-exec of this
/// binary, e.g. the sealed copy `run` makes, must not do this again).
pub fn enter(ready: i32, go: i32) -> Result<()> {
    let ready = crate::kernel::fdpass::adopt_inherited(ready)?;
    let go = crate::kernel::fdpass::adopt_inherited(go)?;
    namespace::create(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS)
        .map_err(|e| Error::unsupported("rootless", format!("{e}; see `nook doctor`")))?;
    nix::unistd::write(&ready, b"r").sys("write", "userns sync")?;
    drop(ready);
    let mut byte = [0u8; 1];
    if nix::unistd::read(go.as_fd(), &mut byte).unwrap_or(0) != 1 {
        return Err(Error::Init("the id maps were not written".into()));
    }
    drop(go);
    let root = (nix::unistd::Gid::from_raw(0), nix::unistd::Uid::from_raw(0));
    nix::unistd::setresgid(root.0, root.0, root.0).sys("setresgid", 0)?;
    nix::unistd::setresuid(root.1, root.1, root.1).sys("setresuid", 0)?;
    let origin = std::env::var("_NOOK_USERNS_ORIGIN").unwrap_or_default();
    std::env::set_var(VAR, format!("in:{origin}"));
    std::env::remove_var("_NOOK_USERNS_ORIGIN");
    Ok(())
}

/// `nook run --userns=keep-id`: a user namespace in the container's config
/// where the invoking user's uid and gid are themselves (the namespace's 0 is
/// the user), ids below them shift up by one and those above stay; the
/// process runs as the user unless `-u` said otherwise.
pub fn keep_id(spec: &mut serde_json::Value, as_user: bool) -> Result<()> {
    let Stage::Inside { uid, gid, ids } = stage() else {
        return Err(Error::Usage(
            "--userns=keep-id: only for a user without root (there is nothing to keep as root)"
                .into(),
        ));
    };
    let map = |own: u32| -> Result<serde_json::Value> {
        if own >= ids {
            return Err(Error::Usage(format!(
                "--userns=keep-id: id {own} is beyond the {ids} ids mapped for this user"
            )));
        }
        let mut v = vec![serde_json::json!({"containerID": own, "hostID": 0, "size": 1})];
        if own > 0 {
            v.push(serde_json::json!({"containerID": 0, "hostID": 1, "size": own}));
        }
        if ids > own + 1 {
            v.push(serde_json::json!({"containerID": own + 1, "hostID": own + 1, "size": ids - own - 1}));
        }
        Ok(serde_json::Value::Array(v))
    };
    spec["linux"]["uidMappings"] = map(uid)?;
    spec["linux"]["gidMappings"] = map(gid)?;
    if let Some(ns) = spec["linux"]["namespaces"].as_array_mut() {
        ns.push(serde_json::json!({"type": "user"}));
    }
    if as_user {
        spec["process"]["user"] = serde_json::json!({"uid": uid, "gid": gid});
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_put_the_user_first_then_the_ranges() {
        let r = [
            crate::subid::Range {
                start: 100000,
                count: 65536,
            },
            crate::subid::Range {
                start: 300000,
                count: 10,
            },
        ];
        let m = maps(1001, &r);
        assert_eq!(
            IdMaps::render(&m),
            "0 1001 1\n1 100000 65536\n65537 300000 10\n"
        );
    }
}

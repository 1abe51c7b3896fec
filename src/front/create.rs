//! `nook __create ID`: the short-lived helper the monitor spawns. Like
//! `nook-runtime create`, it gives init the exec stub where that is safe and
//! re-executes from a sealed view of nook otherwise (container::sealing), so
//! no container process can reach nook's file on the host. In a mount
//! namespace of its own it mounts the overlay
//! snapshot, creates the container through the runtime library, sends init's
//! pid (and the pty master) to the monitor's socket, and exits: init, now an
//! orphan, is reparented to the monitor (a subreaper). The mount lives on in
//! the container's namespace only: nothing is mounted on the host.

use super::containers;
use super::proto;
use crate::container::CreateOptions;
use crate::error::{Error, Result};
use crate::image::store::Store;
use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

pub fn helper(store: &Store, id: &str) -> i32 {
    let created = create(store, id);
    let dir = containers::dir(store, id);
    let Ok(dir_fd) = proto::open_dir(&dir) else {
        return 125;
    };
    let Ok(mut sock) = UnixStream::connect(proto::socket_path(&dir_fd)) else {
        return 125;
    };
    let sent = match &created {
        Ok(l) => {
            let msg = serde_json::json!({"pid": l.pid}).to_string();
            match &l.console {
                Some(m) => {
                    crate::kernel::fdpass::send_fd(sock.as_fd(), msg.as_bytes(), m.as_raw_fd())
                }
                None => sock
                    .write_all(msg.as_bytes())
                    .map_err(|e| Error::io("write", "attach.sock", e)),
            }
        }
        Err(e) => {
            let (msg, code) = super::run::describe_failure(e);
            let v = serde_json::json!({"error": msg, "code": code}).to_string();
            sock.write_all(v.as_bytes())
                .map_err(|e| Error::io("write", "attach.sock", e))
        }
    };
    if sent.is_err() {
        // The monitor is gone: nobody would reap or start this container.
        if created.is_ok() {
            let _ = crate::container::delete(&containers::runtime(store), id, true);
        }
        return 125;
    }
    0
}

fn create(store: &Store, id: &str) -> Result<crate::launch::Launched> {
    let rec = containers::read_record(store, id)?;
    let runtime = containers::runtime(store);
    // State left by a container that ended unseen is dropped first.
    if let Ok(v) = crate::container::state(&runtime, id) {
        if v["status"] == "stopped" {
            crate::container::delete(&runtime, id, true)?;
        }
    }
    let opts = CreateOptions {
        bundle: containers::dir(store, id),
        keep_console: rec.tty,
        limits: match rec.strict_limits {
            true => crate::container::create::LimitPolicy::Strict,
            false => crate::container::create::LimitPolicy::Record,
        },
        ..Default::default()
    };
    // The snapshot is mounted once the runtime library has chosen between the
    // exec stub and a re-exec from a sealed view, which would start this
    // helper again.
    crate::container::create_then(&runtime, id, &opts, || {
        crate::kernel::namespace::create(CloneFlags::CLONE_NEWNS)?;
        crate::kernel::mount::set_propagation(Path::new("/"), MsFlags::MS_REC | MsFlags::MS_SLAVE)?;
        match &rec.overlay {
            Some(data) => crate::kernel::mount::mount(
                Some(Path::new("overlay")),
                &rec.rootfs,
                Some("overlay"),
                MsFlags::empty(),
                Some(data),
            ),
            None => Ok(()),
        }
    })
}

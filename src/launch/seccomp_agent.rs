//! Passing the seccomp notification fd to the agent on `linux.seccomp.listenerPath`,
//! as runc does: one message on a unix stream socket carrying the container's
//! process state (runtime-spec `ContainerProcessState`) and the fd by SCM_RIGHTS.
#![forbid(unsafe_code)]

use crate::error::{Context, Error, Result};
use crate::kernel::fdpass;
use crate::plan::Plan;
use serde_json::{json, Value};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

/// The runtime-spec version written in the state (what runc 1.1 writes).
const OCI_VERSION: &str = "1.0.2";

/// `ContainerProcessState`: `fds` names the fds sent, in order.
pub fn process_state(plan: &Plan, pid: i32) -> Value {
    let mut s = json!({
        "ociVersion": OCI_VERSION,
        "fds": ["seccompFd"],
        "pid": pid,
        "state": {
            "ociVersion": OCI_VERSION,
            "id": plan.id,
            "status": "creating",
            "pid": pid,
            "bundle": plan.bundle,
            "annotations": plan.annotations,
        },
    });
    if let Some(m) = plan
        .seccomp
        .as_ref()
        .and_then(|s| s.listener_metadata.as_ref())
    {
        s["metadata"] = json!(m);
    }
    s
}

/// Connect to the listener and send the state with the fd.
pub fn send(plan: &Plan, pid: i32, listener: &OwnedFd) -> Result<()> {
    let path = plan
        .seccomp
        .as_ref()
        .and_then(|s| s.listener_path.as_ref())
        .ok_or_else(|| Error::config("linux.seccomp.listenerPath", "missing"))?;
    let sock = UnixStream::connect(path)
        .map_err(|e| Error::io("connect", path, e))
        .context(|| "linux.seccomp.listenerPath".into())?;
    let state = process_state(plan, pid).to_string();
    fdpass::send_fd(sock.as_fd(), state.as_bytes(), listener.as_raw_fd())
}

//! Thin wrappers over the kernel facilities nook uses, one file per facility.
//! Every failure comes back as `Error::Sys { call, path, errno }`. This module
//! and `launch/clone.rs` are the only places `unsafe` may appear; each block
//! carries a `// SAFETY:` comment.

pub mod bpf;
pub mod caps;
pub mod cgroup;
pub mod exec_stub;
pub mod fdpass;
pub mod idmap;
pub mod memory;
pub mod mount;
pub mod namespace;
pub mod pivot;
pub mod process;
pub mod procfs;
pub mod resolve;
pub mod seccomp;
pub mod selfexe;
pub mod start_gate;
pub mod tty;
pub mod uts;

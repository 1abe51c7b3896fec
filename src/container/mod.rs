//! Containers as the runtime knows them between commands: state on disk,
//! the allowed transitions, and the commands that move between them.
#![forbid(unsafe_code)]

pub mod cgroups;
pub mod console;
pub mod create;
pub mod exec;
pub mod hooks;
pub mod lifecycle;
pub mod notify;
pub mod run;
pub mod sealing;
pub mod seccomp_cache;
pub mod state;
pub mod store;

pub use create::{create, create_then, CreateOptions, LimitPolicy};
pub use lifecycle::*;
pub use run::run;
pub use state::{Saved, Status};

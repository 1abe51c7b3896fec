//! The docker-style front end's container commands. This version has the
//! foreground `nook run`; the monitor, `-d`, `ps`, `logs` and the rest follow.
#![forbid(unsafe_code)]

pub mod bundle;
pub mod isolation;
pub mod run;
pub mod stats;
pub mod volume;

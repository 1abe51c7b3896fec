//! The docker-style front end's container commands. This version has the
//! foreground `nook run`; the monitor, `-d`, `ps`, `logs` and the rest follow.
#![forbid(unsafe_code)]

mod bundle;
pub mod run;

//! Command-line structures (clap). `runtime` mirrors runc's CLI.
#![forbid(unsafe_code)]

pub mod runtime;
pub mod signal;
pub mod units;

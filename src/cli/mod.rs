//! Command-line structures (clap). `runtime` mirrors runc's CLI; `front` is
//! the docker-style `nook`.
#![forbid(unsafe_code)]

pub mod front;
pub mod front_config;
pub mod front_ctr;
pub mod runtime;
pub mod signal;
pub mod units;

//! The docker-style front end's container commands and the per-container
//! monitor (docs/front.md).
#![forbid(unsafe_code)]

pub mod attach;
pub mod bundle;
pub mod containers;
pub mod create;
pub mod detach;
pub mod exec;
pub mod inspect;
pub mod isolation;
pub mod lifecycle;
pub mod logfile;
pub mod logs;
pub mod monitor;
pub mod pause;
pub mod proto;
pub mod ps;
pub mod ps_format;
pub mod remove;
pub mod restart;
pub mod run;
pub mod stats;
pub mod status;
pub mod volume;

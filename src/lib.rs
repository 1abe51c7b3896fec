//! nook: a Linux container runtime.
//!
//! Data flows in one direction: `cli → spec → plan → launch → kernel`.
//! See `docs/architecture.md` for the shape and the init recipe.

pub mod calendar;
pub mod cli;
pub mod container;
pub mod doctor;
pub mod error;
pub mod front;
pub mod host;
pub mod image;
pub mod kernel;
pub mod launch;
pub mod log;
pub mod plan;
pub mod report;
pub mod spec;
pub mod subid;
pub mod userns;

pub use error::{Error, Result};

//! The OCI runtime spec as nook reads it: loading config.json, validating it with
//! errors that name the JSON field, and the default config for `spec`.
#![forbid(unsafe_code)]

mod defaults;
mod exec;
mod load;
mod validate;

pub use defaults::default_spec;
pub use exec::{exec_process, parse_process, ExecOverrides};
pub use load::{load, parse, parse_resources};
pub use oci_spec::runtime::Spec;
pub use validate::validate;

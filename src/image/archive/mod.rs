//! Image archives: docker-archive and OCI image layout (directory or tar).
#![forbid(unsafe_code)]

pub mod formats;
pub mod stage;

pub use formats::{find_images, Found};
pub use stage::{Source, Staged};

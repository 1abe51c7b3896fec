//! Images: archives in, a verified content store, layers unpacked safely, and
//! what a container needs from an image (config, rootfs snapshot).
//! Nothing here enters a namespace; see docs/images.md.
#![forbid(unsafe_code)]

pub mod compress;
pub mod digest;
pub mod layers;

//! Images: archives in, a verified content store, layers unpacked safely, and
//! what a container needs from an image (config, rootfs snapshot).
//! Nothing here enters a namespace; see docs/images.md.
#![forbid(unsafe_code)]

pub mod archive;
pub mod commands;
pub mod compress;
pub mod config;
pub mod digest;
pub mod import;
pub mod inspect;
pub mod layers;
pub mod load;
pub mod progress;
pub mod reference;
pub mod save;
pub mod snapshot;
pub mod store;
pub mod table;
pub mod time;

/// Remove a tree made by the store (layer directories may hold read-only
/// directories, overlay whiteouts and files of other owners).
pub(crate) fn remove_all(path: &std::path::Path) -> crate::Result<()> {
    make_writable(path);
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(crate::Error::io("remove", path, e)),
    }
}

/// Give the owner write access to every directory, so a non-root store can
/// delete what it unpacked (`0555` directories are common in images).
fn make_writable(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(md) = std::fs::symlink_metadata(path) else {
        return;
    };
    if !md.is_dir() {
        return;
    }
    let mode = md.permissions().mode();
    if mode & 0o700 != 0o700 {
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode | 0o700));
    }
    if let Ok(rd) = std::fs::read_dir(path) {
        for e in rd.flatten() {
            make_writable(&e.path());
        }
    }
}
#[cfg(test)]
pub(crate) mod testsupport;

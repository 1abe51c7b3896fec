//! The test image, built offline from the fixture rootfs (`make fixtures`): umoci makes an
//! OCI layout with one layer, skopeo writes it as a docker-archive or oci-archive that
//! `podman load`, `docker load` and `ctr image import` read.

use std::process::Command;

use super::{Sandbox, IMAGE};
use crate::env::fixture_rootfs;

/// Archive formats skopeo writes.
#[derive(Clone, Copy, Debug)]
pub enum Format {
    Docker,
    Oci,
}

/// Tools the build needs, for a skip reason.
pub const TOOLS: &[&str] = &["umoci", "skopeo"];

fn step(sb: &Sandbox, args: &[&str]) -> Result<(), String> {
    let mut cmd = Command::new(args[0]);
    cmd.args(&args[1..]).current_dir(sb.dir());
    let out = sb.run(cmd);
    if out.success() {
        Ok(())
    } else {
        Err(format!("image build step failed:\n{out}"))
    }
}

/// Build `image.tar` in the sandbox: the fixture rootfs as one layer, `sh` as the
/// command, a PATH. Returns the archive's path.
pub fn build(sb: &Sandbox, format: Format) -> Result<String, String> {
    let layout = sb.path("image/oci");
    let unpacked = sb.path("image/bundle");
    let tagged = format!("{layout}:nook");
    std::fs::create_dir_all(sb.dir().join("image")).map_err(|e| e.to_string())?;
    step(sb, &["umoci", "init", "--layout", &layout])?;
    step(sb, &["umoci", "new", "--image", &tagged])?;
    step(sb, &["umoci", "unpack", "--image", &tagged, &unpacked])?;
    let rootfs = format!("{unpacked}/rootfs");
    std::fs::remove_dir_all(&rootfs).map_err(|e| format!("rm {rootfs}: {e}"))?;
    let fixture = fixture_rootfs().to_string_lossy().into_owned();
    step(sb, &["cp", "-a", &fixture, &rootfs])?;
    step(sb, &["umoci", "repack", "--image", &tagged, &unpacked])?;
    step(
        sb,
        &[
            "umoci",
            "config",
            "--image",
            &tagged,
            "--config.cmd",
            "/bin/sh",
            "--config.env",
            "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        ],
    )?;
    let archive = sb.path("image.tar");
    let dest = match format {
        Format::Docker => format!("docker-archive:{archive}:{IMAGE}"),
        Format::Oci => format!("oci-archive:{archive}:{IMAGE}"),
    };
    step(sb, &["skopeo", "copy", &format!("oci:{tagged}"), &dest])?;
    step(sb, &["rm", "-rf", &sb.path("image")])?;
    Ok(archive)
}

//! `nook` image commands against images made by umoci and skopeo from the
//! fixture rootfs (`rootfs-fixtures/make-images.sh`, run by `make fixtures`):
//! the loaded tree equals `umoci unpack`'s; save → skopeo accepts it and a
//! reload keeps the id; hostile archives fail with one line and change nothing.

// Shared with the front_* tests; this file uses only part of it.
#[allow(dead_code)]
mod images_support;

use images_support::{diff, have, images_dir, nook_with, nook_with_busybox, tree, Nook};
use runtime_tests::env::{fresh_dir, workspace_root};
use runtime_tests::skip;
use std::path::{Path, PathBuf};
use std::process::Command;

fn compare_with_umoci(archive: &str, image: &str) {
    let Some(dir) = images_dir() else {
        skip!("no fixture images (run `make fixtures`; needs umoci and skopeo)")
    };
    if !have("umoci") {
        skip!("umoci is not installed");
    }
    let nook = Nook::new();
    let out = nook.ok(&["load", "-q", "-i", dir.join(archive).to_str().unwrap()]);
    assert_eq!(out, format!("Loaded image: {image}:latest\n"));
    let work = fresh_dir("nook-umoci");
    let mine = work.join("nook-rootfs");
    nook.ok(&["image", "unpack", image, mine.to_str().unwrap()]);
    let bundle = work.join("bundle");
    let mut umoci = Command::new("umoci");
    umoci.args([
        "unpack",
        "--image",
        &format!("{}:{image}", dir.join("oci").display()),
    ]);
    if !nix::unistd::geteuid().is_root() || runtime_tests::mode() == runtime_tests::Mode::Userns {
        umoci.arg("--rootless");
    }
    let st = umoci.arg(&bundle).output().unwrap();
    assert!(
        st.status.success(),
        "umoci unpack: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    let (a, b) = (tree(&mine), tree(&bundle.join("rootfs")));
    assert!(a.len() > 250, "only {} paths unpacked", a.len());
    let d = diff(&a, &b);
    assert!(d.is_empty(), "{} differences:\n{}", d.len(), d.join("\n"));
    let _ = Command::new("chmod")
        .args(["-R", "u+w"])
        .arg(&work)
        .status();
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn docker_archive_by_skopeo_unpacks_like_umoci() {
    compare_with_umoci("busybox-docker.tar", "busybox");
}

#[test]
fn oci_archive_by_skopeo_unpacks_like_umoci() {
    compare_with_umoci("busybox-oci.tar", "busybox");
}

#[test]
fn multi_layer_whiteouts_unpack_like_umoci() {
    compare_with_umoci("multi-docker.tar", "multi");
}

#[test]
fn multi_layer_oci_unpacks_like_umoci() {
    compare_with_umoci("multi-oci.tar", "multi");
}

#[test]
fn save_round_trip_keeps_the_id_and_skopeo_reads_it() {
    let Some(nook) = nook_with("multi-oci.tar") else {
        skip!("no fixture images (run `make fixtures`)")
    };
    let id = nook.ok(&["images", "-q", "--no-trunc", "multi"]);
    let work = fresh_dir("nook-save");
    let saved = work.join("multi.tar");
    nook.ok(&["save", "-o", saved.to_str().unwrap(), "multi"]);
    let again = Nook::new();
    assert_eq!(
        again.ok(&["load", "-i", saved.to_str().unwrap()]),
        "Loaded image: multi:latest\n"
    );
    assert_eq!(again.ok(&["images", "-q", "--no-trunc"]), id);
    assert!(id.starts_with("sha256:") && id.len() == 72, "{id:?}");
    if have("skopeo") {
        let o = Command::new("skopeo")
            .arg("inspect")
            .arg(format!("docker-archive:{}", saved.display()))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "skopeo inspect: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["Layers"].as_array().map(Vec::len), Some(3));
        let oci = work.join("copied");
        let o = Command::new("skopeo")
            .arg("copy")
            .arg("--quiet")
            .arg(format!("docker-archive:{}", saved.display()))
            .arg(format!("oci:{}:t", oci.display()))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "skopeo copy: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    } else {
        runtime_tests::env::record_skip(
            "skopeo is not installed: saved archive not checked by skopeo",
        );
    }
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn hostile_archives_fail_with_one_line_and_change_nothing() {
    let (Some(dir), Some(nook)) = (images_dir(), nook_with_busybox()) else {
        skip!("no fixture images (run `make fixtures`)")
    };
    let listing = || {
        let o = Command::new("find")
            .arg(&nook.root)
            .args(["-not", "-name", "images.lock", "-printf", "%P %y %s\n"])
            .output()
            .unwrap();
        let mut l: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(String::from)
            .collect();
        l.sort();
        l
    };
    let before = listing();
    let cases = [
        ("traversal.tar", "layer entry ../../nook-escape: '..' component refused (escapes the root)"),
        ("absolute.tar", "layer entry /tmp/nook-escape-abs: absolute path refused"),
        ("hardlink.tar", "layer entry h: hardlink target refused: layer entry ../../../etc/passwd: '..' component refused (escapes the root)"),
        ("digest-mismatch.tar", "diff id mismatch (config says sha256:"),
        ("truncated.tar", "archive: tar:"),
    ];
    for (file, want) in cases {
        let o = nook.run(&[
            "load",
            "-q",
            "-i",
            dir.join("hostile").join(file).to_str().unwrap(),
        ]);
        assert_eq!(o.code, 125, "{file}: {}", o.stderr);
        assert_eq!(o.stderr.lines().count(), 1, "{file}: {}", o.stderr);
        assert!(
            o.stderr.starts_with("nook: load ") && o.stderr.contains(want),
            "{file}: {}",
            o.stderr
        );
        assert_eq!(listing(), before, "{file} changed the store");
    }
    // A symlink placed by the layer is followed only beneath the layer's root.
    let o = nook.run(&[
        "load",
        "-q",
        "-i",
        dir.join("hostile/symlink-write.tar").to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    for p in [
        "/tmp/nook-escape-link",
        "/tmp/nook-escape-abs",
        "/nook-escape",
    ] {
        assert!(!Path::new(p).exists(), "{p} written on the host");
    }
    let inside = std::fs::read_dir(nook.root.join("layers"))
        .unwrap()
        .flatten()
        .any(|e| e.path().join("diff/tmp/nook-escape-link").is_file());
    assert!(
        inside,
        "the write through the symlink did not land inside the layer"
    );
}

#[test]
fn images_tag_rmi_like_docker() {
    let Some(dir) = images_dir() else {
        skip!("no fixture images (run `make fixtures`)")
    };
    let nook = Nook::new();
    let o = nook.run(&["load", "-i", dir.join("oci").to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.stdout,
        "Loaded image: busybox:latest\nLoaded image: multi:latest\n"
    );
    nook.ok(&["tag", "busybox", "me/bb:v1"]);
    let table = nook.ok(&["images"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("REPOSITORY") && lines[0].ends_with("SIZE"),
        "{table}"
    );
    assert_eq!(lines.len(), 4, "{table}");
    let json = nook.ok(&["images", "--format", "json", "me/bb"]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(
        (v["Repository"].as_str(), v["Tag"].as_str()),
        (Some("me/bb"), Some("v1"))
    );
    // `nook load < FILE` and `nook images -q`.
    let other = Nook::new();
    let bin = std::env::var_os("NOOK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/debug/nook"));
    let stdin = std::fs::File::open(dir.join("busybox-oci.tar")).unwrap();
    let o = Command::new(bin)
        .arg("--root")
        .arg(&other.root)
        .arg("load")
        .stdin(stdin)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "Loaded image: busybox:latest\n"
    );
    assert_eq!(
        other.ok(&["images", "-q"]).trim(),
        nook.ok(&["images", "-q", "busybox"]).trim()
    );
    let o = nook.run(&["rmi", "busybox:latest"]);
    assert_eq!(
        (o.code, o.stdout.as_str()),
        (0, "Untagged: busybox:latest\n")
    );
    let o = nook.run(&["rmi", "me/bb:v1"]);
    assert!(
        o.stdout.starts_with("Untagged: me/bb:v1\nDeleted: sha256:"),
        "{}",
        o.stdout
    );
    let o = nook.run(&["rmi", "busybox"]);
    assert_eq!(
        (o.code, o.stderr.trim()),
        (125, "nook: no such image: busybox")
    );
    let inspect: serde_json::Value =
        serde_json::from_str(&nook.ok(&["image", "inspect", "multi"])).unwrap();
    assert_eq!(inspect[0]["Config"]["WorkingDir"], "/data");
    assert_eq!(
        inspect[0]["RootFS"]["Layers"].as_array().map(Vec::len),
        Some(3)
    );
}

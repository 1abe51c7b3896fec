//! Snapshots of an image built in the test with whiteouts and an opaque dir:
//! the overlay view (mounted in a private mount namespace of a test thread)
//! equals the flattened copy, writes go to the upper dir, and the copy
//! fallback says why it was used.
use super::*;
use crate::image::layers::testutil::{Layer, Scratch};
use crate::image::load::load_tar;
use crate::image::testsupport::{docker_archive, tree};

fn image(store: &Store) -> Digest {
    let mut l1 = Layer::default();
    l1.dir("etc/", 0o755)
        .file("etc/motd", 0o644, "hi")
        .file("etc/keep", 0o600, "k")
        .dir("var/", 0o755)
        .file("var/old/a", 0o644, "a");
    l1.file("bin/tool", 0o4755, "#!")
        .symlink("bin/sh", "tool")
        .dir("ro/", 0o555);
    let mut l2 = Layer::default();
    l2.file("etc/.wh.motd", 0o644, "")
        .dir("var/", 0o711)
        .file("var/.wh..wh..opq", 0o644, "")
        .file("var/new", 0o644, "n");
    l2.hardlink("var/new-link", "var/new");
    let mut l3 = Layer::default();
    l3.dir("etc/", 0o755)
        .file("etc/motd", 0o640, "back")
        .file(".wh.ro", 0o644, "");
    let ar = docker_archive(&[(&["snap:1"], vec![l1.bytes(), l2.bytes(), l3.bytes()])]);
    load_tar(store, &ar[..], &mut |_| {}).unwrap()[0].id.clone()
}

#[test]
fn copy_fallback_is_flattened_and_says_why() {
    let s = Scratch::new("snap-copy");
    let store = Store::open(&s.root.join("store")).unwrap();
    let id = image(&store);
    let dir = s.root.join("c1");
    let snap = create(&store, &id, "c1", &dir, Want::Copy).unwrap();
    let Snapshot::Copy { rootfs, reason } = &snap else {
        panic!("{snap:?}")
    };
    assert_eq!(reason, "a copy was asked for");
    let t = tree(rootfs);
    assert_eq!(
        std::fs::read_to_string(rootfs.join("etc/motd")).unwrap(),
        "back"
    );
    assert!(
        t["etc/motd"].starts_with("file ") && t["etc/motd"].contains(" 640 "),
        "{:?}",
        t["etc/motd"]
    );
    assert!(!t.contains_key("var/old") && !t.contains_key("ro"), "{t:?}");
    assert!(t["var"].starts_with("dir 711"));
    assert!(t["bin/tool"].contains(" 4755 "));
    assert_eq!(
        t["bin/sh"].split(' ').take(2).collect::<Vec<_>>(),
        ["link", "tool"]
    );
    let e = store.remove("snap:1", false).unwrap_err().to_string();
    assert!(e.contains("in use by container c1"), "{e}");
    remove(&store, &id, "c1", &dir).unwrap();
    assert!(!dir.exists());
    store.remove("snap:1", false).unwrap();
}

#[test]
fn overlay_view_equals_the_flattened_copy() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!(
            "SKIP image::snapshot::overlay_view_equals_the_flattened_copy: needs root to mount"
        );
        return;
    }
    let s = Scratch::new("snap-ovl");
    let store = Store::open(&s.root.join("store")).unwrap();
    let id = image(&store);
    let flat = s.root.join("flat");
    std::fs::create_dir(&flat).unwrap();
    flatten(&store, &id, &flat).unwrap();
    let snap = create(&store, &id, "c2", &s.root.join("c2"), Want::Auto).unwrap();
    assert!(matches!(snap, Snapshot::Overlay { .. }), "{snap:?}");
    let (s2, merged) = (snap.clone(), snap.rootfs().to_path_buf());
    let seen = std::thread::spawn(move || {
        use nix::mount::MsFlags;
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).unwrap();
        crate::kernel::mount::set_propagation(
            Path::new("/"),
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        )
        .unwrap();
        mount_overlay(&s2).unwrap();
        let t = tree(&merged);
        std::fs::write(merged.join("etc/written"), "w").unwrap();
        std::fs::remove_file(merged.join("etc/keep")).unwrap();
        nix::mount::umount(&merged).unwrap();
        t
    })
    .join()
    .unwrap();
    assert_eq!(seen, tree(&flat));
    let Snapshot::Overlay { upper, .. } = &snap else {
        unreachable!()
    };
    assert_eq!(
        std::fs::read_to_string(upper.join("etc/written")).unwrap(),
        "w"
    );
    let wh = std::fs::symlink_metadata(upper.join("etc/keep")).unwrap();
    assert!(
        std::os::unix::fs::FileTypeExt::is_char_device(&wh.file_type()),
        "deletion is a whiteout in upper"
    );
    remove(&store, &id, "c2", &s.root.join("c2")).unwrap();
}

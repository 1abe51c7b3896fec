//! The store with archives built in the test: loads, verification failures
//! that leave the store unchanged, sharing, tags, rmi and prune.
use super::Store;
use crate::image::digest::Digest;
use crate::image::layers::testutil::{Layer, Scratch};
use crate::image::load::{load_tar, Loaded};
use crate::image::testsupport::*;

fn layer(files: &[(&str, &str)]) -> Vec<u8> {
    let mut l = Layer::default();
    for (n, d) in files {
        l.file(n, 0o644, d);
    }
    l.bytes()
}

fn load(store: &Store, bytes: &[u8]) -> crate::Result<Vec<Loaded>> {
    load_tar(store, bytes, &mut |_| {})
}

fn names(store: &Store) -> Vec<String> {
    store.tags().unwrap().keys().cloned().collect()
}

#[test]
fn docker_archive_loads_with_tags_and_layers() {
    let s = Scratch::new("store-docker");
    let store = Store::open(&s.root).unwrap();
    let (l1, l2) = (
        layer(&[("bin/sh", "sh"), ("etc/motd", "hi")]),
        layer(&[("etc/.wh.motd", ""), ("app", "v1")]),
    );
    let ar = docker_archive(&[(
        &["busybox:latest", "docker.io/library/busybox:1.36"],
        vec![l1.clone(), l2.clone()],
    )]);
    let loaded = load(&store, &ar).unwrap();
    assert_eq!(loaded.len(), 1);
    let id = &loaded[0].id;
    assert_eq!(
        *id,
        Digest::of_bytes(&config(&[Digest::of_bytes(&l1), Digest::of_bytes(&l2)]))
    );
    assert_eq!(names(&store), vec!["busybox:1.36", "busybox:latest"]);
    let rec = store.image(id).unwrap();
    assert_eq!(rec.layers.len(), 2);
    assert_eq!(rec.size(), 2 + 2 + 2);
    assert_eq!(rec.created, "2020-09-13T12:26:40Z");
    let d1 = store.layer_diff(&rec.layers[0].diff_id);
    assert_eq!(std::fs::read_to_string(d1.join("etc/motd")).unwrap(), "hi");
    let d2 = store.layer_diff(&rec.layers[1].diff_id);
    assert_eq!(std::fs::read_to_string(d2.join("app")).unwrap(), "v1");
    assert!(
        d2.join("etc/motd").symlink_metadata().is_ok(),
        "whiteout kept in overlay form"
    );
    assert!(store.blob_path(id).exists());
    assert_eq!(store.resolve("busybox").unwrap(), *id);
    assert_eq!(store.resolve(&id.hex()[..5]).unwrap(), *id);
    assert_eq!(
        store.resolve("nope").unwrap_err().to_string(),
        "no such image: nope"
    );
    assert_eq!(
        std::fs::read_dir(s.root.join("tmp")).unwrap().count(),
        0,
        "temp dir removed"
    );
}

#[test]
fn oci_archive_with_gzip_layers_loads() {
    let s = Scratch::new("store-oci");
    let store = Store::open(&s.root).unwrap();
    let t = layer(&[("hello", "world")]);
    let ar = oci_archive("app:v2", &[(gzip(&t), t.clone())]);
    let loaded = load(&store, &ar).unwrap();
    assert_eq!(loaded[0].tags[0].to_string(), "app:v2");
    let rec = store.image(&loaded[0].id).unwrap();
    assert!(rec.manifest.is_some());
    assert_eq!(rec.layers[0].diff_id, Digest::of_bytes(&t));
    assert_eq!(rec.layers[0].blob, Digest::of_bytes(&gzip(&t)));
    assert_eq!(
        std::fs::read_to_string(store.layer_diff(&rec.layers[0].diff_id).join("hello")).unwrap(),
        "world"
    );
}

/// Load `bad` into a store holding one image; the error must be `want` and
/// the store byte-for-byte as before.
fn fails_cleanly(name: &str, bad: &[u8], want: &dyn Fn(&str) -> bool) {
    let s = Scratch::new(name);
    let store = Store::open(&s.root).unwrap();
    load(
        &store,
        &docker_archive(&[(&["base:1"], vec![layer(&[("a", "a")])])]),
    )
    .unwrap();
    let before = snapshot(&s.root);
    let e = load(&store, bad).unwrap_err().to_string();
    assert!(want(&e), "unexpected error: {e}");
    assert_eq!(snapshot(&s.root), before, "store changed by a failed load");
    s.outside_untouched();
}

#[test]
fn corrupt_oci_blob_is_named_and_changes_nothing() {
    let t = layer(&[("x", "x")]);
    let mut ar = oci_archive("x:1", &[(t.clone(), t.clone())]);
    let pos = ar.windows(4).position(|w| w == b"x\0\0\0").unwrap();
    ar[pos] = b'y'; // flips a byte of the layer blob's content
    let want = format!("blob {}: digest mismatch (got ", Digest::of_bytes(&t));
    fails_cleanly("store-corrupt", &ar, &|e| e.starts_with(&want));
}

#[test]
fn diff_id_mismatch_changes_nothing() {
    let good = layer(&[("x", "1")]);
    let ar = docker_archive(&[(&["x:1"], vec![good.clone()])]);
    let evil = layer(&[("x", "2")]);
    let ar = String::from_utf8_lossy(&ar).into_owned().into_bytes();
    let mut ar = ar;
    let pos = ar
        .windows(good.len())
        .position(|w| w == good.as_slice())
        .unwrap();
    ar[pos..pos + good.len()].copy_from_slice(&evil);
    let want = format!(
        "layer {}: blob {}: diff id mismatch",
        Digest::of_bytes(&evil),
        Digest::of_bytes(&evil)
    );
    fails_cleanly("store-diffid", &ar, &|e| e.starts_with(&want));
}

#[test]
fn truncated_archive_changes_nothing() {
    let ar = docker_archive(&[(&["x:1"], vec![layer(&[("big", &"z".repeat(4000))])])]);
    fails_cleanly("store-trunc", &ar[..3000], &|e| {
        e.starts_with("archive: tar:") || e.contains("not in the archive")
    });
}

#[test]
fn hostile_layer_in_archive_changes_nothing() {
    let mut l = Layer::default();
    l.file("../../outside/victim", 0o644, "pwned");
    let ar = docker_archive(&[(&["evil:1"], vec![l.bytes()])]);
    fails_cleanly("store-hostile", &ar, &|e| {
        e.ends_with("layer entry ../../outside/victim: '..' component refused (escapes the root)")
    });
}

#[test]
fn multi_image_archive_shares_layers() {
    let s = Scratch::new("store-multi");
    let store = Store::open(&s.root).unwrap();
    let base = layer(&[("base", "b")]);
    let ar = docker_archive(&[
        (&["one:1"], vec![base.clone(), layer(&[("one", "1")])]),
        (&["two:2"], vec![base.clone(), layer(&[("two", "2")])]),
    ]);
    let mut lines = Vec::new();
    let loaded = load_tar(&store, &ar[..], &mut |l| lines.push(l)).unwrap();
    assert_eq!(loaded.len(), 2);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("unpacking layer"))
            .count(),
        3,
        "{lines:?}"
    );
    assert_eq!(std::fs::read_dir(s.root.join("layers")).unwrap().count(), 3);
    let mut lines = Vec::new();
    load_tar(&store, &ar[..], &mut |l| lines.push(l)).unwrap();
    assert!(lines.is_empty(), "second load unpacked again: {lines:?}");
}

#[test]
fn tag_rmi_prune_and_gc() {
    let s = Scratch::new("store-rmi");
    let store = Store::open(&s.root).unwrap();
    let ar = docker_archive(&[(&["a:1"], vec![layer(&[("f", "1")])])]);
    let id = load(&store, &ar).unwrap()[0].id.clone();
    store.tag("a:1", "b").unwrap();
    assert_eq!(names(&store), vec!["a:1", "b:latest"]);
    let e = store
        .remove(&id.hex()[..12], false)
        .unwrap_err()
        .to_string();
    assert!(e.ends_with("is referenced in multiple repositories"), "{e}");
    let r = store.remove("a:1", false).unwrap();
    assert_eq!((r.untagged, r.deleted.len()), (vec!["a:1".to_string()], 0));
    std::fs::create_dir_all(store.refs_dir(&id).join("ctr1")).unwrap();
    let e = store.remove("b", false).unwrap_err().to_string();
    assert!(e.contains("is in use by container ctr1"), "{e}");
    std::fs::remove_dir_all(store.refs_dir(&id)).unwrap();
    let r = store.remove("b", false).unwrap();
    assert_eq!(r.deleted, vec![id.clone()]);
    assert!(store.images().unwrap().is_empty());
    assert_eq!(
        std::fs::read_dir(s.root.join("layers")).unwrap().count(),
        0,
        "layers collected"
    );
    assert_eq!(
        std::fs::read_dir(s.root.join("blobs/sha256"))
            .unwrap()
            .count(),
        0,
        "blobs collected"
    );
    let id = load(&store, &ar).unwrap()[0].id.clone();
    store.remove("a:1", false).unwrap();
    assert_eq!(
        store.prune().unwrap(),
        Vec::<Digest>::new(),
        "deleted with its last tag already"
    );
    let ar2 = docker_archive(&[(&[], vec![layer(&[("g", "2")])])]);
    let dangling = load(&store, &ar2).unwrap()[0].id.clone();
    assert_ne!(dangling, id);
    assert_eq!(store.prune().unwrap(), vec![dangling]);
}

#[test]
fn import_makes_a_one_layer_image() {
    let s = Scratch::new("store-import");
    let store = Store::open(&s.root).unwrap();
    let rootfs = layer(&[("bin/sh", "sh"), ("etc/hostname", "x")]);
    let name = crate::image::reference::Reference::parse("mine:1").unwrap();
    let gz = gzip(&rootfs);
    let l = crate::image::import::import(&store, &gz[..], Some(&name), &mut |_| {}).unwrap();
    assert_eq!(names(&store), vec!["mine:1"]);
    let rec = store.image(&l.id).unwrap();
    assert_eq!(rec.layers.len(), 1);
    assert_eq!(rec.layers[0].diff_id, Digest::of_bytes(&rootfs));
    assert_eq!(rec.layers[0].blob, Digest::of_bytes(&gz));
    assert!(
        crate::image::time::parse_rfc3339(&rec.created).is_some(),
        "{}",
        rec.created
    );
    let diff = store.layer_diff(&rec.layers[0].diff_id);
    assert_eq!(
        std::fs::read_to_string(diff.join("etc/hostname")).unwrap(),
        "x"
    );
    let cfg = std::fs::read(store.blob_path(&rec.config)).unwrap();
    assert_eq!(Digest::of_bytes(&cfg), l.id);
}

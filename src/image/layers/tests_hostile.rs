//! Hostile layers: each is refused or kept beneath the root; nothing outside changes.
use super::testutil::{flat, Layer, Scratch};
use super::*;

fn refused(s: &Scratch, l: &Layer, want: &str) {
    let e = apply(&l.bytes()[..], &s.root, &flat())
        .unwrap_err()
        .to_string();
    assert_eq!(e, want);
    s.outside_untouched();
}

#[test]
fn dotdot_is_refused() {
    let s = Scratch::new("dotdot");
    let mut l = Layer::default();
    l.file("../outside/victim", 0o644, "pwned");
    refused(
        &s,
        &l,
        "layer entry ../outside/victim: '..' component refused (escapes the root)",
    );
    let mut l = Layer::default();
    l.file("a/b/../../../outside/new", 0o644, "pwned");
    refused(
        &s,
        &l,
        "layer entry a/b/../../../outside/new: '..' component refused (escapes the root)",
    );
}

#[test]
fn absolute_path_is_refused() {
    let s = Scratch::new("abs");
    let mut l = Layer::default();
    let name = s.outside.join("new").display().to_string();
    l.file(&name, 0o644, "pwned");
    refused(
        &s,
        &l,
        &format!("layer entry {name}: absolute path refused"),
    );
}

#[test]
fn write_through_symlink_of_same_layer_stays_inside() {
    let s = Scratch::new("symwrite");
    let out = s.outside.display().to_string();
    let mut l = Layer::default();
    l.symlink("abs", &out)
        .file("abs/victim", 0o644, "pwned")
        .symlink("up", "../../../../../..")
        .file("up/x", 0o644, "x");
    apply(&l.bytes()[..], &s.root, &flat()).unwrap();
    s.outside_untouched();
    let inside = s.root.join(out.trim_start_matches('/'));
    assert_eq!(
        std::fs::read_to_string(inside.join("victim")).unwrap(),
        "pwned"
    );
    assert_eq!(std::fs::read_to_string(s.root.join("x")).unwrap(), "x");
}

#[test]
fn write_through_symlink_of_earlier_layer_stays_inside() {
    let s = Scratch::new("symlayer");
    let out = s.outside.display().to_string();
    let mut l1 = Layer::default();
    l1.symlink("evil", &out)
        .symlink("f", &format!("{out}/victim"));
    apply(&l1.bytes()[..], &s.root, &flat()).unwrap();
    let mut l2 = Layer::default();
    l2.file("evil/victim", 0o644, "pwned")
        .file("evil/.wh.victim", 0o644, "")
        .file("f", 0o644, "replaced link");
    apply(&l2.bytes()[..], &s.root, &flat()).unwrap();
    s.outside_untouched();
    assert_eq!(
        std::fs::read_to_string(s.root.join("f")).unwrap(),
        "replaced link"
    );
    assert!(!std::fs::symlink_metadata(s.root.join("f"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn whiteouts_through_symlinks_stay_inside() {
    let s = Scratch::new("whsym");
    let out = s.outside.display().to_string();
    let mut l1 = Layer::default();
    l1.symlink("lnk", &out);
    apply(&l1.bytes()[..], &s.root, &flat()).unwrap();
    let mut l2 = Layer::default();
    l2.file("lnk/.wh.victim", 0o644, "")
        .file("lnk/.wh..wh..opq", 0o644, "");
    apply(&l2.bytes()[..], &s.root, &flat()).unwrap();
    s.outside_untouched();
    let mut l3 = Layer::default();
    l3.file(".wh.lnk", 0o644, "");
    apply(&l3.bytes()[..], &s.root, &flat()).unwrap();
    s.outside_untouched();
    assert!(std::fs::symlink_metadata(s.root.join("lnk")).is_err());
}

#[test]
fn escaping_hardlinks_are_refused() {
    let s = Scratch::new("hard");
    let mut l = Layer::default();
    l.hardlink("h", "../outside/victim");
    refused(&s, &l, "layer entry h: hardlink target refused: layer entry ../outside/victim: '..' component refused (escapes the root)");
    let out = s.outside.display().to_string();
    let mut l = Layer::default();
    l.hardlink("h", &format!("{out}/victim"));
    refused(&s, &l, &format!("layer entry h: hardlink target refused: layer entry {out}/victim: absolute path refused"));
    // Through a symlink: resolved beneath the root, where there is no victim.
    let mut l = Layer::default();
    l.symlink("evil", &out).hardlink("h", "evil/victim");
    let e = apply(&l.bytes()[..], &s.root, &flat())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("layer entry h: hardlink target evil/victim"),
        "{e}"
    );
    s.outside_untouched();
    assert_eq!(
        std::fs::metadata(s.outside.join("victim")).unwrap().nlink(),
        1
    );
}

#[test]
fn truncated_and_garbage_layers_fail() {
    let s = Scratch::new("trunc");
    let mut l = Layer::default();
    l.file("big", 0o644, &"x".repeat(5000));
    let bytes = l.bytes();
    let e = apply(&bytes[..1500], &s.root, &flat())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("layer entry big") || e.starts_with("write big") || e.contains("layer: "),
        "{e}"
    );
    let e = apply(&[7u8; 700][..], &s.root, &flat())
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("layer: tar:"), "{e}");
    s.outside_untouched();
}

#[test]
fn unsupported_entry_types_are_refused() {
    let s = Scratch::new("types");
    let mut l = Layer::default();
    l.entry("odd", tar::EntryType::new(b'Z'), 0o644, "", b"");
    refused(&s, &l, "layer entry odd: unsupported entry type 'Z'");
}

use std::os::unix::fs::MetadataExt;

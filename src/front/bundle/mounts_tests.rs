//! Unit tests of `mounts.rs`.
use super::*;

#[test]
fn volume_specs() {
    assert_eq!(
        parse_volume("/h:/c:ro").unwrap(),
        MountReq::Bind {
            source: "/h".into(),
            target: "/c".into(),
            readonly: true,
            create: true,
            propagation: None
        }
    );
    assert_eq!(
        parse_volume("data:/c").unwrap(),
        MountReq::Volume {
            name: Some("data".into()),
            target: "/c".into(),
            readonly: false,
            nocopy: false
        }
    );
    assert_eq!(
        parse_volume("/c:ro").unwrap(),
        MountReq::Volume {
            name: None,
            target: "/c".into(),
            readonly: true,
            nocopy: false
        }
    );
    for bad in [
        "/h:c",
        "./h:/c",
        "/h:/c:xx",
        "/h:/c:ro:x",
        "/h:/",
        "/h:/c:ro,rw",
        "a b:/c",
    ] {
        let e = parse_volume(bad).unwrap_err().to_string();
        assert!(e.starts_with(&format!("--volume {bad:?}: ")), "{e}");
    }
}

#[test]
fn mount_specs() {
    let m = parse_mount("type=bind,src=/,dst=/h,readonly").unwrap();
    assert!(matches!(m, MountReq::Bind { readonly: true, ref target, .. } if target == "/h"));
    let m = parse_mount("type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=1770").unwrap();
    assert_eq!(
        m,
        MountReq::Tmpfs {
            target: "/t".into(),
            options: [
                "nosuid",
                "nodev",
                "noexec",
                "rw",
                "size=1048576",
                "mode=1770"
            ]
            .map(String::from)
            .to_vec()
        }
    );
    assert!(matches!(
        parse_mount("target=/v").unwrap(),
        MountReq::Volume { name: None, .. }
    ));
    for (spec, why) in [
        (
            "type=bind,source=/,target=/x,foo=bar",
            "unexpected key 'foo'",
        ),
        ("type=bind,source=/", "target is required"),
        ("type=bind,target=/x", "source is required"),
        (
            "type=bind,source=/nonexistent-nook,target=/x",
            "does not exist",
        ),
        ("type=volume,target=/x,tmpfs-size=1m", "cannot mix"),
        ("type=tmpfs,target=/x,tmpfs-size=lots", "invalid size"),
        ("type=nfs,target=/x", "invalid mount type"),
        (
            "type=bind,source=/,target=/x,readonly=maybe",
            "invalid value",
        ),
    ] {
        let e = parse_mount(spec).unwrap_err().to_string();
        assert!(e.starts_with("--mount ") && e.contains(why), "{spec}: {e}");
    }
}

#[test]
fn tmpfs_and_duplicates() {
    let t = parse_tmpfs("/run").unwrap();
    assert!(
        matches!(&t, MountReq::Tmpfs { options, .. } if options.contains(&"size=65536k".to_string()))
    );
    assert!(parse_tmpfs("run").is_err());
    let two = [
        parse_tmpfs("/run").unwrap(),
        parse_volume("/h:/run/").unwrap(),
    ];
    assert!(check_duplicates(&two)
        .unwrap_err()
        .to_string()
        .contains("/run"));
}

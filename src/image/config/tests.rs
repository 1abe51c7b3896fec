use super::*;
use crate::image::layers::testutil::Scratch;

const CFG: &str = r#"{"architecture":"amd64","os":"linux","config":{
  "User":"nook","Env":["FOO=bar","PATH=/bin"],"Entrypoint":["/entry"],"Cmd":["-v"],
  "WorkingDir":"/srv","ExposedPorts":{"80/tcp":{},"53/udp":{}},"Volumes":{"/data":{}},
  "StopSignal":"SIGQUIT","Labels":{"a":"b"}},"rootfs":{"type":"layers","diff_ids":[]}}"#;

#[test]
fn config_fields_become_process_data() {
    let p = ImageProcess::from_config(CFG.as_bytes()).unwrap();
    assert_eq!(p.entrypoint, ["/entry"]);
    assert_eq!(p.cmd, ["-v"]);
    assert_eq!(p.env, ["FOO=bar", "PATH=/bin"]);
    assert_eq!(p.working_dir, "/srv");
    assert_eq!(p.user, "nook");
    assert_eq!(p.exposed_ports, ["53/udp", "80/tcp"]);
    assert_eq!(p.volumes, ["/data"]);
    assert_eq!(p.stop_signal.as_deref(), Some("SIGQUIT"));
    assert_eq!(p.labels.get("a").map(String::as_str), Some("b"));
    let bare = ImageProcess::from_config(br#"{"rootfs":{"diff_ids":[]}}"#).unwrap();
    assert_eq!(bare.env, [format!("PATH={DEFAULT_PATH}")]);
    assert_eq!(bare.working_dir, "/");
}

#[test]
fn docker_entrypoint_and_cmd_rules() {
    let p = ImageProcess::from_config(CFG.as_bytes()).unwrap();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(p.args(None, &[]).unwrap(), s(&["/entry", "-v"]));
    assert_eq!(p.args(None, &s(&["-x"])).unwrap(), s(&["/entry", "-x"]));
    assert_eq!(
        p.args(Some(&s(&["/bin/sh"])), &[]).unwrap(),
        s(&["/bin/sh"])
    );
    assert_eq!(
        p.args(Some(&s(&["/bin/sh"])), &s(&["-c", "id"])).unwrap(),
        s(&["/bin/sh", "-c", "id"])
    );
    let bare = ImageProcess::from_config(br#"{"config":{}}"#).unwrap();
    assert_eq!(
        bare.args(None, &[]).unwrap_err().to_string(),
        "no command specified"
    );
    assert_eq!(
        p.env_with(&s(&["FOO=baz", "PATH", "NEW=1"])),
        s(&["FOO=baz", "NEW=1"])
    );
}

fn rootfs(s: &Scratch) {
    std::fs::create_dir_all(s.root.join("etc")).unwrap();
    std::fs::write(s.root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnook:x:1000:1000::/home/nook:/bin/sh\n# c\nnobody:x:65534:65534::/nonexistent:/bin/false\n").unwrap();
    std::fs::write(
        s.root.join("etc/group"),
        "root:x:0:\naudio:x:29:nook\nvideo:x:44:other,nook\nnook:x:1000:\nextra:x:2000:nook\n",
    )
    .unwrap();
}

#[test]
fn users_resolve_against_the_image() {
    let s = Scratch::new("cfg-user");
    rootfs(&s);
    let u = resolve_user("nook", &s.root).unwrap();
    assert_eq!(
        (u.uid, u.gid, u.additional_gids.clone(), u.home.as_str()),
        (1000, 1000, vec![29, 44, 2000], "/home/nook")
    );
    let u = resolve_user("", &s.root).unwrap();
    assert_eq!((u.uid, u.gid, u.home.as_str()), (0, 0, "/root"));
    let u = resolve_user("nook:audio", &s.root).unwrap();
    assert_eq!((u.uid, u.gid, u.additional_gids.len()), (1000, 29, 0));
    let u = resolve_user("4242:7", &s.root).unwrap();
    assert_eq!((u.uid, u.gid, u.home.as_str()), (4242, 7, "/"));
    let u = resolve_user("65534", &s.root).unwrap();
    assert_eq!((u.uid, u.gid), (65534, 65534));
    let e = resolve_user("ghost", &s.root).unwrap_err().to_string();
    assert_eq!(
        e,
        "unable to find user ghost: no matching entries in passwd file"
    );
    let e = resolve_user("nook:ghosts", &s.root)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "unable to find group ghosts: no matching entries in group file"
    );
}

#[test]
fn passwd_symlink_cannot_reach_the_host() {
    let s = Scratch::new("cfg-link");
    std::fs::create_dir_all(s.root.join("etc")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", s.root.join("etc/passwd")).unwrap();
    // The host has a `root` entry; the image (through its link) has none.
    let e = resolve_user("root", &s.root).unwrap_err().to_string();
    assert_eq!(
        e,
        "unable to find user root: no matching entries in passwd file"
    );
    std::fs::remove_file(s.root.join("etc/passwd")).unwrap();
    std::fs::write(s.outside.join("passwd"), "evil:x:0:0::/:/bin/sh\n").unwrap();
    std::os::unix::fs::symlink(s.outside.join("passwd"), s.root.join("etc/passwd")).unwrap();
    assert!(resolve_user("evil", &s.root).is_err());
}

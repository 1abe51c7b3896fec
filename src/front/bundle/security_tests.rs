//! Unit tests of `security.rs`.
use super::*;

#[test]
fn cap_rules_as_docker() {
    let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    let t = tweak(&s(&["net_admin"]), &s(&["CAP_CHOWN", "kill"])).unwrap();
    assert!(t.contains(&"CAP_NET_ADMIN".into()) && !t.contains(&"CAP_CHOWN".into()));
    assert!(!t.contains(&"CAP_KILL".into()));
    assert_eq!(t.len(), 13);
    assert_eq!(
        tweak(&s(&["NET_ADMIN"]), &s(&["ALL"])).unwrap(),
        ["CAP_NET_ADMIN"]
    );
    let all = tweak(&s(&["ALL"]), &s(&["SYS_ADMIN"])).unwrap();
    assert_eq!(all.len(), all_caps().len() - 1);
    assert_eq!(
        tweak(&s(&["CHOWN"]), &s(&["CHOWN"])).unwrap().len(),
        14,
        "add wins"
    );
    let e = tweak(&s(&["NOPE"]), &[]).unwrap_err().to_string();
    assert_eq!(e, "--cap-add \"NOPE\": unknown capability \"CAP_NOPE\"");
}

#[test]
fn security_options() {
    let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    assert_eq!(
        security_opts(&s(&["seccomp=unconfined", "no-new-privileges"]), &[]).unwrap(),
        (Seccomp::Unconfined, true)
    );
    assert_eq!(
        security_opts(&s(&["no-new-privileges:false"]), &[]).unwrap(),
        (Seccomp::Default, false)
    );
    assert!(security_opts(&s(&["seccomp=/nonexistent/p.json"]), &[]).is_err());
    assert!(security_opts(&s(&["apparmor=x"]), &[]).is_err());
    assert!(security_opts(&s(&["bogus"]), &[]).is_err());
}

#[test]
fn docker_profile_conditions() {
    let dir = std::env::temp_dir().join(format!("nook-prof-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("p.json");
    std::fs::write(
        &p,
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["a"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["b"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_ADMIN"]}, "comment": "x"},
            {"names": ["c"], "action": "SCMP_ACT_ERRNO", "includes": {"arches": ["s390x"]}},
            {"names": ["d"], "action": "SCMP_ACT_ERRNO", "includes": {"minKernel": "99.0"}},
            {"names": ["e"], "action": "SCMP_ACT_ERRNO", "includes": {"arches": ["amd64"], "minKernel": "3.0"}}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", p.display());
    let Seccomp::Profile(v) = security_opts(&[opt], &["CAP_CHOWN".into()]).unwrap().0 else {
        panic!("a profile")
    };
    let names: Vec<&str> = v["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["names"][0].as_str().unwrap())
        .collect();
    assert_eq!(names, ["b", "e"]);
    assert!(
        v["syscalls"][0].get("excludes").is_none() && v["syscalls"][0].get("comment").is_none()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn networks() {
    assert!(own_netns(None).unwrap());
    assert!(own_netns(Some("none")).unwrap());
    assert!(!own_netns(Some("host")).unwrap());
    assert!(own_netns(Some("bridge"))
        .unwrap_err()
        .to_string()
        .starts_with("--network \"bridge\""));
}

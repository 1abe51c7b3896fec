//! Rootless: both binaries as an unprivileged user (`make test-rootless`). The id-map
//! paths (the user's own id written directly; delegated ranges through newuidmap and
//! newgidmap), the state root default, limits that cannot apply, `nook run` of an image
//! with several owners (tests/doctor.rs has the doctor).

#[allow(dead_code)]
mod images_support;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use images_support::Nook;
use runtime_tests::env::{fixture_rootfs, fresh_dir, rootless_range, runtime_binary};
use runtime_tests::{mode, skip, Bundle, ConfigExt, Mode, Runtime};
use serde_json::{json, Value};

macro_rules! rootless_only {
    () => {
        if mode() != Mode::Rootless {
            skip!("needs an unprivileged user (make test-rootless)");
        }
    };
}

fn uid() -> u32 {
    nix::unistd::getuid().as_raw()
}

#[test]
fn spec_rootless_runs_as_the_user_with_a_single_id() {
    rootless_only!();
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.remove_config();
    rt.exec(&[
        "spec",
        "--rootless",
        "--bundle",
        &b.path().to_string_lossy(),
    ])
    .ok();
    let text = fs::read_to_string(b.path().join("config.json")).unwrap();
    let mut spec: Value = serde_json::from_str(&text).unwrap();
    // runc's `spec --rootless` shape: a user namespace mapping only the caller, no
    // network namespace (so /sys is the host's, bound), no resources.
    assert_eq!(
        spec["linux"]["uidMappings"],
        json!([{"containerID": 0, "hostID": uid(), "size": 1}])
    );
    assert!(spec["linux"].get("resources").is_none());
    let kinds: Vec<&str> = spec["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["type"].as_str())
        .collect();
    assert!(
        kinds.contains(&"user") && !kinds.contains(&"network"),
        "{kinds:?}"
    );
    spec["process"]["terminal"] = json!(false);
    spec["root"]["readonly"] = json!(false);
    spec["process"]["args"] = json!([
        "/bin/sh",
        "-c",
        "cat /proc/self/uid_map /proc/self/setgroups; id -u; touch /made-inside"
    ]);
    b.write_raw_config(&spec.to_string());
    let out = rt.run_saved(&b, &rt.new_id(), &[]);
    out.ok();
    let words: Vec<&str> = out.stdout.split_whitespace().collect();
    let own = uid().to_string();
    assert_eq!(
        words,
        ["0", own.as_str(), "1", "deny", "0"],
        "single-id map written directly, setgroups denied: {}",
        out.stdout
    );
    let made = fs::metadata(b.in_rootfs("/made-inside")).unwrap();
    assert_eq!(made.uid(), uid(), "root inside is the user on the host");
}

#[test]
fn delegated_range_goes_through_newuidmap() {
    rootless_only!();
    let Some(((ustart, ucount), (gstart, _))) = rootless_range() else {
        skip!("no /etc/subuid range or no newuidmap for this user");
    };
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.config.user(1000, 1000, &[29]);
    b.config.probe_args(&["sleep", "60"]);
    let id = rt.new_id();
    b.save();
    rt.run_saved(&b, &id, &["--detach"]).ok();
    let pid = rt.state_json(&id)["pid"].as_i64().expect("pid");
    let map = fs::read_to_string(format!("/proc/{pid}/uid_map")).unwrap();
    let rows: Vec<Vec<u64>> = map
        .lines()
        .map(|l| l.split_whitespace().map(|w| w.parse().unwrap()).collect())
        .collect();
    assert_eq!(
        rows,
        vec![
            vec![0, u64::from(uid()), 1],
            vec![1, u64::from(ustart), u64::from(ucount)]
        ]
    );
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |k: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .unwrap_or("")
            .split_whitespace()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    // Container uid 1000 is range start + 999 on the host; gid 29 is start + 28.
    assert_eq!(field("Uid:")[0], (ustart + 999).to_string());
    assert_eq!(field("Groups:"), vec![(gstart + 28).to_string()]);
    assert_eq!(
        fs::read_to_string(format!("/proc/{pid}/setgroups"))
            .unwrap()
            .trim(),
        "allow"
    );
    rt.kill(&id, Some("KILL"));
    rt.wait_status(&id, "stopped", std::time::Duration::from_secs(5));
    rt.delete(&id).ok();
}

#[test]
fn a_range_without_newuidmap_or_subuid_names_the_fix() {
    rootless_only!();
    if rootless_range().is_none() {
        skip!("no /etc/subuid range or no newuidmap for this user");
    }
    let (rt, b) = (Runtime::under_test(), Bundle::new());
    b.save();
    let empty = fresh_dir("rootless-nopath");
    let mut cmd = rt.command(&["run", "--bundle", &b.path().to_string_lossy(), &rt.new_id()]);
    cmd.env("PATH", &empty);
    let out = rt.output_of(cmd);
    out.failed();
    assert!(
        out.stderr
            .contains("linux.uidMappings: mapping more than your own uid needs newuidmap, which is not in PATH; fix: as root: apt-get install uidmap"),
        "{}",
        out.stderr
    );
    let none = empty.join("subuid");
    fs::write(&none, "someone:100000:65536\n").unwrap();
    let mut cmd = rt.command(&["run", "--bundle", &b.path().to_string_lossy(), &rt.new_id()]);
    cmd.env("NOOK_SUBUID_FILE", &none);
    let out = rt.output_of(cmd);
    out.failed();
    assert!(
        out.stderr.contains("linux.uidMappings[1]: host uids")
            && out
                .stderr
                .contains("(it has no entry); fix: as root: usermod --add-subuids"),
        "{}",
        out.stderr
    );
    let _ = fs::remove_dir_all(&empty);
}

#[test]
fn state_root_defaults_to_xdg_runtime_dir_else_a_private_tmp_dir() {
    rootless_only!();
    let b = Bundle::new();
    b.save_probe_args(&["sleep", "60"]);
    let xdg = fresh_dir("rootless-xdg");
    fs::set_permissions(&xdg, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let bin = runtime_binary();
    let id = format!("rootless-state-{}", std::process::id());
    let err = xdg.join("stderr");
    let run = |env: &[(&str, &Path)], args: &[&str]| {
        let mut c = Command::new(&bin);
        // A detached container keeps its stdio: no pipes that would never reach EOF.
        c.env_remove("XDG_RUNTIME_DIR")
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(fs::File::create(&err).unwrap());
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let env = [("XDG_RUNTIME_DIR", xdg.as_path())];
    let bundle = b.path().to_string_lossy().into_owned();
    let o = run(&env, &["run", "--detach", "--bundle", &bundle, &id]);
    assert!(o.status.success(), "{}", fs::read_to_string(&err).unwrap());
    assert!(xdg
        .join("nook-runtime")
        .join(&id)
        .join("state.json")
        .is_file());
    assert!(run(&env, &["delete", "--force", &id]).status.success());
    // Without XDG_RUNTIME_DIR: /tmp/nook-runtime-UID, private.
    let o = run(&[], &["list", "--format", "json"]);
    assert!(o.status.success(), "{}", fs::read_to_string(&err).unwrap());
    let tmp = PathBuf::from(format!("/tmp/nook-runtime-{}", uid()));
    let m = fs::symlink_metadata(&tmp).unwrap();
    assert!(m.is_dir() && m.uid() == uid() && m.mode() & 0o777 == 0o700);
    let _ = fs::remove_dir(&tmp); // only if no other test left state there
    let _ = fs::remove_dir_all(&xdg);
}

#[test]
fn limits_not_applied_are_recorded_or_refused_with_strict_limits() {
    rootless_only!();
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.config
        .set("/linux/resources/memory/limit", json!(64 << 20));
    b.config.set("/linux/resources/pids/limit", json!(100));
    b.save_probe_args(&["sleep", "60"]);
    let id = rt.new_id();
    let out = rt.create_saved(&b, &id, &["--strict-limits"]);
    out.failed();
    assert!(
        out.stderr.contains("linux.resources: ")
            && out.stderr.contains("not applied")
            && out.stderr.contains("(--strict-limits)"),
        "{}",
        out.stderr
    );
    assert!(
        !rt.root().join(&id).exists(),
        "a refused create leaves no state"
    );
    let id = rt.new_id();
    rt.create_saved(&b, &id, &[]).ok();
    let notes = rt.state_json(&id)["notApplied"].to_string();
    assert!(
        notes.contains("memory")
            && notes.contains("pids.max = 100")
            && notes.contains("nook doctor"),
        "notApplied names each limit and why: {notes}"
    );
    rt.delete_force(&id).ok();
}

/// A rootfs tarball: the fixture (every entry owned by 0) plus /owned/{root,user,nobody}
/// owned by 0, 1000 and 65534.
fn multi_owner_tar(path: &Path) {
    let f = fs::File::create(path).unwrap();
    let mut t = tar::Builder::new(f);
    fn add(t: &mut tar::Builder<fs::File>, root: &Path, dir: &Path) {
        let mut entries: Vec<_> = fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let m = fs::symlink_metadata(&p).unwrap();
            let name = p.strip_prefix(root).unwrap();
            let mut h = tar::Header::new_gnu();
            h.set_metadata(&m);
            h.set_uid(0);
            h.set_gid(0);
            if m.file_type().is_symlink() {
                let target = fs::read_link(&p).unwrap();
                t.append_link(&mut h, name, target).unwrap();
            } else if m.is_dir() {
                h.set_size(0);
                t.append_data(&mut h, name, std::io::empty()).unwrap();
                add(t, root, &p);
            } else if m.is_file() {
                t.append_data(&mut h, name, fs::File::open(&p).unwrap())
                    .unwrap();
            }
        }
    }
    let fixture = fixture_rootfs();
    add(&mut t, &fixture, &fixture);
    for (name, id, mode) in [
        ("owned", 0, 0o755),
        ("owned/root", 0, 0o644),
        ("owned/user", 1000, 0o600),
        ("owned/nobody", 65534, 0o644),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_uid(id);
        h.set_gid(id);
        h.set_mode(mode);
        h.set_mtime(0);
        if name == "owned" {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_size(0);
            t.append_data(&mut h, name, std::io::empty()).unwrap();
        } else {
            h.set_size(2);
            t.append_data(&mut h, name, &b"x\n"[..]).unwrap();
        }
    }
    t.finish().unwrap();
}

/// Every file under `dir` and its owner, where the owner is neither the user nor in
/// the user's delegated range.
fn foreign_owners(dir: &Path, range: (u32, u32), out: &mut Vec<String>) {
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        // A file may go while we look (a `--rm` container's, deleted after its exit).
        let Ok(m) = fs::symlink_metadata(e.path()) else {
            continue;
        };
        let ok = |id: u32| id == uid() || (id >= range.0 && id < range.0 + range.1);
        if !ok(m.uid()) || !ok(m.gid()) {
            out.push(format!("{} {}:{}", e.path().display(), m.uid(), m.gid()));
        }
        if m.is_dir() {
            foreign_owners(&e.path(), range, out);
        }
    }
}

#[test]
fn nook_run_of_a_multi_owner_image_keeps_owners_inside_and_the_range_outside() {
    rootless_only!();
    let Some(((start, count), _)) = rootless_range() else {
        skip!("no /etc/subuid range or no newuidmap for this user");
    };
    let n = Nook::new();
    let tar = n.root.with_extension("tar");
    multi_owner_tar(&tar);
    n.ok(&["import", &tar.to_string_lossy(), "multi:1"]);
    let out = n.ok(&[
        "run",
        "--rm",
        "multi:1",
        "sh",
        "-c",
        "id -u; ls -ln /owned | tail -n +2 | while read m l u g r; do echo ${r##* } $u $g; done",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        ["0", "nobody 65534 65534", "root 0 0", "user 1000 1000"],
        "owners inside the container: {out}"
    );
    // On the host: the layer holds start+999 and start+65533; nothing outside the ranges.
    let layers = n.root.join("layers");
    let mut seen = Vec::new();
    for l in fs::read_dir(&layers).unwrap().flatten() {
        let owned = l.path().join("diff/owned");
        if owned.is_dir() {
            for (f, want) in [
                ("root", uid()),
                ("user", start + 999),
                ("nobody", start + 65533),
            ] {
                assert_eq!(
                    fs::symlink_metadata(owned.join(f)).unwrap().uid(),
                    want,
                    "{f}"
                );
                seen.push(f);
            }
        }
    }
    assert_eq!(seen.len(), 3, "the layer with /owned was found");
    let mut foreign = Vec::new();
    foreign_owners(&n.root, (start, count), &mut foreign);
    assert!(
        foreign.is_empty(),
        "owned outside the user's ids: {foreign:?}"
    );
    // --userns=keep-id: the user is themselves inside.
    let out = n.ok(&["run", "--rm", "--userns=keep-id", "multi:1", "id", "-u"]);
    assert_eq!(out.trim(), uid().to_string());
    let _ = fs::remove_file(&tar);
    // rmi runs in the namespace too: files of other owners go with it.
    n.ok(&["rmi", "multi:1"]);
}

#[test]
fn sysfs_without_a_network_namespace_is_the_hosts_bound_read_only() {
    rootless_only!();
    // Only the network namespace's owner may mount sysfs: the host's /sys is bound instead.
    let (rt, mut b) = (Runtime::under_test(), Bundle::new());
    b.config.remove_namespace("network");
    let r = rt.run_probe(&b, &[]);
    let sys = runtime_tests::report::expect_mount(&r, "/sys");
    assert_eq!(sys["fstype"], "sysfs", "{sys}");
    for opt in ["ro", "nosuid", "nodev", "noexec"] {
        assert!(runtime_tests::report::has_option(sys, opt), "{opt}: {sys}");
    }
}

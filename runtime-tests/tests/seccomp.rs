//! seccomp: the probe makes raw system calls (`probe syscall NR ARGS...`) under a
//! profile; what it sees — the return value, the errno, or death by SIGSYS (exit
//! status 159 from `run`) — is asserted, and must equal what runc gives on the
//! same bundle. x86_64 numbers: getppid is 110 (x32: 0x40000000 + 110; i386: 64,
//! made through `int 0x80` by `probe syscall32`). In a container getppid is 0.

use runtime_tests::env::workspace_root;
use runtime_tests::{Bundle, ConfigExt, Runtime};
use serde_json::{json, Value};

const GETPPID: &str = "110";
const GETPPID_X32: &str = "0x4000006e";
const GETPPID_I386: &str = "64";
const TIMES: &str = "100";
/// Above every syscall the kernel or libseccomp knows: "newer than the profile".
const FUTURE: &str = "460";
const KILLED_BY_SIGSYS: i32 = 128 + 31;

type Seen = (i32, Option<Value>);

fn seen_under(rt: &Runtime, profile: &Value, edit: &dyn Fn(&mut Value), sub: &[&str]) -> Seen {
    let mut b = Bundle::new();
    b.config.set("/linux/seccomp", profile.clone());
    edit(&mut b.config);
    let (out, json) = rt.run_probe_output(&b, sub);
    assert!(
        out.status == 0 || out.status == KILLED_BY_SIGSYS,
        "the container should run:\n{out}"
    );
    (out.status, json)
}

/// Run under the runtime under test and under runc: both must see the same.
fn both_with(profile: &Value, edit: &dyn Fn(&mut Value), sub: &[&str]) -> Seen {
    let ours = seen_under(&Runtime::under_test(), profile, edit, sub);
    let runc = seen_under(&Runtime::runc(), profile, edit, sub);
    assert_eq!(
        ours, runc,
        "runtime under test vs runc for {sub:?} under\n{profile:#}"
    );
    ours
}

fn both(profile: &Value, sub: &[&str]) -> Seen {
    both_with(profile, &|_| {}, sub)
}

fn on_getppid(default: &str, action: &str, errno: Option<u32>, args: Value) -> Value {
    json!({"defaultAction": default, "syscalls": [
        {"names": ["getppid"], "action": action, "errnoRet": errno, "args": args}]})
}

/// Every x86_64 syscall the table knows except `but`, allowed.
fn allow_all_but(but: &[&str]) -> Value {
    let table = workspace_root().join("src/plan/seccomp/x86_64.txt");
    let text = std::fs::read_to_string(&table).unwrap();
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split(' ').next())
        .filter(|n| !but.contains(n))
        .collect();
    json!([{"names": names, "action": "SCMP_ACT_ALLOW"}])
}

fn answer(seen: &Seen) -> &Value {
    assert_eq!(seen.0, 0, "the probe should have exited normally: {seen:?}");
    seen.1.as_ref().expect("a JSON answer")
}

#[test]
fn probe_reports_filter_mode() {
    let profile = on_getppid("SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", None, json!(null));
    for rt in [Runtime::under_test(), Runtime::runc()] {
        let mut b = Bundle::new();
        assert_eq!(rt.run_probe(&b, &[])["seccomp"], 0, "no profile");
        b.config.set("/linux/seccomp", profile.clone());
        assert_eq!(rt.run_probe(&b, &[])["seccomp"], 2, "with a profile");
    }
}

#[test]
fn errno_actions_and_errno_values() {
    let p = on_getppid("SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", Some(13), json!(null));
    assert_eq!(answer(&both(&p, &["syscall", GETPPID]))["errno"], "EACCES");
    let p = on_getppid("SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", None, json!(null));
    assert_eq!(answer(&both(&p, &["syscall", GETPPID]))["errno"], "EPERM");
    let p = json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 95,
        "syscalls": allow_all_but(&["getppid"])});
    let seen = both(&p, &["syscall", GETPPID, "+", "39"]);
    assert_eq!(answer(&seen)["calls"][0]["errno"], "EOPNOTSUPP");
    assert_eq!(
        answer(&seen)["calls"][1]["errno"],
        Value::Null,
        "getpid allowed"
    );
}

#[test]
fn kill_and_trap_actions_end_the_process_with_sigsys() {
    for action in [
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_TRAP",
    ] {
        let p = on_getppid("SCMP_ACT_ALLOW", action, None, json!(null));
        let seen = both(&p, &["syscall", GETPPID]);
        assert_eq!(seen, (KILLED_BY_SIGSYS, None), "{action}");
    }
}

#[test]
fn log_allows_and_trace_without_a_tracer_is_enosys() {
    let p = on_getppid("SCMP_ACT_ALLOW", "SCMP_ACT_LOG", None, json!(null));
    assert_eq!(answer(&both(&p, &["syscall", GETPPID]))["ret"], 0);
    let p = on_getppid("SCMP_ACT_ALLOW", "SCMP_ACT_TRACE", Some(1), json!(null));
    assert_eq!(answer(&both(&p, &["syscall", GETPPID]))["errno"], "ENOSYS");
}

const VALUE: u64 = 0x1_0000_0005;
const ARGS: [u64; 7] = [
    5,
    0x1_0000_0004,
    VALUE,
    0x1_0000_0006,
    0x2_0000_0000,
    0xffff_ffff,
    u64::MAX,
];

#[test]
fn each_operator_on_64_bit_arguments() {
    type Holds = fn(u64) -> bool;
    let ops: [(&str, Holds); 6] = [
        ("SCMP_CMP_NE", |a| a != VALUE),
        ("SCMP_CMP_LT", |a| a < VALUE),
        ("SCMP_CMP_LE", |a| a <= VALUE),
        ("SCMP_CMP_EQ", |a| a == VALUE),
        ("SCMP_CMP_GE", |a| a >= VALUE),
        ("SCMP_CMP_GT", |a| a > VALUE),
    ];
    for (op, holds) in ops {
        let args = json!([{"index": 1, "value": VALUE, "op": op}]);
        let p = on_getppid("SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", Some(13), args);
        check_calls(&p, 1, &ARGS, holds, op);
    }
}

#[test]
fn masked_eq_compares_both_halves() {
    let (mask, datum) = (0xffff_0000_0000_00ffu64, 0x0001_0000_0000_0005u64);
    let args = json!([{"index": 4, "value": mask, "valueTwo": datum, "op": "SCMP_CMP_MASKED_EQ"}]);
    let p = on_getppid("SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", Some(13), args);
    let cases = [
        datum,
        0x0001_1234_5678_9a05,
        0x0002_0000_0000_0005,
        5,
        0x0001_0000_0000_0006,
    ];
    check_calls(&p, 4, &cases, |a| a & mask == datum, "masked");
}

/// One container calls getppid with each value at `index`; EACCES exactly where `holds`.
fn check_calls(p: &Value, index: usize, values: &[u64], holds: impl Fn(u64) -> bool, what: &str) {
    let mut sub = vec!["syscall".to_string()];
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            sub.push("+".into());
        }
        sub.push(GETPPID.into());
        sub.extend((0..index).map(|_| "0".to_string()));
        sub.push(format!("{v:#x}"));
    }
    let sub: Vec<&str> = sub.iter().map(String::as_str).collect();
    let seen = both(p, &sub);
    for (i, v) in values.iter().enumerate() {
        let got = &answer(&seen)["calls"][i];
        let want = if holds(*v) {
            json!("EACCES")
        } else {
            Value::Null
        };
        assert_eq!(got["errno"], want, "{what} arg{index}={v:#x}: {got}");
    }
}

#[test]
fn several_arguments_and_repeated_indexes() {
    let all = json!([{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                     {"index": 2, "value": 0x1_0000_0000u64, "op": "SCMP_CMP_GT"}]);
    let p = on_getppid("SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", Some(13), all);
    let seen = both(
        &p,
        &[
            "syscall",
            GETPPID,
            "1",
            "0",
            "0x100000001",
            "+",
            GETPPID,
            "1",
            "0",
            "5",
            "+",
            GETPPID,
            "2",
            "0",
            "0x100000001",
        ],
    );
    let errnos: Vec<&Value> = (0..3)
        .map(|i| &answer(&seen)["calls"][i]["errno"])
        .collect();
    assert_eq!(errnos, [&json!("EACCES"), &Value::Null, &Value::Null]);
    // Two conditions on one argument: either may hold (runc's rule).
    let either = json!([{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                        {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]);
    let p = on_getppid("SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", Some(13), either);
    let seen = both(
        &p,
        &[
            "syscall", GETPPID, "1", "+", GETPPID, "2", "+", GETPPID, "3",
        ],
    );
    let errnos: Vec<&Value> = (0..3)
        .map(|i| &answer(&seen)["calls"][i]["errno"])
        .collect();
    assert_eq!(errnos, [&json!("EACCES"), &json!("EACCES"), &Value::Null]);
}

#[test]
fn syscalls_newer_than_the_profile_get_enosys() {
    let mut p = json!({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": allow_all_but(&["getppid"])});
    let seen = both(&p, &["syscall", FUTURE, "+", GETPPID]);
    assert_eq!(answer(&seen)["calls"][0]["errno"], "ENOSYS");
    assert_eq!(answer(&seen)["calls"][1]["errno"], "EPERM");
    // runc patches only for architectures the profile lists.
    p["architectures"] = Value::Null;
    let seen = both(&p, &["syscall", FUTURE]);
    assert_eq!(answer(&seen)["errno"], "EPERM");
}

#[test]
fn other_abis_are_killed_unless_listed() {
    let mut p = on_getppid("SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", Some(13), json!(null));
    p["architectures"] = json!(["SCMP_ARCH_X86_64"]);
    assert_eq!(
        both(&p, &["syscall", GETPPID_X32]),
        (KILLED_BY_SIGSYS, None)
    );
    assert_eq!(
        both(&p, &["syscall32", GETPPID_I386]),
        (KILLED_BY_SIGSYS, None)
    );
    p["architectures"] = json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    assert_eq!(
        answer(&both(&p, &["syscall", GETPPID_X32]))["errno"],
        "EACCES"
    );
    assert_eq!(
        answer(&both(&p, &["syscall32", GETPPID_I386]))["errno"],
        "EACCES"
    );
    assert_eq!(answer(&both(&p, &["syscall", GETPPID]))["errno"], "EACCES");
}

#[test]
fn loaded_with_cap_sys_admin_when_no_new_privileges_is_off() {
    // The filter is in force before the identity changes here, so it must spare
    // the runtimes' own calls: runc's init checks getppid(2) then. times(2) instead.
    let p = json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["times"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]});
    let nnp_off = |c: &mut Value| {
        c.no_new_privileges(false);
    };
    let seen = both_with(&p, &nnp_off, &["syscall", TIMES, "0"]);
    assert_eq!(answer(&seen)["errno"], "EACCES");
}

/// A created container's init gives back the runtime's pages (madvise) just
/// before it waits for `start`, after its filter is loaded; a filter that kills
/// madvise must not kill it there (it releases before the filter instead).
#[test]
fn a_filter_that_kills_madvise_still_lets_a_created_container_start() {
    let p = json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["madvise"], "action": "SCMP_ACT_KILL_PROCESS"}]});
    for rt in [Runtime::under_test(), Runtime::runc()] {
        let mut b = Bundle::new();
        b.config.set("/linux/seccomp", p.clone());
        let id = rt.new_id();
        let pid = rt.start_sleeper(&b, &id);
        assert!(pid.parse::<i32>().unwrap() > 0, "{}", rt.binary().display());
        rt.delete_force(&id).ok();
    }
}

#[test]
fn filter_flags() {
    let mut p = on_getppid("SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", Some(13), json!(null));
    p["flags"] = json!([
        "SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW"
    ]);
    let seen = seen_under(&Runtime::under_test(), &p, &|_| {}, &["syscall", GETPPID]);
    assert_eq!(answer(&seen)["errno"], "EACCES");
    // DIVERGENCE: runc 1.1.5 refuses every flag ("seccomp flags are not yet
    // supported by runc"); support came with runc 1.2.
    let mut b = Bundle::new();
    b.config.set("/linux/seccomp", p);
    let (out, _) = Runtime::runc().run_probe_output(&b, &["syscall", GETPPID]);
    assert!(
        out.stderr.contains("seccomp flags are not yet supported"),
        "{out}"
    );
}

/// A compiled program is kept under the state root (`.seccomp-cache/`) and
/// used by the next create of the same profile: proven by replacing the cached
/// program with "allow everything", which the next container then runs under.
/// A damaged entry is only a miss.
#[test]
fn compiled_programs_are_cached_per_profile() {
    if runtime_tests::is_runc() {
        runtime_tests::skip!("a nook-runtime cache");
    }
    let rt = Runtime::under_test();
    let profile = on_getppid("SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", Some(1), json!(null));
    let first = seen_under(&rt, &profile, &|_| {}, &["syscall", GETPPID]);
    assert_eq!(answer(&first)["errno"], "EPERM", "{first:?}");
    let cache = rt.root().join(".seccomp-cache");
    let entries: Vec<_> = std::fs::read_dir(&cache)
        .unwrap_or_else(|e| panic!("{}: {e}", cache.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(entries.len(), 1, "one entry for one profile: {entries:?}");
    // SECCOMP_RET_ALLOW as the whole program.
    std::fs::write(&entries[0], [0x06u8, 0, 0, 0, 0, 0, 0xff, 0x7f]).unwrap();
    let cached = seen_under(&rt, &profile, &|_| {}, &["syscall", GETPPID]);
    assert_eq!(
        answer(&cached)["errno"],
        Value::Null,
        "the cached program ran: {cached:?}"
    );
    std::fs::write(&entries[0], [1u8, 2, 3]).unwrap();
    let damaged = seen_under(&rt, &profile, &|_| {}, &["syscall", GETPPID]);
    assert_eq!(
        answer(&damaged)["errno"],
        "EPERM",
        "a damaged entry is recompiled: {damaged:?}"
    );
}

/// `run` execs the program through a small sealed stub (`execveat` of a
/// memfd, then `execve`: container::sealing); a filter that refuses
/// `execveat` gets the re-exec from a sealed view of the runtime instead,
/// and the container runs as under runc.
#[test]
fn a_filter_refusing_execveat_still_runs() {
    let p = json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["execveat"], "action": "SCMP_ACT_ERRNO"}]});
    for rt in [Runtime::under_test(), Runtime::runc()] {
        let mut b = Bundle::new();
        b.config.set("/linux/seccomp", p.clone());
        let r = rt.run_probe(&b, &["syscall", GETPPID]);
        assert_eq!(r["ret"], json!(0), "{}: {r}", rt.binary().display());
    }
}

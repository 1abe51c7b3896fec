//! The default profile for `nook run` (docker-like in effect): `default.json` lists
//! what is denied — always, or unless the container holds a capability — and a few
//! argument rules; everything else any ABI's table knows is allowed. The result is
//! an OCI `linux.seccomp` object, written into config.json like a user's profile.

use super::{names, Abi};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

const DATA: &str = include_str!("default.json");

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    default_action: String,
    default_errno_ret: u32,
    architectures: Vec<String>,
    /// "always", or a capability name that lifts the list.
    denied: BTreeMap<String, Vec<String>>,
    rules: Vec<Value>,
}

fn holds(caps: u64, name: &str) -> bool {
    caps::Capability::from_str(name).is_ok_and(|c| caps & (1u64 << c.index()) != 0)
}

/// The default profile for a container whose capabilities (bounding set, bit N =
/// capability N) are `caps`.
pub fn default_profile(caps: u64) -> Value {
    let data: Data = serde_json::from_str(DATA).expect("default.json is valid");
    let mut denied: BTreeSet<&str> = BTreeSet::new();
    for (cap, list) in &data.denied {
        if cap == "always" || !holds(caps, cap) {
            denied.extend(list.iter().map(String::as_str));
        }
    }
    let mut rules = Vec::new();
    for r in &data.rules {
        let lifted = r["unlessCap"].as_str().is_some_and(|c| holds(caps, c));
        let names = r["names"].as_array().into_iter().flatten();
        denied.extend(names.filter_map(Value::as_str));
        if lifted {
            rules.push(json!({"names": r["names"], "action": "SCMP_ACT_ALLOW"}));
        } else {
            let mut r = r.clone();
            r.as_object_mut().map(|o| o.remove("unlessCap"));
            rules.push(r);
        }
    }
    let allowed: BTreeSet<&str> = [Abi::X86_64, Abi::X32, Abi::X86]
        .into_iter()
        .flat_map(names)
        .filter(|n| !denied.contains(n))
        .collect();
    rules.insert(0, json!({"names": allowed, "action": "SCMP_ACT_ALLOW"}));
    json!({
        "defaultAction": data.default_action,
        "defaultErrnoRet": data.default_errno_ret,
        "architectures": data.architectures,
        "syscalls": rules,
    })
}

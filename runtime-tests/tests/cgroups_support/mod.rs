//! Helpers shared by tests/cgroups.rs and tests/cgroups_more.rs (this host's
//! v1/hybrid layout).

use runtime_tests::{Bundle, Runtime};
use serde_json::{json, Value};

/// Skip the test unless this host has a cgroup v1 memory hierarchy.
#[macro_export]
macro_rules! need_v1 {
    () => {
        if !runtime_tests::cgroups::v1_host() {
            runtime_tests::skip!(
                "this host has no cgroup v1 memory hierarchy (the v2 suite covers it)"
            );
        }
    };
}

/// Start `script` detached (init is `sh -c script`); returns the id.
pub fn detached(rt: &Runtime, b: &Bundle, res: Value, script: &str) -> String {
    b.save_with(|c| {
        c["linux"]["resources"] = res;
        c["process"]["args"] = json!(["/bin/sh", "-c", script]);
    });
    let id = rt.new_id();
    rt.run_saved(b, &id, &["--detach"]).ok();
    id
}

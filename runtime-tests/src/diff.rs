//! Differential comparison of two probe reports: normalise away what must differ between
//! two containers (temp paths, namespace inodes, mount ids, pipe numbers, cgroup paths),
//! flatten to `path = value` lines, and show the lines that differ.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use crate::report::proc_ns_inode;

/// Path prefixes that differ between runs and the placeholder each becomes.
#[derive(Default, Clone)]
pub struct Placeholders(Vec<(String, String)>);

impl Placeholders {
    pub fn new() -> Self {
        Self::default()
    }

    /// Replace `prefix` (a host path) by `<name>` wherever a string contains it.
    pub fn add(self, prefix: &Path, name: &str) -> Self {
        self.add_text(&prefix.to_string_lossy(), name)
    }

    /// Replace any occurrence of `text` (e.g. a unique container id) by `<name>`.
    pub fn add_text(mut self, text: &str, name: &str) -> Self {
        self.0.push((text.to_string(), format!("<{name}>")));
        // Longest first, so that a bundle inside a temp dir is replaced as the bundle.
        self.0.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        self
    }

    fn apply(&self, s: &str) -> String {
        let mut out = s.to_string();
        for (prefix, name) in &self.0 {
            out = out.replace(prefix.as_str(), name);
        }
        out
    }
}

/// `pipe:[1234]` → `pipe:[]`, `socket:[..]` → `socket:[]`: kernel object numbers differ.
fn strip_object_number(s: &str) -> String {
    match s.split_once(":[") {
        Some((kind, rest)) if rest.ends_with(']') => format!("{kind}:[]"),
        _ => s.to_string(),
    }
}

/// Captured output files are numbered per runtime: keep only their directory.
fn strip_io_file(s: &str) -> String {
    match s.find("/io/") {
        Some(i) if s.starts_with('<') => format!("{}/io/FILE", &s[..i]),
        _ => s.to_string(),
    }
}

fn map_strings(v: &mut Value, f: &dyn Fn(&str) -> String) {
    match v {
        Value::String(s) => *s = f(s),
        Value::Array(items) => items.iter_mut().for_each(|i| map_strings(i, f)),
        Value::Object(map) => map.values_mut().for_each(|i| map_strings(i, f)),
        _ => {}
    }
}

/// The normalised copy of a probe report that two runtimes must agree on.
pub fn normalise(report: &Value, places: &Placeholders) -> Value {
    let mut r = report.clone();
    let obj = r.as_object_mut().expect("a report is an object");
    // cgroup paths name the container id and the runtime's cgroup layout.
    obj.remove("cgroup");
    // Namespace inodes are fresh per container: keep only "host" or "new".
    if let Some(Value::Object(ns)) = obj.get_mut("namespaces") {
        for (kind, ino) in ns.iter_mut() {
            let host = std::fs::metadata(format!("/proc/self/ns/{kind}"))
                .ok()
                .map(|_| proc_ns_inode("self", kind));
            *ino = json!(if ino.as_u64() == host { "host" } else { "new" });
        }
    }
    // Mount ids and parents are allocation order; peer group numbers likewise. Mounts are
    // keyed by target (stacked mounts get " #2", " #3"...), so that one missing mount shows
    // as one difference rather than shifting every index after it.
    if let Some(Value::Array(list)) = obj.remove("mounts") {
        let mut by_target = serde_json::Map::new();
        for mut m in list {
            if let Some(mo) = m.as_object_mut() {
                mo.remove("id");
                mo.remove("parent");
                if let Some(Value::Array(prop)) = mo.get_mut("propagation") {
                    for p in prop.iter_mut() {
                        let tag = p.as_str().unwrap_or("").split(':').next().unwrap_or("");
                        *p = json!(tag);
                    }
                }
                // A cgroup mount's root is the container's cgroup path: layout, not view.
                if matches!(
                    mo.get("fstype").and_then(Value::as_str),
                    Some("cgroup" | "cgroup2")
                ) {
                    mo.insert("root".into(), json!("<cgroup path>"));
                }
            }
            let target = m["target"].as_str().unwrap_or("?").to_string();
            let mut key = target.clone();
            let mut n = 1;
            while by_target.contains_key(&key) {
                n += 1;
                key = format!("{target} #{n}");
            }
            by_target.insert(key, m);
        }
        obj.insert("mounts".into(), Value::Object(by_target));
    }
    // Stdio of a foreground `run`: runc hands the container pipes and copies them; a
    // runtime may as well pass its own stdio through. Either is the caller's stdio.
    for key in ["fd_targets", "tty"] {
        if let Some(Value::Object(fds)) = obj.get_mut(key) {
            for fd in ["0", "1", "2"] {
                let Some(v) = fds.get_mut(fd) else { continue };
                let slot = if key == "tty" { &mut v["target"] } else { v };
                let is_terminal = slot.as_str().is_some_and(|t| t.starts_with("/dev/pts/"));
                if slot.is_string() && !is_terminal {
                    *slot = json!("<caller's stdio>");
                }
            }
        }
    }
    map_strings(&mut r, &|s| {
        strip_io_file(&strip_object_number(&places.apply(s)))
    });
    r
}

/// Flatten JSON to `pointer = value` lines (arrays by index).
pub fn flatten(v: &Value) -> BTreeMap<String, String> {
    fn walk(v: &Value, path: String, out: &mut BTreeMap<String, String>) {
        match v {
            Value::Object(map) if !map.is_empty() => {
                for (k, x) in map {
                    walk(x, format!("{path}/{k}"), out);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                for (i, x) in items.iter().enumerate() {
                    walk(x, format!("{path}/{i}"), out);
                }
            }
            other => {
                out.insert(path, other.to_string());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(v, String::new(), &mut out);
    out
}

/// The differing lines of two flattened values, readable: `- path = a` / `+ path = b`.
pub fn diff_lines(a: &Value, b: &Value) -> Vec<String> {
    let (fa, fb) = (flatten(a), flatten(b));
    let mut lines = Vec::new();
    let keys: std::collections::BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
    for k in keys {
        match (fa.get(k), fb.get(k)) {
            (Some(x), Some(y)) if x == y => {}
            (x, y) => {
                if let Some(x) = x {
                    lines.push(format!("- {k} = {x}"));
                }
                if let Some(y) = y {
                    lines.push(format!("+ {k} = {y}"));
                }
            }
        }
    }
    lines
}

/// Panic with a readable diff unless the two normalised reports are equal.
/// `-` lines are `a` (the runtime under test), `+` lines are `b` (the oracle).
pub fn assert_same(case: &str, a: &Value, b: &Value) {
    let lines = diff_lines(a, b);
    if !lines.is_empty() {
        let mounts = |v: &Value| -> Vec<String> {
            v["mounts"]
                .as_object()
                .map(|m| {
                    m.values()
                        .map(|x| format!("{} {} {}", x["target"], x["fstype"], x["options"]))
                        .collect()
                })
                .unwrap_or_default()
        };
        panic!(
            "case {case}: reports differ (- runtime under test, + oracle):\n{}\n\
             mounts (under test):\n  {}\nmounts (oracle):\n  {}",
            lines.join("\n"),
            mounts(a).join("\n  "),
            mounts(b).join("\n  ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_and_diff() {
        let places = Placeholders::new().add(Path::new("/tmp/b-1"), "bundle");
        let r = json!({"cgroup": ["x"], "mounts": [
            {"id": 5, "parent": 1, "target": "/b", "source": "/tmp/b-1/x", "propagation": ["shared:4"]},
            {"id": 3, "parent": 1, "target": "/a", "source": "none", "propagation": []}],
            "fd_targets": {"1": "pipe:[77]", "3": "socket:[12]"}});
        let n = normalise(&r, &places);
        assert!(n.get("cgroup").is_none());
        assert_eq!(n["fd_targets"]["3"], "socket:[]");
        assert_eq!(n["mounts"]["/a"]["source"], "none");
        assert_eq!(n["mounts"]["/b"]["source"], "<bundle>/x");
        assert_eq!(n["mounts"]["/b"]["propagation"][0], "shared");
        assert!(n["mounts"]["/b"].get("id").is_none());
        assert_eq!(n["fd_targets"]["1"], "<caller's stdio>");
        let other = json!({"fd_targets": {"1": "pipe:[]"}, "extra": 1});
        let d = diff_lines(&json!({"fd_targets": {"1": "pipe:[]"}}), &other);
        assert_eq!(d, vec!["+ /extra = 1".to_string()]);
        assert_eq!(strip_io_file("<rt>/io/3.out"), "<rt>/io/FILE");
    }
}

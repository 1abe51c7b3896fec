//! Running OCI hooks: the state JSON on stdin, a timeout, a clear error.

use crate::error::{Error, Result};
use crate::plan::{HookKind, HookPlan};
use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::Instant;

pub fn run_all(kind: HookKind, hooks: &[HookPlan], state: &serde_json::Value) -> Result<()> {
    for h in hooks {
        run_one(kind, h, state)?;
    }
    Ok(())
}

/// For poststart and poststop: a failing hook is logged and the rest still run.
pub fn run_all_warning(kind: HookKind, hooks: &[HookPlan], state: &serde_json::Value) {
    for h in hooks {
        if let Err(e) = run_one(kind, h, state) {
            crate::log::warn(&e.to_string());
        }
    }
}

fn run_one(kind: HookKind, h: &HookPlan, state: &serde_json::Value) -> Result<()> {
    let fail = |msg: String| Error::Hook {
        kind: kind.name(),
        path: h.path.display().to_string(),
        msg,
    };
    let mut cmd = Command::new(&h.path);
    cmd.arg0(&h.args[0])
        .args(&h.args[1..])
        .env_clear()
        .envs(h.env.iter().filter_map(|e| e.split_once('=')))
        .stdin(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| fail(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine: ignore EPIPE.
        let _ = stdin.write_all(state.to_string().as_bytes());
    }
    let started = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| fail(e.to_string()))? {
            break st;
        }
        if h.timeout.is_some_and(|t| started.elapsed() >= t) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(fail(format!(
                "timed out after {}s",
                h.timeout.unwrap_or_default().as_secs()
            )));
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    match (status.code(), status.signal()) {
        (Some(0), _) => Ok(()),
        (Some(c), _) => Err(fail(format!("exit status {c}"))),
        (None, Some(s)) => Err(fail(format!("killed by signal {s}"))),
        _ => Err(fail("ended abnormally".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn hook(script: &str, timeout: Option<u64>) -> HookPlan {
        HookPlan {
            path: PathBuf::from("/bin/sh"),
            args: vec!["sh".into(), "-c".into(), script.into()],
            env: vec!["X=1".into()],
            timeout: timeout.map(std::time::Duration::from_secs),
        }
    }

    #[test]
    fn hook_reads_state_and_env() {
        let out = std::env::temp_dir().join(format!("nook-hook-{}", std::process::id()));
        let h = hook(
            &format!("cat > {0}; echo \" $X\" >> {0}", out.display()),
            None,
        );
        run_all(HookKind::Poststop, &[h], &serde_json::json!({"id": "c"})).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        std::fs::remove_file(&out).unwrap();
        assert_eq!(text, "{\"id\":\"c\"} 1\n");
    }

    #[test]
    fn failing_and_slow_hooks_are_errors() {
        let e = run_all(
            HookKind::Prestart,
            &[hook("exit 3", None)],
            &serde_json::json!({}),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "prestart hook /bin/sh: exit status 3");
        let e = run_all(
            HookKind::Prestart,
            &[hook("sleep 5", Some(1))],
            &serde_json::json!({}),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "prestart hook /bin/sh: timed out after 1s");
    }
}

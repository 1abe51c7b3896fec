//! The process for `exec`: from a process.json, or the container's own
//! process with the command line's changes (as runc builds it).

use crate::error::{Error, Result};
use oci_spec::runtime::{Capability, Process, Spec};
use std::path::PathBuf;
use std::str::FromStr;

/// What `exec`'s flags change in the container's process.
#[derive(Debug, Clone, Default)]
pub struct ExecOverrides {
    pub args: Vec<String>,
    pub terminal: bool,
    pub cwd: Option<PathBuf>,
    pub env: Vec<String>,
    /// `uid[:gid]`
    pub user: Option<String>,
    pub additional_gids: Vec<u32>,
    pub caps: Vec<String>,
    pub no_new_privs: bool,
}

/// Parse a process.json (`exec --process`).
pub fn parse_process(text: &[u8]) -> Result<Process> {
    let de = &mut serde_json::Deserializer::from_slice(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        Error::Usage(format!("process.json: {field}: {}", e.into_inner()))
    })
}

pub fn exec_process(spec: &Spec, o: &ExecOverrides) -> Result<Process> {
    let mut p = spec
        .process()
        .clone()
        .ok_or_else(|| Error::config("process", "missing"))?;
    if o.args.is_empty() {
        return Err(Error::Usage("exec: no command given".into()));
    }
    p.set_args(Some(o.args.clone()));
    p.set_terminal(Some(o.terminal));
    if let Some(cwd) = &o.cwd {
        p.set_cwd(cwd.clone());
    }
    let mut env = p.env().clone().unwrap_or_default();
    for e in &o.env {
        let key = e.split('=').next().unwrap_or_default();
        env.retain(|x| x.split('=').next() != Some(key));
        env.push(e.clone());
    }
    p.set_env(Some(env));
    let mut user = p.user().clone();
    if let Some(u) = &o.user {
        let (uid, gid) = u.split_once(':').unwrap_or((u, ""));
        let num = |s: &str| {
            s.parse::<u32>().map_err(|_| {
                Error::Usage(format!("exec --user {u:?}: expected uid[:gid] as numbers"))
            })
        };
        user.set_uid(num(uid)?);
        if !gid.is_empty() {
            user.set_gid(num(gid)?);
        }
    }
    if !o.additional_gids.is_empty() {
        user.set_additional_gids(Some(o.additional_gids.clone()));
    }
    p.set_user(user);
    if !o.caps.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        let add = |set: &Option<oci_spec::runtime::Capabilities>, cap: Capability| {
            let mut s = set.clone().unwrap_or_default();
            s.insert(cap);
            Some(s)
        };
        for c in &o.caps {
            let cap = Capability::from_str(c.trim_start_matches("CAP_"))
                .map_err(|_| Error::Usage(format!("exec --cap {c:?}: unknown capability")))?;
            let (b, e, pm, a) = (
                add(caps.bounding(), cap),
                add(caps.effective(), cap),
                add(caps.permitted(), cap),
                add(caps.ambient(), cap),
            );
            caps.set_bounding(b)
                .set_effective(e)
                .set_permitted(pm)
                .set_ambient(a);
        }
        p.set_capabilities(Some(caps));
    }
    if o.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_to_the_containers_process() {
        let spec = crate::spec::parse(
            crate::spec::default_spec(false, 0, 0)
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        let o = ExecOverrides {
            args: vec!["ps".into()],
            cwd: Some("/tmp".into()),
            env: vec!["TERM=dumb".into(), "A=1".into()],
            user: Some("1000:1001".into()),
            caps: vec!["CAP_SYS_ADMIN".into()],
            ..Default::default()
        };
        let p = exec_process(&spec, &o).unwrap();
        assert_eq!(p.args().as_deref(), Some(&["ps".to_string()][..]));
        assert_eq!(p.terminal(), Some(false));
        assert_eq!(p.cwd(), &PathBuf::from("/tmp"));
        let env = p.env().clone().unwrap();
        assert!(env.contains(&"TERM=dumb".to_string()) && !env.contains(&"TERM=xterm".to_string()));
        assert_eq!((p.user().uid(), p.user().gid()), (1000, 1001));
        assert!(p
            .capabilities()
            .as_ref()
            .unwrap()
            .bounding()
            .as_ref()
            .unwrap()
            .contains(&Capability::SysAdmin));
        let bad = ExecOverrides {
            args: vec!["x".into()],
            user: Some("bob".into()),
            ..Default::default()
        };
        assert!(exec_process(&spec, &bad)
            .unwrap_err()
            .to_string()
            .contains("uid[:gid]"));
    }
}

//! Where an exec'd process goes: the container's cgroup, a sub-cgroup named by
//! `exec --cgroup [<controllers>:]<path>`, or (v2) init's own cgroup when the
//! container's has become an inner node that cannot take processes.

use super::Cgroup;
use crate::error::{Error, Result};
use std::path::{Component, Path, PathBuf};

/// One `--cgroup` value: the v1 controllers it is for (empty: all), and a path
/// below the container's cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubCgroup {
    pub controllers: Vec<String>,
    pub path: PathBuf,
}

impl SubCgroup {
    pub fn parse(text: &str) -> Result<SubCgroup> {
        let bad = |why: &str| Error::Usage(format!("--cgroup {text:?}: {why}"));
        let (controllers, path) = match text.split_once(':') {
            Some((c, p)) => (
                c.split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect(),
                p,
            ),
            None => (Vec::new(), text),
        };
        let path = PathBuf::from(path.trim_start_matches('/'));
        if path.as_os_str().is_empty() {
            return Err(bad("the path is empty"));
        }
        if path
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            return Err(bad("the path must stay below the container's cgroup"));
        }
        Ok(SubCgroup { controllers, path })
    }
}

impl Cgroup {
    /// The cgroup an exec'd process joins. Never owns (destroys) anything.
    pub fn for_exec(&self, subs: &[SubCgroup], init: i32) -> Result<Cgroup> {
        match self {
            Cgroup::V1 { dirs, .. } => {
                let mut out = dirs.clone();
                for sub in subs {
                    let mut hit = false;
                    for (hier, dir) in out.iter_mut() {
                        let wanted = sub.controllers.is_empty()
                            || hier
                                .split(',')
                                .any(|h| sub.controllers.iter().any(|c| c == h));
                        if wanted {
                            *dir = existing(&dir.join(&sub.path))?;
                            hit = true;
                        }
                    }
                    if !hit {
                        return Err(Error::Usage(format!(
                            "--cgroup: no cgroup v1 hierarchy has controller(s) {}",
                            sub.controllers.join(",")
                        )));
                    }
                }
                Ok(Cgroup::V1 {
                    dirs: out,
                    created: Vec::new(),
                })
            }
            Cgroup::V2 { dir, .. } => {
                let dir = match subs {
                    [] if super::fs::read(&dir.join("cgroup.subtree_control"))
                        .unwrap_or_default()
                        .trim()
                        .is_empty() =>
                    {
                        dir.clone()
                    }
                    // Controllers enabled for children: the kernel refuses
                    // processes here (EBUSY); go where init is.
                    [] => of_process(init).unwrap_or_else(|| dir.clone()),
                    [sub] if sub.controllers.is_empty() => existing(&dir.join(&sub.path))?,
                    [_] => {
                        return Err(Error::Usage(
                            "--cgroup: controllers cannot be named on cgroup v2".into(),
                        ))
                    }
                    _ => {
                        return Err(Error::Usage(
                            "--cgroup: cgroup v2 has one hierarchy: give one path".into(),
                        ))
                    }
                };
                Ok(Cgroup::V2 {
                    dir,
                    created: Vec::new(),
                })
            }
            Cgroup::None { .. } if !subs.is_empty() => {
                Err(Error::Usage("--cgroup: the container has no cgroup".into()))
            }
            Cgroup::None { reason } => Ok(Cgroup::None {
                reason: reason.clone(),
            }),
        }
    }
}

fn existing(dir: &Path) -> Result<PathBuf> {
    if dir.is_dir() {
        Ok(dir.to_path_buf())
    } else {
        Err(Error::Usage(format!(
            "--cgroup: {} does not exist",
            dir.display()
        )))
    }
}

/// The v2 directory `pid` is in.
fn of_process(pid: i32) -> Option<PathBuf> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let rel = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    Some(Path::new(super::v2::ROOT).join(rel.trim_start_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_runcs_forms() {
        assert_eq!(
            SubCgroup::parse("sub/a").unwrap(),
            SubCgroup {
                controllers: vec![],
                path: "sub/a".into()
            }
        );
        assert_eq!(
            SubCgroup::parse("cpu,memory:/x").unwrap(),
            SubCgroup {
                controllers: vec!["cpu".into(), "memory".into()],
                path: "x".into()
            }
        );
        for bad in ["", "memory:", "../up", "a/../../b", "cpu:./x"] {
            assert!(SubCgroup::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn v1_sub_cgroups_must_exist_and_match_a_controller() {
        let base = std::env::temp_dir().join(format!("nook-cg-exec-{}", std::process::id()));
        std::fs::create_dir_all(base.join("mem/sub")).unwrap();
        std::fs::create_dir_all(base.join("cpu")).unwrap();
        let cg = Cgroup::V1 {
            dirs: vec![
                ("memory".into(), base.join("mem")),
                ("cpu,cpuacct".into(), base.join("cpu")),
            ],
            created: vec![],
        };
        let got = cg
            .for_exec(&[SubCgroup::parse("memory:sub").unwrap()], 1)
            .unwrap();
        assert_eq!(got.dirs(), vec![base.join("mem/sub"), base.join("cpu")]);
        assert!(cg.for_exec(&[SubCgroup::parse("sub").unwrap()], 1).is_err());
        assert!(cg
            .for_exec(&[SubCgroup::parse("pids:sub").unwrap()], 1)
            .is_err());
        std::fs::remove_dir_all(&base).unwrap();
    }
}

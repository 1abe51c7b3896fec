//! The container's cgroup for `create`: made and limited before the clone, or
//! (`in_steps`) its v1 hierarchies made and limited by the parent after it.

use super::LimitPolicy;
use crate::error::{Error, Result};
use crate::host::Host;
use crate::kernel::cgroup::Cgroup;
use crate::plan::{NsKind, Plan};

/// A cgroup made in steps (`in_steps`): its v1 hierarchies are made and
/// limited by `finish`, which the parent runs once init is cloned.
pub(super) struct Later<'a> {
    pub(super) plan: &'a Plan,
    pub(super) host: &'a Host,
    pub(super) policy: LimitPolicy,
    /// The cgroup as made so far (all of it once `finish` is done, or as far
    /// as it got: what the cleanup removes) and the notes of its limits.
    pub(super) made: std::cell::RefCell<(Cgroup, Vec<String>)>,
}

impl Later<'_> {
    /// `init`: its pid, when it is cloned already (into the unified tree of
    /// a hybrid host, where it is not someone else's process).
    pub(super) fn finish(&self, init: Option<i32>) -> Result<()> {
        let mut made = self.made.borrow_mut();
        made.0.make_v1()?;
        made.1 = limit(&made.0, init, self.plan, self.host, self.policy)?;
        Ok(())
    }
}

/// Are the v1 hierarchies' directories made after the clone, while init sets
/// up its mounts? Each is a cgroupfs mkdir of tens of microseconds; with the
/// limits' writes they were most of what `create` did before the clone on
/// a v1 host. So: on a v1 or hybrid host, as real root (where a refusal is
/// an error, never a reason to go without), with init cloned at once (no
/// namespace joined by path) and joining the hierarchies itself, by path:
/// no new user namespace (whose root the files would refuse), no new cgroup
/// namespace (init makes it, rooted where init is, before its mounts).
pub(super) fn in_steps(plan: &Plan, host: &Host) -> bool {
    matches!(host.cgroups, crate::host::CgroupLayout::Legacy { .. })
        && host.euid == 0
        && !host.in_userns
        && !plan.has_new(NsKind::User)
        && !plan.has_new(NsKind::Cgroup)
        && plan.namespaces.iter().all(|n| n.path.is_none())
}

/// Create the cgroup and write the limits. Without the right to (rootless, or
/// in a user namespace), run without and record why; as real root it is an error.
pub(super) fn make_cgroup(
    plan: &Plan,
    host: &Host,
    policy: LimitPolicy,
) -> Result<(Cgroup, Vec<String>)> {
    let privileged = host.euid == 0 && !host.in_userns;
    let cgroup = match Cgroup::create(&host.cgroups, &plan.cgroup.path) {
        Ok(c) => c,
        Err(e) if !privileged => Cgroup::None {
            reason: format!(
                "no cgroup may be created here by uid {} ({e}); see `nook doctor`",
                host.euid
            ),
        },
        Err(e) => return Err(e),
    };
    match limit(&cgroup, None, plan, host, policy) {
        Ok(notes) => Ok((cgroup, notes)),
        Err(e) => {
            let _ = cgroup.destroy();
            Err(e)
        }
    }
}

/// Write the limits into the container's cgroup, in which `init` may be
/// already. Returns what was not applied, one note each (the plan's own
/// first); on an error the caller removes the cgroup.
fn limit(
    cgroup: &Cgroup,
    init: Option<i32>,
    plan: &Plan,
    host: &Host,
    policy: LimitPolicy,
) -> Result<Vec<String>> {
    let mut notes = plan.not_applied.clone();
    let privileged = host.euid == 0 && !host.in_userns;
    // A pre-existing cgroup with processes in it, in any hierarchy, belongs
    // to someone else (runc refuses too).
    let occupied = match cgroup.owns_leaf() {
        true => None,
        false => cgroup.occupied(init),
    };
    if let Some((dir, n)) = occupied {
        return Err(Error::State(format!(
            "cgroup {} is not empty: it has {n} processes",
            dir.display()
        )));
    }
    notes.extend(cgroup.apply(&plan.cgroup.writes)?);
    if let Some(prog) = &plan.cgroup.device_program {
        let denied = |e: &Error| {
            matches!(
                e.errno(),
                Some(nix::errno::Errno::EPERM) | Some(nix::errno::Errno::EACCES)
            )
        };
        match cgroup.apply_devices(prog) {
            Ok(None) => {}
            Ok(Some(why)) => notes.push(format!("linux.resources.devices: not applied: {why}")),
            Err(e) if !privileged && denied(&e) => {
                notes.push(format!("linux.resources.devices: not applied: {e}"))
            }
            Err(e) => return Err(e),
        }
    }
    for n in &notes {
        crate::log::debug(&format!("not applied: {n}"));
    }
    // Limits, not device rules: without a cgroup (rootless) those are never applied.
    let limits: Vec<&String> = notes[plan.not_applied.len()..]
        .iter()
        .filter(|n| !n.starts_with("devices.") && !n.starts_with("linux.resources.devices"))
        .collect();
    match (policy, limits.first()) {
        (LimitPolicy::Strict, Some(first)) => {
            return Err(Error::unsupported(
                "linux.resources",
                format!("{first} (--strict-limits)"),
            ))
        }
        (LimitPolicy::Warn, _) => limits
            .iter()
            .for_each(|n| eprintln!("WARNING: limit not applied: {n}")),
        _ => {}
    }
    Ok(notes)
}

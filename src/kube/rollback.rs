//! Which revision a rollback returns to, and why one cannot be chosen. Like `kubectl rollout
//! undo` and `helm rollback`: the default is the previous good revision; a rollback re-applies
//! that revision's objects as a new revision.

use crate::kube::error::KubeError;
use crate::kube::release::{Release, Revision, Status};

/// The revision `/rollback` (with `to`, or the previous good one) re-applies. Refusals say
/// why and that nothing changed.
pub fn choose(release: &Release, to: Option<u32>, ns: &str) -> Result<Revision, KubeError> {
    let ge = &release.ge;
    let kept = || {
        release
            .revisions
            .iter()
            .map(|r| format!("{} ({})", r.number, r.status.word()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match to {
        Some(n) => {
            let Some(r) = release.revision(n) else {
                return Err(KubeError::Refused(format!(
                    "{ge} in {ns} has no revision {n} in its history (kept: {}); nothing was changed",
                    kept()
                )));
            };
            if let Status::Failed { reason } = &r.status {
                return Err(KubeError::Refused(format!(
                    "revision {n} of {ge} never rolled out ({reason}); choose a good one from /ge history {ge}; nothing was changed"
                )));
            }
            if r.status == Status::Pending {
                return Err(KubeError::Refused(format!(
                    "revision {n} of {ge} is still rolling out; nothing was changed"
                )));
            }
            if release.live().map(|d| d.number) == Some(n) {
                return Err(KubeError::Refused(format!(
                    "{ge} in {ns} already runs revision {n} ({}); nothing was changed",
                    r.image
                )));
            }
            Ok(r.clone())
        }
        None => release.previous_good().cloned().ok_or_else(|| {
            let only = match release.live() {
                Some(d) => format!(" (it has only revision {}, {})", d.number, d.image),
                None => String::new(),
            };
            KubeError::Refused(format!(
                "{ge} in {ns} has no earlier revision to roll back to{only}; nothing was changed"
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::release::{Action, Params};

    fn rev(number: u32, status: Status, version: &str) -> Revision {
        Revision {
            number,
            job: 1,
            by: "console:ada".into(),
            at_ms: 0,
            action: Action::Install,
            params: Params {
                version: version.into(),
                replicas: 1,
                expose_nodeport: false,
                ge: Default::default(),
                autoscale: None,
            },
            image: format!("quay.io/fiware/orion:{version}"),
            manifests: vec![serde_json::json!({ "v": version })],
            status,
            finished_ms: None,
            summary: None,
        }
    }

    fn release(revs: Vec<Revision>) -> Release {
        let mut r = Release::new("lab-1", "demo", "orion");
        r.next = revs.len() as u32 + 1;
        r.revisions = revs;
        r
    }

    #[test]
    fn default_is_the_previous_good_revision() {
        let r = release(vec![
            rev(1, Status::Superseded, "4.0.0"),
            rev(2, Status::Failed { reason: "x".into() }, "broken"),
            rev(3, Status::Deployed, "4.1.0"),
        ]);
        assert_eq!(choose(&r, None, "demo").unwrap().number, 1);
    }

    #[test]
    fn no_history_says_so() {
        let r = release(vec![rev(1, Status::Deployed, "4.1.0")]);
        let e = choose(&r, None, "demo").unwrap_err().to_string();
        assert!(e.contains("no earlier revision"), "{e}");
        assert!(e.contains("nothing was changed"), "{e}");
    }

    #[test]
    fn to_must_be_a_good_other_revision() {
        let r = release(vec![
            rev(1, Status::Superseded, "4.0.0"),
            rev(
                2,
                Status::Failed {
                    reason: "ImagePullBackOff".into(),
                },
                "broken",
            ),
            rev(3, Status::Deployed, "4.1.0"),
        ]);
        assert_eq!(choose(&r, Some(1), "demo").unwrap().number, 1);
        assert!(
            choose(&r, Some(2), "demo")
                .unwrap_err()
                .to_string()
                .contains("never rolled out")
        );
        assert!(
            choose(&r, Some(3), "demo")
                .unwrap_err()
                .to_string()
                .contains("already runs")
        );
        assert!(
            choose(&r, Some(9), "demo")
                .unwrap_err()
                .to_string()
                .contains("no revision 9")
        );
    }
}

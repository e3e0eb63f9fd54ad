//! Cluster commands answered without a job, and the confirmation step of `/cluster delete`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::cluster_view as view;
use super::{Dispatcher, INTERNAL};
use crate::auth::RoomRef;
use crate::chat::Incoming;
use crate::command::Command;
use crate::store::{AuditOutcome, ClusterJob, JobKind, StoreError, UnknownCluster};

/// How long a delete confirmation code is valid.
const CONFIRM_FOR: Duration = Duration::from_secs(600);

/// Codes handed out, by (platform, room, cluster): the code and when it expires.
pub(super) type Pending = HashMap<(String, String, String), (String, Instant)>;

/// A fresh confirmation code: 6 characters that cannot be mistaken for each other.
fn new_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..6)
        .map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())]))
        .collect()
}

impl Dispatcher {
    /// The confirmation step of a destructive `command` on `target` (a cluster, a node of
    /// one, a namespace) from `msg`'s room: with the code handed out and not expired, go ahead
    /// (`Ok(None)`); without a code, a new one (`Ok(Some)`, the issue audited); with another,
    /// `Err` with the refusal, which names `again`, the command that gives a new code.
    pub(super) fn confirmation(
        &self,
        msg: &Incoming,
        command: &Command,
        target: &str,
        confirm: Option<&str>,
        again: &str,
    ) -> Result<Option<String>, String> {
        match self.code_for(msg, target, confirm) {
            Ok(Some(code)) => {
                self.audit(
                    msg,
                    command.redacted(),
                    AuditOutcome::Rejected {
                        reason: "confirmation code issued".into(),
                    },
                );
                Ok(Some(code))
            }
            Ok(None) => Ok(None),
            Err(()) => Err(self.reject(
                msg,
                command,
                format!("that confirmation code is wrong or has expired; {again} gives a new one"),
            )),
        }
    }

    /// The code decision of [`Dispatcher::confirmation`], under the lock of the codes.
    fn code_for(
        &self,
        msg: &Incoming,
        target: &str,
        confirm: Option<&str>,
    ) -> Result<Option<String>, ()> {
        let key = (msg.platform.clone(), msg.room.clone(), target.to_string());
        // Decided under the lock, which is never held across an await.
        let mut pending = self
            .pending_deletes
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        pending.retain(|_, (_, until)| *until > Instant::now());
        match confirm {
            None => {
                let code = new_code();
                pending.insert(key, (code.clone(), Instant::now() + CONFIRM_FOR));
                Ok(Some(code))
            }
            Some(code) if pending.get(&key).is_some_and(|(want, _)| want == code) => {
                pending.remove(&key);
                Ok(None)
            }
            Some(_) => Err(()),
        }
    }

    /// `/cluster delete NAME [confirm=CODE]`: without a code, hands one out; with the right
    /// one, queues the delete job.
    pub(super) async fn delete(
        &self,
        msg: &Incoming,
        command: &Command,
        name: &str,
        confirm: Option<&str>,
    ) -> Option<String> {
        if self.config.clusters.iter().any(|c| c.name == name) {
            return Some(self.reject(msg, command, format!(
                "cluster {name} is declared in the config, not created by labkube; remove it from the config instead"
            )));
        }
        let record = match self.store.cluster(name) {
            Ok(Some(r)) => r,
            Ok(None) => {
                return Some(UnknownCluster(name.to_string()).to_string());
            }
            Err(e) => return Some(self.internal(e)),
        };
        let again = format!("/cluster delete {name}");
        let issued = match self.confirmation(msg, command, name, confirm, &again) {
            Ok(issued) => issued,
            Err(refused) => return Some(refused),
        };
        let Some(code) = issued else {
            let kind = JobKind::Cluster(ClusterJob::Delete {
                cluster: name.to_string(),
            });
            return self.queue(msg, command, Ok(kind)).await;
        };
        let nodes: Vec<String> = record
            .nodes
            .iter()
            .map(|n| format!("{} ({})", n.addr, n.role))
            .collect();
        Some(format!(
            "deleting cluster {name} runs kubeadm reset and removes Kubernetes from {} host(s): {}. \
             To go ahead, type within 10 minutes: /cluster delete {name} confirm={code}",
            nodes.len(),
            nodes.join(", ")
        ))
    }

    /// `/cluster use NAME`.
    pub(super) fn use_cluster(
        &self,
        msg: &Incoming,
        command: &Command,
        name: &str,
    ) -> Result<String, StoreError> {
        let known = self.config.clusters.iter().any(|c| c.name == name)
            || self.store.cluster(name)?.is_some();
        if !known {
            return Ok(UnknownCluster(name.to_string()).to_string());
        }
        self.store
            .set_room_cluster(&msg.platform, &msg.room, name)?;
        self.audit(msg, command.redacted(), AuditOutcome::Done);
        Ok(format!(
            "{name} is now this room's current cluster; /ge commands use it unless they name cluster="
        ))
    }

    /// The clusters the bot knows, declared ones first, with their owner as `room` sees it
    /// and whether `room` may see their hosts (the owning room and admins).
    pub(super) fn known(&self, room: &RoomRef, admin: bool) -> Result<Vec<Known>, StoreError> {
        let word = |owner: Option<RoomRef>| match owner {
            Some(o) if o == *room => ("this room", true),
            Some(_) => ("another room", admin),
            None => ("admins only", admin),
        };
        let mut out = Vec::new();
        for c in &self.config.clusters {
            let owner = c.owner.as_ref().map(|o| RoomRef {
                platform: o.platform.clone(),
                room: o.room.clone(),
            });
            let (owner, detail) = word(owner);
            out.push(Known {
                name: c.name.clone(),
                record: None,
                owner,
                detail,
            });
        }
        for r in self.store.clusters()? {
            let (owner, detail) = word(Some(RoomRef {
                platform: r.owner_platform.clone(),
                room: r.owner_room.clone(),
            }));
            out.push(Known {
                name: r.name.clone(),
                record: Some(r),
                owner,
                detail,
            });
        }
        Ok(out)
    }

    /// `/cluster status [NAME]`: the owning room and admins get the cluster's nodes as its API
    /// server shows them now (answered when it has, without holding up the room's next
    /// command); other rooms get what is registered, without hosts.
    pub(super) fn status(
        &self,
        msg: &Incoming,
        room: &RoomRef,
        admin: bool,
        name: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        let name = match name {
            Some(n) => n.to_string(),
            None => match self.current_cluster(room)? {
                Some(n) => n,
                None => return Ok(Some("this room has no current cluster; /cluster list shows them, /cluster use NAME picks one".into())),
            },
        };
        let Some(known) = self
            .known(room, admin)?
            .into_iter()
            .find(|k| k.name == name)
        else {
            return Ok(Some(UnknownCluster(name).to_string()));
        };
        let shown = known.shown(Err(String::new()));
        if let Some(job) = known.record.as_ref().and_then(|r| r.creating) {
            return Ok(Some(view::creating(&shown, job, known.detail)));
        }
        if !known.detail {
            return Ok(Some(view::status_for_others(&shown)));
        }
        let ges = match crate::kube::release::Release::all_on(self.kube.store(), &known.name) {
            Ok(releases) => releases
                .iter()
                .map(|r| format!("{} in {}", r.ge, r.namespace))
                .collect::<Vec<_>>(),
            Err(e) => {
                tracing::error!(error = %e, "cannot list a cluster's releases");
                return Ok(Some(INTERNAL.into()));
            }
        };
        let layer = self.kube.clone();
        let limit = self.live_limit();
        self.reply_later(msg, async move {
            let live = ask_within(&layer, &known.name, limit).await;
            let nodes = view::status(&known.shown(endpoint(&layer, &known.name, &live)), &live);
            if ges.is_empty() {
                format!("{nodes}\nno GEs installed by labkube yet; /ge catalog lists them")
            } else {
                format!("{nodes}\nGEs installed by labkube: {}", ges.join(", "))
            }
        });
        Ok(None)
    }

    /// `/cluster list`: every cluster, the room's current one marked; those the room may see in
    /// detail with their state now.
    pub(super) fn list(
        &self,
        msg: &Incoming,
        room: &RoomRef,
        admin: bool,
    ) -> Result<Option<String>, StoreError> {
        let known = self.known(room, admin)?;
        if known.is_empty() {
            return Ok(Some(
                "no clusters yet; /cluster create <ip> <ip> <ip> provisions one".into(),
            ));
        }
        let current = self.current_cluster(room)?;
        let layer = self.kube.clone();
        let limit = self.live_limit();
        self.reply_later(msg, async move {
            let asked = known.iter().map(|k| {
                let layer = &layer;
                async move {
                    let ask = k.detail && k.record.as_ref().is_none_or(|r| r.creating.is_none());
                    if ask {
                        Some(ask_within(layer, &k.name, limit).await)
                    } else {
                        None
                    }
                }
            });
            let live = futures::future::join_all(asked).await;
            let lines: Vec<String> = known
                .iter()
                .zip(&live)
                .map(|(k, live)| {
                    let shown = match live {
                        Some(live) => k.shown(endpoint(&layer, &k.name, live)),
                        None => k.shown(layer.endpoint(&k.name).map_err(|e| e.to_string())),
                    };
                    view::list_line(&shown, current.as_deref() == Some(&k.name), live.as_ref())
                })
                .collect();
            format!(
                "{} cluster(s); * marks this room's current one:\n{}",
                lines.len(),
                lines.join("\n")
            )
        });
        Ok(None)
    }

    /// The bound on one live look at a cluster (its version, then its nodes).
    fn live_limit(&self) -> Duration {
        self.kube.request_timeout() * 2
    }

    /// `/host forget IP`: drops the pinned SSH key(s) of that address, so the next contact pins
    /// the key the host presents.
    pub(super) fn forget_host(
        &self,
        msg: &Incoming,
        command: &Command,
        ip: IpAddr,
    ) -> Result<String, StoreError> {
        let forgotten = self.store.forget_host_keys(ip)?;
        self.audit(msg, command.redacted(), AuditOutcome::Done);
        Ok(if forgotten == 0 {
            format!("no SSH host key was pinned for {ip}; nothing changed")
        } else {
            format!(
                "forgot {forgotten} pinned SSH host key(s) of {ip}; the next connection pins the key it presents and shows its fingerprint"
            )
        })
    }

    /// Logs a store failure and returns the generic reply.
    fn internal(&self, e: StoreError) -> String {
        tracing::error!(error = %e, "job store failed");
        INTERNAL.to_string()
    }
}

/// A cluster the bot knows, as one room sees it.
pub(super) struct Known {
    pub(super) name: String,
    /// `None`: declared in the config.
    record: Option<crate::store::ClusterRecord>,
    owner: &'static str,
    /// Whether the room may see its hosts and live state.
    pub(super) detail: bool,
}

impl Known {
    fn shown(&self, endpoint: Result<String, String>) -> view::Shown<'_> {
        view::Shown {
            name: &self.name,
            record: self.record.as_ref(),
            owner: self.owner,
            endpoint,
        }
    }
}

/// Where the bot reaches the cluster's API server, or why that is unknown.
fn endpoint(
    layer: &crate::kube::KubeLayer,
    name: &str,
    live: &view::Live,
) -> Result<String, String> {
    match live.server() {
        Some(server) => Ok(server.to_string()),
        None => layer.endpoint(name).map_err(|e| e.to_string()),
    }
}

/// [`view::ask`] bounded by `limit` in all.
async fn ask_within(layer: &crate::kube::KubeLayer, name: &str, limit: Duration) -> view::Live {
    match tokio::time::timeout(limit, view::ask(layer, name)).await {
        Ok(live) => live,
        Err(_) => view::Live::Failed(format!("no answer within {} s", limit.as_secs())),
    }
}

//! Cluster commands answered without a job, and the confirmation step of `/cluster delete`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

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
        let key = (msg.platform.clone(), msg.room.clone(), name.to_string());
        // Decide under the lock, act after it: the lock is never held across an await.
        let issued = {
            let mut pending = self
                .pending_deletes
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            pending.retain(|_, (_, until)| *until > Instant::now());
            match confirm {
                None => {
                    let code = new_code();
                    pending.insert(key, (code.clone(), Instant::now() + CONFIRM_FOR));
                    Some(code)
                }
                Some(code) if pending.get(&key).is_some_and(|(want, _)| want == code) => {
                    pending.remove(&key);
                    None
                }
                Some(_) => {
                    return Some(self.reject(msg, command, format!(
                        "that confirmation code is wrong or has expired; /cluster delete {name} gives a new one"
                    )));
                }
            }
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
        self.audit(
            msg,
            command.redacted(),
            AuditOutcome::Rejected {
                reason: "confirmation code issued".into(),
            },
        );
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

    /// `/cluster status [NAME]`. Node addresses, hostnames and SSH users are shown only to the
    /// owning room and to admins (`admin`); other rooms get a redacted view (version, owner,
    /// node count) saying so, so no room maps another's hosts.
    pub(super) fn status(
        &self,
        room: &RoomRef,
        admin: bool,
        name: Option<&str>,
    ) -> Result<String, StoreError> {
        let name = match name {
            Some(n) => n.to_string(),
            None => match self.store.room_cluster(&room.platform, &room.room)? {
                Some(n) => n,
                None => return Ok("this room has no current cluster; /cluster list shows them, /cluster use NAME picks one".into()),
            },
        };
        if let Some(c) = self.config.clusters.iter().find(|c| c.name == name) {
            return Ok(format!(
                "cluster {} is declared in the config (its kubeconfig is given there, so labkube did not provision it); /ge list shows what labkube installed on it",
                c.name
            ));
        }
        let Some(c) = self.store.cluster(&name)? else {
            return Ok(UnknownCluster(name.to_string()).to_string());
        };
        let owned = c.owner_platform == room.platform && c.owner_room == room.room;
        let owner = if owned { "this room" } else { "another room" };
        let version = if c.k8s_version.is_empty() {
            "(version unknown)"
        } else {
            c.k8s_version.as_str()
        };
        let registered = humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + Duration::from_millis(c.created_ms),
        );
        let mut out = match c.creating {
            Some(job) => format!(
                "cluster {}: not ready, its create (job #{job}) has not finished; owned by {owner}; {} node(s) held for it since {registered}:",
                c.name,
                c.nodes.len()
            ),
            None => format!(
                "cluster {}: Kubernetes {version}, owned by {owner}; {} node(s), all Ready when it was registered ({registered}):",
                c.name,
                c.nodes.len()
            ),
        };
        if !owned && !admin {
            out.pop();
            out.push_str(
                "; node addresses and SSH users are shown only to the owning room and admins",
            );
            return Ok(out);
        }
        for n in &c.nodes {
            let port = if n.port == 22 {
                String::new()
            } else {
                format!(":{}", n.port)
            };
            out.push_str(&format!(
                "\n  {}{port} {} {} (ssh user {})",
                n.addr, n.role, n.hostname, n.user
            ));
        }
        Ok(out)
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

//! `/ns create`, `/ns list` and `/ns delete`: a room's own namespaces on a cluster (see
//! [`crate::kube::namespace`]). Who owns which namespace is decided and kept here, in the
//! store; the namespace, its LimitRange and its quota are made on the cluster in a task of
//! their own (a slow API server holds up no other command). Creations and deletions are
//! audited.

use crate::auth::RoomRef;
use crate::chat::Incoming;
use crate::command::{Command, Name};
use crate::config::NamespaceQuota;
use crate::kube::namespace::{self, DEFAULT_REQUEST, Owned};
use crate::store::{AuditOutcome, UnknownCluster, now_ms};

use super::access::principal_text;
use super::{Dispatcher, INTERNAL, in_time, rejected, write_audit};

impl Dispatcher {
    /// The namespaces `/ns create` made on `cluster`, with their records; `room`'s only unless
    /// `all`.
    pub(super) fn room_namespaces(
        &self,
        cluster: &str,
        room: &RoomRef,
        all: bool,
    ) -> Result<Vec<(String, Owned)>, crate::store::StoreError> {
        Ok(self
            .store
            .namespaces()?
            .into_iter()
            .filter(|(c, _, _)| c == cluster)
            .filter_map(|(_, ns, json)| {
                let owned: Owned = serde_json::from_str(&json)
                    .inspect_err(
                        |e| tracing::error!(error = %e, %ns, "unreadable namespace record"),
                    )
                    .ok()?;
                (all || owned.belongs_to(room)).then_some((ns, owned))
            })
            .collect())
    }

    /// Whether `/ns create` made `ns` on `cluster` for `room`.
    pub(super) fn room_owns(&self, cluster: &str, room: &RoomRef, ns: &str) -> bool {
        self.room_namespaces(cluster, room, false)
            .inspect_err(|e| tracing::error!(error = %e, "job store failed"))
            .is_ok_and(|owned| owned.iter().any(|(n, _)| n == ns))
    }

    /// The cluster an `/ns` command acts on, known and not being created.
    fn ns_cluster(&self, room: &RoomRef, given: Option<&Name>) -> Result<String, String> {
        let cluster = self.access_cluster(room, given)?;
        match self.kube.knows(&cluster) {
            Ok(true) => Ok(cluster),
            Ok(false) => Err(UnknownCluster(cluster).to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The record of `ns` on `cluster`, if `/ns create` made it.
    fn ns_record(&self, cluster: &str, ns: &str) -> Result<Option<Owned>, String> {
        let json = self
            .store
            .namespace(cluster, ns)
            .map_err(|e| self.internal_text(e))?;
        json.map(|j| serde_json::from_str(&j))
            .transpose()
            .map_err(|e| {
                tracing::error!(error = %e, %ns, "unreadable namespace record");
                INTERNAL.to_string()
            })
    }

    /// `/ns create NAME [cluster=] [cpu=] [memory=] [pods=]`.
    pub(super) fn ns_create(
        &self,
        msg: &Incoming,
        room: &RoomRef,
        admin: bool,
        command: &Command,
    ) -> Option<String> {
        let Command::NsCreate {
            name,
            cluster,
            cpu,
            memory,
            pods,
        } = command
        else {
            return Some(INTERNAL.into());
        };
        let ns = name.to_string();
        let cluster = match self.ns_cluster(room, cluster.as_ref()) {
            Ok(c) => c,
            Err(e) => return Some(self.reject(msg, command, e)),
        };
        if let Some(why) = namespace::unavailable(&ns) {
            return Some(self.reject(msg, command, format!("{why}; nothing was changed")));
        }
        let before = match self.ns_record(&cluster, &ns) {
            Ok(r) => r,
            Err(e) => return Some(e),
        };
        if let Some(b) = &before
            && !admin
            && !b.belongs_to(room)
        {
            let why =
                format!("namespace {ns} on {cluster} belongs to another room; nothing was changed");
            return Some(self.reject(msg, command, why));
        }
        let defaults = self
            .policy
            .room(room)
            .map(|r| r.quota.clone())
            .unwrap_or_default();
        let asked = NamespaceQuota {
            cpu: cpu.clone(),
            memory: memory.clone(),
            pods: *pods,
        };
        let quota = asked.or(&defaults);
        let record = before.unwrap_or_else(|| Owned {
            platform: room.platform.clone(),
            room: room.room.clone(),
            by: principal_text(&msg.principal()),
            created_ms: now_ms(),
            quota: NamespaceQuota::default(),
        });
        let record = Owned {
            quota: quota.clone(),
            ..record
        };
        let (layer, store) = (self.kube.clone(), self.store.clone());
        let (incoming, line) = (msg.clone(), command.redacted());
        let limit = layer.request_timeout() * 6;
        self.reply_later(msg, async move {
            let ask = namespace::create(&layer, &cluster, &ns, &quota);
            let existed = match in_time(&cluster, limit, "run the same /ns create again", ask).await {
                Ok(existed) => existed,
                Err(why) => return rejected(&*store, &incoming, line, why),
            };
            let kept = serde_json::to_string(&record)
                .map_err(|e| e.to_string())
                .and_then(|json| store.put_namespace(&cluster, &ns, &json).map_err(|e| e.to_string()));
            if let Err(e) = kept {
                tracing::error!(error = %e, "cannot record a namespace made");
                return rejected(&*store, &incoming, line, INTERNAL.into());
            }
            write_audit(&*store, &incoming, line, AuditOutcome::Done);
            let (cpu, mem) = DEFAULT_REQUEST;
            let how = if existed { "exists and is" } else { "is created:" };
            format!(
                "namespace {ns} on {cluster} {how} this room's, with {quota}; a container that requests nothing gets {cpu} CPU and {mem} memory. Install into it with /ge install GE ns={ns}; /kubeconfig ns={ns} gives you access"
            )
        });
        None
    }

    /// `/ns list [cluster=]`.
    pub(super) fn ns_list(
        &self,
        msg: &Incoming,
        room: &RoomRef,
        admin: bool,
        given: Option<&Name>,
    ) -> Option<String> {
        let cluster = match self.ns_cluster(room, given) {
            Ok(c) => c,
            Err(e) => return Some(e),
        };
        let owned = match self.room_namespaces(&cluster, room, admin) {
            Ok(o) => o,
            Err(e) => return Some(self.internal_text(e)),
        };
        if owned.is_empty() {
            let whose = if admin {
                "no room has namespaces of its own"
            } else {
                "this room has no namespaces of its own"
            };
            return Some(format!(
                "{whose} on {cluster}; /ns create NAME makes one (GEs without ns= go to the room's namespace)"
            ));
        }
        let releases = match self.store.release_records_on(&cluster) {
            Ok(r) => r,
            Err(e) => return Some(self.internal_text(e)),
        };
        let layer = self.kube.clone();
        let limit = layer.request_timeout();
        let room = room.clone();
        self.reply_later(msg, async move {
            let mut lines = Vec::new();
            for (ns, o) in &owned {
                let ges: Vec<&str> = releases
                    .iter()
                    .filter(|(t, _)| &t.namespace == ns)
                    .map(|(t, _)| t.ge.as_str())
                    .collect();
                let ges = if ges.is_empty() {
                    "no GEs".to_string()
                } else {
                    format!("GEs {}", ges.join(", "))
                };
                let used = match in_time(
                    &cluster,
                    limit,
                    "",
                    namespace::usage(&layer, &cluster, ns),
                )
                .await
                {
                    Ok(Some(u)) => format!("; using {u}"),
                    Ok(None) => String::new(),
                    Err(why) => format!("; use unknown: {why}"),
                };
                let whose = if o.belongs_to(&room) {
                    String::new()
                } else {
                    format!(" (room {}:{})", o.platform, o.room)
                };
                lines.push(format!("{ns}{whose}: {ges}; {}{used}", o.quota));
            }
            format!(
                "namespaces on {cluster} ({}):\n{}",
                lines.len(),
                lines.join("\n")
            )
        });
        None
    }

    /// `/ns delete NAME [cluster=] [confirm=CODE]`: refused while GEs are installed in it;
    /// without a code, hands one out; with the right one, deletes the namespace.
    pub(super) fn ns_delete(
        &self,
        msg: &Incoming,
        room: &RoomRef,
        admin: bool,
        command: &Command,
    ) -> Option<String> {
        let Command::NsDelete {
            name,
            cluster,
            confirm,
        } = command
        else {
            return Some(INTERNAL.into());
        };
        let ns = name.to_string();
        let cluster = match self.ns_cluster(room, cluster.as_ref()) {
            Ok(c) => c,
            Err(e) => return Some(self.reject(msg, command, e)),
        };
        let record = match self.ns_record(&cluster, &ns) {
            Ok(Some(r)) => r,
            Ok(None) => {
                let why = format!(
                    "namespace {ns} on {cluster} was not made with /ns create; labkube deletes only the namespaces it made for a room (/ns list shows them); nothing was changed"
                );
                return Some(self.reject(msg, command, why));
            }
            Err(e) => return Some(e),
        };
        if !admin && !record.belongs_to(room) {
            let why =
                format!("namespace {ns} on {cluster} belongs to another room; nothing was changed");
            return Some(self.reject(msg, command, why));
        }
        let installed: Vec<String> = match self.store.release_records_on(&cluster) {
            Ok(r) => r
                .into_iter()
                .filter(|(t, _)| t.namespace == ns)
                .map(|(t, _)| t.ge)
                .collect(),
            Err(e) => return Some(self.internal_text(e)),
        };
        if !installed.is_empty() {
            let why = format!(
                "namespace {ns} on {cluster} still holds GE(s) {}; uninstall them first (/ge uninstall GE ns={ns}); nothing was changed",
                installed.join(", ")
            );
            return Some(self.reject(msg, command, why));
        }
        let target = format!("ns {cluster}/{ns}");
        let again = format!("/ns delete {ns} cluster={cluster}");
        let issued = match self.confirmation(msg, command, &target, confirm.as_deref(), &again) {
            Ok(issued) => issued,
            Err(refused) => return Some(refused),
        };
        if let Some(code) = issued {
            return Some(format!(
                "deleting namespace {ns} on {cluster} deletes everything in it, and kubeconfigs issued for it no longer reach anything there. To go ahead, type within 10 minutes: /ns delete {ns} cluster={cluster} confirm={code}"
            ));
        }
        let (layer, store) = (self.kube.clone(), self.store.clone());
        let (incoming, line) = (msg.clone(), command.redacted());
        let limit = layer.request_timeout() * 2;
        self.reply_later(msg, async move {
            let ask = namespace::delete(&layer, &cluster, &ns);
            let then = "the namespace may or may not be deleted: /ns list shows it";
            if let Err(why) = in_time(&cluster, limit, then, ask).await {
                return rejected(&*store, &incoming, line, why);
            }
            let forgot = store.remove_namespace(&cluster, &ns).and_then(|()| {
                for (c, account, n, _) in store.grants()? {
                    if c == cluster && n == ns {
                        store.remove_grant(&c, &account, &n)?;
                    }
                }
                Ok(())
            });
            if let Err(e) = forgot {
                tracing::error!(error = %e, "cannot forget a namespace deleted");
            }
            write_audit(&*store, &incoming, line, AuditOutcome::Done);
            format!(
                "namespace {ns} on {cluster} is being deleted with everything in it; the access given to it ended with it"
            )
        });
        None
    }
}

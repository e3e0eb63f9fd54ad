//! From a chat message to an answer: parse, authorise, then answer read-only commands at once
//! or store a job durably and acknowledge it. Bad input gets one usage reply and changes
//! nothing; refusals get one reply and an audit entry; every mutating command is audited.

mod access;
mod alerts;
mod answers;
mod cluster;
mod cluster_lines;
mod cluster_view;
mod edits;
mod ge;
mod node;
mod ns;
mod queue;
mod room_cap;
mod upgrade;

use std::sync::Arc;

use crate::auth::{self, ClusterOwner, Facts, Policy, RoomRef};
use crate::chat::{Incoming, Replier};
use crate::command::{self, Command};
use crate::config::Config;
use crate::jobs::WorkerHandle;
use crate::kube::KubeLayer;
use crate::progress::ProgressSink;
use crate::store::{AuditEntry, AuditOutcome, JobKind, JobStore, Requester, now_ms};

/// Everything a message handler needs.
pub struct Dispatcher {
    policy: Policy,
    config: Arc<Config>,
    store: Arc<dyn JobStore>,
    chat: Arc<dyn Replier>,
    progress: Arc<dyn ProgressSink>,
    worker: WorkerHandle,
    /// The Kubernetes layer.
    kube: KubeLayer,
    /// Confirmation codes handed out by `/cluster delete`, by room and cluster.
    pending_deletes: std::sync::Mutex<cluster::Pending>,
    /// Messages whose edit into a command was answered already.
    edits_told: std::sync::Mutex<edits::Told>,
}

/// The start of the answer to a mutating command while the job worker is down.
pub const WORKER_DOWN: &str = "labkube cannot run jobs right now";

/// The generic answer to an internal failure: details go to the log, not the chat.
const INTERNAL: &str =
    "something went wrong inside labkube (details are in its log); nothing was changed";

/// The answer to a command the store failed: why, when the room can do something about it
/// (wait for the shared store, send it to the new leader), else [`INTERNAL`]. Store addresses
/// and raw errors go to the log only.
fn store_trouble(e: &crate::store::StoreError) -> String {
    match e {
        crate::store::StoreError::Unavailable { .. } => "labkube's job store (etcd) does not answer, so labkube takes no commands that change anything until it does; nothing was changed. Try again in a minute (the operators see the cause in labkube's log)".into(),
        crate::store::StoreError::Deposed => "this labkube replica has just handed over to another one; nothing was changed. Send the command again: the new leader takes it".into(),
        _ => INTERNAL.into(),
    }
}

impl Dispatcher {
    /// A dispatcher over the given parts.
    pub fn new(
        policy: Policy,
        config: Arc<Config>,
        store: Arc<dyn JobStore>,
        chat: Arc<dyn Replier>,
        progress: Arc<dyn ProgressSink>,
        worker: WorkerHandle,
        kube: KubeLayer,
    ) -> Self {
        Dispatcher {
            policy,
            config,
            store,
            chat,
            progress,
            worker,
            kube,
            pending_deletes: Default::default(),
            edits_told: Default::default(),
        }
    }

    /// Handles one incoming message completely (including its replies).
    pub async fn handle(&self, msg: &Incoming) {
        if let Some(original) = &msg.edit_of {
            return self.edited(msg, original).await;
        }
        let command = match command::parse(&msg.text, msg.bot_username.as_deref()) {
            Ok(Some(c)) => c,
            Ok(None) => return,
            Err(e) => return self.reply(msg, &e.to_string()).await,
        };
        let (who, room) = (msg.principal(), msg.room_ref());
        let facts = match self.facts(&command, &room) {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(error = %e, "job store failed while authorising");
                return self.reply(msg, &store_trouble(&e)).await;
            }
        };
        let role = match auth::authorize(&self.policy, &who, &room, &command, &facts) {
            Ok(role) => role,
            Err(denied) => {
                let reason = denied.to_string();
                self.audit(
                    msg,
                    command.redacted(),
                    AuditOutcome::Refused {
                        reason: reason.clone(),
                    },
                );
                return self.reply(msg, &reason).await;
            }
        };
        let answer = self.run(msg, &room, role, command).await;
        if let Some(text) = answer {
            self.reply(msg, &text).await;
        }
    }

    /// Carries out an authorised command; returns the reply, if one is still to be sent.
    async fn run(
        &self,
        msg: &Incoming,
        room: &RoomRef,
        role: Option<auth::Role>,
        command: Command,
    ) -> Option<String> {
        let admin = role == Some(auth::Role::Admin);
        // With the worker stopped for good, a queued job would never run: say so instead.
        // `/cancel` still works (it withdraws queued jobs); reading commands are unaffected.
        if command.is_mutating()
            && !matches!(command, Command::Cancel { .. })
            && let Some(why) = self.worker.unavailable()
        {
            let reason = format!("{WORKER_DOWN}: {why}");
            return Some(self.reject(msg, &command, reason));
        }
        let text = match &command {
            Command::Help { topic } => Ok(help(msg, topic)),
            Command::Whoami => Ok(answers::whoami(&self.policy, msg, room, role)),
            Command::Start => Ok(answers::start(&self.policy, msg, room, role)),
            Command::Jobs { all } => answers::jobs(&*self.store, room, admin, *all),
            Command::Alerts { cluster } => self.alerts(room, admin, cluster.as_ref()),
            Command::SilenceList { cluster } => self.silences(room, admin, cluster.as_ref()),
            Command::Silence { .. } => Ok(self.silence(msg, room, &command)),
            Command::Unsilence { id } => Ok(self.unsilence(msg, &command, *id)),
            Command::Kubeconfig { .. } => return self.kubeconfig(msg, room, role, &command),
            Command::KubeconfigRevoke { .. } => {
                return self.kubeconfig_revoke(msg, room, admin, &command);
            }
            Command::KubeconfigList { cluster } => {
                return self.kubeconfig_list(msg, room, cluster.as_ref());
            }
            Command::NsCreate { .. } => return self.ns_create(msg, room, admin, &command),
            Command::NsList { cluster } => {
                return self.ns_list(msg, room, admin, cluster.as_ref());
            }
            Command::NsDelete { .. } => return self.ns_delete(msg, room, admin, &command),
            Command::Job { id } => {
                answers::job(&*self.store, *id, self.config.limits.job_log_lines)
            }
            Command::Audit { n } => answers::audit(&*self.store, n.unwrap_or(20) as usize),
            Command::ClusterList => match self.list(msg, room, admin) {
                Ok(later) => return later,
                Err(e) => Err(e),
            },
            Command::Cancel { id } => return Some(self.cancel(msg, &command, *id).await),
            Command::Selftest { steps, step_ms } => {
                let kind = JobKind::selftest(*steps, *step_ms);
                return self.queue(msg, &command, Ok(kind)).await;
            }
            Command::ClusterCreate(args) => {
                let kind = self.cluster_job(&command, args, false);
                return self.queue(msg, &command, kind).await;
            }
            Command::ClusterPlan(args) => {
                let kind = self.cluster_job(&command, args, true);
                return self.queue(msg, &command, kind).await;
            }
            Command::ClusterDelete { name, confirm } => {
                return self
                    .delete(msg, &command, name.as_str(), confirm.as_deref())
                    .await;
            }
            Command::ClusterUpgrade { name, k8s, confirm } => {
                return self
                    .cluster_upgrade(
                        msg,
                        &command,
                        name.as_str(),
                        k8s.as_ref(),
                        confirm.as_deref(),
                    )
                    .await;
            }
            Command::ClusterUse { name } => self.use_cluster(msg, &command, name.as_str()),
            Command::ClusterStatus { name } => {
                match self.status(msg, room, admin, name.as_ref().map(|n| n.as_str())) {
                    Ok(later) => return later,
                    Err(e) => Err(e),
                }
            }
            Command::HostForget { ip } => self.forget_host(msg, &command, *ip),
            Command::NodeAdd(args) => {
                let kind = self.node_add_job(args);
                return self.queue(msg, &command, kind).await;
            }
            Command::NodeRemove {
                cluster,
                ip,
                confirm,
            } => {
                return self
                    .node_remove(msg, &command, cluster.as_str(), *ip, confirm.as_deref())
                    .await;
            }
            Command::GeCatalog | Command::GeList { .. } | Command::GeHistory { .. } => {
                Ok(self.ge_answer(room, admin, &command).unwrap_or_else(|e| e))
            }
            Command::GeStatus { .. } | Command::GeLogs { .. } | Command::GeEvents { .. } => {
                return self.ge_read(msg, room, admin, &command);
            }
            Command::GeInstall { .. }
            | Command::GeUpgrade { .. }
            | Command::GeScale { .. }
            | Command::GeAutoscale { .. }
            | Command::GeUninstall { .. }
            | Command::Rollback { .. } => {
                let kind = match self.ge_job(room, &command) {
                    Ok((kind, secrets)) => match self.cluster_check(kind).await {
                        Ok(kind) => self.store_credentials(kind, secrets).await,
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(e),
                };
                return self.queue(msg, &command, kind).await;
            }
        };
        Some(text.unwrap_or_else(|e| {
            tracing::error!(error = %e, command = command.path(), "job store failed");
            store_trouble(&e)
        }))
    }

    /// Looks up what authorisation needs to know about the command's targets. A GE command
    /// without `cluster=` targets the room's current cluster, whose owner counts the same.
    fn facts(&self, command: &Command, room: &RoomRef) -> Result<Facts, crate::store::StoreError> {
        let mut facts = Facts::default();
        let current;
        let cluster = match command {
            Command::ClusterDelete { name, .. }
            | Command::ClusterUse { name }
            | Command::ClusterUpgrade { name, .. } => Some(name.as_str()),
            Command::NodeAdd(args) => Some(args.cluster.as_str()),
            Command::NodeRemove { cluster, .. } => Some(cluster.as_str()),
            Command::ClusterCreate(args) | Command::ClusterPlan(args) => {
                args.name.as_ref().map(|n| n.as_str())
            }
            Command::GeInstall { scope, .. }
            | Command::GeUpgrade { scope, .. }
            | Command::GeScale { scope, .. }
            | Command::GeAutoscale { scope, .. }
            | Command::GeUninstall { scope, .. }
            | Command::Rollback { scope, .. }
            | Command::Silence { scope, .. } => match &scope.cluster {
                Some(n) => Some(n.as_str()),
                None => {
                    current = self.current_cluster(room)?;
                    current.as_deref()
                }
            },
            Command::Alerts { cluster } | Command::SilenceList { cluster } => {
                cluster.as_ref().map(|n| n.as_str())
            }
            Command::Kubeconfig { scope, .. } => match &scope.cluster {
                Some(n) => Some(n.as_str()),
                None => {
                    current = self.current_cluster(room)?;
                    current.as_deref()
                }
            },
            Command::KubeconfigRevoke { cluster, .. }
            | Command::KubeconfigList { cluster }
            | Command::NsCreate { cluster, .. }
            | Command::NsList { cluster }
            | Command::NsDelete { cluster, .. } => match cluster {
                Some(n) => Some(n.as_str()),
                None => {
                    current = self.current_cluster(room)?;
                    current.as_deref()
                }
            },
            Command::Unsilence { id } => {
                current = self.silence_cluster(*id)?;
                current.as_deref()
            }
            _ => None,
        };
        if let Some(name) = cluster {
            facts.cluster = self.owner_of(name)?.map(|o| (name.to_string(), o));
        }
        if let Command::Job { id } | Command::Cancel { id } = command
            && let Some(job) = self.store.get(*id)?
        {
            facts.job_room = Some((
                *id,
                RoomRef {
                    platform: job.origin.platform,
                    room: job.origin.room,
                },
            ));
        }
        Ok(facts)
    }

    /// The owner of a known cluster; `None` for an unknown one.
    pub(super) fn owner_of(
        &self,
        name: &str,
    ) -> Result<Option<ClusterOwner>, crate::store::StoreError> {
        if let Some(c) = self.config.clusters.iter().find(|c| c.name == name) {
            return Ok(Some(match &c.owner {
                Some(o) => ClusterOwner::Room(RoomRef {
                    platform: o.platform.clone(),
                    room: o.room.clone(),
                }),
                None => ClusterOwner::Nobody,
            }));
        }
        Ok(self.store.cluster(name)?.map(|c| {
            ClusterOwner::Room(RoomRef {
                platform: c.owner_platform,
                room: c.owner_room,
            })
        }))
    }

    /// Replies to `msg` with `answer`'s text once it is ready, without holding up the room's
    /// next message (answers that ask a cluster's API server).
    fn reply_later(
        &self,
        msg: &Incoming,
        answer: impl std::future::Future<Output = String> + Send + 'static,
    ) {
        self.reply_later_with_file(msg, async move { (answer.await, None) });
    }

    /// [`Self::reply_later`] for an answer that may come with a file: the whole of what does
    /// not fit one message.
    fn reply_later_with_file(
        &self,
        msg: &Incoming,
        answer: impl std::future::Future<Output = (String, Option<crate::chat::Attachment>)>
        + Send
        + 'static,
    ) {
        let chat = self.chat.clone();
        let (platform, room, to) = (msg.platform.clone(), msg.room.clone(), msg.event_id.clone());
        let user = msg.sender.clone();
        tokio::spawn(async move {
            let sent = match answer.await {
                (text, None) => {
                    chat.reply_notifying(&platform, &room, &to, &user, &text)
                        .await
                }
                (text, Some(file)) => {
                    chat.reply_with_file(&platform, &room, &to, &user, &text, &file)
                        .await
                }
            };
            if let Err(e) = sent {
                tracing::warn!(error = %e, %platform, "cannot send a reply");
            }
        });
    }

    /// Answers `msg`, notifying its sender: an answer, a refusal or a confirmation request is
    /// what they wait for.
    async fn reply(&self, msg: &Incoming, text: &str) {
        let sent = self
            .chat
            .reply_notifying(&msg.platform, &msg.room, &msg.event_id, &msg.sender, text)
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, platform = %msg.platform, "cannot send a reply");
        }
    }

    /// Audits an allowed command that cannot be carried out; returns the reason as the reply.
    fn reject(&self, msg: &Incoming, command: &Command, reason: String) -> String {
        self.audit(
            msg,
            command.redacted(),
            AuditOutcome::Rejected {
                reason: reason.clone(),
            },
        );
        reason
    }

    /// Appends to the audit trail; a failure is logged (the command's effect already happened).
    fn audit(&self, msg: &Incoming, command: String, outcome: AuditOutcome) {
        write_audit(&*self.store, msg, command, outcome);
    }
}

/// `ask` (a cluster's API) within `limit`; a failure as the room reads it: the error, or that
/// the API server of `cluster` did not answer in time and, after `;`, `then` (unless empty).
async fn in_time<T>(
    cluster: &str,
    limit: std::time::Duration,
    then: &str,
    ask: impl std::future::Future<Output = Result<T, crate::kube::KubeError>>,
) -> Result<T, String> {
    match tokio::time::timeout(limit, ask).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => {
            let then = if then.is_empty() {
                String::new()
            } else {
                format!("; {then}")
            };
            Err(format!(
                "the API server of {cluster} did not answer within {} s{then}",
                limit.as_secs()
            ))
        }
    }
}

/// Audits a command completed in a task of its own that could not be carried out; returns the
/// reason as the reply.
fn rejected(store: &dyn JobStore, msg: &Incoming, line: String, reason: String) -> String {
    write_audit(
        store,
        msg,
        line,
        AuditOutcome::Rejected {
            reason: reason.clone(),
        },
    );
    reason
}

/// [`Dispatcher::audit`] for answers completed in a task of their own.
fn write_audit(store: &dyn JobStore, msg: &Incoming, command: String, outcome: AuditOutcome) {
    let entry = AuditEntry {
        seq: 0,
        at_ms: now_ms(),
        who: Requester {
            platform: msg.platform.clone(),
            user: msg.sender.clone(),
        },
        room: msg.room.clone(),
        command,
        outcome,
        chain: String::new(),
    };
    if let Err(e) = store.append_audit(entry) {
        tracing::error!(error = %e, "cannot write the audit trail");
    }
}

/// `/help [topic]`, with the adapter's note for its platform under it.
fn help(msg: &Incoming, topic: &[String]) -> String {
    let text = command::help(topic).unwrap_or_else(|e| e.to_string());
    match msg.help_note {
        Some(note) => format!("{text}\n\n{note}"),
        None => text,
    }
}

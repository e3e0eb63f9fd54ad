//! `/ge …` and `/rollback`: where a command lands (cluster, namespace, release) and whether it
//! can be done, checked before anything is queued, so a refusal changes nothing. Read-only
//! answers come from the ledger; `/ge status` also asks the cluster, off the intake path.

use crate::auth::{ClusterOwner, RoomRef};
use crate::chat::Incoming;
use crate::command::{Command, GeScope, Name};
use crate::kube::logs::LogAsk;
use crate::kube::release::Release;
use crate::kube::{KubeError, credentials, precheck, query, storage};

/// How long the dispatcher waits for a cluster's answer to its checks before queueing anyway.
const CLUSTER_CHECK_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);
use crate::store::{GeInstallSpec, GeJob, GeTarget, JobKind, UnknownCluster};

use super::Dispatcher;

/// Where a GE command lands.
/// What `/ge status|logs|events` reads.
enum Look {
    Status,
    Logs(LogAsk),
    Events,
}

pub(super) struct Place {
    pub cluster: String,
    pub namespace: String,
}

impl Place {
    /// The release of `ge` here.
    fn target(&self, ge: &str) -> GeTarget {
        GeTarget {
            cluster: self.cluster.clone(),
            namespace: self.namespace.clone(),
            ge: ge.to_string(),
        }
    }
}

impl Dispatcher {
    /// The cluster a command means: `cluster=`, else the room's current one, else the only
    /// one the bot knows.
    pub(super) fn cluster_of(
        &self,
        room: &RoomRef,
        given: Option<&Name>,
    ) -> Result<Option<String>, String> {
        if let Some(n) = given {
            return Ok(Some(n.to_string()));
        }
        self.current_cluster(room)
            .map_err(|e| self.internal_text(e))
    }

    /// The room's current cluster: the one `/cluster use` picked, else the first the config
    /// declares for this room, else the only one the bot knows. A store error is an error,
    /// never "no cluster" (authorisation looks the owner up through this).
    pub(super) fn current_cluster(
        &self,
        room: &RoomRef,
    ) -> Result<Option<String>, crate::store::StoreError> {
        let current = self.store.room_cluster(&room.platform, &room.room)?;
        if current.is_some() {
            return Ok(current);
        }
        let declared = self.config.clusters.iter().find(|c| {
            c.owner
                .as_ref()
                .is_some_and(|o| o.platform == room.platform && o.room == room.room)
        });
        if let Some(c) = declared {
            return Ok(Some(c.name.clone()));
        }
        let mut all: Vec<String> = self
            .config
            .clusters
            .iter()
            .map(|c| c.name.clone())
            .collect();
        all.extend(self.store.clusters()?.into_iter().map(|c| c.name));
        Ok(if all.len() == 1 { all.pop() } else { None })
    }

    pub(super) fn place(
        &self,
        room: &RoomRef,
        ge: Option<&str>,
        scope: &GeScope,
        installing: bool,
    ) -> Result<Place, String> {
        let layer = &self.kube;
        // Pure checks first: an unknown GE is named as such wherever the room stands.
        if let Some(ge) = ge
            && layer.catalogue.get(ge).is_none()
        {
            let near = layer.catalogue.closest(ge);
            let hint = if near.is_empty() {
                String::new()
            } else {
                format!(" Did you mean {}?", near.join(", "))
            };
            return Err(format!(
                "there is no Generic Enabler named {ge} in the catalogue.{hint} /ge catalog lists them; nothing was changed"
            ));
        }
        let cluster = match self.cluster_of(room, scope.cluster.as_ref())? {
            Some(c) => c,
            None => {
                return Err("this room has no current cluster; /cluster use NAME picks one, or add cluster=NAME (/cluster list shows them)".into());
            }
        };
        match layer.knows(&cluster) {
            Ok(true) => {}
            Ok(false) => {
                return Err(UnknownCluster(cluster.to_string()).to_string());
            }
            Err(e) => return Err(self.refusal_text(e)),
        }
        if let Some(job) = self
            .store
            .cluster(&cluster)
            .map_err(|e| self.internal_text(e))?
            .and_then(|r| r.creating)
        {
            return Err(format!(
                "cluster {cluster} is not ready: its create (job #{job}) has not finished. /job {job} shows where it stopped; run the same /cluster create again to finish it, or /cluster delete {cluster}; nothing was changed"
            ));
        }
        let room_ns = self
            .policy
            .room(room)
            .map(|r| r.namespace.clone())
            .unwrap_or_else(|| "default".into());
        let namespace = match (&scope.ns, ge) {
            (Some(ns), _) => ns.to_string(),
            (None, Some(ge)) if !installing => {
                let found = query::installed_namespaces(layer, &cluster, ge)
                    .map_err(|e| self.refusal_text(e))?;
                if found.contains(&room_ns) || found.is_empty() {
                    room_ns
                } else if found.len() == 1 {
                    found[0].clone()
                } else {
                    return Err(format!(
                        "{ge} is installed in several namespaces of {cluster}: {}; say which with ns=NAME",
                        found.join(", ")
                    ));
                }
            }
            _ => room_ns,
        };
        if crate::kube::namespace::RESERVED.contains(&namespace.as_str()) {
            return Err(format!(
                "namespace {namespace} belongs to Kubernetes itself, to the cluster's network or storage, or to labkube; choose another ns= (a DNS-1123 label such as demo); nothing was changed"
            ));
        }
        Ok(Place { cluster, namespace })
    }

    fn release(&self, place: &Place, ge: &str) -> Result<Option<Release>, String> {
        let layer = &self.kube;
        Release::load(layer.store(), &place.cluster, &place.namespace, ge)
            .map_err(|e| self.refusal_text(e.into()))
    }

    fn not_installed(place: &Place, ge: &str) -> String {
        precheck::not_installed(&place.target(ge)).to_string()
    }

    /// The job for a mutating GE command, after every check that needs no cluster access
    /// (the same checks the job repeats when it runs: `kube::precheck`), with the install's
    /// `secret` parameters by Secret key, kept out of the job (see [`Self::store_credentials`]).
    pub(super) fn ge_job(
        &self,
        room: &RoomRef,
        command: &Command,
    ) -> Result<(JobKind, credentials::Values), String> {
        let layer = &self.kube;
        let (ge, scope, installing) = match command {
            Command::GeInstall { ge, scope, .. } => (ge, scope, true),
            Command::GeUpgrade { ge, scope, .. }
            | Command::GeScale { ge, scope, .. }
            | Command::GeAutoscale { ge, scope, .. }
            | Command::Rollback { ge, scope, .. }
            | Command::GeUninstall { ge, scope, .. } => (ge, scope, false),
            other => return Err(format!("/{} is not a GE job", other.path())),
        };
        let target = self
            .place(room, Some(ge.as_str()), scope, installing)?
            .target(ge.as_str());
        let mut secrets = credentials::Values::new();
        let job = match command {
            Command::GeInstall {
                version,
                replicas,
                expose_nodeport,
                params,
                ..
            } => {
                let (plain, secret) =
                    credentials::split(layer, &target, params).map_err(|e| self.refusal_text(e))?;
                secrets = secret;
                GeJob::Install(
                    target,
                    GeInstallSpec {
                        version: version.as_ref().map(ToString::to_string),
                        replicas: *replicas,
                        expose_nodeport: *expose_nodeport,
                        params: plain,
                    },
                )
            }
            Command::GeUpgrade { version, .. } => GeJob::Upgrade(target, version.to_string()),
            Command::GeScale { replicas, .. } => GeJob::Scale(target, *replicas),
            Command::GeAutoscale { setting, .. } => GeJob::Autoscale(target, *setting),
            Command::Rollback { to, .. } => GeJob::Rollback(target, *to),
            Command::GeUninstall { purge, .. } => GeJob::Uninstall(target, *purge),
            other => return Err(format!("/{} is not a GE job", other.path())),
        };
        precheck::precheck(layer, &job).map_err(|e| self.refusal_text(e))?;
        Ok((JobKind::Ge(job), secrets))
    }

    /// Writes an install's `secret` parameters into the GE's Secret on its cluster, the last
    /// step before queueing (every other check has passed), so the values never reach the job
    /// record, a log or a reply. A cluster that cannot take them refuses the install.
    pub(super) async fn store_credentials(
        &self,
        kind: JobKind,
        secrets: credentials::Values,
    ) -> Result<JobKind, String> {
        let JobKind::Ge(GeJob::Install(target, _)) = &kind else {
            return Ok(kind);
        };
        if secrets.is_empty() {
            return Ok(kind);
        }
        let limit = self.kube.request_timeout() * 3;
        let stored = tokio::time::timeout(limit, credentials::store(&self.kube, target, &secrets));
        match stored.await {
            Ok(Ok(())) => Ok(kind),
            Ok(Err(
                e @ (KubeError::Api { .. }
                | KubeError::Timeout { .. }
                | KubeError::Kubeconfig { .. }
                | KubeError::UnknownCluster(_)),
            )) => Err(format!(
                "could not store the credentials of {} on its cluster: {e}; nothing was queued",
                target.ge
            )),
            Ok(Err(e)) => Err(self.refusal_text(e)),
            Err(_) => Err(format!(
                "the API server of {} did not take the credentials of {} within {} s; nothing was queued",
                target.cluster,
                target.ge,
                limit.as_secs()
            )),
        }
    }

    /// Refuses, before queueing, what the cluster cannot carry: an install that would keep
    /// data on a cluster without a default StorageClass, an autoscaler on a cluster without
    /// metrics-server. Asked for at most [`CLUSTER_CHECK_LIMIT`], so a slow API server holds up
    /// no other room's command: when the cluster does not answer in time the job is queued and
    /// asks again when it runs (`kube::job`), failing with the same words.
    pub(super) async fn cluster_check(&self, kind: JobKind) -> Result<JobKind, String> {
        let layer = &self.kube;
        let check = async {
            match &kind {
                JobKind::Ge(GeJob::Install(target, spec)) => {
                    storage::check_install(layer, target, &spec.params).await
                }
                JobKind::Ge(GeJob::Autoscale(target, Some(_))) => {
                    crate::kube::autoscale::check_metrics(&layer.cluster(&target.cluster).await?)
                        .await
                }
                _ => Ok(()),
            }
        };
        match tokio::time::timeout(CLUSTER_CHECK_LIMIT, check).await {
            Ok(Err(e @ (KubeError::Refused(_) | KubeError::Catalogue(_)))) => {
                Err(self.refusal_text(e))
            }
            Ok(Err(e)) => {
                tracing::info!(error = %e, "cluster check before queueing failed; the job asks again");
                Ok(kind)
            }
            Err(_) => Ok(kind),
            Ok(Ok(())) => Ok(kind),
        }
    }

    /// A refusal's own words; any other failure is logged and answered generically, so a
    /// store or API error is never posted to a room verbatim.
    fn refusal_text(&self, e: KubeError) -> String {
        match e {
            KubeError::Refused(text) | KubeError::Catalogue(text) => text,
            other => {
                tracing::error!(error = %other, "a GE check failed");
                super::INTERNAL.to_string()
            }
        }
    }

    /// `/ge catalog`, `/ge list`, `/ge history`: answered from the catalogue and the ledger.
    /// GE queries on a cluster another room owns are for that room and admins only: its
    /// releases, pods and NodePort endpoints (node addresses) map the other room's hosts.
    fn readable(&self, room: &RoomRef, admin: bool, cluster: &str) -> Result<(), String> {
        let owner = self.owner_of(cluster).map_err(|e| self.internal_text(e))?;
        match owner {
            Some(ClusterOwner::Room(r)) if r != *room && !admin => Err(format!(
                "cluster {cluster} belongs to another room; its GEs are shown only to that room and admins"
            )),
            _ => Ok(()),
        }
    }

    pub(super) fn ge_answer(
        &self,
        room: &RoomRef,
        admin: bool,
        command: &Command,
    ) -> Result<String, String> {
        let layer = &self.kube;
        match command {
            Command::GeCatalog => Ok(query::catalog(layer)),
            Command::GeList { scope } => {
                let p = self.place(
                    room,
                    None,
                    &GeScope {
                        ns: None,
                        ..scope.clone()
                    },
                    false,
                )?;
                self.readable(room, admin, &p.cluster)?;
                let ns = scope.ns.as_ref().map(|n| n.as_str());
                query::list(layer, &p.cluster, ns).map_err(|e| self.refusal_text(e))
            }
            Command::GeHistory { ge, scope } => {
                let p = self.place(room, Some(ge.as_str()), scope, false)?;
                self.readable(room, admin, &p.cluster)?;
                let r = self
                    .release(&p, ge.as_str())?
                    .ok_or_else(|| Self::not_installed(&p, ge.as_str()))?;
                Ok(query::history(&r))
            }
            other => Err(format!("/{} is not a GE query", other.path())),
        }
    }

    /// `/ge status`: checked here, answered by a task so a slow API server never holds up
    /// other rooms' commands.
    /// `/ge status`, `/ge logs` and `/ge events`: read from the cluster and answered when the
    /// API server has, for the owning room and admins.
    pub(super) fn ge_read(
        &self,
        msg: &Incoming,
        room: &RoomRef,
        admin: bool,
        command: &Command,
    ) -> Option<String> {
        let (ge, scope, look) = match command {
            Command::GeStatus { ge, scope } => (ge, scope, Look::Status),
            Command::GeEvents { ge, scope } => (ge, scope, Look::Events),
            Command::GeLogs {
                ge,
                scope,
                pod,
                container,
                lines,
                previous,
            } => (
                ge,
                scope,
                Look::Logs(LogAsk {
                    pod: pod.as_ref().map(|p| p.to_string()),
                    container: container.as_ref().map(|c| c.to_string()),
                    lines: *lines,
                    previous: *previous,
                }),
            ),
            _ => return Some(super::INTERNAL.into()),
        };
        let layer = self.kube.clone();
        let p = match self.place(room, Some(ge.as_str()), scope, false) {
            Ok(p) => p,
            Err(e) => return Some(e),
        };
        if let Err(e) = self.readable(room, admin, &p.cluster) {
            return Some(e);
        }
        let release = match self.release(&p, ge.as_str()) {
            Ok(Some(r)) => r,
            Ok(None) => return Some(Self::not_installed(&p, ge.as_str())),
            Err(e) => return Some(e),
        };
        let limit = layer.request_timeout() * 3;
        self.reply_later_with_file(msg, async move {
            let read = async {
                match &look {
                    Look::Status => query::status(&layer, &release).await.map(|t| (t, None)),
                    Look::Logs(ask) => crate::kube::logs::logs(&layer, &release, ask).await,
                    Look::Events => crate::kube::events::events(&layer, &release)
                        .await
                        .map(|t| (t, None)),
                }
            };
            match tokio::time::timeout(limit, read).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(e)) => (e.to_string(), None),
                Err(_) => (format!(
                    "the API server of {} did not answer within {} s; /ge history {} shows what labkube recorded",
                    release.cluster,
                    limit.as_secs(),
                    release.ge
                ), None),
            }
        });
        None
    }

    pub(super) fn internal_text(&self, e: crate::store::StoreError) -> String {
        tracing::error!(error = %e, "job store failed");
        super::INTERNAL.to_string()
    }
}

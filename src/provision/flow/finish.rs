//! The closing steps of the flows: waiting for Ready nodes, fetching the kubeconfig,
//! registering or unregistering the cluster.

use std::time::Instant;

use super::{ClusterRun, nodes, reach};
use crate::kube::kubeconfig::ClusterCredentials;
use crate::provision::error::ProvisionError;
use crate::provision::host::role;
use crate::provision::scripts::HostScript;
use crate::store::{ClusterRecord, JobId, JobStore, NodeRecord, now_ms};

impl ClusterRun {
    pub(super) async fn wait_nodes(&mut self) -> Result<(), ProvisionError> {
        let want: Vec<String> = self
            .hosts
            .iter()
            .filter_map(|h| h.facts.as_ref().map(|f| f.hostname.clone()))
            .collect();
        let deadline = Instant::now() + self.engine.settings.nodes_ready_timeout;
        let cp = vec![(0, self.hosts[0].target.to_string())];
        loop {
            let r = self
                .run_on(&cp, HostScript::Nodes, |_, out| {
                    Ok((nodes::parse(&out.stdout), None))
                })
                .await?;
            let seen = Self::check(r)?
                .into_iter()
                .next()
                .map(|(_, n)| n)
                .unwrap_or_default();
            let missing: Vec<String> = want
                .iter()
                .filter_map(|w| match seen.iter().find(|n| &n.name == w) {
                    Some(n) if n.ready => None,
                    Some(_) => Some(format!("{w} (NotReady)")),
                    None => Some(format!("{w} (not registered)")),
                })
                .collect();
            if missing.is_empty() {
                let version = seen.first().map(|n| n.version.clone()).unwrap_or_default();
                self.io
                    .log(&format!("all {} nodes Ready ({version})", want.len()))?;
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ProvisionError::Other(format!(
                    "nodes not Ready after {} s: {}",
                    self.engine.settings.nodes_ready_timeout.as_secs(),
                    missing.join(", ")
                )));
            }
            tokio::time::sleep(self.engine.settings.poll_interval).await;
        }
    }

    pub(super) async fn fetch_kubeconfig(&mut self) -> Result<(), ProvisionError> {
        let cp = vec![(0, self.hosts[0].target.to_string())];
        let r = self
            .run_on(&cp, HostScript::Kubeconfig, |_, out| {
                if out.stdout.contains("apiVersion") && out.stdout.contains("clusters:") {
                    Ok((out.stdout.clone(), None))
                } else {
                    Err("it printed no kubeconfig (output withheld)".to_string())
                }
            })
            .await?;
        let text = Self::check(r)?
            .into_iter()
            .next()
            .map(|(_, c)| c)
            .unwrap_or_default();
        // Root on the VM can write anything there: only the CA, client certificate and key are
        // kept, and the server is the address the user typed.
        let addr = self.hosts[0].target.addr;
        let creds = ClusterCredentials::from_kubeconfig(&text, addr).map_err(|e| {
            ProvisionError::Other(format!(
                "cluster {}: the kubeconfig {addr} gave (/etc/kubernetes/admin.conf) is refused: {e}. \
                 Nothing in it was used or run and it was not stored; restore the admin.conf kubeadm wrote, \
                 then run the same /cluster create again",
                self.name
            ))
        })?;
        reach::api_server_reachable(
            &self.name,
            creds.api_addr(),
            self.engine.settings.api_connect_timeout,
        )
        .await?;
        self.io
            .store
            .put_kubeconfig(&self.name, &creds.to_store())?;
        self.io.log("admin kubeconfig stored (not shown)")?;
        Ok(())
    }

    /// The registry record of this cluster as its hosts are now; `creating` while the create
    /// has not finished.
    pub(super) fn record(&self, version: String, creating: Option<JobId>) -> ClusterRecord {
        let nodes = self
            .hosts
            .iter()
            .filter(|h| !h.leaving)
            .map(|h| NodeRecord {
                addr: h.target.addr,
                port: h.target.port,
                user: h.target.user.clone(),
                role: role(h.control_plane).into(),
                hostname: h
                    .facts
                    .as_ref()
                    .map(|f| f.hostname.clone())
                    .unwrap_or_default(),
                avx: h.facts.as_ref().and_then(|f| f.avx),
            })
            .collect();
        ClusterRecord {
            name: self.name.clone(),
            owner_platform: self.owner.0.clone(),
            owner_room: self.owner.1.clone(),
            created_ms: self.registered().map_or_else(now_ms, |r| r.created_ms),
            k8s_version: version,
            nodes,
            creating,
            pod_cidr: Some(self.pod_cidr.clone()),
            endpoint: self.endpoint,
        }
    }

    pub(super) fn register(&mut self) -> Result<(), ProvisionError> {
        let mut version = self.k8s_version_from_log();
        if version.is_empty() {
            // A job that did not wait for the nodes (a removal) keeps the registered version.
            version = self.registered().map(|r| r.k8s_version).unwrap_or_default();
        }
        let record = self.record(version.clone(), None);
        let nodes = record.nodes.clone();
        let store = &self.io.store;
        store.register_cluster(record, self.io.job)?;
        let list: Vec<String> = nodes
            .iter()
            .map(|n| format!("{} ({}, {})", n.addr, n.role, n.hostname))
            .collect();
        if let Some(gone) = self.hosts.iter().find(|h| h.leaving) {
            self.io.summary(format!(
                "{} left cluster {}: drained, reset and its Node deleted; {} node(s) remain: {}",
                gone.target.addr,
                self.name,
                nodes.len(),
                list.join(", ")
            ))?;
            return Ok(());
        }
        if let Some(from) = &self.upgrading_from {
            let s = &self.engine.settings;
            self.io.summary(format!(
                "cluster {} runs Kubernetes {version} now (was {from}): {} node(s) upgraded, each drained, upgraded, Ready and uncordoned in turn; kubeadm renewed the control planes' certificates for a year and the bot's kubeconfig was refreshed; flannel {}, local-path-provisioner {}, metrics-server {}",
                self.name,
                nodes.len(),
                s.flannel_version,
                s.local_path_version,
                s.metrics_server_version
            ))?;
            return Ok(());
        }
        if self.adding {
            let added: Vec<String> = self
                .hosts
                .iter()
                .filter(|h| h.provision)
                .map(|h| h.target.addr.to_string())
                .collect();
            let control_planes = nodes.iter().filter(|n| n.role == role(true)).count();
            self.io.summary(format!(
                "cluster {} has {} node(s) now ({control_planes} control plane(s)), {} joined and Ready: {}",
                self.name,
                nodes.len(),
                added.join(", "),
                list.join(", ")
            ))?;
            return Ok(());
        }
        store.set_room_cluster(&self.owner.0, &self.owner.1, &self.name)?;
        self.io.summary(format!(
            "cluster {} is ready: Kubernetes {}, {} node(s): {}. It is now this room's current cluster; next: /ge catalog, then /ge install orion",
            self.name,
            if version.is_empty() { self.k8s.clone() } else { version },
            nodes.len(),
            list.join(", ")
        ))?;
        Ok(())
    }

    /// The version the readiness check logged (`all N nodes Ready (v1.33.4)`).
    fn k8s_version_from_log(&self) -> String {
        self.io
            .store
            .log_tail(self.io.job, 50)
            .unwrap_or_default()
            .iter()
            .rev()
            .find_map(|l| {
                l.text
                    .strip_prefix("all ")
                    .and_then(|t| t.split_once('('))
                    .map(|(_, v)| v.trim_end_matches(')').to_string())
            })
            .unwrap_or_default()
    }

    pub(super) fn unregister(&mut self) -> Result<(), ProvisionError> {
        let store: &dyn JobStore = &*self.io.store;
        store.remove_cluster(&self.name)?;
        store.remove_kubeconfig(&self.name)?;
        store.forget_room_clusters(&self.name)?;
        let releases = store.forget_releases_on(&self.name)?;
        let namespaces = store.forget_namespaces_on(&self.name)?;
        self.io.log(&format!(
            "{releases} GE release record(s) and {namespaces} room namespace record(s) of the cluster dropped"
        ))?;
        self.io.summary(format!(
            "cluster {} is deleted: kubeadm reset on {} host(s), CNI state and Kubernetes packages removed, registration, kubeconfig, release and namespace records dropped",
            self.name,
            self.hosts.len()
        ))?;
        Ok(())
    }
}

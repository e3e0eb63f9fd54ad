//! Typed access to the small records kept beside jobs ([`Space`]): each room's current
//! cluster, admin kubeconfigs, pinned SSH host keys, chat adapters' stream positions and GE
//! release ledgers. Every key format is written here once; nothing outside `store/` builds a
//! key or names a [`Space`].

use std::net::IpAddr;

use super::{GeTarget, JobStore, Origin, Space, StoreError};

/// Joins key parts with the unit separator, which cannot occur in platform ids, room ids,
/// DNS labels or addresses, so keys of different parts never collide.
fn key(parts: &[&str]) -> String {
    parts.join("\u{1f}")
}

impl Origin {
    /// The key that makes a chat event create at most one job (see [`JobStore::enqueue`]).
    pub fn dedupe_key(&self) -> String {
        key(&[&self.platform, &self.room, &self.event_id])
    }
}

impl GeTarget {
    /// `cluster/namespace/ge`, for messages about the release's record.
    pub fn path(&self) -> String {
        format!("{}/{}/{}", self.cluster, self.namespace, self.ge)
    }

    fn key(&self) -> String {
        key(&[&self.cluster, &self.namespace, &self.ge])
    }
}

impl dyn JobStore {
    /// The current cluster of a room, if it has one.
    pub fn room_cluster(&self, platform: &str, room: &str) -> Result<Option<String>, StoreError> {
        self.kv_get(Space::RoomClusters, &key(&[platform, room]))
    }

    /// Makes `cluster` the room's current cluster.
    pub fn set_room_cluster(
        &self,
        platform: &str,
        room: &str,
        cluster: &str,
    ) -> Result<(), StoreError> {
        self.kv_put(Space::RoomClusters, &key(&[platform, room]), cluster)
    }

    /// Makes `cluster` no room's current cluster (it is gone).
    pub fn forget_room_clusters(&self, cluster: &str) -> Result<(), StoreError> {
        for (room, current) in self.kv_list(Space::RoomClusters)? {
            if current == cluster {
                self.kv_remove(Space::RoomClusters, &room)?;
            }
        }
        Ok(())
    }

    /// The admin kubeconfig of a cluster the bot created. A secret: never show or log it.
    pub fn kubeconfig(&self, cluster: &str) -> Result<Option<String>, StoreError> {
        self.kv_get(Space::Kubeconfigs, cluster)
    }

    /// Stores a cluster's admin kubeconfig.
    pub fn put_kubeconfig(&self, cluster: &str, yaml: &str) -> Result<(), StoreError> {
        self.kv_put(Space::Kubeconfigs, cluster, yaml)
    }

    /// Drops a cluster's admin kubeconfig.
    pub fn remove_kubeconfig(&self, cluster: &str) -> Result<(), StoreError> {
        self.kv_remove(Space::Kubeconfigs, cluster).map(|_| ())
    }

    /// The SSH host key pinned for `host` (`addr:port`), as an OpenSSH public-key line.
    pub fn host_key(&self, host: &str) -> Result<Option<String>, StoreError> {
        self.kv_get(Space::HostKeys, host)
    }

    /// Pins `line` as the host key of `host` (`addr:port`).
    pub fn pin_host_key(&self, host: &str, line: &str) -> Result<(), StoreError> {
        self.kv_put(Space::HostKeys, host, line)
    }

    /// Drops the host keys pinned for `ip`, on any port; returns how many there were.
    pub fn forget_host_keys(&self, ip: IpAddr) -> Result<usize, StoreError> {
        let mut forgotten = 0;
        for (host, _) in self.kv_list(Space::HostKeys)? {
            let addr = host
                .rsplit_once(':')
                .map(|(a, _)| a.trim_start_matches('[').trim_end_matches(']'));
            // Compared normalised, so pins stored under a mapped `::ffff:a.b.c.d` go too.
            let pinned = addr.and_then(|a| a.parse::<IpAddr>().ok());
            if pinned.map(crate::names::host_addr) == Some(crate::names::host_addr(ip)) {
                self.kv_remove(Space::HostKeys, &host)?;
                forgotten += 1;
            }
        }
        Ok(forgotten)
    }

    /// A chat adapter's position in its platform's update stream.
    pub fn offset(&self, platform: &str, account: &str) -> Result<Option<String>, StoreError> {
        self.kv_get(Space::Offsets, &key(&[platform, account]))
    }

    /// Keeps a chat adapter's position.
    pub fn put_offset(&self, platform: &str, account: &str, value: &str) -> Result<(), StoreError> {
        self.kv_put(Space::Offsets, &key(&[platform, account]), value)
    }

    /// The ledger of a GE release (JSON, see `kube::release`).
    pub fn release_record(&self, release: &GeTarget) -> Result<Option<String>, StoreError> {
        self.kv_get(Space::Releases, &release.key())
    }

    /// Every release ledger on `cluster`, with the release it belongs to.
    pub fn release_records_on(&self, cluster: &str) -> Result<Vec<(GeTarget, String)>, StoreError> {
        let mut out = Vec::new();
        for (k, text) in self.kv_list(Space::Releases)? {
            let mut parts = k.split('\u{1f}');
            if let (Some(c), Some(namespace), Some(ge), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
                && c == cluster
            {
                let target = GeTarget {
                    cluster: c.to_string(),
                    namespace: namespace.to_string(),
                    ge: ge.to_string(),
                };
                out.push((target, text));
            }
        }
        Ok(out)
    }

    /// Stores the ledger of a GE release.
    pub fn put_release_record(&self, release: &GeTarget, json: &str) -> Result<(), StoreError> {
        self.kv_put(Space::Releases, &release.key(), json)
    }

    /// Drops the ledger of a GE release.
    pub fn remove_release_record(&self, release: &GeTarget) -> Result<(), StoreError> {
        self.kv_remove(Space::Releases, &release.key()).map(|_| ())
    }

    /// Drops every release ledger on `cluster` (it is gone: a later cluster of the same name
    /// must not inherit its releases); returns how many there were.
    pub fn forget_releases_on(&self, cluster: &str) -> Result<usize, StoreError> {
        let on = self.release_records_on(cluster)?;
        for (release, _) in &on {
            self.remove_release_record(release)?;
        }
        Ok(on.len())
    }
}

impl dyn JobStore {
    /// The open incidents of `cluster` (JSON, see `alerts::incident`), by incident key.
    pub fn incidents_on(&self, cluster: &str) -> Result<Vec<(String, String)>, StoreError> {
        let mut out = Vec::new();
        for (k, text) in self.kv_list(Space::Incidents)? {
            if let Some((c, incident)) = k.split_once('\u{1f}')
                && c == cluster
            {
                out.push((incident.to_string(), text));
            }
        }
        Ok(out)
    }

    /// The clusters that have open incidents.
    pub fn clusters_with_incidents(&self) -> Result<Vec<String>, StoreError> {
        let mut out: Vec<String> = Vec::new();
        for (k, _) in self.kv_list(Space::Incidents)? {
            if let Some((c, _)) = k.split_once('\u{1f}')
                && !c.is_empty()
                && out.last().is_none_or(|last| last != c)
            {
                out.push(c.to_string());
            }
        }
        Ok(out)
    }

    /// Stores an open incident of `cluster`.
    pub fn put_incident(
        &self,
        cluster: &str,
        incident: &str,
        json: &str,
    ) -> Result<(), StoreError> {
        self.kv_put(Space::Incidents, &key(&[cluster, incident]), json)
    }

    /// Drops a closed incident of `cluster`.
    pub fn remove_incident(&self, cluster: &str, incident: &str) -> Result<(), StoreError> {
        self.kv_remove(Space::Incidents, &key(&[cluster, incident]))
            .map(|_| ())
    }

    /// A new incident number, never handed out before (numbers survive restarts).
    pub fn next_incident_number(&self) -> Result<u64, StoreError> {
        // Cluster names are DNS labels, so an empty cluster part is no incident's key.
        self.next_number(Space::Incidents, &key(&["", "next"]))
    }

    /// Every silence (JSON, see `alerts::silence`), by number.
    pub fn silence_records(&self) -> Result<Vec<(u64, String)>, StoreError> {
        Ok(self
            .kv_list(Space::Silences)?
            .into_iter()
            .filter_map(|(k, v)| k.parse::<u64>().ok().map(|n| (n, v)))
            .collect())
    }

    /// Stores silence `number`.
    pub fn put_silence(&self, number: u64, json: &str) -> Result<(), StoreError> {
        self.kv_put(Space::Silences, &number.to_string(), json)
    }

    /// Drops silence `number`; `true` if it was there.
    pub fn remove_silence(&self, number: u64) -> Result<bool, StoreError> {
        self.kv_remove(Space::Silences, &number.to_string())
    }

    /// A new silence number, never handed out before.
    pub fn next_silence_number(&self) -> Result<u64, StoreError> {
        self.next_number(Space::Silences, "next")
    }

    /// Records a kubeconfig issued to `account` on `cluster` for `namespace` (`*`: the whole
    /// cluster), replacing the one before.
    pub fn put_grant(
        &self,
        cluster: &str,
        account: &str,
        namespace: &str,
        json: &str,
    ) -> Result<(), StoreError> {
        self.kv_put(Space::Grants, &key(&[cluster, account, namespace]), json)
    }

    /// Every kubeconfig issued: (cluster, account, namespace, JSON).
    pub fn grants(&self) -> Result<Vec<(String, String, String, String)>, StoreError> {
        Ok(self
            .kv_list(Space::Grants)?
            .into_iter()
            .filter_map(|(k, v)| {
                let mut parts = k.split('\x1f');
                let (c, a, n) = (parts.next()?, parts.next()?, parts.next()?);
                Some((c.to_string(), a.to_string(), n.to_string(), v))
            })
            .collect())
    }

    /// Forgets the kubeconfig issued to `account` on `cluster` for `namespace`.
    pub fn remove_grant(
        &self,
        cluster: &str,
        account: &str,
        namespace: &str,
    ) -> Result<(), StoreError> {
        self.kv_remove(Space::Grants, &key(&[cluster, account, namespace]))
            .map(|_| ())
    }

    /// Forgets the kubeconfigs issued to `account` on `cluster`.
    pub fn remove_grants(&self, cluster: &str, account: &str) -> Result<(), StoreError> {
        for (c, a, ns, _) in self.grants()? {
            if c == cluster && a == account {
                self.remove_grant(cluster, account, &ns)?;
            }
        }
        Ok(())
    }

    /// Records a namespace `/ns create` made on `cluster`.
    pub fn put_namespace(&self, cluster: &str, ns: &str, json: &str) -> Result<(), StoreError> {
        self.kv_put(Space::Namespaces, &key(&[cluster, ns]), json)
    }

    /// The record of namespace `ns` of `cluster`, if `/ns create` made it.
    pub fn namespace(&self, cluster: &str, ns: &str) -> Result<Option<String>, StoreError> {
        self.kv_get(Space::Namespaces, &key(&[cluster, ns]))
    }

    /// Every namespace `/ns create` made: (cluster, namespace, JSON).
    pub fn namespaces(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        Ok(self
            .kv_list(Space::Namespaces)?
            .into_iter()
            .filter_map(|(k, v)| {
                let (c, n) = k.split_once('\x1f')?;
                Some((c.to_string(), n.to_string(), v))
            })
            .collect())
    }

    /// Forgets namespace `ns` of `cluster`.
    pub fn remove_namespace(&self, cluster: &str, ns: &str) -> Result<(), StoreError> {
        self.kv_remove(Space::Namespaces, &key(&[cluster, ns]))
            .map(|_| ())
    }

    /// Forgets every namespace of `cluster` (it is gone); returns how many there were.
    pub fn forget_namespaces_on(&self, cluster: &str) -> Result<usize, StoreError> {
        let on: Vec<String> = self
            .namespaces()?
            .into_iter()
            .filter(|(c, _, _)| c == cluster)
            .map(|(_, ns, _)| ns)
            .collect();
        for ns in &on {
            self.remove_namespace(cluster, ns)?;
        }
        Ok(on.len())
    }

    /// The counter `counter` in `space`: its value, and one more stored for next time.
    fn next_number(&self, space: Space, counter: &str) -> Result<u64, StoreError> {
        let next = self
            .kv_get(space, counter)?
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(1);
        self.kv_put(space, counter, &(next + 1).to_string())?;
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SledStore;

    /// A store in a fresh directory (kept alive by the returned guard).
    fn store() -> (SledStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (SledStore::open(dir.path()).unwrap(), dir)
    }

    fn target(cluster: &str, ns: &str, ge: &str) -> GeTarget {
        GeTarget {
            cluster: cluster.into(),
            namespace: ns.into(),
            ge: ge.into(),
        }
    }

    #[test]
    fn releases_are_listed_per_cluster_only() {
        let (store, _dir) = store();
        let s: &dyn JobStore = &store;
        s.put_release_record(&target("lab-1", "demo", "orion"), "a")
            .unwrap();
        s.put_release_record(&target("lab-10", "demo", "orion"), "b")
            .unwrap();
        s.put_release_record(&target("lab-1", "x", "mongodb"), "c")
            .unwrap();
        let mut on = s.release_records_on("lab-1").unwrap();
        on.sort_by_key(|a| a.0.path());
        let paths: Vec<String> = on.iter().map(|(t, _)| t.path()).collect();
        assert_eq!(paths, ["lab-1/demo/orion", "lab-1/x/mongodb"]);
        s.remove_release_record(&target("lab-1", "demo", "orion"))
            .unwrap();
        assert_eq!(
            s.release_record(&target("lab-1", "demo", "orion")).unwrap(),
            None
        );
        // A deleted cluster's ledgers go with it; lab-10's stay.
        assert_eq!(s.forget_releases_on("lab-1").unwrap(), 1);
        assert!(s.release_records_on("lab-1").unwrap().is_empty());
        assert_eq!(s.release_records_on("lab-10").unwrap().len(), 1);
    }

    #[test]
    fn rooms_forget_a_deleted_cluster() {
        let (store, _dir) = store();
        let s: &dyn JobStore = &store;
        s.set_room_cluster("matrix", "!a", "lab-1").unwrap();
        s.set_room_cluster("telegram", "-5", "lab-1").unwrap();
        s.set_room_cluster("matrix", "!b", "lab-2").unwrap();
        s.forget_room_clusters("lab-1").unwrap();
        assert_eq!(s.room_cluster("matrix", "!a").unwrap(), None);
        assert_eq!(s.room_cluster("telegram", "-5").unwrap(), None);
        assert_eq!(
            s.room_cluster("matrix", "!b").unwrap().as_deref(),
            Some("lab-2")
        );
    }

    #[test]
    fn host_keys_are_forgotten_per_address_on_every_port() {
        let (store, _dir) = store();
        let s: &dyn JobStore = &store;
        s.pin_host_key("10.0.0.1:22", "k1").unwrap();
        s.pin_host_key("10.0.0.1:2222", "k2").unwrap();
        s.pin_host_key("10.0.0.11:22", "k3").unwrap();
        s.pin_host_key("[fd00::1]:22", "k4").unwrap();
        assert_eq!(s.forget_host_keys("10.0.0.1".parse().unwrap()).unwrap(), 2);
        assert_eq!(s.forget_host_keys("fd00::1".parse().unwrap()).unwrap(), 1);
        assert_eq!(s.host_key("10.0.0.11:22").unwrap().as_deref(), Some("k3"));
    }
}

//! Where each record lives in etcd: `PREFIX TREE / KEY`, with sled's tree names and sled's key
//! bytes ([`codec`]: big-endian numbers, so etcd's byte order is numeric order), so the two
//! stores hold the same records under the same keys and `labkube store migrate` copies one
//! into the other record by record.

use crate::store::Space;
use crate::store::claims::ClaimKey;
use crate::store::codec::{self, be};
use crate::store::job::JobId;

/// The trees of the layout (sled's names; [`Space`] trees come from [`Space::tree`]).
pub(super) const JOBS: &str = "jobs";
pub(super) const QUEUE: &str = "queue";
pub(super) const ACTIVE: &str = "active";
pub(super) const EVENTS: &str = "events";
pub(super) const DEDUPE: &str = "dedupe";
pub(super) const AUDIT: &str = "audit";
pub(super) const CLUSTERS: &str = "clusters";
pub(super) const CLAIMS: &str = "claims";
pub(super) const META: &str = "meta";
pub(super) const QUARANTINE: &str = "quarantine";

/// The key space of one store: every key starts with the configured prefix.
#[derive(Clone, Debug)]
pub(super) struct Layout {
    prefix: Vec<u8>,
}

impl Layout {
    pub(super) fn new(prefix: &str) -> Layout {
        Layout {
            prefix: prefix.as_bytes().to_vec(),
        }
    }

    /// `PREFIX TREE /`: the start of every key of `tree`.
    pub(super) fn tree(&self, tree: &str) -> Vec<u8> {
        let mut k = self.prefix.clone();
        k.extend_from_slice(tree.as_bytes());
        k.push(b'/');
        k
    }

    /// The etcd key of `key` in `tree`.
    pub(super) fn key(&self, tree: &str, key: &[u8]) -> Vec<u8> {
        let mut k = self.tree(tree);
        k.extend_from_slice(key);
        k
    }

    /// `key` without its tree's start (for an etcd key read under `tree`).
    pub(super) fn strip<'k>(&self, tree: &str, key: &'k [u8]) -> &'k [u8] {
        key.get(self.tree(tree).len()..).unwrap_or_default()
    }

    pub(super) fn job(&self, id: JobId) -> Vec<u8> {
        self.key(JOBS, &be(id))
    }

    pub(super) fn queue(&self, id: JobId) -> Vec<u8> {
        self.key(QUEUE, &be(id))
    }

    pub(super) fn active(&self, id: JobId) -> Vec<u8> {
        self.key(ACTIVE, &be(id))
    }

    pub(super) fn event(&self, id: JobId, seq: u64) -> Vec<u8> {
        self.key(EVENTS, &codec::event_key(id, seq))
    }

    /// The start of every log line of job `id`.
    pub(super) fn events_of(&self, id: JobId) -> Vec<u8> {
        self.key(EVENTS, &be(id))
    }

    pub(super) fn dedupe(&self, key: &str) -> Vec<u8> {
        self.key(DEDUPE, key.as_bytes())
    }

    pub(super) fn audit(&self, seq: u64) -> Vec<u8> {
        self.key(AUDIT, &be(seq))
    }

    pub(super) fn cluster(&self, name: &str) -> Vec<u8> {
        self.key(CLUSTERS, name.as_bytes())
    }

    pub(super) fn claim(&self, key: &ClaimKey) -> Vec<u8> {
        self.key(CLAIMS, key.encode().as_bytes())
    }

    pub(super) fn meta(&self, name: &[u8]) -> Vec<u8> {
        self.key(META, name)
    }

    pub(super) fn kv(&self, space: Space, key: &str) -> Vec<u8> {
        self.key(space.tree(), key.as_bytes())
    }

    /// The election's name: candidates' keys are `PREFIX election/<lease>`.
    pub(super) fn election(&self) -> Vec<u8> {
        let mut k = self.prefix.clone();
        k.extend_from_slice(b"election");
        k
    }

    /// The start of every writer's commit marker.
    pub(super) fn writers(&self) -> Vec<u8> {
        self.meta(b"writers/")
    }

    /// Writer `id`'s commit marker.
    pub(super) fn writer(&self, id: &str) -> Vec<u8> {
        let mut k = self.writers();
        k.extend_from_slice(id.as_bytes());
        k
    }

    pub(super) fn quarantine(&self, key: &str) -> Vec<u8> {
        self.key(QUARANTINE, key.as_bytes())
    }
}

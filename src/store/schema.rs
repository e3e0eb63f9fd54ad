//! The store's schema version and the migrations that bring an older store up to it, run by
//! [`SledStore::open`] before anything else reads the store. A store written by a newer
//! release is refused, unchanged, rather than misread.
//!
//! | version | what changed |
//! |---------|--------------|
//! | 1       | (no version key) jobs, queue, logs, audit, cluster registry, small records |
//! | 2       | `claims`: the host index and name reservations, built from the registry and the active creates |
//! | 3       | the audit trail is a hash chain (`chain` in each entry, `audit_head` and `audit_anchor` in `meta`); older entries are linked in order |

use super::claims;
use super::codec::{be, decode_u64};
use super::sled_claims;
use super::sled_store::{SledStore, from_tx};
use super::{JobStore, StoreError};

/// The version this release writes and reads.
pub const CURRENT: u64 = 3;

/// The `meta` key of the version.
pub(super) const KEY: &[u8] = b"schema_version";

impl SledStore {
    /// Brings the store to [`CURRENT`], one migration at a time, or refuses a newer one.
    pub(super) fn migrate(&self) -> Result<(), StoreError> {
        let found = match self.meta.get(KEY)? {
            Some(raw) => decode_u64("meta", "schema_version", &raw)?,
            // A store with no version is either new or from before versions existed.
            None if self.jobs.is_empty() && self.clusters.is_empty() => CURRENT,
            None => 1,
        };
        if found > CURRENT {
            return Err(StoreError::NewerSchema {
                found,
                supported: CURRENT,
            });
        }
        if found < 2 {
            self.claims_from_registry()?;
            tracing::info!("job store migrated to schema 2: host index built from the registry");
        }
        if found < 3 {
            self.link_audit()?;
            tracing::info!("job store migrated to schema 3: audit trail linked into a hash chain");
        }
        if self.meta.get(KEY)?.as_deref() != Some(&be(CURRENT)[..]) {
            self.meta.insert(KEY, &be(CURRENT))?;
            self.sync()?;
        }
        Ok(())
    }

    /// Version 1 → 2: claims for every registered cluster and every active create; a key
    /// already claimed keeps its holder, so running it twice changes nothing.
    fn claims_from_registry(&self) -> Result<(), StoreError> {
        let wanted = claims::rebuild(&self.clusters()?, &self.active()?);
        self.claims
            .transaction(|tree| {
                let keys: Vec<_> = wanted.iter().map(|(k, _)| k.clone()).collect();
                let current = sled_claims::read(tree, &keys)?;
                let fresh: Vec<_> = wanted
                    .iter()
                    .zip(current)
                    .filter(|(_, (_, held))| held.is_none())
                    .map(|((k, c), _)| (k.clone(), Some(c.clone())))
                    .collect();
                sled_claims::write(tree, &fresh)
            })
            .map_err(from_tx)?;
        self.sync()
    }
}

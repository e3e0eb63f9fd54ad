//! [`SledStore`]'s `claims` tree: the host index and name reservations ([`claims`]), key
//! [`ClaimKey::encode`], value a JSON [`Claim`]. Enqueue and update read and write it inside
//! their own transactions through [`read`] and [`write`]; registration, reclaiming and removal
//! are here.

use sled::Tree;
use sled::transaction::{ConflictableTransactionError, Transactional as _, TransactionalTree};

use super::claims::{self, Claim, ClaimKey};
use super::codec::{decode, encode};
use super::sled_store::{SledStore, TxResult, abort, from_tx};
use super::{ClusterRecord, JobId, StoreError};

const TREE: &str = "claims";

/// The current claim of each key, inside a transaction.
pub(super) fn read(
    tree: &TransactionalTree,
    keys: &[ClaimKey],
) -> TxResult<Vec<(ClaimKey, Option<Claim>)>> {
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let k = key.encode();
        let held = match tree.get(k.as_bytes())? {
            Some(raw) => Some(decode(TREE, &k, &raw).map_err(abort)?),
            None => None,
        };
        out.push((key.clone(), held));
    }
    Ok(out)
}

/// Writes (or, for `None`, removes) claims inside a transaction.
pub(super) fn write(
    tree: &TransactionalTree,
    writes: &[(ClaimKey, Option<Claim>)],
) -> TxResult<()> {
    for (key, claim) in writes {
        let k = key.encode();
        match claim {
            Some(c) => {
                tree.insert(k.as_bytes(), encode(c).map_err(abort)?)?;
            }
            None => {
                tree.remove(k.as_bytes())?;
            }
        }
    }
    Ok(())
}

/// Every claim in the tree (a key that does not decode is an error naming it).
pub(super) fn all(tree: &Tree) -> Result<Vec<(ClaimKey, Claim)>, StoreError> {
    let mut out = Vec::new();
    for entry in tree.iter() {
        let (key, raw) = entry?;
        let k = String::from_utf8_lossy(&key).into_owned();
        let parsed = ClaimKey::decode(&k)
            .ok_or_else(|| super::codec::corrupt(TREE, &k, "is not a claim key"))?;
        out.push((parsed, decode(TREE, &k, &raw)?));
    }
    Ok(out)
}

/// Claims of `cluster`, as [`claims::register`] and removal need them.
fn of_cluster(tree: &Tree, cluster: &str) -> Result<Vec<(ClaimKey, Claim)>, StoreError> {
    Ok(all(tree)?
        .into_iter()
        .filter(|(_, c)| c.cluster == cluster)
        .collect())
}

fn with_some(writes: Vec<(ClaimKey, Claim)>) -> Vec<(ClaimKey, Option<Claim>)> {
    writes.into_iter().map(|(k, c)| (k, Some(c))).collect()
}

impl SledStore {
    pub(super) fn put_cluster_claimed(&self, record: ClusterRecord) -> Result<(), StoreError> {
        let writes = with_some(claims::of_record(&record));
        (&self.clusters, &self.claims)
            .transaction(|(clusters, claims_tree)| {
                clusters.insert(record.name.as_bytes(), encode(&record).map_err(abort)?)?;
                write(claims_tree, &writes)
            })
            .map_err(from_tx)?;
        self.sync()
    }

    pub(super) fn register_claimed(
        &self,
        record: ClusterRecord,
        job: JobId,
    ) -> Result<(), StoreError> {
        // The cluster's claims are read outside the transaction (sled cannot scan inside one);
        // the name's claim, on which the swap depends, is read again inside it.
        let held = of_cluster(&self.claims, &record.name)?;
        let name = ClaimKey::Name(record.name.clone());
        (&self.clusters, &self.claims)
            .transaction(|(clusters, claims_tree)| {
                let current = read(claims_tree, std::slice::from_ref(&name))?;
                let name_claim = current.first().and_then(|(_, c)| c.as_ref());
                let writes = claims::register(&record, job, name_claim, &held)
                    .map_err(|e| abort(e.into()))?;
                clusters.insert(record.name.as_bytes(), encode(&record).map_err(abort)?)?;
                write(claims_tree, &writes)
            })
            .map_err(from_tx)?;
        self.sync()
    }

    pub(super) fn reclaim_job(&self, id: JobId) -> Result<(), StoreError> {
        let job = self.get_job(id)?;
        let Some(req) = claims::request(&job.kind) else {
            return Ok(());
        };
        self.claims
            .transaction(|tree| {
                let current = read(tree, &req.keys)?;
                let writes = claims::take(&req, &job.origin, id, &current)
                    .map_err(|c| abort(StoreError::Claimed(c)))?;
                write(tree, &with_some(writes))
            })
            .map_err(from_tx)?;
        self.sync()
    }

    pub(super) fn remove_cluster_claimed(&self, name: &str) -> Result<bool, StoreError> {
        let held = of_cluster(&self.claims, name)?;
        let was = (&self.clusters, &self.claims)
            .transaction(|(clusters, claims_tree)| {
                let was = clusters.remove(name.as_bytes())?.is_some();
                for (key, _) in &held {
                    claims_tree.remove(key.encode().as_bytes())?;
                }
                Ok::<_, ConflictableTransactionError<StoreError>>(was)
            })
            .map_err(from_tx)?;
        self.sync()?;
        Ok(was)
    }
}

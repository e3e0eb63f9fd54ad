//! Optimistic transactions over etcd, the way etcd's own `concurrency.STM` does them: a
//! transaction's closure reads keys (remembering each one's `mod_revision`, 0 for an absent
//! key) and buffers its writes; the commit is one etcd `Txn` whose compares say "every key I
//! read is as I read it" and whose success branch is every write. If another writer got in
//! between, the compares fail, nothing is written, and the closure runs again on fresh reads
//! (at most [`ATTEMPTS`] times). So each of the store's changes — a job with its indexes,
//! dedupe entry, counter, claims and audit entry — is one etcd transaction, all or nothing.
//!
//! Writes of one process are also serialised by a local lock (sled has the same process-wide
//! transaction lock), so a bot's own concurrent writes do not make each other retry; the
//! compares are what guards against another process. When the store holds a fence (the
//! leader's election key, [`Fence`]), every commit also requires that key to be unchanged:
//! a deposed leader's late write fails as a whole ([`StoreError::Deposed`]).

use std::collections::BTreeMap;

use etcd_client::{Compare, CompareOp, DeleteOptions, GetOptions, Txn, TxnOp, TxnOpResponse};

use super::conn::{Conn, Retry};
use crate::store::StoreError;
use crate::store::codec::Record;

/// A key read: its `mod_revision` and value, `None` when absent.
pub(super) type Found = Option<(i64, Vec<u8>)>;

/// Most reads [`read_many`] callers put in one request (etcd refuses a transaction of more
/// than `--max-txn-ops` operations, 128 by default).
pub(super) const READS_PER_TXN: usize = 100;

/// Most times a transaction runs before the store gives up on a key others keep changing.
const ATTEMPTS: usize = 32;

/// The election key whose creation revision a commit requires unchanged: held while this
/// process leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    /// The full etcd key.
    pub key: Vec<u8>,
    /// Its `create_revision` when this process won the election.
    pub revision: i64,
}

#[derive(Clone)]
enum Write {
    Put(Vec<u8>),
    Delete,
}

/// What a transaction had buffered at one point, to drop what came after ([`Tx::rollback`]).
pub(super) struct Savepoint {
    writes: BTreeMap<Vec<u8>, Write>,
    ranges: usize,
    exist: usize,
}

/// One attempt of a transaction: what it read and what it will write.
pub(super) struct Tx<'a> {
    conn: &'a Conn,
    /// Key → `mod_revision` when read (0: absent).
    read: BTreeMap<Vec<u8>, i64>,
    /// Values read, by key.
    seen: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    writes: BTreeMap<Vec<u8>, Write>,
    /// Key ranges `[start, end)` to delete at commit.
    ranges: Vec<(Vec<u8>, Vec<u8>)>,
    /// The store revision every read of this attempt is made at (set by the first read), so
    /// the closure sees one consistent snapshot, never half of another writer's change.
    at: Option<i64>,
    /// Keys that must exist at commit, without pinning their value, and the error if one
    /// does not.
    exist: Vec<(Vec<u8>, StoreError)>,
}

impl<'a> Tx<'a> {
    fn new(conn: &'a Conn) -> Tx<'a> {
        Tx {
            conn,
            read: BTreeMap::new(),
            at: None,
            seen: BTreeMap::new(),
            writes: BTreeMap::new(),
            ranges: Vec::new(),
            exist: Vec::new(),
        }
    }

    /// The value of `key` as this transaction sees it (its own writes first).
    pub(super) fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.get_many(&[key.to_vec()])?.pop().flatten())
    }

    /// The values of `keys`, in order, read in one round trip.
    pub(super) fn get_many(
        &mut self,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let missing: Vec<Vec<u8>> = keys
            .iter()
            .filter(|k| !self.writes.contains_key(*k) && !self.seen.contains_key(*k))
            .cloned()
            .collect();
        if !missing.is_empty() {
            let (found, at) = read_at(self.conn, &missing, self.at)?;
            self.at = Some(at);
            for (key, found) in missing.iter().zip(found) {
                let (rev, value) = found.map_or((0, None), |(r, v)| (r, Some(v)));
                self.read.insert(key.clone(), rev);
                self.seen.insert(key.clone(), value);
            }
        }
        Ok(keys
            .iter()
            .map(|k| match self.writes.get(k) {
                Some(Write::Put(v)) => Some(v.clone()),
                Some(Write::Delete) => None,
                None => self.seen.get(k).cloned().flatten(),
            })
            .collect())
    }

    /// Sets `key` at commit.
    pub(super) fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert(key, Write::Put(value));
    }

    /// What this transaction buffered so far.
    pub(super) fn savepoint(&self) -> Savepoint {
        Savepoint {
            writes: self.writes.clone(),
            ranges: self.ranges.len(),
            exist: self.exist.len(),
        }
    }

    /// Drops every write, deletion and requirement buffered since `saved` (what it read
    /// stays read: the commit still requires it unchanged, which is only stricter).
    pub(super) fn rollback(&mut self, saved: Savepoint) {
        self.writes = saved.writes;
        self.ranges.truncate(saved.ranges);
        self.exist.truncate(saved.exist);
    }

    /// Removes `key` at commit.
    pub(super) fn delete(&mut self, key: Vec<u8>) {
        self.writes.insert(key, Write::Delete);
    }

    /// Removes every key in `[start, end)` at commit.
    pub(super) fn delete_range(&mut self, start: Vec<u8>, end: Vec<u8>) {
        self.ranges.push((start, end));
    }

    /// Requires `key` to exist at commit (whatever its value); the commit fails with
    /// `missing` if it does not.
    pub(super) fn require(&mut self, key: Vec<u8>, missing: StoreError) {
        self.exist.push((key, missing));
    }

    /// Commits; `Ok(false)` when a compare failed (someone else wrote first). The commit also
    /// writes a fresh nonce to this writer's `marker` key: when etcd's answer is lost (the
    /// leader changed under the request, the connection broke), a linearizable read of the
    /// marker says whether the commit happened — a new leader has committed every entry it
    /// will ever commit from the old term before it serves that read.
    fn commit(self, fence: Option<&Fence>, marker: &[u8]) -> Result<bool, StoreError> {
        let mut when: Vec<Compare> = self
            .read
            .iter()
            .map(|(k, rev)| Compare::mod_revision(k.clone(), CompareOp::Equal, *rev))
            .collect();
        when.extend(
            self.exist
                .iter()
                .map(|(k, _)| Compare::version(k.clone(), CompareOp::Greater, 0)),
        );
        if let Some(f) = fence {
            when.push(Compare::create_revision(
                f.key.clone(),
                CompareOp::Equal,
                f.revision,
            ));
        }
        let mut ops: Vec<TxnOp> = self
            .writes
            .into_iter()
            .map(|(k, w)| match w {
                Write::Put(v) => TxnOp::put(k, v, None),
                Write::Delete => TxnOp::delete(k, None),
            })
            .collect();
        ops.extend(
            self.ranges.into_iter().map(|(start, end)| {
                TxnOp::delete(start, Some(DeleteOptions::new().with_range(end)))
            }),
        );
        let nonce = nonce()?;
        ops.push(TxnOp::put(marker.to_vec(), nonce.clone(), None));
        // On failure, read back the fence and the required keys to tell "deposed" and
        // "missing" from "raced".
        let mut or_else: Vec<TxnOp> = fence
            .map(|f| TxnOp::get(f.key.clone(), None))
            .into_iter()
            .collect();
        or_else.extend(
            self.exist
                .iter()
                .map(|(k, _)| TxnOp::get(k.clone(), Some(GetOptions::new().with_count_only()))),
        );
        let txn = Txn::new().when(when).and_then(ops).or_else(or_else);
        let sent = self.conn.call(Retry::Write, move |mut client| {
            let txn = txn.clone();
            async move { client.txn(txn).await }
        });
        let resp = match sent {
            Ok(resp) => resp,
            Err(lost @ StoreError::Unavailable { .. }) => {
                return match read_many(self.conn, &[marker.to_vec()]) {
                    Ok(found) => {
                        Ok(found.first().cloned().flatten().map(|(_, v)| v) == Some(nonce))
                    }
                    // Still unknown: say what failed; the change may or may not be there.
                    Err(_) => Err(lost),
                };
            }
            Err(e) => return Err(e),
        };
        if resp.succeeded() {
            return Ok(true);
        }
        let mut answers = resp.op_responses().into_iter();
        if let Some(f) = fence {
            let held = match answers.next() {
                Some(TxnOpResponse::Get(g)) => {
                    g.kvs().iter().any(|kv| kv.create_revision() == f.revision)
                }
                _ => false,
            };
            if !held {
                return Err(StoreError::Deposed);
            }
        }
        for (_, missing) in self.exist {
            if let Some(TxnOpResponse::Get(g)) = answers.next()
                && g.count() == 0
            {
                return Err(missing);
            }
        }
        Ok(false)
    }
}

/// Values and `mod_revision`s of `keys` (in order, `None` for absent ones) in one read-only
/// etcd transaction, linearizable.
pub(super) fn read_many(conn: &Conn, keys: &[Vec<u8>]) -> Result<Vec<Found>, StoreError> {
    Ok(read_at(conn, keys, None)?.0)
}

/// [`read_many`] at store revision `at` (`None`: the latest), and the revision read at.
fn read_at(
    conn: &Conn,
    keys: &[Vec<u8>],
    at: Option<i64>,
) -> Result<(Vec<Found>, i64), StoreError> {
    let options = at.map(|rev| GetOptions::new().with_revision(rev));
    let ops: Vec<TxnOp> = keys
        .iter()
        .map(|k| TxnOp::get(k.clone(), options.clone()))
        .collect();
    let resp = conn.call(Retry::Read, move |mut client| {
        let txn = Txn::new().and_then(ops.clone());
        async move { client.txn(txn).await }
    })?;
    let revision = resp.header().map(|h| h.revision()).unwrap_or_default();
    let mut out = Vec::with_capacity(keys.len());
    for r in resp.op_responses() {
        let found = match r {
            TxnOpResponse::Get(g) => g
                .kvs()
                .first()
                .map(|kv| (kv.mod_revision(), kv.value().to_vec())),
            _ => None,
        };
        out.push(found);
    }
    if out.len() != keys.len() {
        return Err(conn.unavailable(format!(
            "etcd answered {} reads for {} keys",
            out.len(),
            keys.len()
        )));
    }
    Ok((out, at.unwrap_or(revision)))
}

/// Keys a scan reads per request: small enough for any reply to stay far below gRPC's 4 MiB
/// message limit, whatever the records.
const PAGE: usize = 256;
/// Most pages one scan reads (25 million records): a bound, never reached in practice.
const MAX_PAGES: usize = 100_000;

/// Every key and value under `prefix` in key order (descending when `newest_first`), at most
/// `limit` of them, read a page at a time.
pub(super) fn scan(
    conn: &Conn,
    prefix: &[u8],
    newest_first: bool,
    limit: Option<usize>,
) -> Result<Vec<Record>, StoreError> {
    use etcd_client::{SortOrder, SortTarget};
    let order = if newest_first {
        SortOrder::Descend
    } else {
        SortOrder::Ascend
    };
    let want = limit.unwrap_or(usize::MAX);
    let (mut low, mut high) = (prefix.to_vec(), prefix_end(prefix));
    let mut out = Vec::new();
    for _ in 0..MAX_PAGES {
        let n = PAGE.min(want.saturating_sub(out.len()));
        if n == 0 {
            break;
        }
        let options = GetOptions::new()
            .with_range(high.clone())
            .with_sort(SortTarget::Key, order)
            .with_limit(i64::try_from(n).unwrap_or(i64::MAX));
        let from = low.clone();
        let resp = conn.call(Retry::Read, move |mut client| {
            let (from, options) = (from.clone(), options.clone());
            async move { client.get(from, Some(options)).await }
        })?;
        let got = resp.kvs().len();
        for kv in resp.kvs() {
            out.push((kv.key().to_vec(), kv.value().to_vec()));
        }
        match out.last() {
            // The next page starts after the last key read (or ends before it).
            Some((last, _)) if newest_first => high = last.clone(),
            Some((last, _)) => {
                low = last.clone();
                low.push(0);
            }
            None => {}
        }
        if got < n {
            break;
        }
    }
    Ok(out)
}

/// The first key after every key that starts with `prefix` (etcd's range end for a prefix).
pub(super) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // All 0xff: to the end of the key space.
    vec![0]
}

/// Runs `change` as one transaction: again on fresh reads if another writer got in first,
/// at most [`ATTEMPTS`] times. A closure that wrote nothing commits nothing.
pub(super) fn atomically<T>(
    conn: &Conn,
    lock: &std::sync::Mutex<()>,
    fence: Option<&Fence>,
    marker: &[u8],
    change: impl FnMut(&mut Tx<'_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let _serial = serial(lock);
    atomically_held(conn, fence, marker, change)
}

/// This process's writer lock. Poisoned: a panic in another writer's closure, which wrote
/// nothing; the lock only orders this process's writers.
pub(super) fn serial(lock: &std::sync::Mutex<()>) -> std::sync::MutexGuard<'_, ()> {
    lock.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// [`atomically`] by a caller that holds the writer lock already ([`serial`]).
pub(super) fn atomically_held<T>(
    conn: &Conn,
    fence: Option<&Fence>,
    marker: &[u8],
    mut change: impl FnMut(&mut Tx<'_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    for _ in 0..ATTEMPTS {
        let mut tx = Tx::new(conn);
        let out = change(&mut tx)?;
        if tx.writes.is_empty() && tx.ranges.is_empty() && tx.exist.is_empty() {
            return Ok(out);
        }
        if tx.commit(fence, marker)? {
            return Ok(out);
        }
    }
    Err(StoreError::Contended { attempts: ATTEMPTS })
}

/// A commit's marker value: when it was made, and 16 random hex digits.
fn nonce() -> Result<Vec<u8>, StoreError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Seal(crate::store::seal::SealError::Random(e.to_string())))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{}:{hex}", crate::store::now_ms()).into_bytes())
}

/// When a marker value was written (Unix ms), if it is one.
pub(super) fn marker_ms(value: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(value).ok()?;
    text.split_once(':')?.0.parse().ok()
}

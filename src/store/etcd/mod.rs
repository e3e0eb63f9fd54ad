//! [`EtcdStore`]: the [`JobStore`] on an etcd cluster, for a bot that runs as more than one
//! replica (`[store] backend = "etcd"`). The same records as [`SledStore`](super::SledStore),
//! under the same keys ([`keys`]), decided by the same rules ([`transition`], [`claims`],
//! [`audit_chain`]), and passing the same contract tests (`tests/it/store_contract/`).
//!
//! Every change sled makes in one transaction is one etcd transaction here ([`stm`]): the
//! enqueue writes the job, its queue and active entries, its dedupe entry, the job counter,
//! its claims and its audit entry, or none of them. A change returns once etcd has committed
//! it, which is once a majority of members has it on disk: there is no separate flush, and
//! [`Enqueued::Unconfirmed`] never happens. Clusters' admin kubeconfigs are sealed
//! ([`seal`](super::seal)) before they reach etcd.
//!
//! Log lines are numbered by the writer's clock in microseconds (kept increasing within the
//! process), so lines of one job stay in order across a failover as long as the replicas'
//! clocks agree to within the failover time.

mod access;
mod batch;
mod conn;
mod election;
mod keys;
mod raw;
mod records;
mod stm;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

pub use election::{Election, Leadership};
pub use stm::Fence;

use self::conn::Conn;
use self::keys::Layout;
use self::stm::{Tx, atomically, read_many, scan};
use super::audit_chain::Verdict;
use super::claims::{self, Claim, ClaimKey};
use super::codec::{self, NEXT_JOB_ID, be, decode_u64, encode};
use super::quarantine::Quarantined;
use super::seal::SealKey;
use super::transition;
use super::{
    AuditEntry, ClusterRecord, Enqueued, Job, JobChange, JobId, JobStore, LogLine, NewJob, Space,
    StoreError, now_ms, schema,
};

/// Days a stopped writer's commit marker is kept.
const MARKER_DAYS: u64 = 1;

/// A random name for this store's commit marker.
fn writer_id() -> Result<String, StoreError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Seal(super::seal::SealError::Random(e.to_string())))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// How to reach the etcd cluster and where in it the store lives.
#[derive(Clone, Debug)]
pub struct EtcdSettings {
    /// Client URLs of the members (`http://10.0.0.5:2379`).
    pub endpoints: Vec<String>,
    /// Start of every key (`/labkube/`), so one etcd can hold several bots' stores.
    pub prefix: String,
    /// Longest wait for one request.
    pub timeout: Duration,
    /// The key kubeconfigs are sealed with.
    pub key: SealKey,
}

/// The job store on etcd. See the module documentation.
pub struct EtcdStore {
    conn: Conn,
    layout: Layout,
    key: SealKey,
    /// Orders this process's writers (see [`stm`]).
    writers: Mutex<()>,
    /// Enqueues waiting to commit together ([`batch`]).
    pending: batch::Pending,
    /// The leader's election key, required unchanged by every write while set.
    fence: Arc<RwLock<Option<Fence>>>,
    /// The last log line number handed out (microseconds).
    last_line: AtomicU64,
    /// This store's commit marker (see [`stm`]): `meta/writers/<random>`.
    marker: Vec<u8>,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("endpoints", &self.conn.endpoints())
            .finish_non_exhaustive()
    }
}

impl EtcdStore {
    /// Connects to etcd and checks the store's schema (a new store is stamped with the
    /// current one). Fails with [`StoreError::Unavailable`] when no member answers.
    pub fn open(settings: &EtcdSettings) -> Result<EtcdStore, StoreError> {
        let store = EtcdStore {
            conn: Conn::start(&settings.endpoints, settings.timeout)?,
            layout: Layout::new(&settings.prefix),
            key: settings.key.clone(),
            writers: Mutex::new(()),
            pending: batch::Pending::default(),
            fence: Arc::new(RwLock::new(None)),
            last_line: AtomicU64::new(0),
            marker: Layout::new(&settings.prefix).writer(&writer_id()?),
        };
        store.check_schema()?;
        store.forget_old_markers()?;
        Ok(store)
    }

    /// Whether the last request reached etcd: `false` from a request that found it
    /// unavailable until one succeeds again (the readiness of a bot on this store).
    pub fn is_available(&self) -> bool {
        self.conn.is_up()
    }

    /// Requires `fence` unchanged for every later write (`None`: no condition). Set by the
    /// leader election when this process wins, cleared when it steps down.
    pub fn set_fence(&self, fence: Option<Fence>) {
        // Poisoned only by a panic while a writer swapped it, which cannot leave it half set.
        *self
            .fence
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fence;
    }

    /// Runs `change` as one etcd transaction under the current fence.
    fn atomically<T>(
        &self,
        change: impl FnMut(&mut Tx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let fence = self.fence_now();
        atomically(
            &self.conn,
            &self.writers,
            fence.as_ref(),
            &self.marker,
            change,
        )
    }

    /// The fence every write requires now.
    fn fence_now(&self) -> Option<Fence> {
        self.fence
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The store's schema: absent in a new store (stamped now), newer ones refused.
    fn check_schema(&self) -> Result<(), StoreError> {
        let key = self.layout.meta(schema::KEY);
        self.atomically(|tx| {
            match tx.get(&key)? {
                Some(raw) => {
                    let found = decode_u64("meta", "schema_version", &raw)?;
                    if found > schema::CURRENT {
                        return Err(StoreError::NewerSchema {
                            found,
                            supported: schema::CURRENT,
                        });
                    }
                }
                None => tx.put(key.clone(), be(schema::CURRENT).to_vec()),
            }
            Ok(())
        })
    }

    /// Drops the commit markers of writers gone for a day (a process leaves its marker
    /// behind when it stops).
    fn forget_old_markers(&self) -> Result<(), StoreError> {
        let day_ago = now_ms().saturating_sub(MARKER_DAYS * 86_400_000);
        let old: Vec<Vec<u8>> = scan(&self.conn, &self.layout.writers(), false, None)?
            .into_iter()
            .filter(|(_, v)| stm::marker_ms(v).is_none_or(|at| at < day_ago))
            .map(|(k, _)| k)
            .collect();
        for batch in old.chunks(stm::READS_PER_TXN) {
            self.atomically(|tx| {
                for k in batch {
                    tx.delete(k.clone());
                }
                Ok(())
            })?;
        }
        Ok(())
    }
}

impl JobStore for EtcdStore {
    /// As the trait says; concurrent enqueues of this process commit together
    /// ([`batch`]).
    fn enqueue(&self, new: NewJob, dedupe_key: &str) -> Result<Enqueued, StoreError> {
        self.enqueue_batched(new, dedupe_key)
    }

    fn get(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        let key = self.layout.job(id);
        match read_many(&self.conn, std::slice::from_ref(&key))?
            .pop()
            .flatten()
        {
            Some((_, raw)) => self.decoded(keys::JOBS, &key, &raw),
            None => Ok(None),
        }
    }

    /// As the trait says. `change` may run more than once (each time on a fresh copy of the
    /// stored job) when another writer got in first; it must not call back into the store.
    fn update(&self, id: JobId, change: JobChange<'_>) -> Result<Job, StoreError> {
        self.atomically(|tx| {
            let current = self.job_in(tx, id)?.ok_or(StoreError::NoSuchJob(id))?;
            let t = transition::apply(&current, &mut *change)?;
            if t.changed {
                tx.put(self.layout.job(id), encode(&t.job)?);
                self.index(tx, self.layout.queue(id), t.queue);
                self.index(tx, self.layout.active(id), t.active);
                if t.job.state.is_terminal()
                    && let Some(req) = claims::request(&t.job.kind)
                {
                    let current = self.claims_in(tx, &req.keys)?;
                    self.write_claims(tx, &claims::release(id, &current))?;
                }
            }
            Ok(t.job)
        })
    }

    fn queued(&self) -> Result<Vec<Job>, StoreError> {
        self.jobs_in(keys::QUEUE, |j| transition::in_queue(&j.state))
    }

    fn active(&self) -> Result<Vec<Job>, StoreError> {
        self.jobs_in(keys::ACTIVE, |j| transition::in_active(&j.state))
    }

    fn recent(&self, limit: usize) -> Result<Vec<Job>, StoreError> {
        let mut out = Vec::with_capacity(limit.min(1024));
        for (full, raw) in scan(&self.conn, &self.layout.tree(keys::JOBS), true, Some(limit))? {
            out.extend(self.decoded(keys::JOBS, &full, &raw)?);
        }
        Ok(out)
    }

    fn append_log(&self, id: JobId, text: &str) -> Result<(), StoreError> {
        let line = encode(&LogLine {
            at_ms: now_ms(),
            text: text.to_owned(),
        })?;
        let micros = now_ms().saturating_mul(1000);
        let last = self.last_line.fetch_max(micros, Ordering::SeqCst);
        let seq = if micros > last {
            micros
        } else {
            self.last_line
                .fetch_add(1, Ordering::SeqCst)
                .saturating_add(1)
        };
        let job = self.layout.job(id);
        self.atomically(|tx| {
            tx.require(job.clone(), StoreError::NoSuchJob(id));
            tx.put(self.layout.event(id, seq), line.clone());
            Ok(())
        })
    }

    fn log_tail(&self, id: JobId, n: usize) -> Result<Vec<LogLine>, StoreError> {
        let mut out = Vec::with_capacity(n.min(1024));
        for (full, raw) in scan(&self.conn, &self.layout.events_of(id), true, Some(n))? {
            let key = self.layout.strip(keys::EVENTS, &full);
            out.push(codec::decode(
                keys::EVENTS,
                &codec::show_event_key(key),
                &raw,
            )?);
        }
        out.reverse();
        Ok(out)
    }

    fn append_audit(&self, entry: AuditEntry) -> Result<u64, StoreError> {
        self.atomically(|tx| self.append_audit_in(tx, &entry))
    }

    fn recent_audit(&self, n: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let mut out = Vec::with_capacity(n.min(1024));
        for (full, raw) in scan(&self.conn, &self.layout.tree(keys::AUDIT), true, Some(n))? {
            let key = self.layout.strip(keys::AUDIT, &full);
            let seq = decode_u64(keys::AUDIT, &codec::show_key(key), key)?;
            out.push(codec::decode(keys::AUDIT, &seq.to_string(), &raw)?);
        }
        Ok(out)
    }

    fn audit_verify(&self) -> Result<Verdict, StoreError> {
        self.verify_audit()
    }

    fn prune_audit(&self, before_ms: u64) -> Result<usize, StoreError> {
        self.prune_audit_before(before_ms)
    }

    fn cluster(&self, name: &str) -> Result<Option<ClusterRecord>, StoreError> {
        let key = self.layout.cluster(name);
        match read_many(&self.conn, std::slice::from_ref(&key))?
            .pop()
            .flatten()
        {
            Some((_, raw)) => self.decoded(keys::CLUSTERS, &key, &raw),
            None => Ok(None),
        }
    }

    fn put_cluster(&self, record: ClusterRecord) -> Result<(), StoreError> {
        let writes: Vec<_> = claims::of_record(&record)
            .into_iter()
            .map(|(k, c)| (k, Some(c)))
            .collect();
        let value = encode(&record)?;
        self.atomically(|tx| {
            tx.put(self.layout.cluster(&record.name), value.clone());
            self.write_claims(tx, &writes)
        })
    }

    fn register_cluster(&self, record: ClusterRecord, job: JobId) -> Result<(), StoreError> {
        self.register_claimed(record, job)
    }

    fn reclaim(&self, id: JobId) -> Result<(), StoreError> {
        self.atomically(|tx| {
            let job = self.job_in(tx, id)?.ok_or(StoreError::NoSuchJob(id))?;
            let Some(req) = claims::request(&job.kind) else {
                return Ok(());
            };
            let current = self.claims_in(tx, &req.keys)?;
            let writes =
                claims::take(&req, &job.origin, id, &current).map_err(StoreError::Claimed)?;
            let writes: Vec<_> = writes.into_iter().map(|(k, c)| (k, Some(c))).collect();
            self.write_claims(tx, &writes)
        })
    }

    fn claims(&self) -> Result<Vec<(ClaimKey, Claim)>, StoreError> {
        self.all_claims()
    }

    fn remove_cluster(&self, name: &str) -> Result<bool, StoreError> {
        self.remove_cluster_claimed(name)
    }

    fn clusters(&self) -> Result<Vec<ClusterRecord>, StoreError> {
        let mut out = Vec::new();
        for (full, raw) in scan(&self.conn, &self.layout.tree(keys::CLUSTERS), false, None)? {
            out.extend(self.decoded(keys::CLUSTERS, &full, &raw)?);
        }
        Ok(out)
    }

    fn kv_get(&self, space: Space, key: &str) -> Result<Option<String>, StoreError> {
        let full = self.layout.kv(space, key);
        match read_many(&self.conn, std::slice::from_ref(&full))?
            .pop()
            .flatten()
        {
            Some((_, raw)) => self.kv_value(space, &full, &raw),
            None => Ok(None),
        }
    }

    fn kv_put(&self, space: Space, key: &str, value: &str) -> Result<(), StoreError> {
        let stored = self.stored_value(space, key, value)?;
        let full = self.layout.kv(space, key);
        self.atomically(|tx| {
            tx.put(full.clone(), stored.clone());
            Ok(())
        })
    }

    fn kv_list(&self, space: Space) -> Result<Vec<(String, String)>, StoreError> {
        let mut out = Vec::new();
        for (full, raw) in scan(&self.conn, &self.layout.tree(space.tree()), false, None)? {
            if let Some(value) = self.kv_value(space, &full, &raw)? {
                let key = self.layout.strip(space.tree(), &full);
                out.push((String::from_utf8_lossy(key).into_owned(), value));
            }
        }
        Ok(out)
    }

    fn kv_remove(&self, space: Space, key: &str) -> Result<bool, StoreError> {
        let full = self.layout.kv(space, key);
        self.atomically(|tx| {
            let was = tx.get(&full)?.is_some();
            if was {
                tx.delete(full.clone());
            }
            Ok(was)
        })
    }

    fn quarantined(&self) -> Result<Vec<Quarantined>, StoreError> {
        let mut out = Vec::new();
        for (full, raw) in scan(&self.conn, &self.layout.tree(keys::QUARANTINE), false, None)? {
            let key = self.layout.strip(keys::QUARANTINE, &full);
            out.push(codec::decode(
                keys::QUARANTINE,
                &codec::show_key(key),
                &raw,
            )?);
        }
        Ok(out)
    }

    /// Nothing to do: every change was committed by a majority of members before its call
    /// returned.
    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

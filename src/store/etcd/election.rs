//! Leader election on the store's etcd, so that of several bot replicas exactly one talks to
//! the chat platforms and runs jobs: etcd's own election API over a lease.
//!
//! A replica grants itself a lease of `ttl`, campaigns under `PREFIX election` with its name
//! as the value, and waits (a standby) until every earlier candidate's key is gone. Then it
//! leads: the store is fenced by its election key ([`Fence`]), so every write from then on
//! requires that key, and it renews the lease every third of `ttl`. If a renewal does not
//! succeed before the lease would have run out, the replica has lost: etcd may already have
//! deleted its key and let a standby lead, and every write it still tries is refused. A leader
//! that stops cleanly resigns (revokes its lease), so a standby takes over at once instead of
//! after `ttl`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_client::Client;
use tokio::sync::watch;

use super::stm::Fence;
use super::{EtcdStore, conn::Msg};

/// Where this replica stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Leadership {
    /// Waiting for the leader's lease to end (or for etcd).
    Standby,
    /// Leading: the store is fenced by this election key.
    Leading(Fence),
    /// Led, and can no longer be sure it does: must stop (why).
    Lost(String),
}

/// A campaign in progress: where this replica stands, as it changes.
#[derive(Debug)]
pub struct Election {
    rx: watch::Receiver<Leadership>,
    /// Revokes the lease (resigns) when dropped or told.
    resign: Arc<tokio::sync::Notify>,
}

impl Election {
    /// Where this replica stands now.
    pub fn current(&self) -> Leadership {
        self.rx.borrow().clone()
    }

    /// Waits until this replica leads (its fence), or has lost (`Err` with why).
    pub async fn leading(&mut self) -> Result<Fence, String> {
        loop {
            match self.rx.borrow_and_update().clone() {
                Leadership::Leading(f) => return Ok(f),
                Leadership::Lost(why) => return Err(why),
                Leadership::Standby => {}
            }
            if self.rx.changed().await.is_err() {
                return Err("the election ended".into());
            }
        }
    }

    /// Waits until this replica has lost its leadership; returns why.
    pub async fn lost(&mut self) -> String {
        loop {
            if let Leadership::Lost(why) = self.rx.borrow_and_update().clone() {
                return why;
            }
            if self.rx.changed().await.is_err() {
                return "the election ended".into();
            }
        }
    }

    /// Gives the leadership up and waits (at most `limit`) until the lease is revoked, so a
    /// standby leads at once instead of after the lease's time.
    pub async fn step_down(mut self, limit: Duration) {
        self.resign.notify_one();
        let _ = tokio::time::timeout(limit, self.lost()).await;
    }
}

impl Drop for Election {
    /// Dropped without [`Election::step_down`] (a panic, an error path): resign anyway.
    fn drop(&mut self) {
        self.resign.notify_one();
    }
}

impl EtcdStore {
    /// Starts campaigning as `replica` (its name, shown to the others) with a lease of `ttl`.
    /// While leading, the store's writes are fenced by the election key.
    pub fn campaign(&self, replica: &str, ttl: Duration) -> Election {
        let (tx, rx) = watch::channel(Leadership::Standby);
        let resign = Arc::new(tokio::sync::Notify::new());
        let candidacy = Candidacy {
            name: self.layout.election(),
            value: replica.to_string(),
            ttl,
            timeout: self.conn.timeout(),
        };
        let timeout = candidacy.timeout;
        let fence = self.fence.clone();
        let stop = resign.clone();
        let job: super::conn::Job = Box::new(move |client| {
            Box::pin(async move {
                let held = std::sync::atomic::AtomicI64::new(0);
                let outcome = tokio::select! {
                    lost = lead(client.clone(), &candidacy, &tx, &fence, &held) => lost,
                    () = stop.notified() => "resigned".to_string(),
                };
                // The fence stays: its key is gone (or going with the lease), so any write
                // this replica still tries is refused.
                let lease = held.load(std::sync::atomic::Ordering::SeqCst);
                if lease != 0 {
                    // Best effort: a lease left to expire does the same, only later.
                    let mut client = client;
                    let _ = tokio::time::timeout(timeout, client.lease_revoke(lease)).await;
                }
                let _ = tx.send(Leadership::Lost(outcome));
            })
        });
        if !self.conn.send_msg(Msg::Request(job)) {
            let (_, rx) = watch::channel(Leadership::Lost("the store's thread has stopped".into()));
            return Election { rx, resign };
        }
        Election { rx, resign }
    }
}

/// Campaigns until elected, then leads until a renewal fails past the lease; returns why it
/// stopped leading. Revokes the lease on the way out when it can.
async fn lead(
    mut client: Client,
    c: &Candidacy,
    tx: &watch::Sender<Leadership>,
    fence: &std::sync::RwLock<Option<Fence>>,
    held: &std::sync::atomic::AtomicI64,
) -> String {
    // Campaign, patiently: etcd may be down when the replica starts.
    let (lease, key) = loop {
        match elect(&mut client, c, held).await {
            Campaign::Won(lease, key) => break (lease, key),
            Campaign::LeaseGone => {}
            Campaign::Failed(e) => {
                tracing::warn!(error = %e, "cannot campaign for leadership yet; trying again");
                tokio::time::sleep(c.ttl / 3).await;
            }
        }
    };
    let won = Fence {
        key: key.key().to_vec(),
        revision: key.rev(),
    };
    let won_key = won.clone();
    *fence
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(won.clone());
    let _ = tx.send(Leadership::Leading(won));
    keep(&mut client, lease, &won_key, c).await
}

/// What a replica campaigns with.
struct Candidacy {
    /// The election's name (etcd key prefix of the candidates).
    name: Vec<u8>,
    /// The replica's name, the value of its candidate key.
    value: String,
    /// The lease's time to live.
    ttl: Duration,
    /// Longest wait for one request.
    timeout: Duration,
}

/// How one candidacy ended.
enum Campaign {
    /// Elected with this lease and election key.
    Won(i64, etcd_client::LeaderKey),
    /// The candidacy's lease ran out while waiting: start over with a new one.
    LeaseGone,
    /// etcd could not be asked.
    Failed(etcd_client::Error),
}

/// Grants a lease and campaigns with it until elected. The campaign is asked again every
/// third of `ttl` with the same lease (etcd keeps the candidate's key), renewing the lease in
/// between, so a standby's candidacy stays alive however long it waits.
async fn elect(
    client: &mut Client,
    c: &Candidacy,
    held: &std::sync::atomic::AtomicI64,
) -> Campaign {
    let ttl_secs = i64::try_from(c.ttl.as_secs().max(1)).unwrap_or(i64::MAX);
    let lease = match client.lease_grant(ttl_secs, None).await {
        Ok(granted) => granted.id(),
        Err(e) => return Campaign::Failed(e),
    };
    // Known from here, so a resignation revokes it even while still a candidate.
    held.store(lease, std::sync::atomic::Ordering::SeqCst);
    let wait = (c.ttl / 3).max(Duration::from_millis(300));
    loop {
        let asked = tokio::time::timeout(
            wait,
            client.campaign(c.name.clone(), c.value.as_str(), lease),
        )
        .await;
        if let Ok(Ok(resp)) = asked
            && let Some(key) = resp.leader().cloned()
        {
            return Campaign::Won(lease, key);
        }
        // Not elected yet (or the request failed): still a candidate while the lease lives.
        match tokio::time::timeout(c.timeout, renew(client, lease)).await {
            Ok(Ok(left)) if left > 0 => {}
            Ok(Ok(_)) => return Campaign::LeaseGone,
            Ok(Err(e)) => return Campaign::Failed(e),
            Err(_) => return Campaign::LeaseGone,
        }
    }
}

/// Renews `lease` every third of the lease's time and checks that the election key is still
/// this replica's; returns why it stopped leading (a renewal that did not succeed in time,
/// etcd saying the lease is gone, or the key gone).
async fn keep(client: &mut Client, lease: i64, key: &Fence, c: &Candidacy) -> String {
    let mut renewed = Instant::now();
    let step = c.timeout.min(c.ttl / 3);
    loop {
        tokio::time::sleep(c.ttl / 3).await;
        match tokio::time::timeout(step, renew(client, lease)).await {
            Ok(Ok(left)) if left > 0 => renewed = Instant::now(),
            Ok(Ok(_)) => return "etcd says the leadership's lease has ended".into(),
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot renew the leadership's lease"),
            Err(_) => tracing::warn!("renewing the leadership's lease timed out"),
        }
        let held = tokio::time::timeout(step, client.get(key.key.clone(), None)).await;
        if let Ok(Ok(found)) = held
            && !found
                .kvs()
                .iter()
                .any(|kv| kv.create_revision() == key.revision)
        {
            return "the leadership's election key is gone".into();
        }
        // The lease may have run out on etcd's side: another replica may lead now.
        if renewed.elapsed() + c.ttl / 3 >= c.ttl {
            return format!(
                "the leadership's lease could not be renewed for {} s",
                renewed.elapsed().as_secs()
            );
        }
    }
}

/// One renewal of `lease`; the seconds it has left (0: gone).
async fn renew(client: &mut Client, lease: i64) -> Result<i64, etcd_client::Error> {
    let (mut keeper, mut stream) = client.lease_keep_alive(lease).await?;
    keeper.keep_alive().await?;
    match stream.message().await? {
        Some(resp) => Ok(resp.ttl()),
        None => Ok(0),
    }
}

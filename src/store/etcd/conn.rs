//! The etcd connection behind the synchronous [`JobStore`](crate::store::JobStore): an
//! `etcd-client` [`Client`] driven by a runtime of its own on a thread of its own.
//!
//! The store's methods are synchronous (sled is, and the callers were written for a store whose
//! every call is short); etcd's client is asynchronous. A caller — a tokio worker thread, a
//! blocking thread, a test's thread — hands [`Conn::call`] a request, blocks on a plain channel
//! until the store's runtime has the answer, and gets it back. It never enters the store's
//! runtime, so it cannot deadlock with it, and it works from inside any runtime (where
//! `Handle::block_on` would panic). Every request is bounded by the request timeout on the
//! store's side and a slightly longer wait on the caller's side, so an unreachable etcd costs
//! a caller that long, never more. docs/ARCHITECTURE.md ("The etcd store") says why the trait
//! stayed synchronous.

use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;
use std::time::Duration;

use etcd_client::{Client, ConnectOptions};
use tokio::sync::mpsc as amp;

use crate::store::StoreError;

/// A request: given a client, a future that answers it.
pub(super) type Job = Box<dyn FnOnce(Client) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// What the store's thread is sent.
pub(super) enum Msg {
    /// A request.
    Request(Job),
    /// Requests found etcd unavailable: start over with a fresh client. tonic's channels back
    /// off between reconnection attempts, longer after each failure, so after an outage of
    /// some seconds an old client could keep failing for as long after etcd is back.
    Reconnect,
}

/// How long the caller waits beyond the request timeout before it gives up on the store's
/// thread itself (it should never come to that: the request has its own timeout there).
const CALLER_SLACK: Duration = Duration::from_secs(1);

/// Requests queued for the store's thread; beyond that a request is refused at once.
const QUEUE: usize = 1024;

/// After a request found etcd unavailable, how long later requests fail at once (with that
/// reason) instead of each waiting out the timeout: a bot whose store is gone answers "not
/// now" promptly and keeps its threads. The first request after it is the probe.
const FAIL_FAST: Duration = Duration::from_secs(1);

/// The connection: a handle on the store's thread.
pub(super) struct Conn {
    tx: amp::Sender<Msg>,
    timeout: Duration,
    endpoints: String,
    /// When a request last found etcd unavailable, and why; `None` since one succeeded.
    down: std::sync::Mutex<Option<(std::time::Instant, String)>>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// Starts the store's thread and its client for `endpoints` (`http://host:port`). The
    /// client connects lazily; the first request tells whether etcd answers.
    pub(super) fn start(endpoints: &[String], timeout: Duration) -> Result<Conn, StoreError> {
        let shown = endpoints.join(",");
        let unavailable = |why: String| StoreError::Unavailable {
            endpoints: shown.clone(),
            why,
        };
        let options = ConnectOptions::new()
            .with_connect_timeout(timeout)
            .with_timeout(timeout)
            .with_keep_alive(Duration::from_secs(2), timeout)
            // A member cut off from the others answers "no leader" at once instead of serving
            // stale reads or queueing writes it cannot commit.
            .with_require_leader(true);
        let (tx, mut rx) = amp::channel::<Msg>(QUEUE);
        let (ready, connected) = mpsc::sync_channel(1);
        let list = endpoints.to_vec();
        std::thread::Builder::new()
            .name("labkube-etcd".into())
            .spawn(move || {
                // Built here, not by the caller: a runtime may be neither started nor dropped
                // inside another one (the bot opens its store from async code).
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready.send(Err(format!("cannot start the store's runtime: {e}")));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let mut client = match Client::connect(&list, Some(options.clone())).await {
                        Ok(client) => {
                            let _ = ready.send(Ok(()));
                            client
                        }
                        Err(e) => {
                            let _ = ready.send(Err(e.to_string()));
                            return;
                        }
                    };
                    let mut renewed = std::time::Instant::now();
                    while let Some(msg) = rx.recv().await {
                        match msg {
                            // Each request is a task of its own, so a slow one does not hold
                            // the rest.
                            Msg::Request(job) => {
                                tokio::spawn(job(client.clone()));
                            }
                            Msg::Reconnect if renewed.elapsed() >= FAIL_FAST => {
                                // Connecting makes no request; it fails only on bad
                                // endpoints, which worked a moment ago. Keep the old one then.
                                if let Ok(fresh) =
                                    Client::connect(&list, Some(options.clone())).await
                                {
                                    client = fresh;
                                }
                                renewed = std::time::Instant::now();
                            }
                            Msg::Reconnect => {}
                        }
                    }
                });
            })
            .map_err(|e| unavailable(format!("cannot start the store's thread: {e}")))?;
        match connected.recv_timeout(timeout + CALLER_SLACK) {
            Ok(Ok(())) => {}
            Ok(Err(why)) => return Err(unavailable(why)),
            Err(_) => return Err(unavailable("the client did not start in time".into())),
        }
        Ok(Conn {
            tx,
            timeout,
            endpoints: shown,
            down: std::sync::Mutex::new(None),
        })
    }

    /// The endpoints, comma-separated, for messages.
    pub(super) fn endpoints(&self) -> &str {
        &self.endpoints
    }

    /// Runs `request` on the store's thread and waits for its answer, at most the request
    /// timeout (plus [`CALLER_SLACK`]). Within that time a request that etcd certainly did not
    /// receive (no connection to the member the client picked) is sent again, and so is a
    /// read that failed for want of a leader; a write is not, since it may have been applied
    /// (see [`stm`](super::stm) for how a commit finds out).
    pub(super) fn call<T, F, Fut>(&self, retry: Retry, request: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(Client) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, etcd_client::Error>> + Send + 'static,
    {
        if let Some(why) = self.recently_down() {
            return Err(self.unavailable(why));
        }
        let out = self.send(retry, request);
        // A poisoned lock held only this plain value, whole at every moment.
        let mut down = self
            .down
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *down = match &out {
            Err(StoreError::Unavailable { why, .. }) => {
                // Full or stopped: the next failure asks again.
                let _ = self.tx.try_send(Msg::Reconnect);
                Some((std::time::Instant::now(), why.clone()))
            }
            _ => None,
        };
        out
    }

    /// The request timeout.
    pub(super) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Hands `msg` to the store's thread; `false` if it cannot take it.
    pub(super) fn send_msg(&self, msg: Msg) -> bool {
        self.tx.try_send(msg).is_ok()
    }

    /// Whether etcd was found unavailable less than [`FAIL_FAST`] ago, and why.
    fn recently_down(&self) -> Option<String> {
        let down = self
            .down
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (at, why) = down.as_ref()?;
        (at.elapsed() < FAIL_FAST).then(|| why.clone())
    }

    /// Whether the last request reached etcd (`false` once one found it unavailable, until one
    /// succeeds again).
    pub(super) fn is_up(&self) -> bool {
        self.down
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_none()
    }

    fn send<T, F, Fut>(&self, retry: Retry, request: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(Client) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, etcd_client::Error>> + Send + 'static,
    {
        let (answer, answered) = mpsc::sync_channel(1);
        let timeout = self.timeout;
        let job: Job = Box::new(move |client| {
            Box::pin(async move {
                let out = tokio::time::timeout(timeout, async {
                    let mut pause = FIRST_PAUSE;
                    loop {
                        match request(client.clone()).await {
                            Ok(v) => return Ok(v),
                            Err(e) if retry.again(&e) => {
                                tracing::debug!(error = %e, "etcd request not served; sending it again");
                                tokio::time::sleep(pause).await;
                                pause = (pause * 2).min(LAST_PAUSE);
                            }
                            Err(e) => return Err(e),
                        }
                    }
                })
                .await;
                let out = match out {
                    Ok(out) => out.map_err(Failure::Etcd),
                    Err(_) => Err(Failure::TimedOut),
                };
                // The caller may have given up; nobody to tell then.
                let _ = answer.send(out);
            })
        });
        self.tx.try_send(Msg::Request(job)).map_err(|e| {
            let why = match e {
                amp::error::TrySendError::Full(_) => "too many requests are waiting for etcd",
                amp::error::TrySendError::Closed(_) => "the store's thread has stopped",
            };
            self.unavailable(why.to_string())
        })?;
        match answered.recv_timeout(timeout + CALLER_SLACK) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(Failure::Etcd(e))) => Err(self.unavailable(e.to_string())),
            Ok(Err(Failure::TimedOut)) | Err(mpsc::RecvTimeoutError::Timeout) => {
                Err(self.unavailable(format!("no answer within {} s", timeout.as_secs_f64())))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(self.unavailable("the store's thread has stopped".into()))
            }
        }
    }

    pub(super) fn unavailable(&self, why: String) -> StoreError {
        StoreError::Unavailable {
            endpoints: self.endpoints.clone(),
            why,
        }
    }
}

/// Which failed requests [`Conn::call`] sends again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Retry {
    /// A read: again whenever etcd could not serve it (no connection, no leader, leader
    /// changed, timed out inside etcd).
    Read,
    /// A write: again only when it never left this process (no connection).
    Write,
}

/// gRPC's `UNKNOWN`, `DEADLINE_EXCEEDED` and `UNAVAILABLE` codes.
const UNKNOWN: i32 = 2;
const DEADLINE_EXCEEDED: i32 = 4;
const UNAVAILABLE: i32 = 14;

impl Retry {
    fn again(self, e: &etcd_client::Error) -> bool {
        let status = match e {
            etcd_client::Error::GRpcStatus(status) => status,
            // The channel itself failed (a connection reset): a read can be sent again.
            etcd_client::Error::TransportError(_) | etcd_client::Error::IoError(_) => {
                return self == Retry::Read;
            }
            _ => return false,
        };
        let code = i32::from(status.code());
        // tonic's wording when the connection to the chosen member could not be made: the
        // request was never written to any socket.
        let not_sent = code == UNAVAILABLE && status.message() == "tcp connect error";
        match self {
            Retry::Write => not_sent,
            // UNKNOWN is how tonic reports a connection that broke under the request.
            Retry::Read => matches!(code, UNAVAILABLE | DEADLINE_EXCEEDED | UNKNOWN),
        }
    }
}

/// First and longest pause between two sends of one request.
const FIRST_PAUSE: Duration = Duration::from_millis(20);
const LAST_PAUSE: Duration = Duration::from_millis(500);

/// Why a request failed on the store's thread.
enum Failure {
    Etcd(etcd_client::Error),
    TimedOut,
}

//! One serial lane per active room: a bounded queue and a task that handles the room's messages
//! in order, so a slow answer in one room (a platform's flood control, a slow homeserver) never
//! delays another room. A lane ends when its room has been quiet for a while; at most
//! [`MAX_LANES`] exist at once, each holding at most [`DEPTH`] waiting messages.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::RoomRef;
use crate::chat::Incoming;

/// Rooms with a lane at once. Only allowed rooms get one, so a lab stays far below.
pub const MAX_LANES: usize = 256;
/// Messages waiting in one room's lane; the room's rate limit keeps it far below.
pub const DEPTH: usize = 64;
/// A lane with nothing to do for this long ends.
const IDLE: Duration = Duration::from_secs(30);

/// A lane's work item.
pub enum Work {
    /// A command for the dispatcher.
    Run(Incoming),
    /// Not run: this answer instead.
    Say(Incoming, String),
}

impl Work {
    fn message(&self) -> &Incoming {
        match self {
            Work::Run(m) | Work::Say(m, _) => m,
        }
    }
}

/// What a lane does with its work.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Handles `msg` completely (replies included).
    async fn run(&self, msg: &Incoming);
    /// Replies `text` to `msg`.
    async fn say(&self, msg: &Incoming, text: &str);
}

type Map = Arc<Mutex<HashMap<RoomRef, mpsc::Sender<Work>>>>;

/// The lanes.
pub struct Lanes {
    map: Map,
    handler: Arc<dyn Handler>,
    tasks: TaskTracker,
    stop: CancellationToken,
}

impl Lanes {
    /// No lanes yet; work is handed to `handler`.
    pub fn new(handler: Arc<dyn Handler>, tasks: TaskTracker, stop: CancellationToken) -> Self {
        Lanes {
            map: Arc::default(),
            handler,
            tasks,
            stop,
        }
    }

    /// Queues `work` in its room's lane, starting one if needed. Never waits: a full lane, or
    /// no lane free, drops the message (marked handled, logged).
    pub fn push(&self, work: Work) {
        let room = work.message().room_ref();
        let mut map = lock(&self.map);
        let work = match map.get(&room) {
            None => work,
            Some(tx) => match tx.try_send(work) {
                Ok(()) => return,
                Err(TrySendError::Full(w)) => {
                    tracing::warn!(platform = %room.platform, room = %room.room, "a room's queue is full; a message was dropped");
                    return w.message().mark_handled();
                }
                // The lane is ending (stopping): start another.
                Err(TrySendError::Closed(w)) => {
                    map.remove(&room);
                    w
                }
            },
        };
        if map.len() >= MAX_LANES {
            tracing::warn!(
                lanes = MAX_LANES,
                "too many rooms are busy at once; a message was dropped"
            );
            return work.message().mark_handled();
        }
        let (tx, rx) = mpsc::channel(DEPTH);
        if let Err(e) = tx.try_send(work) {
            // Cannot happen (a new channel has room), but a message is never dropped unmarked.
            return e.into_inner().message().mark_handled();
        }
        map.insert(room.clone(), tx);
        drop(map);
        let lane = Lane {
            room,
            rx,
            map: self.map.clone(),
            handler: self.handler.clone(),
            stop: self.stop.clone(),
        };
        self.tasks.spawn(lane.run());
    }

    /// Takes no more work: each lane ends once it has handled what it holds.
    pub fn close(&self) {
        lock(&self.map).clear();
    }

    /// Lanes running now.
    pub fn len(&self) -> usize {
        lock(&self.map).len()
    }

    /// No lane is running.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One room's lane.
struct Lane {
    room: RoomRef,
    rx: mpsc::Receiver<Work>,
    map: Map,
    handler: Arc<dyn Handler>,
    stop: CancellationToken,
}

impl Lane {
    /// Handles the room's work in order until the room is quiet for [`IDLE`], the lanes close,
    /// or the bot stops (then the message in hand is dropped unhandled: the adapter delivers
    /// it again after a restart).
    async fn run(mut self) {
        loop {
            let next = tokio::select! {
                _ = self.stop.cancelled() => return,
                r = tokio::time::timeout(IDLE, self.rx.recv()) => r,
            };
            let work = match next {
                Ok(Some(w)) => w,
                Ok(None) => return,
                Err(_) => {
                    // Pushes hold the lock, so nothing arrives between this check and the removal.
                    let mut map = lock(&self.map);
                    if self.rx.is_empty() {
                        map.remove(&self.room);
                        return;
                    }
                    continue;
                }
            };
            let handled = async {
                match &work {
                    Work::Run(m) => self.handler.run(m).await,
                    Work::Say(m, text) => self.handler.say(m, text).await,
                }
            };
            tokio::select! {
                _ = self.stop.cancelled() => return,
                _ = handled => {}
            }
            work.message().mark_handled();
        }
    }
}

fn lock(map: &Map) -> std::sync::MutexGuard<'_, HashMap<RoomRef, mpsc::Sender<Work>>> {
    // A panic while the map was locked left it consistent (every change is one insert or remove).
    map.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::{Notify, mpsc::UnboundedSender};

    /// Records what it handled; room "slow" waits for `release` first.
    struct Recorder {
        done: UnboundedSender<String>,
        release: Arc<Notify>,
    }

    #[async_trait]
    impl Handler for Recorder {
        async fn run(&self, msg: &Incoming) {
            if msg.room == "slow" {
                self.release.notified().await;
            }
            let _ = self.done.send(format!("{}:{}", msg.room, msg.text));
        }
        async fn say(&self, msg: &Incoming, text: &str) {
            let _ = self.done.send(format!("{}:say {text}", msg.room));
        }
    }

    fn msg(room: &str, text: &str) -> Incoming {
        Incoming {
            room: room.into(),
            text: text.into(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_slow_room_does_not_hold_up_another_and_order_holds_within_a_room() {
        let (done, mut seen) = tokio::sync::mpsc::unbounded_channel();
        let release = Arc::new(Notify::new());
        let handler = Arc::new(Recorder {
            done,
            release: release.clone(),
        });
        let tasks = TaskTracker::new();
        let lanes = Lanes::new(handler, tasks.clone(), CancellationToken::new());
        lanes.push(Work::Run(msg("slow", "a")));
        lanes.push(Work::Run(msg("fast", "1")));
        lanes.push(Work::Run(msg("fast", "2")));
        lanes.push(Work::Say(msg("fast", "3"), "no".into()));
        let wait = Duration::from_secs(10);
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(
                tokio::time::timeout(wait, seen.recv())
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
        assert_eq!(got, ["fast:1", "fast:2", "fast:say no"]);
        assert_eq!(lanes.len(), 2);
        release.notify_one();
        let slow = tokio::time::timeout(wait, seen.recv()).await.unwrap();
        assert_eq!(slow.as_deref(), Some("slow:a"));
        lanes.close();
        tasks.close();
        tokio::time::timeout(wait, tasks.wait()).await.unwrap();
        assert!(lanes.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn quiet_lanes_end() {
        let (done, mut seen) = tokio::sync::mpsc::unbounded_channel();
        let handler = Arc::new(Recorder {
            done,
            release: Arc::new(Notify::new()),
        });
        let lanes = Lanes::new(handler, TaskTracker::new(), CancellationToken::new());
        lanes.push(Work::Run(msg("a", "1")));
        assert_eq!(seen.recv().await.as_deref(), Some("a:1"));
        assert_eq!(lanes.len(), 1);
        tokio::time::sleep(IDLE + Duration::from_secs(1)).await;
        assert!(lanes.is_empty(), "an idle lane ends");
        lanes.push(Work::Run(msg("a", "2")));
        assert_eq!(seen.recv().await.as_deref(), Some("a:2"));
    }
}

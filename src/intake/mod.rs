//! Intake: what happens to a chat message between its adapter and the dispatcher. The [`gate`]
//! decides, without waiting on anything, whether a message is run, answered without being run
//! (over a rate limit, too old), answered with the onboarding text (a stranger's private chat),
//! or ignored (strangers, rooms not in the config); [`lanes`] then handle each room's messages
//! in order, rooms side by side, so no room's slow answer holds up another's.

mod bucket;
mod gate;
mod lanes;
mod onboard;

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use gate::{Gate, Verdict};
pub use lanes::{DEPTH, Handler, Lanes, MAX_LANES, Work};

use crate::auth::Policy;
use crate::chat::{Incoming, Replier};
use crate::dispatch::Dispatcher;
use crate::store::now_ms;

/// Onboarding answers being sent at once; more are not sent (a flood of new strangers).
const ONBOARDING_SENDS: usize = 4;

/// The dispatcher and the chat, as a lane's [`Handler`].
struct Answers {
    dispatcher: Arc<Dispatcher>,
    chat: Arc<dyn Replier>,
}

#[async_trait]
impl Handler for Answers {
    async fn run(&self, msg: &Incoming) {
        self.dispatcher.handle(msg).await;
    }

    async fn say(&self, msg: &Incoming, text: &str) {
        say(&*self.chat, msg, text).await;
    }
}

async fn say(chat: &dyn Replier, msg: &Incoming, text: &str) {
    if let Err(e) = chat
        .reply(&msg.platform, &msg.room, &msg.event_id, text)
        .await
    {
        tracing::warn!(error = %e, platform = %msg.platform, "cannot send a reply");
    }
}

/// The gate and the lanes.
pub struct Intake {
    gate: Gate,
    lanes: Lanes,
    chat: Arc<dyn Replier>,
    onboarding: Arc<Semaphore>,
    tasks: TaskTracker,
    stop: CancellationToken,
}

impl Intake {
    /// Intake for `policy` with the config's `[intake]` limits, running commands on
    /// `dispatcher` and answering through `chat`.
    pub fn new(
        policy: Policy,
        limits: &crate::config::Intake,
        dispatcher: Arc<Dispatcher>,
        chat: Arc<dyn Replier>,
    ) -> Intake {
        let (tasks, stop) = (TaskTracker::new(), CancellationToken::new());
        let answers = Arc::new(Answers {
            dispatcher,
            chat: chat.clone(),
        });
        Intake {
            gate: Gate::new(policy, limits),
            lanes: Lanes::new(answers, tasks.clone(), stop.clone()),
            chat,
            onboarding: Arc::new(Semaphore::new(ONBOARDING_SENDS)),
            tasks,
            stop,
        }
    }

    /// Takes `msg`; never waits on a send.
    pub fn accept(&mut self, msg: Incoming) {
        match self.gate.judge(&msg, Instant::now(), now_ms()) {
            Verdict::Ignore => msg.mark_handled(),
            Verdict::Run => self.lanes.push(Work::Run(msg)),
            Verdict::Say(text) => self.lanes.push(Work::Say(msg, text)),
            Verdict::Onboard(text) => self.onboard(msg, text),
        }
    }

    /// Sends the onboarding answer on its own (a stranger's chat has no lane).
    fn onboard(&self, msg: Incoming, text: String) {
        let Ok(permit) = self.onboarding.clone().try_acquire_owned() else {
            tracing::debug!("onboarding answers are busy; one was not sent");
            return msg.mark_handled();
        };
        let (chat, stop) = (self.chat.clone(), self.stop.clone());
        self.tasks.spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = say(&*chat, &msg, &text) => {}
            }
            // A stranger's message is never delivered again, sent or not.
            msg.mark_handled();
            drop(permit);
        });
    }

    /// Takes no more messages and waits until every one taken is handled.
    pub async fn drain(&self) {
        self.lanes.close();
        self.tasks.close();
        self.tasks.wait().await;
    }

    /// Stops at once: messages not yet handled are dropped unhandled (the adapters deliver them
    /// again after a restart).
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

//! The edit-in-place progress sink: one live message per job, edited as events arrive but never
//! more often than the configured interval (events in between are coalesced into the next
//! edit), plus a final outcome message.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::render::{render_finished, render_live, render_paused, render_resumed};
use super::{Button, Replier};
use crate::progress::{MessageRef, ProgressEvent, ProgressSink};
use crate::store::{Job, JobId};

/// How long a new job's first status waits for the acknowledgement to be attached, so it edits
/// that message instead of sending a second one.
const ATTACH_GRACE: Duration = Duration::from_millis(300);

#[derive(Default)]
struct Live {
    message: Option<MessageRef>,
    last_edit: Option<Instant>,
    /// Text to show at the next allowed edit.
    pending: Option<String>,
    /// A delayed flush is scheduled.
    scheduled: bool,
    /// The text the message shows now (an identical update is not sent again).
    shown: Option<String>,
    /// Buttons to show with the pending text: Cancel while the job may still be stopped.
    buttons: Vec<Button>,
    platform: String,
    room: String,
}

/// Renders job events into chat messages through a [`Replier`].
pub struct LiveProgress {
    chat: Arc<dyn Replier>,
    interval: Duration,
    jobs: Arc<Mutex<HashMap<JobId, Live>>>,
    /// The replica this bot is, when it took over from another one: resumed jobs say that
    /// labkube moved here rather than that it restarted.
    moved_to: Option<String>,
}

/// Locks the map; a panic elsewhere cannot leave an entry half-written (single assignments).
fn lock(m: &Mutex<HashMap<JobId, Live>>) -> MutexGuard<'_, HashMap<JobId, Live>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl LiveProgress {
    /// A sink that edits at most once per `interval` per job.
    pub fn new(chat: Arc<dyn Replier>, interval: Duration) -> Self {
        LiveProgress {
            chat,
            interval,
            jobs: Arc::new(Mutex::new(HashMap::new())),
            moved_to: None,
        }
    }

    /// Resumed jobs tell their rooms that labkube moved to `replica` (a leader that took over).
    pub fn moved_to(mut self, replica: String) -> Self {
        self.moved_to = Some(replica);
        self
    }

    /// Records `text` as the job's latest status and shows it now or at the next allowed time.
    async fn update(&self, job: &Job, text: String, first_delay: Duration) {
        let due = {
            let mut jobs = lock(&self.jobs);
            let live = jobs.entry(job.id).or_insert_with(|| Live {
                platform: job.origin.platform.clone(),
                room: job.origin.room.clone(),
                ..Live::default()
            });
            live.pending = Some(text);
            live.buttons = if job.state.is_terminal() {
                Vec::new()
            } else {
                vec![Button::cancel(job.id)]
            };
            if live.scheduled {
                return;
            }
            let now = Instant::now();
            let due = match live.last_edit {
                Some(t) => t + self.interval,
                None if live.message.is_none() => now + first_delay,
                None => now,
            };
            live.scheduled = due > now;
            due
        };
        if due > Instant::now() {
            let (chat, jobs, id) = (self.chat.clone(), self.jobs.clone(), job.id);
            tokio::spawn(async move {
                tokio::time::sleep_until(due).await;
                flush(&*chat, &jobs, id).await;
            });
        } else {
            flush(&*self.chat, &self.jobs, job.id).await;
        }
    }
}

/// Shows the job's pending text: edits its message, or sends one if it has none yet.
async fn flush(chat: &dyn Replier, jobs: &Mutex<HashMap<JobId, Live>>, id: JobId) {
    let (text, buttons, message, platform, room) = {
        let mut map = lock(jobs);
        let Some(live) = map.get_mut(&id) else { return };
        live.scheduled = false;
        let Some(text) = live.pending.take() else {
            return;
        };
        if live.shown.as_ref() == Some(&text) {
            return;
        }
        live.shown = Some(text.clone());
        live.last_edit = Some(Instant::now());
        (
            text,
            live.buttons.clone(),
            live.message.clone(),
            live.platform.clone(),
            live.room.clone(),
        )
    };
    match message {
        Some(m) => {
            if let Err(e) = chat.edit_with_buttons(&m, &text, &buttons).await {
                tracing::warn!(job = id, error = %e, "cannot edit the job's progress message");
            }
        }
        None => match chat.send(&platform, &room, &text).await {
            Ok(m) => {
                if let Some(live) = lock(jobs).get_mut(&id) {
                    live.message = Some(m);
                }
            }
            Err(e) => {
                tracing::warn!(job = id, error = %e, "cannot send the job's progress message")
            }
        },
    }
}

#[async_trait]
impl ProgressSink for LiveProgress {
    async fn attach(&self, job: &Job, message: MessageRef) {
        let mut jobs = lock(&self.jobs);
        let live = jobs.entry(job.id).or_insert_with(|| Live {
            platform: job.origin.platform.clone(),
            room: job.origin.room.clone(),
            ..Live::default()
        });
        if live.message.is_none() {
            live.message = Some(message);
            live.last_edit = Some(Instant::now());
        }
    }

    async fn emit(&self, job: &Job, event: ProgressEvent) -> bool {
        match event {
            ProgressEvent::Started {
                resumed_from: Some(from),
                ..
            } => {
                let text = render_resumed(job, from, self.moved_to.as_deref());
                // The message the job showed its progress in before the restart goes on; a job
                // without one (its acknowledgement was never sent) gets a reply to the command.
                if let Some(m) = &job.live_message {
                    {
                        let mut jobs = lock(&self.jobs);
                        let live = jobs.entry(job.id).or_default();
                        live.platform = job.origin.platform.clone();
                        live.room = job.origin.room.clone();
                        live.message = Some(m.clone());
                    }
                    self.update(job, text, Duration::ZERO).await;
                    return true;
                }
                match self
                    .chat
                    .reply(
                        &job.origin.platform,
                        &job.origin.room,
                        &job.origin.event_id,
                        &text,
                    )
                    .await
                {
                    Ok(m) => {
                        let mut jobs = lock(&self.jobs);
                        let live = jobs.entry(job.id).or_default();
                        live.platform = job.origin.platform.clone();
                        live.room = job.origin.room.clone();
                        live.message = Some(m);
                        live.last_edit = Some(Instant::now());
                        true
                    }
                    Err(e) => {
                        tracing::warn!(job = job.id, error = %e, "cannot announce the resumed job");
                        false
                    }
                }
            }
            ProgressEvent::Log { .. } => true,
            ProgressEvent::Notice { text } => {
                let sent = self
                    .chat
                    .send(
                        &job.origin.platform,
                        &job.origin.room,
                        &format!("job #{}: {text}", job.id),
                    )
                    .await;
                if let Err(e) = &sent {
                    tracing::warn!(job = job.id, error = %e, "cannot send a job notice");
                }
                sent.is_ok()
            }
            ProgressEvent::Paused => {
                // Sent at once: the process is about to exit, a delayed edit would be lost.
                let sent = self
                    .chat
                    .send(&job.origin.platform, &job.origin.room, &render_paused(job))
                    .await;
                if let Err(e) = &sent {
                    tracing::warn!(job = job.id, error = %e, "cannot announce the paused job");
                }
                sent.is_ok()
            }
            ProgressEvent::Finished { elapsed_ms, .. } => {
                // The live message's last edit goes out before the outcome, whatever the edit
                // interval: where edits are reprinted (the console) it would otherwise follow
                // the outcome and read as if the job were still running.
                let known = match lock(&self.jobs).get_mut(&job.id) {
                    Some(live) => {
                        live.pending = Some(render_live(job));
                        live.buttons = Vec::new();
                        true
                    }
                    None => false,
                };
                if known {
                    flush(&*self.chat, &self.jobs, job.id).await;
                } else {
                    self.update(job, render_live(job), ATTACH_GRACE).await;
                }
                // A reply to the command that notifies the person who typed it.
                let sent = self
                    .chat
                    .reply_notifying(
                        &job.origin.platform,
                        &job.origin.room,
                        &job.origin.event_id,
                        &job.requested_by.user,
                        &render_finished(job, elapsed_ms),
                    )
                    .await;
                if let Err(e) = &sent {
                    tracing::warn!(job = job.id, error = %e, "cannot send the job's outcome");
                }
                forget_when_flushed(self.jobs.clone(), job.id, self.interval);
                sent.is_ok()
            }
            // Edits are paced and coalesced; a failed one is logged and the next one shows all.
            _ => {
                self.update(job, render_live(job), ATTACH_GRACE).await;
                true
            }
        }
    }
}

/// Drops a finished job's entry once its last edit has gone out.
fn forget_when_flushed(jobs: Arc<Mutex<HashMap<JobId, Live>>>, id: JobId, interval: Duration) {
    tokio::spawn(async move {
        // At most one interval plus the grace passes before the final edit is flushed.
        tokio::time::sleep(interval + ATTACH_GRACE * 2).await;
        lock(&jobs).remove(&id);
    });
}

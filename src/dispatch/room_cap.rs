//! The cap on a room's unfinished jobs (`[intake] room_jobs`): one more job-creating command
//! is refused, naming the limit and what to do. A room's messages are handled one at a time
//! (see `intake`), so the count cannot change between this check and the enqueue.

use super::Dispatcher;
use crate::chat::Incoming;

impl Dispatcher {
    /// Why the room of `msg` may not queue another job, if it may not.
    pub(super) fn room_full(&self, msg: &Incoming) -> Option<String> {
        let cap = usize::try_from(self.config.intake.room_jobs).unwrap_or(usize::MAX);
        let active = match self.store.active() {
            Ok(jobs) => jobs,
            Err(e) => {
                // The enqueue that follows meets the same store and says so.
                tracing::error!(error = %e, "cannot count the room's jobs");
                return None;
            }
        };
        let mine = active
            .iter()
            .filter(|j| j.origin.platform == msg.platform && j.origin.room == msg.room)
            .count();
        (mine >= cap).then(|| {
            format!(
                "room limit: {cap} jobs queued or running in this room; not queued. Wait for one \
                 to finish or /cancel one (/jobs lists them)"
            )
        })
    }
}

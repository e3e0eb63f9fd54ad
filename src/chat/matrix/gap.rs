//! Reading what a sync left out. After the bot was away, a busy room's timeline in the next
//! sync is "limited": it holds only the newest events. The rest, back to the bot's previous
//! sync position, is read with `/messages`, backwards from the timeline's `prev_batch` to that
//! position, so no command sent while the bot was down is lost however much chatter followed.

use matrix_sdk::Room;
use matrix_sdk::deserialized_responses::TimelineEvent;
use matrix_sdk::room::MessagesOptions;

/// Events per `/messages` page (the most Synapse returns in one).
const PAGE: u32 = 100;
/// At most this many pages per room and gap: the loop is bounded, and a gap longer than
/// 5,000 events is reported rather than read for ever.
const MAX_PAGES: usize = 50;

/// The events of a gap, oldest first.
pub(super) struct Gap {
    pub events: Vec<TimelineEvent>,
    /// `false`: the page bound was reached and older events of the gap were not read.
    pub complete: bool,
}

/// The events of `room` between the sync position `to` (the bot's previous one) and `from`
/// (the limited timeline's `prev_batch`). Each request has the client's request timeout.
pub(super) async fn read(room: &Room, from: &str, to: &str) -> Result<Gap, matrix_sdk::Error> {
    let mut newest_first = Vec::new();
    let mut from = from.to_owned();
    for _ in 0..MAX_PAGES {
        let mut options = MessagesOptions::backward().from(from.as_str());
        options.to = Some(to.to_owned());
        options.limit = PAGE.into();
        let page = room.messages(options).await?;
        let empty = page.chunk.is_empty();
        newest_first.extend(page.chunk);
        match page.end {
            Some(end) if !empty && end != from => from = end,
            _ => return Ok(oldest_first(newest_first, true)),
        }
    }
    Ok(oldest_first(newest_first, false))
}

fn oldest_first(mut events: Vec<TimelineEvent>, complete: bool) -> Gap {
    events.reverse();
    Gap { events, complete }
}

//! Updates delivered to intake and not yet handled, in update order: the poller confirms
//! (moves its offset past) only the handled prefix, so a restart never loses an update that was
//! taken but not answered.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::oneshot::{self, error::TryRecvError};
use tokio::time::Instant;

/// How long one handled signal is awaited before the offset moves past it anyway (intake
/// handles a message in milliseconds unless its answer waits out flood control; the dispatcher's
/// dedupe still guards a later redelivery).
pub const HANDLED_WAIT: Duration = Duration::from_secs(120);

/// What [`Pending::advance`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Advance {
    /// The offset may move to this update id.
    To(i32),
    /// The first pending update is not handled yet.
    Nothing,
    /// A message was dropped unhandled: the bot is stopping.
    Stopping,
}

/// Delivered updates by id: the handled signal (`None` for an update that carried nothing for
/// intake) and when it was delivered.
#[derive(Default)]
pub struct Pending {
    updates: BTreeMap<i32, (Option<oneshot::Receiver<()>>, Instant)>,
    highest: Option<i32>,
}

impl Pending {
    /// Records update `id`, delivered now.
    pub fn push(&mut self, id: i32, handled: Option<oneshot::Receiver<()>>) {
        self.updates.insert(id, (handled, Instant::now()));
        self.highest = self.highest.max(Some(id));
    }

    /// Whether update `id` was delivered already (handled or not).
    pub fn seen(&self, id: i32) -> bool {
        self.highest.is_some_and(|h| id <= h)
    }

    /// Updates not yet confirmed.
    pub fn len(&self) -> usize {
        self.updates.len()
    }

    /// Waits at most `wait` for the oldest update to be handled; returns at once if none waits.
    pub async fn wait_first(&mut self, wait: Duration) {
        let Some((signal, _)) = self.updates.values_mut().next() else {
            return;
        };
        let Some(rx) = signal.as_mut() else {
            return;
        };
        match tokio::time::timeout(wait, rx).await {
            // A received signal cannot be read again: remember it as an update with none.
            Ok(Ok(())) => *signal = None,
            // Dropped unhandled: `advance` reads it as the bot stopping.
            Ok(Err(_)) => *signal = Some(closed()),
            Err(_) => {}
        }
    }

    /// Whether some update is waiting to be handled.
    pub fn is_waiting(&self) -> bool {
        !self.updates.is_empty()
    }

    /// Drops the handled prefix; returns the offset past it.
    pub fn advance(&mut self) -> Advance {
        let mut next = None;
        while let Some(mut entry) = self.updates.first_entry() {
            let id = *entry.key();
            let (rx, at) = entry.get_mut();
            let done = match rx.as_mut().map(|r| r.try_recv()) {
                None | Some(Ok(())) => true,
                Some(Err(TryRecvError::Closed)) => return Advance::Stopping,
                Some(Err(TryRecvError::Empty)) if at.elapsed() >= HANDLED_WAIT => {
                    tracing::warn!(
                        update = id,
                        "a Telegram update was not handled in time; moving on"
                    );
                    true
                }
                Some(Err(TryRecvError::Empty)) => false,
            };
            if !done {
                break;
            }
            entry.remove();
            next = Some(id.saturating_add(1));
        }
        next.map_or(Advance::Nothing, Advance::To)
    }
}

/// A signal that will never come.
fn closed() -> oneshot::Receiver<()> {
    oneshot::channel().1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_moves_only_past_the_handled_prefix() {
        let mut p = Pending::default();
        let (tx1, rx1) = oneshot::channel();
        let (tx2, rx2) = oneshot::channel();
        p.push(5, Some(rx1));
        p.push(6, None);
        p.push(7, Some(rx2));
        assert_eq!(p.advance(), Advance::Nothing);
        tx2.send(()).unwrap();
        assert_eq!(p.advance(), Advance::Nothing, "7 is handled, 5 is not");
        tx1.send(()).unwrap();
        assert_eq!(p.advance(), Advance::To(8));
        assert!(p.seen(7) && !p.seen(8));
        assert_eq!(p.len(), 0);
        let (tx, rx) = oneshot::channel::<()>();
        p.push(8, Some(rx));
        drop(tx);
        assert_eq!(p.advance(), Advance::Stopping);
    }

    #[tokio::test]
    async fn a_signal_awaited_counts_as_handled() {
        let mut p = Pending::default();
        let (tx, rx) = oneshot::channel();
        p.push(1, Some(rx));
        p.wait_first(Duration::from_millis(1)).await;
        assert_eq!(p.advance(), Advance::Nothing);
        tx.send(()).unwrap();
        p.wait_first(Duration::from_secs(5)).await;
        assert_eq!(p.advance(), Advance::To(2));
    }
}

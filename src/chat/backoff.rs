//! The wait between two failed attempts of an adapter's receive loop (a Matrix sync, a Telegram
//! `getUpdates`): capped exponential delays from backon, started afresh after a success, and a
//! sleep that gives way to shutdown.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use tokio_util::sync::CancellationToken;

/// Delays `first`, `2 × first`, … up to `max`, for as long as the failures last.
pub(crate) struct Backoff {
    policy: ExponentialBuilder,
    delays: ExponentialBackoff,
    max: Duration,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Backoff {
        let policy = ExponentialBuilder::new()
            .with_min_delay(first)
            .with_max_delay(max)
            .without_max_times();
        Backoff {
            policy,
            delays: policy.build(),
            max,
        }
    }

    /// After a success: the next failure waits `first` again.
    pub fn reset(&mut self) {
        self.delays = self.policy.build();
    }

    /// How long to wait after this failure.
    pub fn next_delay(&mut self) -> Duration {
        // Without a limit on attempts or total delay the sequence never ends; `max` is what it
        // would give from here on anyway.
        self.delays.next().unwrap_or(self.max)
    }
}

/// Sleeps `delay`. `false`: `shutdown` came first.
pub(crate) async fn pause(delay: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => false,
        _ = tokio::time::sleep(delay) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_starts_again_after_a_reset() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(500), ms(3000));
        let first: Vec<Duration> = (0..5).map(|_| b.next_delay()).collect();
        assert_eq!(first, [ms(500), ms(1000), ms(2000), ms(3000), ms(3000)]);
        b.reset();
        assert_eq!(b.next_delay(), ms(500));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_gives_way_to_shutdown() {
        let shutdown = CancellationToken::new();
        assert!(pause(Duration::from_secs(1), &shutdown).await);
        shutdown.cancel();
        assert!(!pause(Duration::from_secs(3600), &shutdown).await);
    }
}

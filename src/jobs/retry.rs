//! Bounded exponential backoff for the worker's store calls: a store that fails for a moment
//! (a full disk being cleared, a slow fsync) must not end the worker, and one that keeps failing
//! must end it in bounded time with its last error, never loop forever.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::StoreError;

/// How the worker retries a failing store call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Wait after the first failure; each further wait doubles.
    pub first: Duration,
    /// Longest single wait.
    pub cap: Duration,
    /// Calls in all, the first included; at least 1.
    pub attempts: u32,
}

/// The worker's store retries: 0.2 s doubling to 30 s, 9 calls, about 50 s of waiting in all
/// before the worker gives up.
pub const STORE_BACKOFF: Backoff = Backoff {
    first: Duration::from_millis(200),
    cap: Duration::from_secs(30),
    attempts: 9,
};

impl Backoff {
    /// The wait after failed call number `n` (1-based).
    pub fn delay(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.saturating_sub(1));
        self.first.saturating_mul(factor).min(self.cap)
    }

    /// Calls `op` until it succeeds, the attempts run out (its last error) or `stop` is
    /// cancelled while waiting (the error that caused the wait). Every failure is logged.
    pub async fn retry<T>(
        &self,
        what: &str,
        stop: &CancellationToken,
        mut op: impl FnMut() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let attempts = self.attempts.max(1);
        let mut n = 1;
        loop {
            let err = match op() {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if n >= attempts {
                tracing::error!(error = %err, attempts, "job store still failing: {what}; giving up");
                return Err(err);
            }
            let wait = self.delay(n);
            tracing::warn!(
                error = %err,
                attempt = n,
                retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "job store failed: {what}; retrying"
            );
            tokio::select! {
                _ = stop.cancelled() => return Err(err),
                _ = tokio::time::sleep(wait) => {}
            }
            n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let b = Backoff {
            first: Duration::from_millis(100),
            cap: Duration::from_millis(500),
            attempts: 10,
        };
        let d: Vec<u128> = (1..=5).map(|n| b.delay(n).as_millis()).collect();
        assert_eq!(d, vec![100, 200, 400, 500, 500]);
        assert_eq!(b.delay(u32::MAX), Duration::from_millis(500));
    }
}

//! Token buckets, one per key (a user, a room), in a map of bounded size: a key may take
//! `burst` at once, then `per_minute` a minute. Over the limit, the caller is told how long until
//! the next token, and whether this is the first refusal of the minute (the only one answered).

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Most keys kept. Only known users and allowed rooms get a bucket, so a lab stays far below;
/// past it, buckets that have refilled (the same as new ones) are forgotten.
const MAX_KEYS: usize = 10_000;
/// At most one "slow down" answer per key in this window.
pub const WARN_WINDOW: Duration = Duration::from_secs(60);

/// A rate: a burst, then a sustained rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Tokens a full bucket holds.
    pub burst: u32,
    /// Tokens added per minute.
    pub per_minute: u32,
}

/// The outcome of [`Buckets::take`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Take {
    /// Within the limit.
    Ok,
    /// Over the limit: the next token comes in `retry`; `warn` for the first refusal of the
    /// window.
    Limited {
        /// Time until a token is there again.
        retry: Duration,
        /// Answer this one (the first refusal within [`WARN_WINDOW`]).
        warn: bool,
    },
}

struct Bucket {
    tokens: f64,
    at: Instant,
    warned: Option<Instant>,
}

/// Buckets by key.
pub struct Buckets<K> {
    rate: Rate,
    map: HashMap<K, Bucket>,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    /// Empty buckets at `rate`.
    pub fn new(rate: Rate) -> Self {
        Buckets {
            rate,
            map: HashMap::new(),
        }
    }

    /// The rate.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    fn per_sec(&self) -> f64 {
        f64::from(self.rate.per_minute) / 60.0
    }

    /// Takes a token for `key` at `now`.
    pub fn take(&mut self, key: &K, now: Instant) -> Take {
        if !self.map.contains_key(key) && self.map.len() >= MAX_KEYS {
            self.forget_full(now);
        }
        let (burst, per_sec) = (f64::from(self.rate.burst), self.per_sec());
        let bucket = self.map.entry(key.clone()).or_insert(Bucket {
            tokens: burst,
            at: now,
            warned: None,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_sec).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Take::Ok;
        }
        let retry = Duration::from_secs_f64((1.0 - bucket.tokens) / per_sec);
        let warn = bucket
            .warned
            .is_none_or(|w| now.saturating_duration_since(w) >= WARN_WINDOW);
        if warn {
            bucket.warned = Some(now);
        }
        Take::Limited { retry, warn }
    }

    /// Drops the buckets that are full again at `now` (a new bucket would be the same).
    fn forget_full(&mut self, now: Instant) {
        let (burst, per_sec) = (f64::from(self.rate.burst), self.per_sec());
        self.map.retain(|_, b| {
            let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
            b.tokens + elapsed * per_sec < burst
                || b.warned
                    .is_some_and(|w| now.saturating_duration_since(w) < WARN_WINDOW)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate_and_one_warning_per_window() {
        let mut b = Buckets::new(Rate {
            burst: 2,
            per_minute: 60,
        });
        let t0 = Instant::now();
        assert_eq!(b.take(&"u", t0), Take::Ok);
        assert_eq!(b.take(&"u", t0), Take::Ok);
        let Take::Limited { retry, warn } = b.take(&"u", t0) else {
            panic!("the third at once is over the burst");
        };
        assert!(warn && retry <= Duration::from_secs(1), "{retry:?}");
        assert!(matches!(
            b.take(&"u", t0),
            Take::Limited { warn: false, .. }
        ));
        // Another key is not affected.
        assert_eq!(b.take(&"v", t0), Take::Ok);
        // One token a second comes back.
        assert_eq!(b.take(&"u", t0 + Duration::from_secs(1)), Take::Ok);
        assert!(matches!(
            b.take(&"u", t0 + Duration::from_secs(1)),
            Take::Limited { warn: false, .. }
        ));
        // A new window warns again.
        assert!(matches!(
            b.take(&"u", t0 + WARN_WINDOW + Duration::from_millis(1)),
            Take::Ok
        ));
    }

    #[test]
    fn full_buckets_are_forgotten_when_the_map_is_full() {
        let mut b = Buckets::new(Rate {
            burst: 1,
            per_minute: 60,
        });
        let t0 = Instant::now();
        for k in 0..MAX_KEYS {
            b.take(&k, t0);
        }
        assert_eq!(b.map.len(), MAX_KEYS);
        b.take(&MAX_KEYS, t0 + Duration::from_secs(2));
        assert_eq!(b.map.len(), 1, "refilled buckets went, the new one stays");
    }
}

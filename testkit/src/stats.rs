//! Sample statistics shared by the benchmarks: median, mean and percentiles of durations (or of
//! any ordered numbers), and their text form.
//!
//! One percentile definition for every bench: the sample at index `round(q × (n − 1))` of the
//! sorted samples (`q` in 0..=1), so p0 is the minimum and p100 the maximum; an empty slice
//! gives the type's default (zero).

use std::time::Duration;

/// The `q` quantile (0..=1) of `samples`: the sorted sample at `round(q × (n − 1))`.
pub fn percentile<T: Copy + Default + PartialOrd>(samples: &[T], q: f64) -> T {
    let mut v = samples.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let i = (q.clamp(0.0, 1.0) * (v.len() as f64 - 1.0)).round() as usize;
    v.get(i).copied().unwrap_or_default()
}

/// The median: the middle sample, or the mean of the two middle ones for an even count.
pub fn median(samples: &[Duration]) -> Duration {
    let mut v = samples.to_vec();
    v.sort();
    match v.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2,
    }
}

/// The arithmetic mean (zero for no samples).
pub fn mean(samples: &[Duration]) -> Duration {
    samples.iter().sum::<Duration>() / samples.len().max(1) as u32
}

/// The largest sample (zero for no samples).
pub fn max<T: Copy + Default + PartialOrd>(samples: &[T]) -> T {
    percentile(samples, 1.0)
}

/// `12.34 ms`.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// `12.34 ms` below a second, `1.234 s` from a second on.
pub fn ms_or_s(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 1000.0 {
        format!("{:.3} s", ms / 1000.0)
    } else {
        format!("{ms:.2} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms_list(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn median_mean_percentiles() {
        let odd = ms_list(&[5, 1, 3]);
        assert_eq!(median(&odd), Duration::from_millis(3));
        let even = ms_list(&[4, 1, 3, 2]);
        assert_eq!(median(&even), Duration::from_micros(2500));
        assert_eq!(mean(&even), Duration::from_micros(2500));
        let hundred: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&hundred, 0.0), Duration::from_millis(1));
        assert_eq!(percentile(&hundred, 0.5), Duration::from_millis(51));
        assert_eq!(percentile(&hundred, 0.99), Duration::from_millis(99));
        assert_eq!(max(&hundred), Duration::from_millis(100));
        assert_eq!(percentile(&[2.5_f64, 0.5, 1.5], 0.5), 1.5);
        assert_eq!(median(&[]), Duration::ZERO);
        assert_eq!(mean(&[]), Duration::ZERO);
        assert_eq!(percentile::<f64>(&[], 0.99), 0.0);
        assert_eq!(ms(Duration::from_micros(1500)), "1.50 ms");
        assert_eq!(ms_or_s(Duration::from_millis(2500)), "2.500 s");
    }
}

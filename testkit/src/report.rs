//! Latency tables shared by the benchmarks (histograms recorded in microseconds).

use hdrhistogram::Histogram;

/// The `q` quantile in milliseconds.
pub fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

/// A Markdown table of latency histograms.
pub fn table(rows: &[(&str, &Histogram<u64>)]) {
    println!("| measured | n | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|");
    for (name, h) in rows {
        println!(
            "| {name} | {} | {:.2} | {:.2} | {:.2} |",
            h.len(),
            ms(h, 0.5),
            ms(h, 0.99),
            h.max() as f64 / 1000.0
        );
    }
}

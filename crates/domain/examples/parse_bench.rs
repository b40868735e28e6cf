//! Cost of `NewUser::parse` on the seed example of `seed/create-user-endpoint.txt`
//! (with a valid SSN instead of the placeholder).
//!
//! Run: `cargo run --release -p onboard-domain --example parse_bench`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::hint::black_box;
use std::time::Instant;

use chrono::NaiveDate;
use onboard_domain::fixtures::SeedUser;
use onboard_domain::{NewUser, ParseContext};

const ITERATIONS: usize = 200_000;
const BATCH: usize = 100;
const WARMUP: usize = 20_000;
const TARGET_NS: f64 = 20_000.0;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[idx]
}

fn main() {
    let raw = SeedUser::example().raw();
    let ctx = ParseContext::new(NaiveDate::from_ymd_opt(2026, 4, 16).unwrap());
    NewUser::parse(&raw, ctx).expect("the seed with a valid SSN must parse");

    // Warm-up: lazy tables (phone metadata), caches, branch predictors.
    for _ in 0..WARMUP {
        black_box(NewUser::parse(black_box(&raw), black_box(ctx)).is_ok());
    }

    let batches = ITERATIONS / BATCH;
    let mut per_parse_ns = Vec::with_capacity(batches);
    let total = Instant::now();
    for _ in 0..batches {
        let start = Instant::now();
        for _ in 0..BATCH {
            black_box(NewUser::parse(black_box(&raw), black_box(ctx)).is_ok());
        }
        per_parse_ns.push(start.elapsed().as_nanos() as f64 / BATCH as f64);
    }
    let total = total.elapsed();
    per_parse_ns.sort_by(f64::total_cmp);

    let mean = total.as_nanos() as f64 / (batches * BATCH) as f64;
    let p50 = percentile(&per_parse_ns, 0.50);
    let p90 = percentile(&per_parse_ns, 0.90);
    let p99 = percentile(&per_parse_ns, 0.99);
    let max = per_parse_ns.last().copied().unwrap_or(f64::NAN);

    println!("NewUser::parse (seed example, valid SSN)");
    println!(
        "  iterations: {} ({} batches of {BATCH}), warm-up {WARMUP}",
        batches * BATCH,
        batches
    );
    println!("  total:      {:.3} s", total.as_secs_f64());
    println!(
        "  mean:       {mean:.0} ns ({:.2} µs) per parse",
        mean / 1000.0
    );
    println!("  per-parse time over batches of {BATCH}:");
    println!("    p50  {:>8.0} ns ({:.2} µs)", p50, p50 / 1000.0);
    println!("    p90  {:>8.0} ns ({:.2} µs)", p90, p90 / 1000.0);
    println!("    p99  {:>8.0} ns ({:.2} µs)", p99, p99 / 1000.0);
    println!("    max  {:>8.0} ns ({:.2} µs)", max, max / 1000.0);
    println!("  target: < {:.0} µs (mean and p99)", TARGET_NS / 1000.0);
    let met = mean < TARGET_NS && p99 < TARGET_NS;
    println!("  {}", if met { "met" } else { "not met" });
}

//! Latency percentiles and throughput of one measured load.

use std::collections::BTreeMap;
use std::time::Duration;

/// The figures of one load.
#[derive(Clone, Debug, Default)]
pub(crate) struct Summary {
    pub(crate) requests: u64,
    pub(crate) per_second: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p95_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
    pub(crate) statuses: BTreeMap<u16, u64>,
    pub(crate) io_errors: u64,
    pub(crate) first_error: Option<String>,
    /// CPU time of the process under test per request, microseconds.
    pub(crate) server_cpu_us: Option<f64>,
    /// Share of the machine's CPU time that was busy during the measurement (0..=1).
    pub(crate) machine_busy: Option<f64>,
}

/// CPU readings at the start of a measurement, to compare with its end.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CpuMark {
    process: Option<f64>,
    machine: Option<(u64, u64)>,
}

impl CpuMark {
    /// Now, for process `pid` (if any) and the machine.
    pub(crate) fn now(pid: Option<u32>) -> Self {
        Self {
            process: pid.and_then(crate::server::cpu_seconds),
            machine: crate::server::machine_jiffies(),
        }
    }

    /// Fills `summary`'s CPU figures from this mark to `end`.
    pub(crate) fn apply(self, end: Self, summary: &mut Summary) {
        if let (Some(a), Some(b)) = (self.process, end.process)
            && summary.requests > 0
        {
            summary.server_cpu_us = Some((b - a) * 1e6 / summary.requests as f64);
        }
        if let (Some((busy_a, total_a)), Some((busy_b, total_b))) = (self.machine, end.machine)
            && total_b > total_a
        {
            summary.machine_busy = Some((busy_b - busy_a) as f64 / (total_b - total_a) as f64);
        }
    }
}

/// The `q` quantile (0..=1) of sorted microseconds, in milliseconds (nearest rank).
pub(crate) fn quantile_ms(sorted_us: &[u32], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted_us.len() as f64).ceil() as usize;
    let i = rank.clamp(1, sorted_us.len()) - 1;
    f64::from(sorted_us[i]) / 1000.0
}

impl Summary {
    pub(crate) fn new(
        mut latencies_us: Vec<u32>,
        elapsed: Duration,
        statuses: BTreeMap<u16, u64>,
        io_errors: u64,
        first_error: Option<String>,
    ) -> Self {
        latencies_us.sort_unstable();
        let requests = latencies_us.len() as u64;
        let seconds = elapsed.as_secs_f64().max(1e-9);
        Self {
            requests,
            per_second: requests as f64 / seconds,
            p50_ms: quantile_ms(&latencies_us, 0.50),
            p95_ms: quantile_ms(&latencies_us, 0.95),
            p99_ms: quantile_ms(&latencies_us, 0.99),
            max_ms: latencies_us.last().map_or(0.0, |m| f64::from(*m) / 1000.0),
            statuses,
            io_errors,
            first_error,
            server_cpu_us: None,
            machine_busy: None,
        }
    }

    /// `200×n 409×m io×k`.
    pub(crate) fn status_text(&self) -> String {
        let mut parts: Vec<String> = self
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}×{n}"))
            .collect();
        if self.io_errors > 0 {
            parts.push(format!("io×{}", self.io_errors));
        }
        if parts.is_empty() {
            "-".to_owned()
        } else {
            parts.join(" ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let v: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        assert!((quantile_ms(&v, 0.5) - 50.0).abs() < 1e-9);
        assert!((quantile_ms(&v, 0.99) - 99.0).abs() < 1e-9);
        assert!((quantile_ms(&v, 1.0) - 100.0).abs() < 1e-9);
        assert!(quantile_ms(&[], 0.5).abs() < 1e-9);
    }
}

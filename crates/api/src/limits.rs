//! Rate limits: a token bucket per program for authenticated calls, and one per client
//! address for authentication failures (checked before any credential work, so failed
//! guessing cannot make the service compute argon2 hashes at will).
//!
//! Buckets live in this process: with N instances behind a load balancer a program gets up
//! to N times the configured rate (documented in the README).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use domain::ProgramId;

/// A limit: `burst` requests at once, refilled at `per_second`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Bucket size.
    pub burst: f64,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets keyed by `K`, bounded in number.
#[derive(Debug)]
pub struct Buckets<K> {
    rate: Rate,
    buckets: Mutex<HashMap<K, Bucket>>,
}

/// Most buckets kept; beyond it, full (idle) buckets are forgotten.
const MAX_BUCKETS: usize = 100_000;

impl<K: Hash + Eq + Clone> Buckets<K> {
    /// Buckets with `rate`.
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn refill(&self, b: &mut Bucket, now: Instant) {
        let elapsed = now.saturating_duration_since(b.updated).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.rate.per_second).min(self.rate.burst);
        b.updated = now;
    }

    /// Whether `key` has a token left, without taking it. `Err(seconds)` until it will.
    pub fn check(&self, key: &K, now: Instant) -> Result<(), u64> {
        let Ok(mut map) = self.buckets.lock() else {
            return Ok(());
        };
        let Some(b) = map.get_mut(key) else {
            return Ok(());
        };
        self.refill(b, now);
        if b.tokens >= 1.0 {
            Ok(())
        } else {
            Err(self.wait(b.tokens))
        }
    }

    /// Takes a token for `key`; `Err(seconds)` to wait when there is none.
    pub fn take(&self, key: &K, now: Instant) -> Result<(), u64> {
        let Ok(mut map) = self.buckets.lock() else {
            return Ok(());
        };
        if map.len() >= MAX_BUCKETS {
            let burst = self.rate.burst;
            let per_second = self.rate.per_second;
            map.retain(|_, b| {
                let t =
                    b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() * per_second;
                t < burst
            });
        }
        let b = map.entry(key.clone()).or_insert(Bucket {
            tokens: self.rate.burst,
            updated: now,
        });
        self.refill(b, now);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(self.wait(b.tokens))
        }
    }

    fn wait(&self, tokens: f64) -> u64 {
        let seconds = ((1.0 - tokens) / self.rate.per_second.max(f64::MIN_POSITIVE)).ceil();
        Duration::from_secs_f64(seconds.clamp(1.0, 86_400.0)).as_secs()
    }
}

/// The service's limits.
#[derive(Debug)]
pub struct Limits {
    /// Authenticated requests per program.
    pub programs: Buckets<ProgramId>,
    /// Authentication failures per client address.
    pub auth_failures: Buckets<IpAddr>,
}

impl Limits {
    /// Limits with these rates.
    pub fn new(per_program: Rate, auth_failures: Rate) -> Self {
        Self {
            programs: Buckets::new(per_program),
            auth_failures: Buckets::new(auth_failures),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_limited_and_refills() {
        let b = Buckets::new(Rate {
            per_second: 2.0,
            burst: 3.0,
        });
        let t0 = Instant::now();
        assert!((0..3).all(|_| b.take(&1, t0).is_ok()));
        assert_eq!(b.take(&1, t0), Err(1));
        assert_eq!(b.check(&1, t0), Err(1));
        assert!(b.take(&2, t0).is_ok(), "keys are independent");
        assert!(b.take(&1, t0 + Duration::from_millis(600)).is_ok());
        assert!(b.take(&1, t0 + Duration::from_millis(600)).is_err());
    }
}

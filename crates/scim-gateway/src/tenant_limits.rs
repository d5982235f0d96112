//! Per-tenant admission: a request rate (token bucket) and a number of requests in flight,
//! per gateway replica. One tenant's IdP (or anyone holding one of its tokens) can then use
//! at most its share of this replica, and the answer to going over is 429 with `Retry-After`,
//! which Entra ID and Okta honour by backing off, instead of everyone's latency.
//!
//! State is a small map keyed by tenant id; idle entries are dropped as the map is swept, so
//! its size follows the number of recently active tenants, not the number ever seen.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The configured limits; `rate_per_second == 0` or `max_concurrent == 0` disables that one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TenantLimitSettings {
    pub rate_per_second: u32,
    pub burst: u32,
    pub max_concurrent: u32,
}

/// Why a request was not admitted, with what to tell the client.
#[derive(Debug, Clone, PartialEq)]
pub enum Throttled {
    Rate {
        limit: u32,
        retry_after: Duration,
    },
    Concurrency {
        limit: u32,
    },
    /// Too many tokens this replica did not know had to be asked of the directory.
    AuthLookups {
        limit: u32,
        retry_after: Duration,
    },
}

impl Throttled {
    /// Seconds for `Retry-After`: at least 1, the header's resolution.
    pub fn retry_after_seconds(&self) -> u64 {
        match self {
            Self::Rate { retry_after, .. } | Self::AuthLookups { retry_after, .. } => {
                retry_after.as_secs_f64().ceil().max(1.0) as u64
            }
            Self::Concurrency { .. } => 1,
        }
    }

    pub fn detail(&self) -> String {
        match self {
            Self::Rate { limit, .. } => format!(
                "this tenant exceeded its request rate of {limit} requests per second \
                 (GATEWAY_TENANT_RATE_PER_SECOND); retry after the time in Retry-After"
            ),
            Self::Concurrency { limit } => format!(
                "this tenant already has {limit} requests in progress \
                 (GATEWAY_TENANT_MAX_CONCURRENT); retry after the time in Retry-After"
            ),
            Self::AuthLookups { limit, .. } => format!(
                "this gateway is checking more than {limit} unfamiliar access tokens per \
                 second (GATEWAY_AUTH_LOOKUPS_PER_SECOND); retry after the time in Retry-After"
            ),
        }
    }
}

/// A request that was not admitted. Only the first refusal of a tenant in each
/// [`REPORT_INTERVAL`] is to be recorded in the provisioning log: a throttled IdP retries
/// many times a second, and recording each retry would turn the limit into a way to fill the
/// event store (the metric counts them all).
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub reason: Throttled,
    pub record: bool,
}

/// How often a throttled tenant's refusals reach the provisioning log.
pub const REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// Held for the duration of an admitted request.
#[derive(Debug)]
pub struct Admission {
    _permit: Option<OwnedSemaphorePermit>,
}

/// Tokens that refill at a rate up to a capacity: the rate limits of this module.
#[derive(Debug, Clone, Copy)]
struct TokenBucket {
    tokens: f64,
    refilled: Instant,
}

impl TokenBucket {
    fn full(capacity: f64, now: Instant) -> Self {
        Self {
            tokens: capacity,
            refilled: now,
        }
    }

    /// Refills for the time since the last call; `Err` with the wait until one token is there
    /// when none is. Takes nothing: [`Self::take`] does, once the caller admits.
    fn refill(&mut self, rate: f64, capacity: f64, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(capacity);
        self.refilled = now;
        if self.tokens < 1.0 {
            return Err(Duration::from_secs_f64((1.0 - self.tokens) / rate));
        }
        Ok(())
    }

    fn take(&mut self) {
        self.tokens -= 1.0;
    }
}

struct TenantState {
    bucket: TokenBucket,
    in_flight: Arc<Semaphore>,
    last_reported: Option<Instant>,
}

pub struct TenantLimiter {
    settings: TenantLimitSettings,
    tenants: Mutex<HashMap<String, TenantState>>,
    last_sweep: Mutex<Instant>,
}

/// The rate check, then the concurrency check, on one tenant's state (under the map's lock, so
/// a sweep can never drop a state between the two).
fn admit_one(
    state: &mut TenantState,
    settings: &TenantLimitSettings,
    capacity: f64,
    now: Instant,
) -> Result<Admission, Throttled> {
    if settings.rate_per_second > 0 {
        let rate = f64::from(settings.rate_per_second);
        state
            .bucket
            .refill(rate, capacity, now)
            .map_err(|retry_after| Throttled::Rate {
                limit: settings.rate_per_second,
                retry_after,
            })?;
    }
    let permit =
        if settings.max_concurrent == 0 {
            None
        } else {
            Some(state.in_flight.clone().try_acquire_owned().map_err(|_| {
                Throttled::Concurrency {
                    limit: settings.max_concurrent,
                }
            })?)
        };
    if settings.rate_per_second > 0 {
        state.bucket.take();
    }
    Ok(Admission { _permit: permit })
}

/// Bounds how often this replica asks the directory about a token it has neither accepted
/// nor refused recently. Cached tokens never pass here, so a flood of made-up tokens (each one
/// a directory query) costs the directory at most this rate per replica, while IdPs whose
/// tokens are known carry on; a valid token met for the first time during such a flood is
/// answered 429 and accepted on a retry. `0` disables it.
pub struct AuthLookupLimiter {
    per_second: u32,
    bucket: Mutex<TokenBucket>,
}

impl AuthLookupLimiter {
    pub fn new(per_second: u32) -> Self {
        Self {
            per_second,
            bucket: Mutex::new(TokenBucket::full(
                Self::capacity_of(per_second),
                Instant::now(),
            )),
        }
    }

    /// A burst of twice the rate: a replica that just started meets every tenant's token.
    fn capacity_of(per_second: u32) -> f64 {
        f64::from(per_second.max(1)) * 2.0
    }

    /// One directory lookup, or why not now. Never waits.
    pub fn admit(&self) -> Result<(), Throttled> {
        self.admit_at(Instant::now())
    }

    fn admit_at(&self, now: Instant) -> Result<(), Throttled> {
        if self.per_second == 0 {
            return Ok(());
        }
        let mut bucket = match self.bucket.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        bucket
            .refill(
                f64::from(self.per_second),
                Self::capacity_of(self.per_second),
                now,
            )
            .map_err(|retry_after| Throttled::AuthLookups {
                limit: self.per_second,
                retry_after,
            })?;
        bucket.take();
        Ok(())
    }
}

/// How often idle tenants are forgotten.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

impl TenantLimiter {
    pub fn new(settings: TenantLimitSettings) -> Self {
        Self {
            settings,
            tenants: Mutex::new(HashMap::new()),
            last_sweep: Mutex::new(Instant::now()),
        }
    }

    /// Admits a request of `tenant_id` or says why not. Never waits.
    pub fn admit(&self, tenant_id: &str) -> Result<Admission, Refused> {
        self.admit_at(tenant_id, Instant::now())
    }

    fn admit_at(&self, tenant_id: &str, now: Instant) -> Result<Admission, Refused> {
        let TenantLimitSettings {
            rate_per_second,
            burst,
            max_concurrent,
        } = self.settings;
        let admitted = {
            let mut tenants = match self.tenants.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            let capacity = f64::from(burst.max(rate_per_second).max(1));
            let state = tenants
                .entry(tenant_id.to_owned())
                .or_insert_with(|| TenantState {
                    bucket: TokenBucket::full(capacity, now),
                    in_flight: Arc::new(Semaphore::new(max_concurrent as usize)),
                    last_reported: None,
                });
            admit_one(state, &self.settings, capacity, now).map_err(|reason| {
                let record = state
                    .last_reported
                    .is_none_or(|at| now.saturating_duration_since(at) >= REPORT_INTERVAL);
                if record {
                    state.last_reported = Some(now);
                }
                Refused { reason, record }
            })
        };
        self.sweep(now);
        admitted
    }

    /// Forgets tenants whose bucket is full again and that have nothing in flight: their next
    /// request starts from exactly the state they would have had.
    fn sweep(&self, now: Instant) {
        {
            let mut last = match self.last_sweep.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            if now.saturating_duration_since(*last) < SWEEP_INTERVAL {
                return;
            }
            *last = now;
        }
        let settings = self.settings;
        let full_after = Duration::from_secs_f64(
            f64::from(settings.burst.max(settings.rate_per_second).max(1))
                / f64::from(settings.rate_per_second.max(1)),
        );
        let mut tenants = match self.tenants.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        tenants.retain(|_, state| {
            let idle = now.saturating_duration_since(state.bucket.refilled) >= full_after;
            let busy = state.in_flight.available_permits() < settings.max_concurrent as usize;
            !idle || busy
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn limiter(rate: u32, burst: u32, concurrent: u32) -> TenantLimiter {
        TenantLimiter::new(TenantLimitSettings {
            rate_per_second: rate,
            burst,
            max_concurrent: concurrent,
        })
    }

    #[test]
    fn the_bucket_allows_a_burst_then_the_rate() {
        let limiter = limiter(10, 20, 0);
        let start = Instant::now();
        for _ in 0..20 {
            assert!(limiter.admit_at("a", start).is_ok());
        }
        let Err(Refused {
            reason: Throttled::Rate { retry_after, .. },
            record: true,
        }) = limiter.admit_at("a", start)
        else {
            panic!("the 21st request of a burst of 20 must be throttled, and recorded");
        };
        assert!(retry_after <= Duration::from_millis(100), "{retry_after:?}");
        // Retries in the same interval are counted, not recorded.
        assert!(!limiter.admit_at("a", start).unwrap_err().record);
        // Another tenant is not affected.
        assert!(limiter.admit_at("b", start).is_ok());
        // 100 ms later one token is back.
        let later = start + Duration::from_millis(100);
        assert!(limiter.admit_at("a", later).is_ok());
        assert!(limiter.admit_at("a", later).is_err());
    }

    #[test]
    fn requests_in_flight_are_bounded_per_tenant() {
        let limiter = limiter(0, 0, 2);
        let first = limiter.admit("a").unwrap();
        let _second = limiter.admit("a").unwrap();
        assert_eq!(
            limiter.admit("a").err().map(|refused| refused.reason),
            Some(Throttled::Concurrency { limit: 2 })
        );
        assert!(limiter.admit("b").is_ok());
        drop(first);
        assert!(limiter.admit("a").is_ok());
    }

    #[test]
    fn idle_tenants_are_forgotten_busy_ones_kept() {
        let limiter = limiter(10, 10, 4);
        let start = Instant::now();
        let held = limiter.admit_at("busy", start).unwrap();
        drop(limiter.admit_at("idle", start).unwrap());
        limiter.sweep(start + SWEEP_INTERVAL);
        let tenants = limiter.tenants.lock().unwrap();
        assert!(tenants.contains_key("busy"));
        assert!(!tenants.contains_key("idle"));
        drop(tenants);
        drop(held);
    }

    #[test]
    fn retry_after_is_whole_seconds_and_at_least_one() {
        let throttled = Throttled::Rate {
            limit: 1,
            retry_after: Duration::from_millis(1500),
        };
        assert_eq!(throttled.retry_after_seconds(), 2);
        assert_eq!(Throttled::Concurrency { limit: 1 }.retry_after_seconds(), 1);
        assert!(
            throttled
                .detail()
                .contains("GATEWAY_TENANT_RATE_PER_SECOND")
        );
    }

    #[test]
    fn unfamiliar_token_lookups_are_bounded_to_the_rate_after_a_burst_of_twice_it() {
        let limiter = AuthLookupLimiter::new(5);
        let start = Instant::now();
        for _ in 0..10 {
            limiter.admit_at(start).unwrap();
        }
        let refused = limiter.admit_at(start).unwrap_err();
        assert!(
            matches!(refused, Throttled::AuthLookups { limit: 5, .. }),
            "{refused:?}"
        );
        assert!(refused.detail().contains("GATEWAY_AUTH_LOOKUPS_PER_SECOND"));
        assert_eq!(refused.retry_after_seconds(), 1);
        // A fifth of a second later one lookup is due again, and only one.
        let later = start + Duration::from_millis(200);
        limiter.admit_at(later).unwrap();
        limiter.admit_at(later).unwrap_err();

        let unlimited = AuthLookupLimiter::new(0);
        for _ in 0..10_000 {
            unlimited.admit_at(start).unwrap();
        }
    }
}

//! When `cargo xtask up` starts a crashed service again, as Kubernetes would: at once the first
//! time, then after a delay that doubles with every crash in a row (capped), and back to no
//! delay once the service has stayed up for a while. Pure bookkeeping; `up.rs` does the IO.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The restart schedule of a set of named services.
#[derive(Debug)]
pub struct Restarts {
    policy: Policy,
    services: BTreeMap<String, ServiceState>,
}

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// The delay after the second crash in a row; doubled for each further one.
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// A service that ran this long before crashing was healthy: the crash is the first in
    /// a row again.
    pub healthy_after: Duration,
}

impl Policy {
    /// Kubernetes waits 10 s doubling to 5 min; a developer's stack should come back sooner.
    pub const DEVELOPMENT: Self = Self {
        first_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(30),
        healthy_after: Duration::from_secs(60),
    };
}

#[derive(Debug)]
struct ServiceState {
    started_at: Instant,
    crashes_in_a_row: u32,
    restarts: u32,
    restart_at: Option<Instant>,
}

/// What to say about a crash.
#[derive(Debug, PartialEq, Eq)]
pub struct Scheduled {
    pub ran_for: Duration,
    pub delay: Duration,
    /// How many times the service will have been restarted, this one included.
    pub restart: u32,
}

impl Restarts {
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            services: BTreeMap::new(),
        }
    }

    /// `name` was (re)started at `now`.
    pub fn started(&mut self, name: &str, now: Instant) {
        let state = self
            .services
            .entry(name.to_owned())
            .or_insert(ServiceState {
                started_at: now,
                crashes_in_a_row: 0,
                restarts: 0,
                restart_at: None,
            });
        state.started_at = now;
        state.restart_at = None;
    }

    /// `name` exited at `now`: when it is to be started again. `None` for a name that was
    /// never started through this schedule.
    pub fn exited(&mut self, name: &str, now: Instant) -> Option<Scheduled> {
        let policy = self.policy;
        let state = self.services.get_mut(name)?;
        let ran_for = now.saturating_duration_since(state.started_at);
        if ran_for >= policy.healthy_after {
            state.crashes_in_a_row = 0;
        }
        let delay = match state.crashes_in_a_row {
            0 => Duration::ZERO,
            n => policy
                .first_delay
                .saturating_mul(2u32.saturating_pow(n - 1))
                .min(policy.max_delay),
        };
        state.crashes_in_a_row = state.crashes_in_a_row.saturating_add(1);
        state.restarts = state.restarts.saturating_add(1);
        state.restart_at = Some(now + delay);
        Some(Scheduled {
            ran_for,
            delay,
            restart: state.restarts,
        })
    }

    /// The services whose restart is due at `now`, in name order.
    pub fn due(&self, now: Instant) -> Vec<String> {
        self.services
            .iter()
            .filter(|(_, state)| state.restart_at.is_some_and(|at| at <= now))
            .map(|(name, _)| name.clone())
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        first_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(8),
        healthy_after: Duration::from_secs(60),
    };

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn crashes_in_a_row_wait_longer_each_time_up_to_the_cap() {
        let mut restarts = Restarts::new(POLICY);
        let mut now = Instant::now();
        restarts.started("directory-service", now);
        let mut delays = Vec::new();
        for _ in 0..7 {
            now += secs(2);
            let scheduled = restarts.exited("directory-service", now);
            let Some(scheduled) = scheduled else {
                panic!("a started service is scheduled");
            };
            assert_eq!(scheduled.ran_for, secs(2));
            delays.push(scheduled.delay.as_secs());
            assert!(
                restarts
                    .due(now + scheduled.delay)
                    .contains(&"directory-service".to_owned())
            );
            if scheduled.delay > Duration::ZERO {
                assert!(restarts.due(now).is_empty(), "not due before its delay");
            }
            now += scheduled.delay;
            restarts.started("directory-service", now);
            assert!(restarts.due(now).is_empty(), "a started service is not due");
        }
        assert_eq!(delays, [0, 1, 2, 4, 8, 8, 8]);
    }

    #[test]
    fn a_service_that_stayed_up_is_restarted_at_once_again() {
        let mut restarts = Restarts::new(POLICY);
        let mut now = Instant::now();
        restarts.started("license-service", now);
        for _ in 0..3 {
            now += secs(1);
            let delay = restarts.exited("license-service", now).map(|s| s.delay);
            now += delay.unwrap_or_default();
            restarts.started("license-service", now);
        }
        now += secs(61);
        let scheduled = restarts.exited("license-service", now);
        assert_eq!(
            scheduled,
            Some(Scheduled {
                ran_for: secs(61),
                delay: Duration::ZERO,
                restart: 4
            })
        );
    }

    #[test]
    fn each_service_has_its_own_schedule_and_unknown_names_none() {
        let mut restarts = Restarts::new(POLICY);
        let now = Instant::now();
        restarts.started("audit-service", now);
        restarts.started("scim-gateway", now);
        let _ = restarts.exited("audit-service", now + secs(1));
        restarts.started("audit-service", now + secs(1));
        let audit = restarts.exited("audit-service", now + secs(2));
        let gateway = restarts.exited("scim-gateway", now + secs(2));
        assert_eq!(audit.map(|s| s.delay), Some(secs(1)));
        assert_eq!(gateway.map(|s| s.delay), Some(Duration::ZERO));
        assert_eq!(restarts.due(now + secs(2)), ["scim-gateway"]);
        assert_eq!(restarts.exited("nats-server", now), None);
    }
}

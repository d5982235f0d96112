//! Queues concurrent writes to the same resource inside one gateway.
//!
//! The optimistic version check keeps writes correct across gateways, but
//! when an IdP fires many PATCHes at one group at once, every loser reloads
//! and retries, and under enough contention some run out of attempts (503).
//! Taking turns locally first means conflicts only arise between replicas.
//! The lock covers load → decide → append, not the wait for the read model.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Debug, Default)]
pub struct AggregateLocks {
    locks: Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
}

/// Holds a resource's turn; dropping it lets the next writer in.
pub struct Turn {
    _guard: OwnedMutexGuard<()>,
}

impl AggregateLocks {
    /// Waits for the turn to write `key` (tenant, kind and id).
    pub async fn turn(&self, key: String) -> Turn {
        let lock = {
            let Ok(mut locks) = self.locks.lock() else {
                // A poisoned map only loses the queueing, never correctness:
                // the version check still guards the append.
                return Turn {
                    _guard: Arc::new(AsyncMutex::new(())).lock_owned().await,
                };
            };
            // Entries nobody holds or waits for are dropped as we go, so the
            // map stays as small as the set of resources being written.
            locks.retain(|_, lock| Arc::strong_count(lock) > 1);
            locks.entry(key).or_default().clone()
        };
        Turn {
            _guard: lock.lock_owned().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn writers_to_one_resource_take_turns_and_others_do_not_wait() {
        let locks = Arc::new(AggregateLocks::default());
        let first = locks.turn("t/group/1".into()).await;
        let waiting = {
            let locks = locks.clone();
            tokio::spawn(async move { locks.turn("t/group/1".into()).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "the second writer must wait");
        let _other =
            tokio::time::timeout(Duration::from_millis(100), locks.turn("t/group/2".into()))
                .await
                .unwrap();
        drop(first);
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .unwrap()
            .unwrap();
    }
}

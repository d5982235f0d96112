//! Case-insensitive userName uniqueness per tenant, decided synchronously.
//!
//! A claim is a KV key `<tenant>.<sha256(normalised userName)>` whose value is
//! the owning user id; the name is normalised by the caller with
//! `scim_model::normalize_user_name`, the one definition of userName identity. `create` on the key is an atomic create-if-absent, so of
//! several concurrent creates exactly one wins. A crash between claiming and
//! appending the user's event leaves an orphan claim; it is detected lazily
//! (the owner does not exist, is deleted, or no longer has that userName) and
//! taken over with a revision-checked update.

use std::time::Duration;

use async_nats::jetstream::kv;
use bytes::Bytes;
use scim_events::{AggregateKind, EventPayload};
use sha2::{Digest, Sha256};

use crate::{EventStore, StoreError};

/// How long a claim whose owner has no event yet is presumed to be an
/// in-flight create rather than an orphan.
const IN_FLIGHT_GRACE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The name is now ours; `revision` lets us release it precisely.
    Claimed { revision: u64 },
    /// The name belongs to another live user.
    Taken { owner_id: String },
}

pub fn claim_key(tenant_id: &str, normalized_user_name: &str) -> String {
    let digest = Sha256::digest(normalized_user_name.as_bytes());
    format!("{tenant_id}.{}", hex::encode(digest))
}

impl EventStore {
    /// Claims `normalized_user_name` for `user_id` in `tenant_id`.
    pub async fn claim_user_name(
        &self,
        tenant_id: &str,
        normalized_user_name: &str,
        user_id: &str,
    ) -> Result<ClaimOutcome, StoreError> {
        let key = claim_key(tenant_id, normalized_user_name);
        let bucket = self.usernames();
        for _ in 0..5 {
            match bucket.create(&key, Bytes::from(user_id.to_owned())).await {
                Ok(revision) => return Ok(ClaimOutcome::Claimed { revision }),
                Err(error) if error.kind() == kv::CreateErrorKind::AlreadyExists => {}
                Err(error) => return Err(StoreError::jetstream("claim userName", error)),
            }
            let Some(entry) = bucket
                .entry(&key)
                .await
                .map_err(|error| StoreError::jetstream("read claim", error))?
            else {
                continue; // released meanwhile: try to create again
            };
            let owner_id = String::from_utf8_lossy(&entry.value).into_owned();
            if owner_id == user_id {
                return Ok(ClaimOutcome::Claimed {
                    revision: entry.revision,
                });
            }
            let age = time_since(entry.created);
            if !self
                .claim_is_orphaned(tenant_id, normalized_user_name, &owner_id, age)
                .await?
            {
                return Ok(ClaimOutcome::Taken { owner_id });
            }
            tracing::warn!(%key, %owner_id, "reclaiming an orphaned userName claim");
            match bucket
                .update(&key, Bytes::from(user_id.to_owned()), entry.revision)
                .await
            {
                Ok(revision) => return Ok(ClaimOutcome::Claimed { revision }),
                // Someone else reclaimed or released it first; look again.
                Err(error) if error.kind() == kv::UpdateErrorKind::WrongLastRevision => {}
                Err(error) => return Err(StoreError::jetstream("reclaim userName", error)),
            }
        }
        Err(StoreError::JetStream {
            operation: "claim userName",
            message: "claim kept changing under contention".into(),
        })
    }

    /// Releases a claim if `user_id` still holds it.
    pub async fn release_user_name(
        &self,
        tenant_id: &str,
        normalized_user_name: &str,
        user_id: &str,
    ) -> Result<(), StoreError> {
        let key = claim_key(tenant_id, normalized_user_name);
        let bucket = self.usernames();
        let Some(entry) = bucket
            .entry(&key)
            .await
            .map_err(|error| StoreError::jetstream("read claim", error))?
        else {
            return Ok(());
        };
        if entry.operation != kv::Operation::Put || entry.value.as_ref() != user_id.as_bytes() {
            return Ok(());
        }
        match bucket
            .delete_expect_revision(&key, Some(entry.revision))
            .await
        {
            Ok(()) => Ok(()),
            // It changed hands meanwhile; it is no longer ours to release.
            Err(error) if error.kind() == kv::DeleteErrorKind::WrongLastRevision => Ok(()),
            Err(error) => Err(StoreError::jetstream("release userName", error)),
        }
    }

    async fn claim_is_orphaned(
        &self,
        tenant_id: &str,
        normalized_user_name: &str,
        owner_id: &str,
        claim_age: Duration,
    ) -> Result<bool, StoreError> {
        let owner = self
            .load_last(tenant_id, AggregateKind::User, owner_id)
            .await?;
        Ok(match owner.map(|event| event.envelope.payload) {
            None => claim_age > IN_FLIGHT_GRACE,
            Some(EventPayload::UserDeleted { .. }) => true,
            Some(
                EventPayload::UserCreated { resource } | EventPayload::UserUpdated { resource, .. },
            ) => {
                let current = resource
                    .get("userName")
                    .and_then(|name| name.as_str())
                    .map(scim_model::normalize_user_name);
                // A rename claims the new name before appending, so the owner
                // may still show the old name for a moment.
                current.as_deref() != Some(normalized_user_name) && claim_age > IN_FLIGHT_GRACE
            }
            Some(_) => false,
        })
    }
}

fn time_since(created: chrono::DateTime<chrono::Utc>) -> Duration {
    (chrono::Utc::now() - created).to_std().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_blind_only_through_normalisation() {
        assert_eq!(
            claim_key("t1", "alice@example.com"),
            claim_key("t1", "alice@example.com")
        );
        assert_ne!(
            claim_key("t1", "alice@example.com"),
            claim_key("t2", "alice@example.com")
        );
        // The key hashes what it is given: one user's forms meet only once normalised.
        assert_ne!(claim_key("t1", "Alice"), claim_key("t1", "alice"));
        assert_eq!(
            claim_key(
                "t1",
                &scim_model::normalize_user_name("ＡＬＩＣＥ@example.com")
            ),
            claim_key("t1", &scim_model::normalize_user_name("alice@example.com"))
        );
        let key = claim_key("t1", "alice@example.com");
        assert!(
            key.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        );
    }
}

//! The provisioning log's hash chain: what a record's hash commits to, byte by byte. Pure: no IO.
//!
//! `record_hash = SHA-256(previous_hash || encode(record))`, where `previous_hash` is the hash
//! of the tenant's record at the chain position before (32 zero bytes for position 1) and
//! `encode` writes the stored fields in a fixed order, each length-prefixed, so that no two
//! different records encode alike ("ab" + "c" and "a" + "bc" differ). docs/architecture.md
//! ("Provisioning log") states the same encoding for anyone who verifies without this code.

use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub type Hash = [u8; 32];

/// The `previous_hash` of a tenant's first chained record.
pub const GENESIS: Hash = [0; 32];

/// A record's stored fields, borrowed from a row about to be written or a row read back.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainedRecord<'a> {
    pub sequence: i64,
    pub chain_position: i64,
    pub event_id: Uuid,
    pub tenant_id: &'a str,
    /// Microseconds since the Unix epoch: the precision Postgres stores.
    pub occurred_at_micros: i64,
    pub operation: &'a str,
    pub outcome: &'a str,
    pub resource_type: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub target_name: Option<&'a str>,
    pub actor_config_id: Option<&'a str>,
    pub actor_token_id: Option<&'a str>,
    pub actor_admin: Option<&'a str>,
    pub correlation_id: &'a str,
    pub status: Option<i32>,
    pub detail: Option<&'a str>,
    /// [`event_digest`] of the stored event.
    pub event_digest: Hash,
}

impl ChainedRecord<'_> {
    /// The canonical encoding: every field as `0x00` when NULL, else `0x01`, its length as a
    /// big-endian u64, and its bytes (integers big-endian two's complement, the UUID's 16
    /// bytes, text as UTF-8), in declaration order.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        field(&mut out, Some(&self.sequence.to_be_bytes()));
        field(&mut out, Some(&self.chain_position.to_be_bytes()));
        field(&mut out, Some(self.event_id.as_bytes()));
        text(&mut out, Some(self.tenant_id));
        field(&mut out, Some(&self.occurred_at_micros.to_be_bytes()));
        text(&mut out, Some(self.operation));
        text(&mut out, Some(self.outcome));
        text(&mut out, self.resource_type);
        text(&mut out, self.target_id);
        text(&mut out, self.target_name);
        text(&mut out, self.actor_config_id);
        text(&mut out, self.actor_token_id);
        text(&mut out, self.actor_admin);
        text(&mut out, Some(self.correlation_id));
        field(
            &mut out,
            self.status
                .map(i32::to_be_bytes)
                .as_ref()
                .map(<[u8; 4]>::as_slice),
        );
        text(&mut out, self.detail);
        field(&mut out, Some(&self.event_digest));
        out
    }

    /// This record's link: `SHA-256(previous || encode(self))`, `previous` being the
    /// predecessor's `record_hash` as stored (32 bytes unless it was tampered with).
    pub fn hash(&self, previous: &[u8]) -> Hash {
        let mut hasher = Sha256::new();
        hasher.update(previous);
        hasher.update(self.encode());
        hasher.finalize().into()
    }
}

fn field(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        None => out.push(0),
        Some(bytes) => {
            out.push(1);
            out.extend_from_slice(&u64::try_from(bytes.len()).unwrap_or(u64::MAX).to_be_bytes());
            out.extend_from_slice(bytes);
        }
    }
}

fn text(out: &mut Vec<u8>, value: Option<&str>) {
    field(out, value.map(str::as_bytes));
}

/// SHA-256 of the event's canonical JSON: object keys sorted by their UTF-8 bytes, no
/// whitespace, strings and numbers as serde_json writes them. The log stores the event as
/// `jsonb`, which reorders keys and reformats; reading it back and writing it canonically
/// gives the same bytes as writing the original canonically, so the digest is computed the
/// same way when the row is written and when it is verified.
pub fn event_digest(event: &Value) -> Hash {
    let mut canonical = Vec::with_capacity(1024);
    write_canonical(event, &mut canonical);
    Sha256::digest(&canonical).into()
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(object) => {
            let mut entries: Vec<(&String, &Value)> = object.iter().collect();
            entries.sort_by(|(left, _), (right, _)| left.as_bytes().cmp(right.as_bytes()));
            out.push(b'{');
            for (index, (key, value)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_scalar(&Value::String(key.clone()), out);
                out.push(b':');
                write_canonical(value, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(scalar, out),
    }
}

fn write_scalar(value: &Value, out: &mut Vec<u8>) {
    // Writing a scalar `Value` into a Vec cannot fail; the bytes would be missing (and the
    // digest then differ from the writer's, which verify reports) rather than wrong.
    if serde_json::to_writer(&mut *out, value).is_err() {
        tracing::error!("a JSON scalar could not be written");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> ChainedRecord<'static> {
        ChainedRecord {
            sequence: 7,
            chain_position: 3,
            event_id: Uuid::from_u128(42),
            tenant_id: "t1",
            occurred_at_micros: 1_700_000_000_000_000,
            operation: "create",
            outcome: "success",
            resource_type: Some("User"),
            target_id: Some("u1"),
            target_name: Some("alice"),
            actor_config_id: Some("cfg"),
            actor_token_id: Some("tok"),
            actor_admin: None,
            correlation_id: "req-1",
            status: None,
            detail: None,
            event_digest: event_digest(&json!({"a": 1})),
        }
    }

    #[test]
    fn field_boundaries_cannot_be_shifted() {
        let ab_c = ChainedRecord {
            target_id: Some("ab"),
            target_name: Some("c"),
            ..record()
        };
        let a_bc = ChainedRecord {
            target_id: Some("a"),
            target_name: Some("bc"),
            ..record()
        };
        assert_ne!(ab_c.encode(), a_bc.encode());
        assert_ne!(ab_c.hash(&GENESIS), a_bc.hash(&GENESIS));
        // NULL and "" are different values.
        let empty = ChainedRecord {
            detail: Some(""),
            ..record()
        };
        assert_ne!(empty.encode(), record().encode());
        // A value moved to the neighbouring field changes the encoding too.
        let moved = ChainedRecord {
            actor_config_id: None,
            actor_token_id: Some("cfg"),
            actor_admin: Some("tok"),
            ..record()
        };
        let original = ChainedRecord {
            actor_config_id: Some("cfg"),
            actor_token_id: Some("tok"),
            actor_admin: None,
            ..record()
        };
        assert_ne!(moved.encode(), original.encode());
    }

    #[test]
    fn the_encoding_is_length_prefixed_in_a_fixed_order() {
        let encoded = record().encode();
        // sequence: present, 8 bytes, 7.
        assert_eq!(
            &encoded[..17],
            &[1, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 7]
        );
        // chain position right after it.
        assert_eq!(
            &encoded[17..34],
            &[1, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 3]
        );
        // Ends with the event digest.
        assert_eq!(&encoded[encoded.len() - 32..], &record().event_digest);
    }

    #[test]
    fn every_field_and_the_predecessor_change_the_hash() {
        let base = record().hash(&GENESIS);
        let variants = [
            ChainedRecord {
                sequence: 8,
                ..record()
            },
            ChainedRecord {
                chain_position: 4,
                ..record()
            },
            ChainedRecord {
                tenant_id: "t2",
                ..record()
            },
            ChainedRecord {
                occurred_at_micros: 1,
                ..record()
            },
            ChainedRecord {
                outcome: "failure",
                ..record()
            },
            ChainedRecord {
                actor_admin: Some("operator"),
                ..record()
            },
            ChainedRecord {
                status: Some(409),
                ..record()
            },
            ChainedRecord {
                event_digest: event_digest(&json!({"a": 2})),
                ..record()
            },
        ];
        for variant in variants {
            assert_ne!(variant.hash(&GENESIS), base, "{variant:?}");
        }
        assert_ne!(record().hash(&[1; 32]), base);
    }

    #[test]
    fn the_event_digest_survives_jsonb_reformatting() {
        let written = json!({"b": [1, 2.5, {"z": null, "y": "é\"x"}], "a": true, "aa": 1e300});
        // What Postgres gives back for that jsonb: keys reordered, spaces, numbers expanded.
        let read_back: Value = serde_json::from_str(&format!(
            r#"{{"a": true, "b": [1, 2.5, {{"y": "\u00e9\"x", "z": null}}], "aa": 1{}}}"#,
            "0".repeat(300)
        ))
        .unwrap();
        assert_eq!(event_digest(&written), event_digest(&read_back));
        assert_ne!(event_digest(&written), event_digest(&json!({"a": true})));
    }
}

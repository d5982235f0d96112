//! Fixtures shared by scim-model's integration tests: RFC 7643 resources and PATCH bodies.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim_model::{PatchOperation, parse_patch_request};
use serde_json::{Value, json};

pub const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// RFC 7643 §8.2 full user as stored (with id and meta), minus the password.
pub fn bjensen() -> Value {
    let mut v: Value =
        serde_json::from_str(include_str!("../fixtures/rfc7643_full_user.json")).unwrap();
    v.as_object_mut().unwrap().remove("password");
    v.as_object_mut().unwrap().remove("groups");
    v
}

pub fn ops(operations: Value) -> Vec<PatchOperation> {
    parse_patch_request(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": operations
    }))
    .unwrap()
}

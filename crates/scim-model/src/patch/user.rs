//! PATCH of User resources.

use serde_json::Value;

use super::PatchOperation;
use super::engine::apply_operation;
use crate::error::ScimError;
use crate::resource::finalize;
use crate::schema;

/// Applies the operations in order and re-validates the result (userName still present,
/// at most one primary value per attribute). Either all operations apply or none do.
pub fn apply_user_patch(resource: &Value, ops: &[PatchOperation]) -> Result<Value, ScimError> {
    let schema = schema::user();
    let mut map = resource
        .as_object()
        .cloned()
        .ok_or_else(|| ScimError::InvalidSyntax("the resource must be a JSON object".into()))?;
    for op in ops {
        apply_operation(&mut map, op, schema)?;
    }
    finalize(map, schema)
}

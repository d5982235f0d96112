//! SCIM 2.0 protocol logic (RFC 7643, RFC 7644): schemas, resource validation, filters and
//! PATCH. Pure: no IO, resources are `serde_json::Value` objects with canonical attribute names.

pub mod bulk;
pub mod error;
pub mod filter;
pub mod limits;
pub mod pagination;
pub mod patch;
pub mod path;
pub mod resource;
pub mod schema;
pub mod urn;
mod value;

pub use bulk::{
    BulkEndpoint, BulkError, BulkMethod, BulkOperation, BulkRequest, BulkScheduler, BulkStep,
    parse_bulk_request,
};
pub use error::ScimError;
pub use filter::{CompareOp, CompareValue, Filter, matches, parse_filter, validate_filter};
pub use pagination::{QueryShape, decode_cursor, encode_cursor, neighbour_cursors};
pub use patch::{
    GroupPatchOutcome, PatchOp, PatchOperation, PatchPath, apply_group_patch, apply_user_patch,
    parse_patch_path, parse_patch_request,
};
pub use path::{AttrPath, parse_attr_path};
pub use resource::{
    Member, apply_attribute_selection, display_name, email_values, external_id, fold_user_name,
    is_active, normalize_user_name, prepare_new_group, prepare_new_user, prepare_replaced_group,
    prepare_replaced_user, strip_never_returned, user_name,
};
pub use schema::{
    AttrType, AttributeDef, BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA, ENTERPRISE_USER_SCHEMA,
    ERROR_SCHEMA, GROUP_SCHEMA, LIST_RESPONSE_SCHEMA, Mutability, PATCH_OP_SCHEMA, ResolvedAttr,
    ResourceSchema, Returned, SEARCH_REQUEST_SCHEMA, SchemaDef, SchemaExtension, ServiceLimits,
    USER_SCHEMA, Uniqueness, resource_type_json, resource_types_json, schema_json, schemas_json,
    service_provider_config_json,
};

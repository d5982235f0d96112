//! `/ServiceProviderConfig`, `/Schemas`, `/ResourceTypes`: public, tenant-free.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use scim_model::ServiceLimits;

use crate::error::ApiError;
use crate::http::scim_json;
use crate::state::AppState;

pub fn limits(state: &AppState) -> ServiceLimits {
    ServiceLimits {
        max_results: u32::try_from(state.config().max_page_size).unwrap_or(u32::MAX),
        default_page_size: u32::try_from(state.config().default_page_size).unwrap_or(u32::MAX),
        bulk_max_operations: u32::try_from(state.config().bulk_max_operations).unwrap_or(u32::MAX),
        bulk_max_payload_bytes: state.config().bulk_max_payload_bytes as u64,
        bulk_supported: true,
        sort_supported: true,
        etag_supported: true,
    }
}

pub async fn service_provider_config(State(state): State<AppState>) -> Response {
    let body = scim_model::service_provider_config_json(state.base_url(), &limits(&state));
    scim_json(StatusCode::OK, &body, None, None)
}

pub async fn schemas() -> Response {
    scim_json(StatusCode::OK, &scim_model::schemas_json(), None, None)
}

pub async fn schema(Path(id): Path<String>) -> Result<Response, ApiError> {
    let body = scim_model::schema_json(&id)
        .ok_or_else(|| ApiError::NotFound(format!("schema {id} not found")))?;
    Ok(scim_json(StatusCode::OK, &body, None, None))
}

pub async fn resource_types(State(state): State<AppState>) -> Response {
    scim_json(
        StatusCode::OK,
        &scim_model::resource_types_json(state.base_url()),
        None,
        None,
    )
}

pub async fn resource_type(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let body = scim_model::resource_type_json(state.base_url(), &id)
        .ok_or_else(|| ApiError::NotFound(format!("resource type {id} not found")))?;
    Ok(scim_json(StatusCode::OK, &body, None, None))
}

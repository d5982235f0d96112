//! `POST /Bulk` (RFC 7644 §3.7): many operations in one request.
//!
//! Operations run one after another through the same command path as their
//! single-request equivalents, so each is durable and visible before the next
//! starts and is recorded in the provisioning log like any other request. The
//! order comes from [`scim_model::BulkScheduler`], which resolves `bulkId`
//! references, including forward ones.

use axum::Extension;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use scim_model::{
    BULK_RESPONSE_SCHEMA, BulkEndpoint, BulkMethod, BulkOperation, BulkScheduler, BulkStep,
};
use serde_json::{Value, json};

use super::resource_type::{GROUPS, ResourceType, USERS};
use crate::commands::{GroupCommands, UserCommands};
use crate::directory::TenantContext;
use crate::error::{ApiError, RejectionInfo};
use crate::http::{BulkBody, etag, parse_etag, scim_json};
use crate::middleware::{RequestId, record_rejection};
use crate::state::AppState;

/// What a successful operation reports back.
struct Done {
    status: StatusCode,
    id: String,
    version: Option<u64>,
}

pub async fn bulk(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    Extension(request_id): Extension<RequestId>,
    BulkBody(body): BulkBody,
) -> Result<Response, ApiError> {
    let request = scim_model::parse_bulk_request(&body, state.config().bulk_max_operations)?;
    let mut scheduler = BulkScheduler::new(&request);
    let mut results = Vec::with_capacity(request.operations.len());
    let mut errors = 0;
    while let Some(step) = scheduler.next_step() {
        let (index, outcome) = match step {
            BulkStep::Execute { index, operation } => (
                index,
                execute(&state, &tenant, &request_id.0, &operation).await,
            ),
            BulkStep::Unresolvable { index, detail } => (
                index,
                Err(ApiError::Conflict(format!(
                    "Operations[{index}] was not run: {detail}"
                ))),
            ),
        };
        let Some(operation) = request.operations.get(index) else {
            continue;
        };
        match outcome {
            Ok(done) => {
                let result = success(&state, operation, &done);
                scheduler.completed(index, Some(done.id));
                results.push((index, result));
            }
            Err(error) => {
                scheduler.completed(index, None);
                errors += 1;
                let (body, detail) = error.to_body();
                record_failure(&state, &tenant, &request_id.0, operation, &error, detail).await;
                results.push((index, failure(&state, operation, &error, body)));
                if request.fail_on_errors.is_some_and(|limit| errors >= limit) {
                    break;
                }
            }
        }
    }
    results.sort_by_key(|(index, _)| *index);
    let body = json!({
        "schemas": [BULK_RESPONSE_SCHEMA],
        "Operations": results.into_iter().map(|(_, result)| result).collect::<Vec<_>>(),
    });
    Ok(scim_json(StatusCode::OK, &body, None, None))
}

async fn execute(
    state: &AppState,
    tenant: &TenantContext,
    request_id: &str,
    operation: &BulkOperation,
) -> Result<Done, ApiError> {
    let if_match = operation.version.as_deref().and_then(parse_etag);
    let data = operation.data.clone().unwrap_or_else(|| json!({}));
    let target = match (&operation.method, operation.target.as_deref()) {
        (BulkMethod::Post, _) => String::new(),
        (_, Some(id)) if scim_model::limits::is_valid_id(id) => id.to_owned(),
        (_, id) => {
            return Err(ApiError::NotFound(format!(
                "{} {} not found",
                listed(operation.endpoint).name,
                id.unwrap_or_default()
            )));
        }
    };
    match operation.endpoint {
        BulkEndpoint::Users => {
            let users = UserCommands::new(state, tenant, request_id);
            match operation.method {
                BulkMethod::Post => {
                    let (id, user) = users.create(&data).await?;
                    Ok(done(StatusCode::CREATED, id, Some(user.version)))
                }
                BulkMethod::Put => {
                    let user = users.replace(&target, if_match, &data).await?;
                    Ok(done(StatusCode::OK, target, Some(user.version)))
                }
                BulkMethod::Patch => {
                    let user = users.patch(&target, if_match, &data).await?;
                    Ok(done(StatusCode::OK, target, Some(user.version)))
                }
                BulkMethod::Delete => {
                    users.delete(&target, if_match).await?;
                    Ok(done(StatusCode::NO_CONTENT, target, None))
                }
            }
        }
        BulkEndpoint::Groups => {
            let groups = GroupCommands::new(state, tenant, request_id);
            match operation.method {
                BulkMethod::Post => {
                    let (id, version) = groups.create(&data).await?;
                    Ok(done(StatusCode::CREATED, id, Some(version)))
                }
                BulkMethod::Put => {
                    let version = groups.replace(&target, if_match, &data).await?;
                    Ok(done(StatusCode::OK, target, Some(version)))
                }
                BulkMethod::Patch => {
                    let version = groups.patch(&target, if_match, &data).await?;
                    Ok(done(StatusCode::OK, target, Some(version)))
                }
                BulkMethod::Delete => {
                    groups.delete(&target, if_match).await?;
                    Ok(done(StatusCode::NO_CONTENT, target, None))
                }
            }
        }
    }
}

fn done(status: StatusCode, id: String, version: Option<u64>) -> Done {
    Done {
        status,
        id,
        version,
    }
}

fn listed(endpoint: BulkEndpoint) -> ResourceType {
    match endpoint {
        BulkEndpoint::Users => USERS,
        BulkEndpoint::Groups => GROUPS,
    }
}

fn success(state: &AppState, operation: &BulkOperation, done: &Done) -> Value {
    let mut result = json!({
        "method": operation.method.as_str(),
        "location": listed(operation.endpoint).location(state, &done.id),
        "status": done.status.as_u16().to_string(),
    });
    if let Some(bulk_id) = &operation.bulk_id {
        result["bulkId"] = json!(bulk_id);
    }
    if let Some(version) = done.version {
        result["version"] = json!(etag(version));
    }
    result
}

fn failure(state: &AppState, operation: &BulkOperation, error: &ApiError, body: Value) -> Value {
    let mut result = json!({
        "method": operation.method.as_str(),
        "status": error.status().as_u16().to_string(),
        "response": body,
    });
    if let Some(bulk_id) = &operation.bulk_id {
        result["bulkId"] = json!(bulk_id);
    }
    if let Some(id) = operation
        .target
        .as_deref()
        .filter(|id| scim_model::limits::is_valid_id(id))
    {
        result["location"] = json!(listed(operation.endpoint).location(state, id));
    }
    result
}

/// A failed operation inside a 200 bulk response is still a rejected
/// provisioning action: it goes to the provisioning log like a failed request.
async fn record_failure(
    state: &AppState,
    tenant: &TenantContext,
    request_id: &str,
    operation: &BulkOperation,
    error: &ApiError,
    detail: String,
) {
    let method = match operation.method {
        BulkMethod::Post => Method::POST,
        BulkMethod::Put => Method::PUT,
        BulkMethod::Patch => Method::PATCH,
        BulkMethod::Delete => Method::DELETE,
    };
    let info = RejectionInfo {
        scim_type: error.scim_type().map(str::to_owned),
        detail,
    };
    record_rejection(
        state,
        tenant,
        &method,
        &operation.path,
        request_id,
        error.status().as_u16(),
        Some(info),
    )
    .await;
}

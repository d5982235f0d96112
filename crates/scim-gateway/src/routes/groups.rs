use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use scim_rpc::directory::ResourceKind;

use super::listing;
use super::render::{Selection, is_plausible_id, render};
use crate::commands::GroupCommands;
use crate::directory::{Members, TenantContext};
use crate::error::ApiError;
use crate::http::{
    ListRequest, ScimBody, if_match, if_none_match, no_content, not_modified, scim_json,
};
use crate::middleware::RequestId;
use crate::state::AppState;

type QueryPairs = Query<Vec<(String, String)>>;

fn location(state: &AppState, id: &str) -> String {
    format!("{}/Groups/{id}", state.base_url())
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("Group {id} not found"))
}

/// Reads the group back from the directory (which already shows the write)
/// so the response carries its members as stored. Members are included up to
/// `GATEWAY_WRITE_RESPONSE_MAX_MEMBERS` unless the client names `members` in
/// `attributes`: a one-member change to a huge group must not answer with
/// the whole group (I9).
async fn respond(
    state: &AppState,
    tenant: &TenantContext,
    id: &str,
    status: StatusCode,
    selection: &Selection,
) -> Result<Response, ApiError> {
    let members = if selection.excludes_members() {
        Members::Exclude
    } else if selection.names_members() {
        Members::All
    } else {
        Members::AtMost(state.config().write_response_max_members)
    };
    let group = state
        .directory()
        .get(tenant, ResourceKind::Group, id, members)
        .await?;
    let location = location(state, id);
    let json = render(
        group.json,
        &location,
        scim_model::schema::group(),
        selection,
    );
    let header_location = (status == StatusCode::CREATED).then_some(location.as_str());
    Ok(scim_json(
        status,
        &json,
        Some(group.version),
        header_location,
    ))
}

pub async fn create(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    Extension(request_id): Extension<RequestId>,
    Query(query): QueryPairs,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    let (id, _) = GroupCommands::new(&state, &tenant, &request_id.0)
        .create(&body)
        .await?;
    respond(
        &state,
        &tenant,
        &id,
        StatusCode::CREATED,
        &Selection::from_query(&query),
    )
    .await
}

pub async fn get(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    Path(id): Path<String>,
    Query(query): QueryPairs,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !is_plausible_id(&id) {
        return Err(not_found(&id));
    }
    let selection = Selection::from_query(&query);
    let group = state
        .directory()
        .get(
            &tenant,
            ResourceKind::Group,
            &id,
            if selection.excludes_members() {
                Members::Exclude
            } else {
                Members::All
            },
        )
        .await?;
    if if_none_match(&headers)? == Some(group.version) {
        return Ok(not_modified(group.version));
    }
    let json = render(
        group.json,
        &location(&state, &id),
        scim_model::schema::group(),
        &selection,
    );
    Ok(scim_json(StatusCode::OK, &json, Some(group.version), None))
}

pub async fn list(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    Query(query): QueryPairs,
) -> Result<Response, ApiError> {
    let request = ListRequest::from_query(&query)?;
    listing::list(&state, &tenant, listing::GROUPS, &request).await
}

pub async fn search(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    let request = ListRequest::from_search_body(&body)?;
    listing::list(&state, &tenant, listing::GROUPS, &request).await
}

pub async fn replace(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    Extension(request_id): Extension<RequestId>,
    Path(id): Path<String>,
    Query(query): QueryPairs,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    if !is_plausible_id(&id) {
        return Err(not_found(&id));
    }
    let expected = if_match(&headers)?;
    GroupCommands::new(&state, &tenant, &request_id.0)
        .replace(&id, expected, &body)
        .await?;
    respond(
        &state,
        &tenant,
        &id,
        StatusCode::OK,
        &Selection::from_query(&query),
    )
    .await
}

pub async fn patch(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    Extension(request_id): Extension<RequestId>,
    Path(id): Path<String>,
    Query(query): QueryPairs,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    if !is_plausible_id(&id) {
        return Err(not_found(&id));
    }
    let expected = if_match(&headers)?;
    GroupCommands::new(&state, &tenant, &request_id.0)
        .patch(&id, expected, &body)
        .await?;
    respond(
        &state,
        &tenant,
        &id,
        StatusCode::OK,
        &Selection::from_query(&query),
    )
    .await
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    Extension(request_id): Extension<RequestId>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !is_plausible_id(&id) {
        return Err(not_found(&id));
    }
    let expected = if_match(&headers)?;
    GroupCommands::new(&state, &tenant, &request_id.0)
        .delete(&id, expected)
        .await?;
    Ok(no_content())
}

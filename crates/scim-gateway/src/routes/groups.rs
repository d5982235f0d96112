//! `/Groups` and `/Groups/{id}`.

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use scim_rpc::directory::ResourceKind;

use super::listing;
use super::render::render;
use super::resource_type::GROUPS;
use super::target::{GroupResource, Selection, Target};
use crate::commands::GroupCommands;
use crate::directory::{Members, TenantContext};
use crate::error::ApiError;
use crate::http::{ListRequest, ScimBody, no_content, scim_json};
use crate::middleware::RequestId;
use crate::state::AppState;

type QueryPairs = Query<Vec<(String, String)>>;
type GroupTarget = Target<GroupResource>;

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
    let json = render(group.json, state.base_url(), GROUPS, id, selection);
    let location = (status == StatusCode::CREATED).then(|| GROUPS.location(state, id));
    Ok(scim_json(
        status,
        &json,
        Some(group.version),
        location.as_deref(),
    ))
}

pub async fn create(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    Extension(request_id): Extension<RequestId>,
    Query(query): QueryPairs,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    let selection = Selection::from_query(&query)?;
    let (id, _) = GroupCommands::new(&state, &tenant, &request_id.0)
        .create(&body)
        .await?;
    respond(&state, &tenant, &id, StatusCode::CREATED, &selection).await
}

pub async fn get(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    target: GroupTarget,
) -> Result<Response, ApiError> {
    let members = if target.selection.excludes_members() {
        Members::Exclude
    } else {
        Members::All
    };
    listing::get_one(&state, &tenant, GROUPS, &target, members).await
}

pub async fn list(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    Query(query): QueryPairs,
) -> Result<Response, ApiError> {
    let request = ListRequest::from_query(&query)?;
    listing::list(&state, &tenant, GROUPS, &request).await
}

pub async fn search(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    let request = ListRequest::from_search_body(&body)?;
    listing::list(&state, &tenant, GROUPS, &request).await
}

pub async fn replace(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    Extension(request_id): Extension<RequestId>,
    target: GroupTarget,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    GroupCommands::new(&state, &tenant, &request_id.0)
        .replace(&target.id, target.if_match, &body)
        .await?;
    respond(
        &state,
        &tenant,
        &target.id,
        StatusCode::OK,
        &target.selection,
    )
    .await
}

pub async fn patch(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    Extension(request_id): Extension<RequestId>,
    target: GroupTarget,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    GroupCommands::new(&state, &tenant, &request_id.0)
        .patch(&target.id, target.if_match, &body)
        .await?;
    respond(
        &state,
        &tenant,
        &target.id,
        StatusCode::OK,
        &target.selection,
    )
    .await
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    Extension(request_id): Extension<RequestId>,
    target: GroupTarget,
) -> Result<Response, ApiError> {
    GroupCommands::new(&state, &tenant, &request_id.0)
        .delete(&target.id, target.if_match)
        .await?;
    Ok(no_content())
}

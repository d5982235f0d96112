//! `/Users` and `/Users/{id}`.

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::listing;
use super::render::render;
use super::resource_type::USERS;
use super::target::{Selection, Target, UserResource};
use crate::commands::{UserCommands, UserState};
use crate::directory::{Members, TenantContext};
use crate::error::ApiError;
use crate::http::{ListRequest, ScimBody, no_content, scim_json};
use crate::middleware::RequestId;
use crate::state::AppState;

type QueryPairs = Query<Vec<(String, String)>>;
type UserTarget = Target<UserResource>;

/// The user as the write left it: the command knows the full state, so no
/// read-back is needed.
fn respond(
    state: &AppState,
    id: &str,
    user: &UserState,
    status: StatusCode,
    selection: &Selection,
) -> Response {
    let json = render(user.to_json(id), state.base_url(), USERS, id, selection);
    let location = (status == StatusCode::CREATED).then(|| USERS.location(state, id));
    scim_json(status, &json, Some(user.version), location.as_deref())
}

pub async fn create(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    Extension(request_id): Extension<RequestId>,
    Query(query): QueryPairs,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    let selection = Selection::from_query(&query)?;
    let (id, user) = UserCommands::new(&state, &tenant, &request_id.0)
        .create(&body)
        .await?;
    Ok(respond(&state, &id, &user, StatusCode::CREATED, &selection))
}

pub async fn get(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    target: UserTarget,
) -> Result<Response, ApiError> {
    listing::get_one(&state, &tenant, USERS, &target, Members::Exclude).await
}

pub async fn list(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    Query(query): QueryPairs,
) -> Result<Response, ApiError> {
    let request = ListRequest::from_query(&query)?;
    listing::list(&state, &tenant, USERS, &request).await
}

pub async fn search(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    let request = ListRequest::from_search_body(&body)?;
    listing::list(&state, &tenant, USERS, &request).await
}

pub async fn replace(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    Extension(request_id): Extension<RequestId>,
    target: UserTarget,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    let user = UserCommands::new(&state, &tenant, &request_id.0)
        .replace(&target.id, target.if_match, &body)
        .await?;
    Ok(respond(
        &state,
        &target.id,
        &user,
        StatusCode::OK,
        &target.selection,
    ))
}

pub async fn patch(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    Extension(request_id): Extension<RequestId>,
    target: UserTarget,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    let user = UserCommands::new(&state, &tenant, &request_id.0)
        .patch(&target.id, target.if_match, &body)
        .await?;
    Ok(respond(
        &state,
        &target.id,
        &user,
        StatusCode::OK,
        &target.selection,
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    Extension(request_id): Extension<RequestId>,
    target: UserTarget,
) -> Result<Response, ApiError> {
    UserCommands::new(&state, &tenant, &request_id.0)
        .delete(&target.id, target.if_match)
        .await?;
    Ok(no_content())
}

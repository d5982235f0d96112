use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use scim_rpc::directory::ResourceKind;

use super::listing;
use super::render::{Selection, is_plausible_id, render};
use crate::commands::UserCommands;
use crate::directory::{Members, TenantContext};
use crate::error::ApiError;
use crate::http::{
    ListRequest, ScimBody, if_match, if_none_match, no_content, not_modified, scim_json,
};
use crate::middleware::RequestId;
use crate::state::AppState;

type QueryPairs = Query<Vec<(String, String)>>;

fn location(state: &AppState, id: &str) -> String {
    format!("{}/Users/{id}", state.base_url())
}

pub async fn create(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    Extension(request_id): Extension<RequestId>,
    Query(query): QueryPairs,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    let (id, user) = UserCommands::new(&state, &tenant, &request_id.0)
        .create(&body)
        .await?;
    let location = location(&state, &id);
    let json = render(
        user.to_json(&id),
        &location,
        scim_model::schema::user(),
        &Selection::from_query(&query),
    );
    Ok(scim_json(
        StatusCode::CREATED,
        &json,
        Some(user.version),
        Some(&location),
    ))
}

pub async fn get(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    Path(id): Path<String>,
    Query(query): QueryPairs,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !is_plausible_id(&id) {
        return Err(ApiError::NotFound(format!("User {id} not found")));
    }
    let user = state
        .directory()
        .get(&tenant, ResourceKind::User, &id, Members::Exclude)
        .await?;
    if if_none_match(&headers)? == Some(user.version) {
        return Ok(not_modified(user.version));
    }
    let location = location(&state, &id);
    let json = render(
        user.json,
        &location,
        scim_model::schema::user(),
        &Selection::from_query(&query),
    );
    Ok(scim_json(StatusCode::OK, &json, Some(user.version), None))
}

pub async fn list(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    Query(query): QueryPairs,
) -> Result<Response, ApiError> {
    let request = ListRequest::from_query(&query)?;
    listing::list(&state, &tenant, listing::USERS, &request).await
}

pub async fn search(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    let request = ListRequest::from_search_body(&body)?;
    listing::list(&state, &tenant, listing::USERS, &request).await
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
        return Err(ApiError::NotFound(format!("User {id} not found")));
    }
    let expected = if_match(&headers)?;
    let user = UserCommands::new(&state, &tenant, &request_id.0)
        .update(&id, expected, "replace", |current| {
            scim_model::prepare_replaced_user(current, &body)
        })
        .await?;
    let json = render(
        user.to_json(&id),
        &location(&state, &id),
        scim_model::schema::user(),
        &Selection::from_query(&query),
    );
    Ok(scim_json(StatusCode::OK, &json, Some(user.version), None))
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
        return Err(ApiError::NotFound(format!("User {id} not found")));
    }
    let expected = if_match(&headers)?;
    let operations = scim_model::parse_patch_request(&body)?;
    let user = UserCommands::new(&state, &tenant, &request_id.0)
        .update(&id, expected, "patch", |current| {
            scim_model::apply_user_patch(current, &operations)
        })
        .await?;
    let json = render(
        user.to_json(&id),
        &location(&state, &id),
        scim_model::schema::user(),
        &Selection::from_query(&query),
    );
    Ok(scim_json(StatusCode::OK, &json, Some(user.version), None))
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    Extension(request_id): Extension<RequestId>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !is_plausible_id(&id) {
        return Err(ApiError::NotFound(format!("User {id} not found")));
    }
    let expected = if_match(&headers)?;
    UserCommands::new(&state, &tenant, &request_id.0)
        .delete(&id, expected)
        .await?;
    Ok(no_content())
}

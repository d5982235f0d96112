//! Reading: one resource by id (RFC 7644 §3.4.1), and listing and searching
//! (§3.4.2–§3.4.3) with index paging and RFC 9865 cursor paging, for one
//! resource type or across all of them.

use axum::http::StatusCode;
use axum::response::Response;
use scim_model::{QueryShape, ScimError};
use scim_rpc::directory::ResourceKind;
use serde_json::{Value, json};

use super::render::render;
use super::resource_type::{ALL, ResourceType};
use super::target::{Selection, Target, TargetType};
use crate::directory::{ListParams, Members, TenantContext};
use crate::error::ApiError;
use crate::http::{LIST_RESPONSE_SCHEMA, ListRequest, not_modified, scim_json};
use crate::state::AppState;

/// Which slice of the results a request asks for.
#[derive(Debug, Clone, PartialEq)]
struct Window {
    /// Zero-based position of the first result.
    offset: u64,
    count: u64,
    cursor_mode: bool,
}

fn window(
    state: &AppState,
    request: &ListRequest,
    shape: &QueryShape<'_>,
) -> Result<Window, ApiError> {
    let config = state.config();
    let Some(cursor) = request.cursor.as_deref() else {
        let start_index = request.start_index.unwrap_or(1).max(1);
        return Ok(Window {
            offset: start_index - 1,
            count: request
                .count
                .unwrap_or(config.default_page_size)
                .min(config.max_page_size),
            cursor_mode: false,
        });
    };
    if request.start_index.is_some() {
        return Err(ScimError::InvalidValue(
            "startIndex and cursor cannot be combined: use one pagination method".into(),
        )
        .into());
    }
    let count = request.count.unwrap_or(config.default_page_size);
    if count > config.max_page_size {
        return Err(ScimError::InvalidCount(format!(
            "count {count} exceeds the maximum page size of {}",
            config.max_page_size
        ))
        .into());
    }
    // An empty cursor asks for the first page in cursor mode (RFC 9865 §2).
    let offset = if cursor.is_empty() {
        0
    } else {
        scim_model::decode_cursor(shape, cursor)?
    };
    Ok(Window {
        offset,
        count,
        cursor_mode: true,
    })
}

fn shape<'a>(resource_type: &'a str, request: &'a ListRequest) -> QueryShape<'a> {
    QueryShape {
        resource_type,
        filter: request.filter.as_deref().unwrap_or_default(),
        sort_by: request.sort_by.as_deref().unwrap_or_default(),
        descending: request.sort_descending,
    }
}

/// `GET /<Type>/{id}`, answering 304 when `If-None-Match` names the
/// current version.
pub async fn get_one(
    state: &AppState,
    tenant: &TenantContext,
    listed: ResourceType,
    target: &Target<impl TargetType>,
    members: Members,
) -> Result<Response, ApiError> {
    let resource = state
        .directory()
        .get(tenant, listed.kind, &target.id, members)
        .await?;
    if target.if_none_match == Some(resource.version) {
        return Ok(not_modified(resource.version));
    }
    let json = render(
        resource.json,
        state.base_url(),
        listed,
        &target.id,
        &target.selection,
    );
    Ok(scim_json(
        StatusCode::OK,
        &json,
        Some(resource.version),
        None,
    ))
}

/// `GET /<Type>` and `POST /<Type>/.search`.
pub async fn list(
    state: &AppState,
    tenant: &TenantContext,
    listed: ResourceType,
    request: &ListRequest,
) -> Result<Response, ApiError> {
    let shape = shape(listed.name, request);
    let window = window(state, request, &shape)?;
    let selection = Selection::from_list(request);
    let (total, resources) = fetch(state, tenant, listed, request, &selection, &window).await?;
    Ok(respond(&shape, &window, total, resources))
}

/// `POST /.search` at the root: every resource type, users first. A filter
/// naming attributes one type lacks simply matches none of that type.
pub async fn search_all(
    state: &AppState,
    tenant: &TenantContext,
    request: &ListRequest,
) -> Result<Response, ApiError> {
    let shape = shape("*", request);
    let window = window(state, request, &shape)?;
    let selection = Selection::from_list(request);
    let mut total = 0;
    let mut resources = Vec::new();
    let mut answered = 0;
    let mut first_error = None;
    let mut remaining = window.clone();
    for listed in ALL {
        match fetch(state, tenant, listed, request, &selection, &remaining).await {
            Ok((type_total, page)) => {
                answered += 1;
                // The next type's slice starts where this type's results end.
                remaining.offset = remaining.offset.saturating_sub(type_total);
                remaining.count = remaining.count.saturating_sub(page.len() as u64);
                total += type_total;
                resources.extend(page);
            }
            Err(ApiError::Scim(ScimError::InvalidFilter(detail))) => {
                first_error.get_or_insert(ApiError::Scim(ScimError::InvalidFilter(detail)));
            }
            Err(other) => return Err(other),
        }
    }
    match (answered, first_error) {
        (0, Some(error)) => Err(error),
        _ => Ok(respond(&shape, &window, total, resources)),
    }
}

async fn fetch(
    state: &AppState,
    tenant: &TenantContext,
    listed: ResourceType,
    request: &ListRequest,
    selection: &Selection,
    window: &Window,
) -> Result<(u64, Vec<Value>), ApiError> {
    let (total, found) = state
        .directory()
        .list(
            tenant,
            listed.kind,
            ListParams {
                filter: request.filter.clone().unwrap_or_default(),
                start_index: window.offset + 1,
                count: window.count,
                sort_by: request.sort_by.clone().unwrap_or_default(),
                descending: request.sort_descending,
                exclude_members: listed.kind != ResourceKind::Group || selection.excludes_members(),
            },
        )
        .await?;
    let resources = found
        .into_iter()
        .map(|resource| {
            render(
                resource.json,
                state.base_url(),
                listed,
                &resource.id,
                selection,
            )
        })
        .collect();
    Ok((total, resources))
}

fn respond(shape: &QueryShape<'_>, window: &Window, total: u64, resources: Vec<Value>) -> Response {
    let page_len = resources.len() as u64;
    let mut body = json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "itemsPerPage": page_len,
        "Resources": resources,
    });
    if window.cursor_mode {
        let (next, previous) =
            scim_model::neighbour_cursors(shape, window.offset, page_len, window.count, total);
        if let Some(next) = next {
            body["nextCursor"] = json!(next);
        }
        if let Some(previous) = previous {
            body["previousCursor"] = json!(previous);
        }
    } else {
        body["startIndex"] = json!(window.offset + 1);
    }
    scim_json(StatusCode::OK, &body, None, None)
}

//! The public HTTP surface: `/scim/v2/...` and nothing else. Health and metrics are on the
//! ops port (`GATEWAY_METRICS_ADDR`, `service_kit::ops_http`).

mod bulk;
mod canonical_path;
mod discovery;
mod groups;
mod listing;
mod render;
pub(crate) mod resource_type;
mod target;
mod users;

use axum::extract::State;
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use axum::{Extension, Router};
use tower_http::catch_panic::CatchPanicLayer;

use crate::directory::TenantContext;
use crate::error::ApiError;
use crate::http::{ListRequest, ScimBody};
use crate::middleware::{authenticate, observe, panic_response};
use crate::state::AppState;

pub use canonical_path::canonicalize;

pub fn router(state: AppState) -> Router {
    let resources = Router::new()
        .route("/Users", scim_methods(get(users::list).post(users::create)))
        .route("/Users/.search", scim_methods(post(users::search)))
        .route(
            "/Users/{id}",
            scim_methods(
                get(users::get)
                    .put(users::replace)
                    .patch(users::patch)
                    .delete(users::delete),
            ),
        )
        .route(
            "/Groups",
            scim_methods(get(groups::list).post(groups::create)),
        )
        .route("/Groups/.search", scim_methods(post(groups::search)))
        .route(
            "/Groups/{id}",
            scim_methods(
                get(groups::get)
                    .put(groups::replace)
                    .patch(groups::patch)
                    .delete(groups::delete),
            ),
        )
        .route("/.search", scim_methods(post(search_all)))
        .route("/Bulk", scim_methods(post(bulk::bulk)))
        .route_layer(from_fn_with_state(state.clone(), authenticate));

    let discovery = Router::new()
        .route(
            "/ServiceProviderConfig",
            scim_methods(get(discovery::service_provider_config)),
        )
        .route("/Schemas", scim_methods(get(discovery::schemas)))
        .route("/Schemas/{id}", scim_methods(get(discovery::schema)))
        .route(
            "/ResourceTypes",
            scim_methods(get(discovery::resource_types)),
        )
        .route(
            "/ResourceTypes/{id}",
            scim_methods(get(discovery::resource_type)),
        );

    Router::new()
        .nest("/scim/v2", resources.merge(discovery))
        .fallback(not_found)
        .layer(CatchPanicLayer::custom({
            let metrics = state.metrics().clone();
            move |panic| panic_response(&metrics, panic)
        }))
        .layer(from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Unsupported methods answer a SCIM 405 body rather than axum's empty one.
fn scim_methods(router: MethodRouter<AppState>) -> MethodRouter<AppState> {
    router.fallback(|| async {
        ApiError::MethodNotAllowed("this method is not supported on this endpoint".into())
    })
}

/// `POST /.search` at the root: all resource types at once (RFC 7644 §3.4.3).
async fn search_all(
    State(state): State<AppState>,
    Extension(tenant): Extension<TenantContext>,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    let request = ListRequest::from_search_body(&body)?;
    listing::search_all(&state, &tenant, &request).await
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}

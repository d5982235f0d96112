//! Cross-cutting request handling: request ids, spans, metrics, bearer-token
//! authentication and the record of rejected requests.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use scim_events::{Actor, AggregateKind, EventEnvelope, EventPayload, Rejection};
use scim_model::limits;
use tracing::Instrument;

use crate::auth_failures::{self, AuthFailure};
use crate::directory::TenantContext;
use crate::error::{ApiError, RejectionInfo};
use crate::metrics::{GatewayMetrics, HttpLabels};
use crate::routes::resource_type::ResourceType;
use crate::state::AppState;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id that ties a request to its events and audit records.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Outermost layer: request id, a span parented on the caller's trace, and
/// request metrics labelled by route template (never by raw path).
pub async fn observe(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.is_empty() && value.len() <= 128)
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().clone();
    let span = tracing::info_span!("http.request", http.method = %method, http.route = %route, request_id = %request_id);
    telemetry::propagation::set_remote_parent(
        &span,
        telemetry::propagation::extract_http(request.headers()),
    );

    let started = Instant::now();
    let mut response = next.run(request).instrument(span).await;
    let labels = HttpLabels {
        method: metric_method(&method).to_owned(),
        route,
        status: response.status().as_u16(),
    };
    state.metrics().record(&labels, started.elapsed());
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// Authenticates the bearer token for SCIM resource routes and records every
/// error response given to an authenticated tenant as a `RequestRejected`
/// event, so the provisioning log shows rejected requests too (I7).
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default();
    let token = match bearer_token(&request) {
        Ok(token) => token.to_owned(),
        Err(error) => {
            state
                .auth_failures()
                .observe(AuthFailure::NoBearerToken, None, &request_id);
            return error.into_response();
        }
    };
    let tenant = match state.authenticate(&token).await {
        Ok(tenant) => tenant,
        Err(error) => {
            refused(&state, &error, &method, &path, &request_id).await;
            return error.into_response();
        }
    };
    request.extensions_mut().insert(tenant.clone());
    let admission = match state.tenant_limiter().admit(&tenant.tenant_id) {
        Ok(admission) => admission,
        Err(refused) => {
            state.metrics().tenant_throttled.inc();
            let response = ApiError::TooManyRequests(refused.reason).into_response();
            if refused.record {
                let info = response.extensions().get::<RejectionInfo>().cloned();
                record_rejection(&state, &tenant, &method, &path, &request_id, 429, info).await;
            }
            return response;
        }
    };
    let timeout = state.config().request_timeout;
    let response = match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        // Whatever the request had appended stays appended and is visible once the
        // projections catch up; the client is told to retry, as after any 503.
        Err(_) => ApiError::Unavailable(format!(
            "the request did not complete within {} ms (GATEWAY_REQUEST_TIMEOUT_MS); retry",
            timeout.as_millis()
        ))
        .into_response(),
    };
    drop(admission);
    if response.status().is_client_error() || response.status().is_server_error() {
        let info = response.extensions().get::<RejectionInfo>().cloned();
        record_rejection(
            &state,
            &tenant,
            &method,
            &path,
            &request_id,
            response.status().as_u16(),
            info,
        )
        .await;
    }
    response
}

/// Makes a failed authentication visible: counted, logged (rate-limited) and, for a token of a
/// known configuration, recorded in its tenant's provisioning log.
async fn refused(
    state: &AppState,
    error: &ApiError,
    method: &Method,
    path: &str,
    request_id: &str,
) {
    let failures = state.auth_failures();
    match error {
        ApiError::TokenRefused(refusal) => {
            failures.observe(
                AuthFailure::of_refusal(refusal),
                Some(&refusal.prefix),
                request_id,
            );
            if let Some(tenant) = failures.to_record(refusal) {
                let info = RejectionInfo {
                    scim_type: None,
                    detail: auth_failures::recorded_detail(refusal),
                };
                record_rejection(state, &tenant, method, path, request_id, 401, Some(info)).await;
            }
        }
        ApiError::Unauthorized(_) => failures.observe(AuthFailure::Malformed, None, request_id),
        // The directory could not answer (503 and the like): not an authentication failure.
        _ => {}
    }
}

/// The method as a metric label: any token is a valid HTTP method, so unknown ones share one
/// label instead of each creating a time series.
fn metric_method(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The last resort for a bug: a handler that panics answers 500 for its own request and
/// leaves a log line with the request's id (the span of [`observe`] is current here). The
/// process, and every other tenant's request, carries on.
pub fn panic_response(
    metrics: &GatewayMetrics,
    panic: Box<dyn std::any::Any + Send + 'static>,
) -> Response {
    let message = service_kit::lifecycle::panic_text(&panic);
    metrics.panics.inc();
    tracing::error!(panic = %message, "request handler panicked");
    ApiError::Internal(format!("handler panicked: {message}")).into_response()
}

fn bearer_token(request: &Request) -> Result<&str, ApiError> {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthorized(
            "an Authorization: Bearer token is required",
        ))?;
    let value = header
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the Authorization header is not valid text"))?;
    let (scheme, token) = value.split_once(' ').ok_or(ApiError::Unauthorized(
        "the Authorization header must be 'Bearer <token>'",
    ))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::Unauthorized(
            "the Authorization header must be 'Bearer <token>'",
        ));
    }
    Ok(token.trim())
}

/// Bytes of an error detail kept in the provisioning log.
const MAX_RECORDED_DETAIL_BYTES: usize = 2048;

pub(crate) async fn record_rejection(
    state: &AppState,
    tenant: &TenantContext,
    method: &Method,
    path: &str,
    request_id: &str,
    status: u16,
    info: Option<RejectionInfo>,
) {
    let (resource_type, target_id) = target_of(path);
    // What a rejected request carried is often exactly what made it invalid (a 10 KB id, a
    // NUL): it is recorded, but only as much of it as every read model can store.
    let rejection = Rejection {
        method: limits::storable_prefix(method.as_str(), 16),
        path: limits::storable_prefix(path, limits::MAX_PATH_BYTES),
        status,
        scim_type: info.as_ref().and_then(|info| info.scim_type.clone()),
        detail: info
            .map(|info| limits::storable_prefix(&info.detail, MAX_RECORDED_DETAIL_BYTES))
            .unwrap_or_default(),
        resource_type,
        target_id: target_id.filter(|id| limits::is_valid_id(id)),
        target_name: None,
    };
    let event = EventEnvelope::new(
        tenant.tenant_id.clone(),
        AggregateKind::Request,
        uuid::Uuid::now_v7().to_string(),
        Actor {
            config_id: Some(tenant.config_id.clone()),
            token_id: Some(tenant.token_id.clone()),
            system: None,
            admin: None,
        },
        request_id,
        EventPayload::RequestRejected(rejection),
    );
    if let Err(error) = state.store().append_unchecked(&event).await {
        // The client's answer does not depend on this, but the gap in the
        // provisioning log must be visible to operators.
        tracing::error!(%error, request_id, "could not record a rejected request");
        state.metrics().rejections_unrecorded.inc();
    }
}

/// ("User", Some(id)) for `/scim/v2/Users/<id>`, etc.
fn target_of(path: &str) -> (Option<String>, Option<String>) {
    let mut segments = path.trim_end_matches('/').rsplit('/');
    let last = segments.next().unwrap_or_default();
    let before = segments.next().unwrap_or_default();
    let kind = |segment: &str| ResourceType::by_endpoint(segment).map(|t| t.name.to_owned());
    match (kind(before), kind(last)) {
        (Some(kind), _) if !last.starts_with('.') => (Some(kind), Some(last.to_owned())),
        (_, Some(kind)) => (Some(kind), None),
        _ => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_read_from_resource_paths() {
        assert_eq!(
            target_of("/scim/v2/Users/abc"),
            (Some("User".into()), Some("abc".into()))
        );
        assert_eq!(target_of("/scim/v2/Groups"), (Some("Group".into()), None));
        assert_eq!(target_of("/scim/v2/Users/.search"), (None, None));
        assert_eq!(target_of("/scim/v2/Bulk"), (None, None));
    }

    #[allow(clippy::panic)]
    async fn boom() -> &'static str {
        panic!("bug in a handler")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_and_the_server_goes_on() {
        use axum::routing::get;
        use tower::ServiceExt as _;

        let metrics = GatewayMetrics::new(&mut prometheus_client::registry::Registry::default());
        let layer_metrics = metrics.clone();
        let app = axum::Router::new()
            .route("/boom", get(boom))
            .route("/fine", get(|| async { "ok" }))
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(
                move |panic| panic_response(&layer_metrics, panic),
            ));
        let get = |uri: &str| {
            Request::builder()
                .uri(uri)
                .body(axum::body::Body::empty())
                .unwrap()
        };
        let response = app.clone().oneshot(get("/boom")).await.unwrap();
        assert_eq!(response.status(), 500);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body["detail"], "internal error",
            "the cause stays in the log"
        );
        assert_eq!(metrics.panics.get(), 1);
        let response = app.oneshot(get("/fine")).await.unwrap();
        assert_eq!(response.status(), 200);
    }

    #[test]
    fn unknown_methods_share_one_metric_label() {
        assert_eq!(metric_method(&Method::PATCH), "PATCH");
        let custom = Method::from_bytes(b"AAAA0001").unwrap();
        assert_eq!(metric_method(&custom), "OTHER");
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_required() {
        let request = |value: &str| {
            Request::builder()
                .header(header::AUTHORIZATION, value)
                .body(axum::body::Body::empty())
                .unwrap()
        };
        assert_eq!(bearer_token(&request("Bearer abc")).unwrap(), "abc");
        assert_eq!(bearer_token(&request("bearer abc")).unwrap(), "abc");
        assert!(bearer_token(&request("non-token")).is_err());
        assert!(bearer_token(&request("Basic abc")).is_err());
        assert!(bearer_token(&request("Bearer ")).is_err());
    }
}

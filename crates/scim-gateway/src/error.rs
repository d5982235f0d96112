//! The one place where failures become HTTP/SCIM responses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use event_store::{AppendError, StoreError};
use scim_model::ScimError;
use serde_json::{Value, json};
use thiserror::Error;

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// gRPC metadata key the directory uses to pass a SCIM `scimType` along.
const SCIM_TYPE_METADATA: &str = "x-scim-type";
/// All a client learns about a bearer token that was refused.
const REFUSED_TOKEN: &str = "the bearer token is invalid, expired or revoked";

#[derive(Debug, Error)]
pub enum ApiError {
    #[error("{}", .0.detail())]
    Scim(#[from] ScimError),
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 401 for a well-formed token the directory refused; the refusal (whose token, why) is
    /// for the gateway's log and the tenant's provisioning log, never for the client.
    #[error("{}", REFUSED_TOKEN)]
    TokenRefused(Box<scim_rpc::directory::TokenRefusal>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    PreconditionFailed(String),
    /// 409 without a `scimType`: e.g. a bulk operation whose `bulkId`
    /// reference cannot be resolved (RFC 7644 §3.7.3).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    NotImplemented(String),
    /// Retryable: the write is durable but could not be confirmed visible,
    /// or a dependency is down.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
    /// 500 that says what happened: the write is stored, but a projection quarantined it,
    /// so it will not be visible until an operator retries it.
    #[error("{0}")]
    Quarantined(String),
    /// 429: the tenant is over its limit on this replica.
    #[error("{}", .0.detail())]
    TooManyRequests(crate::tenant_limits::Throttled),
}

/// What the rejection recorder needs to know about an error response.
#[derive(Debug, Clone)]
pub struct RejectionInfo {
    pub scim_type: Option<String>,
    pub detail: String,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Scim(error) => {
                StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST)
            }
            Self::Unauthorized(_) | Self::TokenRefused(_) => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Quarantined(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn scim_type(&self) -> Option<&'static str> {
        match self {
            Self::Scim(error) => error.scim_type(),
            _ => None,
        }
    }

    /// 412: the resource is not at the version `If-Match` named, whether it already was not
    /// when loaded or changed before the write could append.
    pub fn version_mismatch() -> Self {
        Self::PreconditionFailed(
            "If-Match does not match the current version of the resource".into(),
        )
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        Self::Internal(error.to_string())
    }

    /// The SCIM Error body (RFC 7644 §3.12) and the `detail` it carries.
    pub fn to_body(&self) -> (Value, String) {
        let status = self.status();
        let detail = match self {
            // Internal details go to the log, not to the client.
            Self::Internal(message) => {
                tracing::error!(%message, "internal error");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": status.as_u16().to_string(),
            "detail": detail,
        });
        if let Some(scim_type) = self.scim_type() {
            body["scimType"] = json!(scim_type);
        }
        (body, detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let scim_type = self.scim_type();
        let retry_after = match &self {
            Self::TooManyRequests(throttled) => Some(throttled.retry_after_seconds()),
            _ => None,
        };
        let (body, detail) = self.to_body();
        let mut response = (status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(SCIM_CONTENT_TYPE),
        );
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(RejectionInfo {
            scim_type: scim_type.map(str::to_owned),
            detail,
        });
        response
    }
}

impl From<tonic::Status> for ApiError {
    fn from(status: tonic::Status) -> Self {
        use tonic::Code;
        let message = status.message().to_owned();
        match status.code() {
            Code::NotFound => Self::NotFound(message),
            Code::InvalidArgument => {
                let scim_type = status
                    .metadata()
                    .get(SCIM_TYPE_METADATA)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("invalidValue");
                Self::Scim(match scim_type {
                    "invalidFilter" => ScimError::InvalidFilter(message),
                    "invalidPath" => ScimError::InvalidPath(message),
                    "invalidSyntax" => ScimError::InvalidSyntax(message),
                    "tooMany" => ScimError::TooMany(message),
                    _ => ScimError::InvalidValue(message),
                })
            }
            Code::Unauthenticated => {
                match <scim_rpc::directory::TokenRefusal as prost::Message>::decode(
                    status.details(),
                ) {
                    Ok(refusal) if !status.details().is_empty() => {
                        Self::TokenRefused(Box::new(refusal))
                    }
                    _ => Self::Unauthorized(REFUSED_TOKEN),
                }
            }
            Code::DeadlineExceeded | Code::Unavailable => Self::Unavailable(message),
            Code::DataLoss => Self::Quarantined(message),
            _ => Self::Internal(format!("directory: {status}")),
        }
    }
}

impl From<scim_model::BulkError> for ApiError {
    fn from(error: scim_model::BulkError) -> Self {
        match error {
            scim_model::BulkError::TooManyOperations { .. } => {
                Self::PayloadTooLarge(error.to_string())
            }
            scim_model::BulkError::Invalid(error) => Self::Scim(error),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::JetStream { .. } => {
                Self::Unavailable(format!("event store unavailable: {error}"))
            }
            StoreError::Unstorable { .. } => Self::Scim(ScimError::InvalidValue(
                "the request holds a control character that cannot be stored".into(),
            )),
            StoreError::TooLarge { bytes, max_bytes } => Self::PayloadTooLarge(format!(
                "the change this request makes is {bytes} bytes as an event; one event holds at \
                 most {max_bytes} bytes (the NATS server's max_payload less {header} bytes for \
                 headers): send the members in smaller requests",
                header = event_store::HEADER_ALLOWANCE
            )),
            other => Self::internal(other),
        }
    }
}

impl From<AppendError> for ApiError {
    fn from(error: AppendError) -> Self {
        match error {
            AppendError::Conflict { .. } => Self::version_mismatch(),
            AppendError::Store(error) => error.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn errors_render_as_scim_error_bodies() {
        let response =
            ApiError::Scim(ScimError::Uniqueness("userName taken".into())).into_response();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        assert_eq!(response.headers()[header::CONTENT_TYPE], SCIM_CONTENT_TYPE);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["status"], "409");
        assert_eq!(body["scimType"], "uniqueness");
        assert_eq!(body["schemas"][0], ERROR_SCHEMA);
    }

    #[tokio::test]
    async fn unauthorized_carries_a_challenge_and_no_scim_type() {
        let response = ApiError::Unauthorized("no token").into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["status"], "401");
        assert!(body.get("scimType").is_none());
    }

    #[tokio::test]
    async fn an_event_too_large_for_the_store_is_a_413_that_names_the_limit() {
        let response = ApiError::from(StoreError::TooLarge {
            bytes: 1_100_000,
            max_bytes: 1_044_480,
        })
        .into_response();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["status"], "413");
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.contains("1100000")
                && detail.contains("1044480")
                && detail.contains("max_payload"),
            "{detail}"
        );
    }

    #[test]
    fn a_lost_append_race_under_if_match_says_what_a_stale_if_match_says() {
        let lost = ApiError::from(AppendError::Conflict { expected: 3 });
        let stale = ApiError::version_mismatch();
        assert_eq!(lost.status(), StatusCode::PRECONDITION_FAILED);
        assert_eq!(lost.to_string(), stale.to_string());
    }

    #[tokio::test]
    async fn internal_errors_hide_their_cause() {
        let response = ApiError::internal("password=hunter2").into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let recorded = response.extensions().get::<RejectionInfo>().cloned();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(!body.contains("hunter2"), "{body}");
        assert!(body.contains("internal error"), "{body}");
        let recorded = recorded.map(|info| info.detail).unwrap_or_default();
        assert!(
            !recorded.contains("hunter2"),
            "the provisioning log sees only {recorded:?}"
        );
    }

    #[tokio::test]
    async fn too_many_requests_carry_retry_after() {
        let response = ApiError::TooManyRequests(crate::tenant_limits::Throttled::Rate {
            limit: 5,
            retry_after: std::time::Duration::from_millis(2500),
        })
        .into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
    }
}

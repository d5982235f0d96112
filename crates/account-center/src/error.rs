//! Every way a console page or API call can fail, and the one place each becomes an HTTP
//! status and a message. Pages wrap it in [`PageError`] to render it as HTML; the API
//! renders it as JSON.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("sign in first: your session has ended or you have not signed in")]
    NotSignedIn,
    #[error(
        "this sign-in link has already been used or has expired; ask your vendor for a new one"
    )]
    InvalidSignInLink,
    #[error(
        "the form was stale or not sent by the account center (CSRF check failed); reload the page and try again"
    )]
    CsrfRejected,
    #[error("only the operator may do this")]
    OperatorOnly,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("a service the account center needs is unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotSignedIn => StatusCode::UNAUTHORIZED,
            Self::InvalidSignInLink => StatusCode::GONE,
            Self::CsrfRejected | Self::OperatorOnly => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::InvalidInput(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) | Self::FailedPrecondition(_) => StatusCode::CONFLICT,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Database(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the person is told. Internal causes stay in the log, under a reference the
    /// person can quote.
    pub fn public_message(&self) -> String {
        match self {
            Self::Database(_) | Self::Internal(_) => {
                let reference = uuid::Uuid::new_v4();
                tracing::error!(error = %self, %reference, "account center request failed");
                format!("something went wrong on our side (reference {reference})")
            }
            other => other.to_string(),
        }
    }
}

impl From<tonic::Status> for AppError {
    fn from(status: tonic::Status) -> Self {
        let message = status.message().to_owned();
        match status.code() {
            tonic::Code::NotFound => Self::NotFound(message),
            tonic::Code::InvalidArgument | tonic::Code::OutOfRange => Self::InvalidInput(message),
            tonic::Code::AlreadyExists => Self::Conflict(message),
            tonic::Code::FailedPrecondition => Self::FailedPrecondition(message),
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded => Self::Unavailable(message),
            code => Self::Internal(format!("{code:?}: {message}")),
        }
    }
}

/// The API's rendering: `{"status": 404, "error": "…"}`.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = json!({ "status": status.as_u16(), "error": self.public_message() });
        let mut response = (status, Json(body)).into_response();
        if matches!(self, Self::NotSignedIn) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// A page's failure, rendered as a page in the console's layout.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if matches!(self.0, AppError::NotSignedIn) {
            return axum::response::Redirect::to("/signed-out").into_response();
        }
        let status = self.0.status();
        (
            status,
            crate::views::error_page(status, &self.0.public_message()),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_codes_map_to_http_statuses() {
        let cases = [
            (tonic::Code::NotFound, StatusCode::NOT_FOUND),
            (tonic::Code::InvalidArgument, StatusCode::BAD_REQUEST),
            (tonic::Code::AlreadyExists, StatusCode::CONFLICT),
            (tonic::Code::FailedPrecondition, StatusCode::CONFLICT),
            (tonic::Code::Unavailable, StatusCode::SERVICE_UNAVAILABLE),
            (
                tonic::Code::Unauthenticated,
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (code, status) in cases {
            assert_eq!(
                AppError::from(tonic::Status::new(code, "x")).status(),
                status,
                "{code:?}"
            );
        }
    }

    #[test]
    fn internal_causes_are_not_shown() {
        let message = AppError::Internal("password=hunter2".into()).public_message();
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.contains("reference"), "{message}");
        assert_eq!(
            AppError::NotFound("configuration x not found".into()).public_message(),
            "configuration x not found"
        );
    }
}

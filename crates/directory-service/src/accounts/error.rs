//! The account center's errors and their mapping to a gRPC status, keeping database details
//! in the log.

use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    InvalidArgument(String),
    /// The request is valid but the resource's state does not allow it (rotating a revoked
    /// or expired token).
    #[error("{0}")]
    FailedPrecondition(String),
    /// Deliberately carries no reason: telling a caller whether a token was
    /// unknown, revoked or expired helps an attacker more than an operator.
    #[error("invalid or expired access token")]
    Unauthenticated,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<AccountError> for Status {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::NotFound(message) => Status::not_found(message),
            AccountError::AlreadyExists(message) => Status::already_exists(message),
            AccountError::InvalidArgument(message) => Status::invalid_argument(message),
            AccountError::FailedPrecondition(message) => Status::failed_precondition(message),
            AccountError::Unauthenticated => {
                Status::unauthenticated(AccountError::Unauthenticated.to_string())
            }
            AccountError::Database(error) => database_status(&error),
        }
    }
}

// Database messages name tables, constraints and sometimes values, so the
// client gets a generic message and the details go to the log.
fn database_status(error: &sqlx::Error) -> Status {
    match error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            tracing::debug!(error = %db, "unique violation");
            Status::already_exists("resource already exists")
        }
        // Transient: worth a retry by the caller.
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            tracing::warn!(error = %error, "database unavailable");
            Status::unavailable("database unavailable")
        }
        _ => {
            tracing::error!(error = %error, "account store database error");
            Status::internal("internal error")
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use tonic::Code;

    use super::*;

    #[test]
    fn variants_map_to_matching_codes() {
        let cases = [
            (AccountError::NotFound("x".into()), Code::NotFound),
            (AccountError::AlreadyExists("x".into()), Code::AlreadyExists),
            (
                AccountError::InvalidArgument("x".into()),
                Code::InvalidArgument,
            ),
            (
                AccountError::FailedPrecondition("x".into()),
                Code::FailedPrecondition,
            ),
            (AccountError::Unauthenticated, Code::Unauthenticated),
            (
                AccountError::Database(sqlx::Error::PoolTimedOut),
                Code::Unavailable,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(Status::from(error).code(), code);
        }
    }

    #[test]
    fn internal_errors_are_not_leaked() {
        let error = AccountError::Database(sqlx::Error::Protocol(
            "relation \"access_tokens\" is secret".into(),
        ));
        let status = Status::from(error);
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("access_tokens"));
    }
}

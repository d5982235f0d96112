//! The account center's errors and their mapping to a gRPC status, keeping database details
//! in the log.

use scim_rpc::directory::TokenRefusal;
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
    /// A well-formed token, refused: its presenter is told no more than for
    /// [`Self::Unauthenticated`], but the gateway learns why and, for a token this service
    /// issued, whose it was (from the status details), to record the attempt in that
    /// tenant's provisioning log.
    #[error("invalid or expired access token")]
    TokenRefused(TokenRefusal),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl AccountError {
    /// Whether the token was refused, whatever the reason.
    pub fn is_unauthenticated(&self) -> bool {
        matches!(self, Self::Unauthenticated | Self::TokenRefused(_))
    }
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
            AccountError::TokenRefused(refusal) => Status::with_details(
                tonic::Code::Unauthenticated,
                AccountError::Unauthenticated.to_string(),
                prost::Message::encode_to_vec(&refusal).into(),
            ),
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

    #[test]
    fn a_refused_token_says_no_more_to_its_presenter_but_names_its_tenant_in_the_details() {
        let refusal = TokenRefusal {
            tenant_id: "t1".into(),
            config_id: "c1".into(),
            token_id: "k1".into(),
            prefix: "scimtok_AbCd".into(),
            reason: scim_rpc::directory::token_refusal::Reason::Revoked.into(),
        };
        let status = Status::from(AccountError::TokenRefused(refusal.clone()));
        let unknown = Status::from(AccountError::Unauthenticated);
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(status.message(), unknown.message());
        assert!(unknown.details().is_empty());
        let decoded: TokenRefusal = prost::Message::decode(status.details()).unwrap();
        assert_eq!(decoded, refusal);
    }
}

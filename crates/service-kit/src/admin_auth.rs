//! The operator credential for admin gRPC APIs.

use subtle::ConstantTimeEq;

#[derive(Clone)]
pub struct OperatorAuth {
    expected: std::sync::Arc<str>,
}

impl OperatorAuth {
    pub fn new(admin_token: &str) -> Self {
        Self {
            expected: admin_token.into(),
        }
    }

    /// Whether an `Authorization` header value carries the operator credential.
    pub fn accepts(&self, header: Option<&str>) -> bool {
        let Some(presented) = header.and_then(|value| value.strip_prefix("Bearer ")) else {
            return false;
        };
        bool::from(presented.as_bytes().ct_eq(self.expected.as_bytes()))
    }
}

impl tonic::service::Interceptor for OperatorAuth {
    fn call(&mut self, request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|value| value.to_str().ok());
        if self.accepts(header) {
            Ok(request)
        } else {
            Err(tonic::Status::unauthenticated(
                "operator credential required",
            ))
        }
    }
}

/// Adds the operator credential to outgoing admin calls.
#[derive(Clone)]
pub struct OperatorCredential {
    header: tonic::metadata::MetadataValue<tonic::metadata::Ascii>,
}

impl OperatorCredential {
    pub fn new(admin_token: &str) -> Result<Self, tonic::metadata::errors::InvalidMetadataValue> {
        Ok(Self {
            header: format!("Bearer {admin_token}").parse()?,
        })
    }
}

impl tonic::service::Interceptor for OperatorCredential {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        request
            .metadata_mut()
            .insert("authorization", self.header.clone());
        Ok(request)
    }
}

/// Metadata key by which a caller acting for a person (the account center for a
/// signed-in admin) names that person, e.g. `admin:<admin id>:<email>`.
pub const ACTOR_METADATA: &str = "x-scim-actor";

/// The actor recorded when a call names nobody: the operator's own credential.
pub const OPERATOR_ACTOR: &str = "operator";

/// Longest actor name kept; anything longer is not a name we issued.
const MAX_ACTOR_CHARS: usize = 320;

/// Who a state-changing admin call acts for, for the provisioning log: the
/// [`ACTOR_METADATA`] value when present and printable, else [`OPERATOR_ACTOR`].
pub fn acting_admin(metadata: &tonic::metadata::MetadataMap) -> String {
    metadata
        .get(ACTOR_METADATA)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|actor| {
            !actor.is_empty()
                && actor.chars().count() <= MAX_ACTOR_CHARS
                && !actor.chars().any(char::is_control)
        })
        .map_or_else(|| OPERATOR_ACTOR.to_owned(), str::to_owned)
}

/// Adds the acting person to an outgoing admin call.
pub fn name_actor<T>(
    request: &mut tonic::Request<T>,
    actor: &str,
) -> Result<(), tonic::metadata::errors::InvalidMetadataValue> {
    request
        .metadata_mut()
        .insert(ACTOR_METADATA, actor.parse()?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_acting_admin_is_the_named_person_or_the_operator() {
        let mut request = tonic::Request::new(());
        assert_eq!(acting_admin(request.metadata()), OPERATOR_ACTOR);
        name_actor(&mut request, "admin:a1:ada@example.com").unwrap();
        assert_eq!(acting_admin(request.metadata()), "admin:a1:ada@example.com");
        name_actor(&mut request, &"x".repeat(MAX_ACTOR_CHARS + 1)).unwrap();
        assert_eq!(acting_admin(request.metadata()), OPERATOR_ACTOR);
        name_actor(&mut request, "  ").unwrap();
        assert_eq!(acting_admin(request.metadata()), OPERATOR_ACTOR);
    }

    #[test]
    fn only_the_exact_bearer_token_is_accepted() {
        let auth = OperatorAuth::new("s3cret");
        assert!(auth.accepts(Some("Bearer s3cret")));
        assert!(!auth.accepts(Some("Bearer s3cre")));
        assert!(!auth.accepts(Some("s3cret")));
        assert!(!auth.accepts(None));
    }
}

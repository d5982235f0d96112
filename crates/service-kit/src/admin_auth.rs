//! The operator credentials for admin gRPC APIs: `ADMIN_TOKEN`, the deployment's own (the
//! account center calls with it, naming the signed-in admin it acts for), and any number of
//! named credentials for people and automation (`OPERATOR_CREDENTIALS`), configured by the
//! SHA-256 of their secret so that the configuration never holds a usable secret. A call made
//! with a named credential is recorded as that operator's (`operator:<name>`), whatever actor
//! it names.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A named operator credential as configured: who, and the SHA-256 of the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedOperator {
    pub name: String,
    pub secret_sha256: [u8; 32],
}

/// Longest operator name.
const MAX_OPERATOR_NAME_CHARS: usize = 64;

impl NamedOperator {
    /// `name:<64 hex digits>` entries, separated by commas or whitespace.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, String> {
        let mut operators: Vec<Self> = Vec::new();
        for entry in text.split(|c: char| c == ',' || c.is_whitespace()) {
            if entry.is_empty() {
                continue;
            }
            let (name, digest) = entry
                .split_once(':')
                .ok_or_else(|| format!("{entry:?} is not name:<sha-256 of the secret in hex>"))?;
            let valid_name = !name.is_empty()
                && name.chars().count() <= MAX_OPERATOR_NAME_CHARS
                && name.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                });
            if !valid_name {
                return Err(format!(
                    "operator name {name:?} must be 1-{MAX_OPERATOR_NAME_CHARS} characters of \
                     [a-z0-9._-]"
                ));
            }
            let mut secret_sha256 = [0u8; 32];
            hex::decode_to_slice(digest, &mut secret_sha256).map_err(|_| {
                format!("the digest of {name:?} must be 64 hex digits (sha256sum of the secret)")
            })?;
            if operators.iter().any(|operator| operator.name == name) {
                return Err(format!("operator {name:?} is named twice"));
            }
            operators.push(Self {
                name: name.to_owned(),
                secret_sha256,
            });
        }
        Ok(operators)
    }
}

/// Who an accepted admin call comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operator {
    /// `ADMIN_TOKEN`: the deployment itself (and the account center acting for an admin).
    Deployment,
    Named(String),
}

impl Operator {
    /// The actor recorded for what this operator does itself.
    pub fn actor(&self) -> String {
        match self {
            Self::Deployment => OPERATOR_ACTOR.to_owned(),
            Self::Named(name) => format!("{OPERATOR_ACTOR}:{name}"),
        }
    }
}

#[derive(Clone)]
pub struct OperatorAuth {
    deployment_sha256: [u8; 32],
    named: std::sync::Arc<[NamedOperator]>,
}

impl OperatorAuth {
    pub fn new(admin_token: &str) -> Self {
        Self::with_named(admin_token, Vec::new())
    }

    pub fn with_named(admin_token: &str, named: Vec<NamedOperator>) -> Self {
        Self {
            deployment_sha256: Sha256::digest(admin_token.as_bytes()).into(),
            named: named.into(),
        }
    }

    /// The credentials of `config`: its `ADMIN_TOKEN` and `OPERATOR_CREDENTIALS`.
    pub fn of(config: &crate::config::CommonConfig) -> Self {
        Self::with_named(&config.admin_token, config.operator_credentials.clone())
    }

    /// Who an `Authorization` header value identifies, if anyone. Every credential is
    /// compared, in constant time, whichever matches.
    pub fn identify(&self, header: Option<&str>) -> Option<Operator> {
        let presented = header.and_then(|value| value.strip_prefix("Bearer "))?;
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        if bool::from(digest.ct_eq(&self.deployment_sha256)) {
            found = Some(Operator::Deployment);
        }
        for operator in self.named.iter() {
            if bool::from(digest.ct_eq(&operator.secret_sha256)) && found.is_none() {
                found = Some(Operator::Named(operator.name.clone()));
            }
        }
        found
    }

    /// Whether an `Authorization` header value carries an operator credential.
    pub fn accepts(&self, header: Option<&str>) -> bool {
        self.identify(header).is_some()
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

    fn sha256_hex(secret: &str) -> String {
        hex::encode(Sha256::digest(secret.as_bytes()))
    }

    #[test]
    fn named_credentials_are_configured_by_digest_and_checked() {
        let list = format!(
            "alice:{}, ci-bot:{}",
            sha256_hex("alice-secret-0123456789"),
            sha256_hex("bot-secret-0123456789")
        );
        let named = NamedOperator::parse_list(&list).unwrap();
        assert_eq!(named.len(), 2);
        let auth = OperatorAuth::with_named("deployment-secret-0123", named);
        assert_eq!(
            auth.identify(Some("Bearer alice-secret-0123456789")),
            Some(Operator::Named("alice".into()))
        );
        assert_eq!(
            auth.identify(Some("Bearer bot-secret-0123456789")),
            Some(Operator::Named("ci-bot".into()))
        );
        assert_eq!(
            auth.identify(Some("Bearer deployment-secret-0123")),
            Some(Operator::Deployment)
        );
        // The digest itself is not a credential.
        let digest = format!("Bearer {}", sha256_hex("alice-secret-0123456789"));
        assert_eq!(auth.identify(Some(&digest)), None);
        assert_eq!(auth.identify(Some("Bearer alice-secret-012345678")), None);
    }

    #[test]
    fn malformed_credential_lists_are_refused_with_the_reason() {
        let digest = sha256_hex("x");
        for (list, says) in [
            ("alice".to_owned(), "is not name:"),
            (format!("Alice:{digest}"), "[a-z0-9._-]"),
            ("alice:abcd".to_owned(), "64 hex digits"),
            (format!("alice:{digest},alice:{digest}"), "named twice"),
        ] {
            let error = NamedOperator::parse_list(&list).unwrap_err();
            assert!(error.contains(says), "{list}: {error}");
        }
        assert_eq!(NamedOperator::parse_list(" , ").unwrap(), Vec::new());
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

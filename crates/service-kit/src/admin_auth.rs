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

    fn accepts(&self, header: Option<&str>) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_is_accepted() {
        let auth = OperatorAuth::new("s3cret");
        assert!(auth.accepts(Some("Bearer s3cret")));
        assert!(!auth.accepts(Some("Bearer s3cre")));
        assert!(!auth.accepts(Some("s3cret")));
        assert!(!auth.accepts(None));
    }
}

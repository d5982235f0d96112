//! Who may call a gRPC service. A caller is a service, named by the certificate it
//! presented (issued by the deployment's CA, checked by TLS before a call gets here), or an
//! operator, named by an operator credential. Each gRPC service admits the callers that
//! need it and nobody else; health checks are not behind a policy.

use rustls_pki_types::ServerName;

use crate::admin_auth::{ACTOR_METADATA, Operator, OperatorAuth};

/// The services, by the name their certificate carries (also their binary's and their
/// Kubernetes Service's name).
pub const SCIM_GATEWAY: &str = "scim-gateway";
pub const ACCOUNT_CENTER: &str = "account-center";
pub const DIRECTORY_SERVICE: &str = "directory-service";
pub const LICENSE_SERVICE: &str = "license-service";
pub const AUDIT_SERVICE: &str = "audit-service";

/// Every service identity, for issuing certificates and for naming a refused caller.
pub const ALL_SERVICES: [&str; 5] = [
    SCIM_GATEWAY,
    ACCOUNT_CENTER,
    DIRECTORY_SERVICE,
    LICENSE_SERVICE,
    AUDIT_SERVICE,
];

/// The callers one gRPC service admits.
#[derive(Clone)]
pub struct CallerPolicy {
    services: &'static [&'static str],
    /// Operators (by credential) are admitted when set.
    operators: Option<OperatorAuth>,
}

impl CallerPolicy {
    /// The directory's reads and token checks: the gateway, and the account center (which
    /// shows a tenant's users and groups).
    pub fn directory_reads() -> Self {
        Self {
            services: &[SCIM_GATEWAY, ACCOUNT_CENTER],
            operators: None,
        }
    }

    /// The admin services (accounts, licenses, the provisioning log, quarantine): the
    /// account center, acting for the admin it names, and operators.
    pub fn admin(operators: OperatorAuth) -> Self {
        Self {
            services: &[ACCOUNT_CENTER],
            operators: Some(operators),
        }
    }

    /// The services admitted by certificate (the NetworkPolicies allow the same edges).
    pub fn services(&self) -> &'static [&'static str] {
        self.services
    }

    fn admit(&self, request: &mut tonic::Request<()>) -> Result<(), tonic::Status> {
        if let Some(operators) = &self.operators {
            let header = request
                .metadata()
                .get("authorization")
                .and_then(|value| value.to_str().ok());
            if header.is_some() {
                return match operators.identify(header) {
                    Some(Operator::Deployment) => Ok(()),
                    // A named operator acts as itself: whoever it names is not recorded.
                    Some(named @ Operator::Named(_)) => {
                        let actor = named
                            .actor()
                            .parse()
                            .map_err(|_| tonic::Status::internal("operator name"))?;
                        request.metadata_mut().insert(ACTOR_METADATA, actor);
                        Ok(())
                    }
                    None => Err(tonic::Status::unauthenticated(
                        "the operator credential is not valid",
                    )),
                };
            }
        }
        let Some(certificates) = request.peer_certs() else {
            return Err(tonic::Status::unauthenticated(self.required()));
        };
        let Some(leaf) = certificates
            .first()
            .and_then(|der| webpki::EndEntityCert::try_from(der).ok())
        else {
            return Err(tonic::Status::unauthenticated(self.required()));
        };
        if self
            .services
            .iter()
            .any(|service| certificate_names(&leaf, service))
        {
            return Ok(());
        }
        let named = ALL_SERVICES
            .iter()
            .find(|service| certificate_names(&leaf, service));
        Err(tonic::Status::permission_denied(match named {
            Some(service) => format!("{service} may not call this service"),
            None => "the client certificate names no service".to_owned(),
        }))
    }

    fn required(&self) -> String {
        let services = self.services.join(" or ");
        if self.operators.is_some() {
            format!("a client certificate of {services}, or an operator credential, is required")
        } else {
            format!("a client certificate of {services} is required")
        }
    }
}

impl tonic::service::Interceptor for CallerPolicy {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        self.admit(&mut request)?;
        Ok(request)
    }
}

/// Whether the certificate (parsed once per call) names `service` (a DNS subject
/// alternative name). TLS has already checked that the deployment's CA issued it.
fn certificate_names(certificate: &webpki::EndEntityCert<'_>, service: &str) -> bool {
    ServerName::try_from(service)
        .is_ok_and(|name| certificate.verify_is_valid_for_subject_name(&name).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::CertificateDer;

    fn certificate_of(service: &str) -> CertificateDer<'static> {
        let pki = service_pki::issue("test CA", &[service], &["localhost", "127.0.0.1"]).unwrap();
        let pem = &pki.services[0].cert_pem;
        let body: String = pem
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();
        CertificateDer::from(base64_decode(&body))
    }

    fn base64_decode(text: &str) -> Vec<u8> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap()
    }

    #[test]
    fn a_certificate_names_its_service_and_no_other() {
        let der = certificate_of(SCIM_GATEWAY);
        let gateway = webpki::EndEntityCert::try_from(&der).unwrap();
        assert!(certificate_names(&gateway, SCIM_GATEWAY));
        assert!(!certificate_names(&gateway, ACCOUNT_CENTER));
        assert!(!certificate_names(&gateway, "scim"));
        // The hosts a certificate serves on are names too, but never a service's.
        assert!(certificate_names(&gateway, "localhost"));
    }

    #[test]
    fn a_call_without_a_certificate_or_credential_is_refused_naming_what_is_missing() {
        let mut request = tonic::Request::new(());
        let refused = CallerPolicy::directory_reads()
            .admit(&mut request)
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated);
        assert!(
            refused.message().contains(SCIM_GATEWAY),
            "{}",
            refused.message()
        );

        let mut request = tonic::Request::new(());
        request
            .metadata_mut()
            .insert("authorization", "Bearer guess".parse().unwrap());
        let refused = CallerPolicy::admin(OperatorAuth::new("deployment-secret-0123"))
            .admit(&mut request)
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    }

    #[test]
    fn an_operator_credential_is_no_way_into_the_directory_reads() {
        let mut request = tonic::Request::new(());
        request.metadata_mut().insert(
            "authorization",
            "Bearer deployment-secret-0123".parse().unwrap(),
        );
        let refused = CallerPolicy::directory_reads()
            .admit(&mut request)
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    }

    #[test]
    fn a_named_operator_is_recorded_as_itself_and_the_deployment_as_it_says() {
        use crate::admin_auth::{NamedOperator, acting_admin, name_actor};
        use sha2::Digest as _;
        let digest = hex::encode(sha2::Sha256::digest(b"alice-secret-0123456789"));
        let named = NamedOperator::parse_list(&format!("alice:{digest}")).unwrap();
        let policy = CallerPolicy::admin(OperatorAuth::with_named("deployment-secret-0123", named));
        let call = |token: &str, actor: &str| {
            let mut request = tonic::Request::new(());
            request
                .metadata_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
            name_actor(&mut request, actor).unwrap();
            request
        };
        let mut alice = call("alice-secret-0123456789", "admin:a1:eve@example.com");
        policy.admit(&mut alice).unwrap();
        assert_eq!(acting_admin(alice.metadata()), "operator:alice");
        let mut deployment = call("deployment-secret-0123", "admin:a1:ada@example.com");
        policy.admit(&mut deployment).unwrap();
        assert_eq!(
            acting_admin(deployment.metadata()),
            "admin:a1:ada@example.com"
        );
    }
}

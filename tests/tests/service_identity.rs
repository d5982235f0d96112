//! Every gRPC method but health asks who is calling, and each service answers only the
//! callers that need it: the directory's reads the gateway and the account center; the admin
//! services the account center and operators. Callers are named by the certificate they
//! present (issued by the deployment's CA) or, for operators, by their credential.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use e2e::{ADMIN_TOKEN, TestStack};
use scim_rpc::account::ListTenantsRequest;
use scim_rpc::account::account_admin_client::AccountAdminClient;
use scim_rpc::audit::AuditQueryRequest;
use scim_rpc::audit::audit_query_client::AuditQueryClient;
use scim_rpc::directory::directory_read_client::DirectoryReadClient;
use scim_rpc::directory::{AuthenticateRequest, GetResourceRequest, ResourceKind};
use scim_rpc::license::ListPoolsRequest;
use scim_rpc::license::license_admin_client::LicenseAdminClient;
use scim_rpc::quarantine::ListQuarantinedRequest;
use scim_rpc::quarantine::quarantine_admin_client::QuarantineAdminClient;
use service_kit::admin_auth::OperatorCredential;
use service_kit::callers::{ACCOUNT_CENTER, LICENSE_SERVICE, SCIM_GATEWAY};
use test_support::{anonymous_channel, channel_as};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// The code a directory read answers on `channel` (`Ok` for any answer of the service itself:
/// an unknown resource is `NotFound`, which means the call was let in).
async fn directory_read(channel: Channel) -> Code {
    let answer = DirectoryReadClient::new(channel)
        .get_resource(GetResourceRequest {
            tenant_id: "no-such-tenant".into(),
            kind: ResourceKind::User as i32,
            id: "no-such-user".into(),
            ..Default::default()
        })
        .await;
    match answer {
        Ok(_) => Code::Ok,
        Err(status) if status.code() == Code::NotFound => Code::Ok,
        Err(status) => status.code(),
    }
}

async fn authenticate(channel: Channel) -> tonic::Status {
    DirectoryReadClient::new(channel)
        .authenticate(AuthenticateRequest {
            token: "scim_guessed-token".into(),
        })
        .await
        .unwrap_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_reads_answer_the_gateway_and_the_account_center_only() {
    let stack = TestStack::start().await.unwrap();
    let directory = stack.directory_addr;

    assert_eq!(
        directory_read(channel_as(SCIM_GATEWAY, directory).await).await,
        Code::Ok
    );
    assert_eq!(
        directory_read(channel_as(ACCOUNT_CENTER, directory).await).await,
        Code::Ok
    );
    let refused = DirectoryReadClient::new(channel_as(LICENSE_SERVICE, directory).await)
        .get_resource(GetResourceRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(
        refused.message().contains(LICENSE_SERVICE),
        "the refusal names the caller: {}",
        refused.message()
    );
    assert_eq!(
        directory_read(anonymous_channel(directory).await).await,
        Code::Unauthenticated
    );
    // An operator's credential is not a way in either: operators do not read tenants' users
    // through the directory.
    let operator = tonic::service::interceptor::InterceptedService::new(
        anonymous_channel(directory).await,
        OperatorCredential::new(ADMIN_TOKEN).unwrap(),
    );
    let refused = DirectoryReadClient::new(operator)
        .get_resource(GetResourceRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);

    // Token checks are no oracle for whoever reaches the port: without the gateway's
    // certificate the directory does not even look the token up.
    assert_eq!(
        authenticate(anonymous_channel(directory).await)
            .await
            .code(),
        Code::Unauthenticated
    );
    let as_gateway = authenticate(channel_as(SCIM_GATEWAY, directory).await).await;
    assert_eq!(as_gateway.code(), Code::Unauthenticated);
    assert!(
        !as_gateway.message().contains("certificate"),
        "the gateway gets the directory's own refusal, not the policy's: {}",
        as_gateway.message()
    );

    // Health stays open: a probe has no certificate.
    let health = HealthClient::new(anonymous_channel(directory).await)
        .check(HealthCheckRequest {
            service: "scim.directory.v1.DirectoryRead".into(),
        })
        .await
        .unwrap();
    assert_eq!(health.into_inner().status, 1, "SERVING");
    stack.stop().await;
}

/// The codes one admin method of each admin service answers on channels made by `channel`.
async fn admin_codes<F, Fut>(stack: &TestStack, channel: F) -> [Code; 4]
where
    F: Fn(std::net::SocketAddr) -> Fut,
    Fut: std::future::Future<Output = Channel>,
{
    let code = |result: Result<(), tonic::Status>| result.err().map_or(Code::Ok, |s| s.code());
    let accounts = AccountAdminClient::new(channel(stack.directory_addr).await)
        .list_tenants(ListTenantsRequest {})
        .await
        .map(drop);
    let licenses = LicenseAdminClient::new(channel(stack.license_addrs[0]).await)
        .list_pools(ListPoolsRequest {
            tenant_id: "no-such-tenant".into(),
        })
        .await
        .map(drop);
    let audit = AuditQueryClient::new(channel(stack.audit_addr).await)
        .query(AuditQueryRequest {
            tenant_id: "no-such-tenant".into(),
            ..Default::default()
        })
        .await
        .map(drop);
    let quarantine = QuarantineAdminClient::new(channel(stack.license_addrs[0]).await)
        .list(ListQuarantinedRequest {})
        .await
        .map(drop);
    [
        code(accounts),
        code(licenses),
        code(audit),
        code(quarantine),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_services_answer_the_account_center_and_operators_only() {
    let stack = TestStack::start().await.unwrap();

    assert_eq!(
        admin_codes(&stack, |addr| channel_as(ACCOUNT_CENTER, addr)).await,
        [Code::Ok; 4]
    );
    assert_eq!(
        admin_codes(&stack, |addr| channel_as(SCIM_GATEWAY, addr)).await,
        [Code::PermissionDenied; 4],
        "the gateway needs no admin API, so it has none"
    );
    assert_eq!(
        admin_codes(&stack, anonymous_channel).await,
        [Code::Unauthenticated; 4]
    );
    // The operator's path: no certificate, the credential in each call.
    let mut accounts = stack.account_admin().await.unwrap();
    accounts.list_tenants(ListTenantsRequest {}).await.unwrap();
    let mut audit = stack.audit().await.unwrap();
    audit
        .query(AuditQueryRequest {
            tenant_id: "no-such-tenant".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    stack.stop().await;
}

/// A call that was cut off before the service could answer or refuse it.
fn assert_no_answer(code: Code) {
    assert!(
        matches!(
            code,
            Code::Unavailable | Code::Cancelled | Code::Unknown | Code::Internal
        ),
        "{code:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_of_another_ca_or_plaintext_gets_no_answer() {
    let stack = TestStack::start().await.unwrap();
    let directory = stack.directory_addr;

    // A certificate that claims to be the gateway, from a CA the deployment does not trust.
    let dir = std::env::temp_dir().join(format!("foreign-pki-{}", uuid::Uuid::new_v4().simple()));
    let foreign = service_pki::issue("someone else's CA", &[SCIM_GATEWAY], &["127.0.0.1"]).unwrap();
    foreign.write(&dir).unwrap();
    let files = service_pki::service_files(&dir, SCIM_GATEWAY);
    let identity = tonic::transport::Identity::from_pem(
        std::fs::read(&files.cert).unwrap(),
        std::fs::read(&files.key).unwrap(),
    );
    let trusted_ca = std::fs::read(test_support::grpc_tls_files(SCIM_GATEWAY).ca).unwrap();
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(trusted_ca))
        .identity(identity);
    let endpoint = tonic::transport::Endpoint::from_shared(format!("https://{directory}"))
        .unwrap()
        .tls_config(tls)
        .unwrap();
    // The handshake fails (with TLS 1.3 the client may only see the connection close after
    // it), so the call gets no answer from the service: neither an answer nor a refusal.
    if let Ok(channel) = endpoint.connect().await {
        assert_no_answer(directory_read(channel).await);
    }
    std::fs::remove_dir_all(&dir).unwrap();

    // Plaintext HTTP/2 to the TLS port: no answer.
    let plaintext = tonic::transport::Endpoint::from_shared(format!("http://{directory}"))
        .unwrap()
        .connect()
        .await;
    if let Ok(channel) = plaintext {
        assert_no_answer(directory_read(channel).await);
    }
    stack.stop().await;
}

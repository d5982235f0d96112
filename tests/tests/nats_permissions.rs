//! I13 on NATS: a private nats-server configured with the users and permissions
//! `scimctl nats server-config` renders, the stream and bucket made by the setup step with the
//! admin credential, and then each service with its own credential. The platform works
//! through a whole provisioning cycle, and the gateway's credential is refused what belongs
//! to others: the server's own permission error is asserted, not a timeout.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use async_nats::{ConnectErrorKind, Event, ServerError};
use e2e::{Projection, StackOptions, TestStack, audit_query, eventually, patch_body, user_body};
use event_store::access::{self, ADMIN_PASSWORD_VARIABLE, ADMIN_USER, Service};
use scim_events::Namespace;
use scim_rpc::account::RevokeConfigTokensRequest;
use scim_rpc::audit::AuditQueryRequest;
use scim_rpc::license::UserLicensesRequest;
use scim_rpc::quarantine::{ListQuarantinedRequest, RetryQuarantinedRequest};
use serde_json::json;
use service_kit::nats::Credential;
use test_support::NatsServer;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(20);

/// A server that enforces the platform's permissions for one namespace, set up by the admin.
struct Secured {
    server: NatsServer,
    namespace: Namespace,
    admin: Credential,
    services: Vec<(Service, Credential)>,
}

impl Secured {
    async fn start() -> Self {
        test_support::init_test_log();
        let name = format!("perm{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let namespace = Namespace::new(name).unwrap();
        let password = || uuid::Uuid::new_v4().simple().to_string();
        let admin = Credential::new(ADMIN_USER, password());
        let mut env = vec![(
            ADMIN_PASSWORD_VARIABLE.to_owned(),
            admin.password().to_owned(),
        )];
        let mut services = Vec::new();
        for service in Service::ALL {
            let credential = Credential::new(service.user(), password());
            env.push((
                service.password_variable().to_owned(),
                credential.password().to_owned(),
            ));
            services.push((service, credential));
        }
        let config = access::render_server_config(&namespace);
        let server = NatsServer::start_with_config(&config, env).await;
        service_kit::nats::setup(
            &server.url(),
            Some(admin.clone()),
            None,
            namespace.clone(),
            &event_store::StoreSettings::default(),
        )
        .await
        .unwrap();
        Self {
            server,
            namespace,
            admin,
            services,
        }
    }

    fn credential(&self, service: Service) -> Credential {
        self.services
            .iter()
            .find(|(named, _)| *named == service)
            .map(|(_, credential)| credential.clone())
            .unwrap()
    }

    async fn admin(&self) -> jetstream::Context {
        let login = service_kit::nats::Login::tool("test-admin", Some(self.admin.clone()));
        jetstream::new(
            service_kit::nats::connect(&self.server.url(), &login)
                .await
                .unwrap(),
        )
    }

    /// Connected as `service` would be (its user, its inbox prefix), reporting the server's
    /// errors on the returned channel.
    async fn connect_as(
        &self,
        service: Service,
    ) -> (async_nats::Client, mpsc::UnboundedReceiver<ServerError>) {
        let (errors, received) = mpsc::unbounded_channel();
        let credential = self.credential(service);
        let client = async_nats::ConnectOptions::with_user_and_password(
            credential.user.clone(),
            credential.password().to_owned(),
        )
        .custom_inbox_prefix(access::inbox_prefix(&self.namespace, service))
        .event_callback(move |event| {
            let errors = errors.clone();
            async move {
                if let Event::ServerError(error) = event {
                    let _ = errors.send(error);
                }
            }
        })
        .connect(self.server.url())
        .await
        .unwrap();
        (client, received)
    }
}

/// Waits for the server's permissions violation naming `subject`.
async fn refused(errors: &mut mpsc::UnboundedReceiver<ServerError>, subject: &str) {
    let wanted = format!("Permissions Violation for Publish to \"{subject}\"");
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        let mut seen = Vec::new();
        while let Some(error) = errors.recv().await {
            if matches!(&error, ServerError::Other(text) if text.eq_ignore_ascii_case(&wanted)) {
                return Ok(());
            }
            seen.push(error.to_string());
        }
        Err(seen)
    })
    .await;
    match seen {
        Ok(Ok(())) => {}
        Ok(Err(seen)) => panic!("no violation for {subject}; the server said {seen:?}"),
        Err(_) => panic!("the server reported no permissions violation for {subject} within 10 s"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_credential_nothing_answers() {
    let secured = Secured::start().await;
    let anonymous = async_nats::connect(secured.server.url()).await;
    let error = anonymous.expect_err("an anonymous connection was accepted");
    assert_eq!(
        error.kind(),
        ConnectErrorKind::AuthorizationViolation,
        "{error}"
    );

    let wrong = async_nats::ConnectOptions::with_user_and_password(
        Service::Gateway.user().into(),
        "not-the-password".into(),
    )
    .connect(secured.server.url())
    .await;
    let error = wrong.expect_err("a wrong password was accepted");
    assert_eq!(
        error.kind(),
        ConnectErrorKind::AuthorizationViolation,
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_credential_is_refused_what_belongs_to_others() {
    let secured = Secured::start().await;
    let namespace = &secured.namespace;
    let stream_name = namespace.stream_name();
    let admin = secured.admin().await;
    // The directory's durable consumer, as the directory makes it.
    let (directory_durable, directory_filter) =
        Service::Directory.durable_consumer(namespace).unwrap();
    admin
        .create_consumer_on_stream(
            pull::Config {
                durable_name: Some(directory_durable.clone()),
                filter_subject: directory_filter.clone(),
                ..Default::default()
            },
            &stream_name,
        )
        .await
        .unwrap();

    let (client, mut errors) = secured.connect_as(Service::Gateway).await;
    let gateway = jetstream::ContextBuilder::new()
        .timeout(Duration::from_secs(2))
        .build(client.clone());

    // What the gateway does is allowed: appending a user event is acknowledged.
    let user_subject = format!("{}.dir.t1.user.u1", namespace.name());
    let ack = gateway
        .publish(user_subject, "{}".into())
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(ack.stream, stream_name);

    // (a) A license decision is the license service's to publish.
    let license_subject = format!("{}.lic.t1.user.u1", namespace.name());
    let publish = gateway.publish(license_subject.clone(), "{}".into()).await;
    assert!(
        publish.unwrap().await.is_err(),
        "a license event was acknowledged"
    );
    refused(&mut errors, &license_subject).await;
    let stored = admin
        .get_stream(&stream_name)
        .await
        .unwrap()
        .direct_get_last_for_subject(&license_subject)
        .await;
    assert!(stored.is_err(), "the license event was stored");

    // (b) The directory's consumer: neither pulled from nor taken over, nor made anew.
    let next = format!("$JS.API.CONSUMER.MSG.NEXT.{stream_name}.{directory_durable}");
    let pulled = tokio::time::timeout(
        Duration::from_secs(2),
        client.request(next.clone(), r#"{"batch":1,"no_wait":true}"#.into()),
    )
    .await;
    assert!(
        !matches!(pulled, Ok(Ok(_))),
        "a pull from the directory's consumer was answered"
    );
    refused(&mut errors, &next).await;
    let created = gateway
        .create_consumer_on_stream(
            pull::Config {
                durable_name: Some(directory_durable.clone()),
                filter_subject: directory_filter.clone(),
                ..Default::default()
            },
            &stream_name,
        )
        .await;
    assert!(created.is_err(), "the directory's consumer was recreated");
    refused(
        &mut errors,
        &format!("$JS.API.CONSUMER.CREATE.{stream_name}.{directory_durable}.{directory_filter}"),
    )
    .await;
    // Nor a consumer of its own that reads what it does not follow.
    let spy = gateway
        .create_consumer_on_stream(
            pull::Config {
                name: Some("spy".into()),
                filter_subject: namespace.all_subjects(),
                ..Default::default()
            },
            &stream_name,
        )
        .await;
    assert!(spy.is_err(), "a consumer of the whole stream was made");
    refused(
        &mut errors,
        &format!(
            "$JS.API.CONSUMER.CREATE.{stream_name}.spy.{}",
            namespace.all_subjects()
        ),
    )
    .await;
    let deleted = gateway
        .delete_consumer_from_stream(&directory_durable, &stream_name)
        .await;
    assert!(deleted.is_err(), "the directory's consumer was deleted");

    // (c) The stream is the operator's.
    let deleted = gateway.delete_stream(&stream_name).await;
    assert!(deleted.is_err(), "the stream was deleted");
    refused(&mut errors, &format!("$JS.API.STREAM.DELETE.{stream_name}")).await;

    // Nothing of it happened: the stream and the directory's consumer are still there.
    let mut stream = admin.get_stream(&stream_name).await.unwrap();
    assert_eq!(stream.info().await.unwrap().state.messages, 1);
    stream.consumer_info(&directory_durable).await.unwrap();
    let log = secured.server.log();
    assert!(
        log.contains(&format!(
            "user:{}\" - Publish Violation - Subject \"{license_subject}\"",
            Service::Gateway.user()
        )),
        "the server's log names the refused user and subject:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_to_one_service_are_not_readable_by_another() {
    let secured = Secured::start().await;
    let (client, mut errors) = secured.connect_as(Service::Gateway).await;
    let directory_inbox = format!(
        "{}.>",
        access::inbox_prefix(&secured.namespace, Service::Directory)
    );
    let _subscription = client.subscribe(directory_inbox.clone()).await.unwrap();
    let wanted = format!("Permissions Violation for Subscription to \"{directory_inbox}\"");
    let error = tokio::time::timeout(Duration::from_secs(10), errors.recv())
        .await
        .expect("no error within 10 s")
        .unwrap();
    assert!(
        matches!(&error, ServerError::Other(text) if text.eq_ignore_ascii_case(&wanted)),
        "{error}"
    );
}

/// The permissions are sufficient: every service on its own credential, one provisioning
/// cycle through all four of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_provisions_with_each_service_on_its_own_credential() {
    let secured = Secured::start().await;
    let stack = TestStack::start_with(StackOptions {
        nats_url: Some(secured.server.url()),
        namespace: Some(secured.namespace.name().to_owned()),
        nats_credentials: secured.services.clone(),
        // Long enough that only the followed revocation can end the token's access in time.
        auth_cache_ttl: Some(Duration::from_secs(300)),
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let tenant = stack.tenant("contoso").await.unwrap();
    stack.pool(&tenant, 5, true).await.unwrap();
    let scim = stack.client(&tenant);

    let created = scim
        .post("/Users", &user_body("alice@contoso.com"))
        .await
        .unwrap();
    assert_eq!(created.status, 201, "{}", created.body);
    let user_id = created.body["id"].as_str().unwrap().to_owned();
    // A second create of the name meets the gateway's claim in the userName bucket.
    let duplicate = scim
        .post("/Users", &user_body("ALICE@contoso.com"))
        .await
        .unwrap();
    assert_eq!(duplicate.status, 409, "{}", duplicate.body);

    let group = scim
        .post(
            "/Groups",
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Sales",
                "members": [{"value": user_id}],
            }),
        )
        .await
        .unwrap();
    assert_eq!(group.status, 201, "{}", group.body);
    let group_id = group.body["id"].as_str().unwrap().to_owned();
    let read = scim.get(&format!("/Groups/{group_id}")).await.unwrap();
    assert_eq!(read.body["members"][0]["value"], user_id.as_str());

    // The license service consumed the user's creation and published its decision.
    let licenses = stack.license_admin(0).await.unwrap();
    eventually(WAIT, || {
        let mut licenses = licenses.clone();
        let request = UserLicensesRequest {
            tenant_id: tenant.tenant_id.clone(),
            user_id: user_id.clone(),
        };
        async move {
            let held = licenses.user_licenses(request).await?.into_inner();
            Ok((!held.assignments.is_empty()).then_some(()))
        }
    })
    .await
    .unwrap();

    let patched = scim
        .patch(
            &format!("/Users/{user_id}"),
            &patch_body(json!([{"op": "replace", "path": "active", "value": false}])),
        )
        .await
        .unwrap();
    assert_eq!(patched.status, 200, "{}", patched.body);

    // The audit service recorded all of it, the license decision included.
    stack
        .audit_records_when(audit_query(&tenant), WAIT, |records| {
            let has = |operation: &str, resource_type: &str| {
                records
                    .iter()
                    .any(|r| r.operation == operation && r.resource_type == resource_type)
            };
            has("create", "User")
                && has("create", "Group")
                && has("patch", "User")
                && records.iter().any(|r| r.operation == "license.assign")
        })
        .await
        .unwrap();

    // A poison event (written past the gateway, here by the admin): each projection sets it
    // aside and announces it in the tenant's log (a publish on `<ns>.rej.>`), and an
    // operator's retry reads it back by sequence (a direct get).
    let poison_id = uuid::Uuid::now_v7().to_string();
    let poison = scim_events::EventEnvelope::new(
        tenant.tenant_id.clone(),
        scim_events::AggregateKind::User,
        &poison_id,
        scim_events::Actor::default(),
        "poison-test",
        scim_events::EventPayload::UserCreated {
            resource: json!({"userName": "nul@contoso.com", "title": "x\u{0}y", "active": true}),
        },
    );
    let subject = secured
        .namespace
        .aggregate_subject(
            &tenant.tenant_id,
            scim_events::AggregateKind::User,
            &poison_id,
        )
        .unwrap();
    let sequence = secured
        .admin()
        .await
        .publish(subject, poison.to_json().unwrap().into())
        .await
        .unwrap()
        .await
        .unwrap()
        .sequence;
    for projection in [Projection::Directory, Projection::Audit] {
        let mut admin = stack.quarantine_admin(projection).await.unwrap();
        eventually(WAIT, || {
            let mut admin = admin.clone();
            async move {
                let listed = admin.list(ListQuarantinedRequest {}).await?.into_inner();
                Ok(listed
                    .events
                    .iter()
                    .any(|event| event.sequence == sequence)
                    .then_some(()))
            }
        })
        .await
        .unwrap();
        let retried = admin
            .retry(RetryQuarantinedRequest { sequence })
            .await
            .unwrap()
            .into_inner()
            .results;
        assert_eq!(retried.len(), 1, "{retried:?}");
        assert!(!retried[0].applied, "{retried:?}");
    }
    stack
        .audit_records_when(
            AuditQueryRequest {
                tenant_id: tenant.tenant_id.clone(),
                operation: "quarantine".into(),
                ..Default::default()
            },
            WAIT,
            |records| {
                records
                    .iter()
                    .any(|record| record.detail.contains(&format!("event {sequence}")))
            },
        )
        .await
        .unwrap();

    // The directory's admin actions reach the gateway's ordered consumer: a revoked token
    // is refused at once, long before the authentication cache would forget it.
    stack
        .account_admin()
        .await
        .unwrap()
        .revoke_config_tokens(RevokeConfigTokensRequest {
            config_id: tenant.config_id.clone(),
        })
        .await
        .unwrap();
    eventually(Duration::from_secs(10), || {
        let scim = scim.clone();
        async move {
            let answer = scim.get("/Users").await?;
            Ok((answer.status == 401).then_some(()))
        }
    })
    .await
    .unwrap();
    stack.stop().await;
    // Sufficient, not merely working around refusals: the server refused nothing.
    let log = secured.server.log();
    assert!(!log.contains("Violation"), "{log}");
}

/// A refused login stops the service at start, with the error in its chain, instead of
/// leaving it waiting for a stream it will never see.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_with_a_wrong_password_does_not_start() {
    let secured = Secured::start().await;
    let mut config = scim_gateway::Config::from_lookup(&test_support::minimal_env).unwrap();
    config.common = service_kit::config::CommonConfig {
        nats_url: secured.server.url(),
        nats_credential: Some(Credential::new(Service::Gateway.user(), "not-the-password")),
        grpc_tls: Some(test_support::grpc_tls_files("scim-gateway")),
        ..e2e::common_config(secured.namespace.name())
    };
    config.http_addr = "127.0.0.1:0".parse().unwrap();
    config.metrics_addr = "127.0.0.1:0".parse().unwrap();
    let built = tokio::time::timeout(
        Duration::from_secs(30),
        scim_gateway::Application::build(config),
    )
    .await
    .expect("the gateway neither started nor failed within 30 s");
    let error = format!("{:#}", built.err().expect("the gateway started"));
    assert!(error.contains("NATS_PASSWORD"), "{error}");
    assert!(!error.contains("not-the-password"), "{error}");
}

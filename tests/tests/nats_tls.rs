//! NATS over TLS: with `NATS_TLS_CA` set, a service (and `scimctl nats setup`) connects only
//! to a server whose certificate chains to that CA, and a server that requires TLS takes no
//! plaintext client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use service_kit::nats::Login;
use test_support::NatsServer;

/// A nats-server that requires TLS, with a certificate for 127.0.0.1 from a CA of its own;
/// and the path of that CA.
async fn tls_server(dir: &std::path::Path) -> (NatsServer, PathBuf) {
    let pki = service_pki::issue("nats test CA", &["nats"], &["127.0.0.1", "localhost"]).unwrap();
    pki.write(dir).unwrap();
    let files = service_pki::service_files(dir, "nats");
    let config = format!(
        "tls {{\n  cert_file: {:?}\n  key_file: {:?}\n}}\n",
        files.cert.display().to_string(),
        files.key.display().to_string()
    );
    (
        NatsServer::start_with_config(&config, Vec::new()).await,
        files.ca,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_servers_ca_the_platform_connects_over_tls_and_without_it_does_not() {
    test_support::init_test_log();
    let dir = std::env::temp_dir().join(format!("nats-tls-{}", uuid::Uuid::new_v4().simple()));
    let (server, ca) = tls_server(&dir).await;

    // The operator's setup and a service's connection, both over TLS.
    let namespace = scim_events::Namespace::new(format!(
        "tls{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    ))
    .unwrap();
    service_kit::nats::setup(
        &server.url(),
        None,
        Some(ca.clone()),
        namespace.clone(),
        &event_store::StoreSettings::default(),
    )
    .await
    .unwrap();
    let client = service_kit::nats::connect(
        &server.url(),
        &Login::tool("tls-test", None).with_tls_ca(Some(ca.clone())),
    )
    .await
    .unwrap();
    let store =
        event_store::EventStore::connect(client, namespace, &event_store::StoreSettings::default())
            .await
            .unwrap();
    assert_eq!(store.last_sequence().await.unwrap(), 0);

    // Without the CA the server's certificate is not trusted; and a client of another CA is
    // not fooled by it either.
    let refused = service_kit::nats::connect(&server.url(), &Login::tool("no-ca", None)).await;
    assert!(refused.is_err(), "connected without the server's CA");
    let other = std::env::temp_dir().join(format!("other-ca-{}", uuid::Uuid::new_v4().simple()));
    service_pki::issue("another CA", &["nats"], &["127.0.0.1"])
        .unwrap()
        .write(&other)
        .unwrap();
    let wrong_ca = Login::tool("wrong-ca", None)
        .with_tls_ca(Some(service_pki::service_files(&other, "nats").ca));
    assert!(
        service_kit::nats::connect(&server.url(), &wrong_ca)
            .await
            .is_err(),
        "connected to a server whose certificate another CA issued"
    );
    std::fs::remove_dir_all(&other).unwrap();
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

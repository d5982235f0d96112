//! Who may do what on NATS: each service's publish and subscribe permissions, derived from
//! the event namespace, and the nats-server `authorization` block that grants them (I13).
//!
//! Pure: no IO. It lives beside the store because the store decides which JetStream APIs a
//! service uses (direct gets, the userName bucket, durable and ordered consumers); a change
//! there that needs another subject is made here in the same commit, and the permission tests
//! against a real server (`tests/tests/nats_permissions.rs`) fail when the two disagree.
//!
//! What the grants rest on:
//! - Streams and buckets are created by the operator's setup step with the admin credential
//!   (`scimctl nats setup`); services only look them up (`STREAM.INFO`), so no service may
//!   create, update, purge or delete one.
//! - JetStream answers API requests and publish acknowledgements on the requester's reply
//!   inbox, and those answers carry message data. Each service therefore uses an inbox prefix
//!   of its own ([`inbox_prefix`]) and is the only one allowed to subscribe below it.
//! - A projection's durable consumer is recreated at its checkpoint on every start, so its
//!   service may create, delete, inspect, pull from and acknowledge that consumer, by name,
//!   and no other.
//! - The gateway follows admin actions with an ordered consumer, whose name changes each time
//!   the client library recreates it. Consumer names cannot be matched by prefix, so the
//!   gateway may create consumers of any name whose filter is the admin subjects, and pull
//!   from or delete consumers of any name except the projections' durable ones (explicitly
//!   denied): it can neither read nor disturb another service's consumer.

use std::fmt::Write as _;

use scim_events::Namespace;

/// A service that connects to NATS with a credential of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Gateway,
    Directory,
    License,
    Audit,
}

impl Service {
    pub const ALL: [Service; 4] = [
        Service::Gateway,
        Service::Directory,
        Service::License,
        Service::Audit,
    ];

    /// The short name used in consumer names and inbox prefixes.
    pub fn token(self) -> &'static str {
        match self {
            Service::Gateway => "gateway",
            Service::Directory => "directory",
            Service::License => "license",
            Service::Audit => "audit",
        }
    }

    /// The NATS user of the service in the rendered configuration and the deploy manifests.
    pub fn user(self) -> &'static str {
        match self {
            Service::Gateway => "scim-gateway",
            Service::Directory => "scim-directory",
            Service::License => "scim-license",
            Service::Audit => "scim-audit",
        }
    }

    /// The environment variable the nats-server reads this user's password from.
    pub fn password_variable(self) -> &'static str {
        match self {
            Service::Gateway => "SCIM_GATEWAY_NATS_PASSWORD",
            Service::Directory => "SCIM_DIRECTORY_NATS_PASSWORD",
            Service::License => "SCIM_LICENSE_NATS_PASSWORD",
            Service::Audit => "SCIM_AUDIT_NATS_PASSWORD",
        }
    }

    /// The durable consumer of the service's projection and the subjects it reads, for the
    /// services that project the stream.
    pub fn durable_consumer(self, namespace: &Namespace) -> Option<(String, String)> {
        let filter = match self {
            Service::Gateway => return None,
            Service::Directory | Service::License => namespace.directory_subjects(),
            Service::Audit => namespace.all_subjects(),
        };
        Some((namespace.consumer_name(self.token()), filter))
    }

    /// Subjects of the stream the service appends to. Every projection may append a notice
    /// of an event it quarantined, which is a rejection (`<ns>.rej.…`).
    fn appends_to(self, namespace: &Namespace) -> Vec<String> {
        let root = namespace.name();
        let categories: &[&str] = match self {
            // Users and groups, and rejected requests.
            Service::Gateway => &["dir", "rej"],
            // Admin actions on configurations and tokens (its outbox).
            Service::Directory => &["adm", "rej"],
            // License decisions, and admin actions on pools (its outbox).
            Service::License => &["lic", "adm", "rej"],
            Service::Audit => &["rej"],
        };
        categories
            .iter()
            .map(|category| format!("{root}.{category}.>"))
            .collect()
    }
}

/// The user that creates streams and buckets: full rights, used by the setup step only.
pub const ADMIN_USER: &str = "scim-admin";
/// The environment variable the nats-server reads the admin password from.
pub const ADMIN_PASSWORD_VARIABLE: &str = "SCIM_ADMIN_NATS_PASSWORD";

/// The reply-inbox prefix of `service` in `namespace` (`ConnectOptions::custom_inbox_prefix`).
pub fn inbox_prefix(namespace: &Namespace, service: Service) -> String {
    format!("_INBOX_{}_{}", namespace.name(), service.token())
}

/// What one user may publish and subscribe to. Anything not allowed is refused; a deny wins
/// over an allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions {
    pub publish_allow: Vec<String>,
    pub publish_deny: Vec<String>,
    pub subscribe_allow: Vec<String>,
}

const API: &str = "$JS.API";

/// The permissions `service` needs in `namespace`, and no more.
pub fn permissions(namespace: &Namespace, service: Service) -> Permissions {
    let stream = namespace.stream_name();
    let bucket = namespace.username_bucket();
    let bucket_stream = format!("KV_{bucket}");
    let mut publish_allow = service.appends_to(namespace);
    // Looking the stream and the bucket up: every service opens both at start.
    publish_allow.push(format!("{API}.STREAM.INFO.{stream}"));
    publish_allow.push(format!("{API}.STREAM.INFO.{bucket_stream}"));
    let mut publish_deny = Vec::new();
    match service.durable_consumer(namespace) {
        Some((durable, filter)) => {
            publish_allow.extend([
                format!("{API}.CONSUMER.CREATE.{stream}.{durable}.{filter}"),
                format!("{API}.CONSUMER.DELETE.{stream}.{durable}"),
                format!("{API}.CONSUMER.INFO.{stream}.{durable}"),
                format!("{API}.CONSUMER.MSG.NEXT.{stream}.{durable}"),
                format!("$JS.ACK.{stream}.{durable}.>"),
                // An event by sequence, for an operator retrying a quarantined one.
                format!("{API}.DIRECT.GET.{stream}"),
            ]);
        }
        None => {
            let directory = namespace.directory_subjects();
            let admin = namespace.admin_subjects();
            publish_allow.extend([
                // The userName claims: writes are publishes to `$KV.<bucket>.<key>`, reads
                // are direct gets of the key's last message.
                format!("$KV.{bucket}.>"),
                format!("{API}.DIRECT.GET.{bucket_stream}.$KV.{bucket}.>"),
                // A user's or group's last event (its state and version).
                format!("{API}.DIRECT.GET.{stream}.{directory}"),
                // The ordered consumer following admin actions (see the module comment).
                format!("{API}.CONSUMER.CREATE.{stream}.*.{admin}"),
                format!("{API}.CONSUMER.DELETE.{stream}.*"),
                format!("{API}.CONSUMER.MSG.NEXT.{stream}.*"),
            ]);
            for other in Service::ALL {
                if let Some((durable, _)) = other.durable_consumer(namespace) {
                    publish_deny.extend([
                        format!("{API}.CONSUMER.CREATE.{stream}.{durable}"),
                        format!("{API}.CONSUMER.CREATE.{stream}.{durable}.>"),
                        format!("{API}.CONSUMER.DELETE.{stream}.{durable}"),
                        format!("{API}.CONSUMER.MSG.NEXT.{stream}.{durable}"),
                    ]);
                }
            }
        }
    }
    Permissions {
        publish_allow,
        publish_deny,
        subscribe_allow: vec![format!("{}.>", inbox_prefix(namespace, service))],
    }
}

/// The nats-server `authorization` block for `namespace`: the admin user with full rights and
/// one user per service with [`permissions`]. Passwords are not in it: each is a reference to
/// an environment variable of the nats-server process ([`Service::password_variable`],
/// [`ADMIN_PASSWORD_VARIABLE`]), so the file holds no secret; the variable may hold the
/// password itself or its bcrypt hash (`nats server passwd`). With users defined, the server
/// refuses connections without a credential.
pub fn render_server_config(namespace: &Namespace) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# NATS users and permissions of the SCIM platform, event namespace {:?}.\n\
         # Generated by `scimctl nats server-config`; passwords come from the environment.",
        namespace.name()
    );
    out.push_str("authorization {\n  users = [\n");
    let _ = writeln!(
        out,
        "    {{ user: {}, password: ${ADMIN_PASSWORD_VARIABLE} }}",
        quote(ADMIN_USER)
    );
    for service in Service::ALL {
        let permissions = permissions(namespace, service);
        let _ = writeln!(
            out,
            "    {{\n      user: {}\n      password: ${}\n      permissions: {{\n        \
             publish: {{\n          allow: {}\n          deny: {}\n        }}\n        \
             subscribe: {{\n          allow: {}\n        }}\n      }}\n    }}",
            quote(service.user()),
            service.password_variable(),
            list(&permissions.publish_allow, 12),
            list(&permissions.publish_deny, 12),
            list(&permissions.subscribe_allow, 12),
        );
    }
    out.push_str("  ]\n}\n");
    out
}

/// The Secret (in the NATS server's namespace) the Helm values read the passwords from.
pub const SERVER_SECRET: &str = "scim-nats-users";

/// The Secret (in the NATS server's namespace) with the server's TLS certificate and key
/// (`tls.crt`, `tls.key`): the chart's client port takes only TLS connections.
pub const SERVER_TLS_SECRET: &str = "nats-server-tls";

/// The same users and permissions as [`render_server_config`], as values for the official
/// NATS Helm chart (1.x), with TLS on the client port (certificate from
/// [`SERVER_TLS_SECRET`]): merged into its server configuration, with each password a
/// `<< $VARIABLE >>` reference that the chart leaves unquoted, and each variable taken from
/// the Secret [`SERVER_SECRET`] by the key of its own name.
pub fn render_helm_values(namespace: &Namespace) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Values for the official NATS Helm chart (nats/nats 1.x): the NATS users and \
         permissions\n# of the SCIM platform, event namespace {:?}. Generated by\n\
         # `scimctl nats server-config --format helm`; a test fails when it differs.\n\
         # Install: see deploy/k8s/README.md and docs/operations.md.",
        namespace.name()
    );
    let _ = writeln!(
        out,
        "config:\n  nats:\n    tls:\n      enabled: true\n      secretName: {SERVER_TLS_SECRET}"
    );
    out.push_str("  merge:\n    authorization:\n      users:\n");
    let mut variables = vec![ADMIN_PASSWORD_VARIABLE];
    let _ = writeln!(
        out,
        "        - user: {}\n          password: \"<< ${ADMIN_PASSWORD_VARIABLE} >>\"",
        quote(ADMIN_USER)
    );
    for service in Service::ALL {
        let permissions = permissions(namespace, service);
        variables.push(service.password_variable());
        let _ = writeln!(
            out,
            "        - user: {}\n          password: \"<< ${} >>\"\n          permissions:\n            \
             publish:\n              allow:{}\n              deny:{}\n            \
             subscribe:\n              allow:{}",
            quote(service.user()),
            service.password_variable(),
            yaml_list(&permissions.publish_allow, 16),
            yaml_list(&permissions.publish_deny, 16),
            yaml_list(&permissions.subscribe_allow, 16),
        );
    }
    out.push_str("container:\n  env:\n");
    for variable in variables {
        let _ = writeln!(
            out,
            "    {variable}:\n      valueFrom:\n        secretKeyRef:\n          \
             name: {SERVER_SECRET}\n          key: {variable}"
        );
    }
    out
}

fn yaml_list(items: &[String], indent: usize) -> String {
    if items.is_empty() {
        return " []".to_owned();
    }
    let pad = " ".repeat(indent);
    items
        .iter()
        .map(|item| format!("\n{pad}- {}", quote(item)))
        .collect()
}

/// A quoted string: quoted subjects are taken literally, where an unquoted `$JS…` would be
/// read as a variable reference.
fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

fn list(items: &[String], indent: usize) -> String {
    if items.is_empty() {
        return "[]".to_owned();
    }
    let pad = " ".repeat(indent);
    let mut out = String::from("[\n");
    for item in items {
        let _ = writeln!(out, "{pad}  {}", quote(item));
    }
    out.push_str(&pad);
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scim() -> Namespace {
        Namespace::new("scim").unwrap()
    }

    /// Whether `pattern` (with `*` and `>`) matches `subject`, as nats-server matches
    /// permissions.
    fn matches(pattern: &str, subject: &str) -> bool {
        let mut pattern = pattern.split('.');
        let mut subject = subject.split('.');
        loop {
            match (pattern.next(), subject.next()) {
                (Some(">"), Some(_)) => return true,
                (Some("*"), Some(_)) => {}
                (Some(p), Some(s)) if p == s => {}
                (None, None) => return true,
                _ => return false,
            }
        }
    }

    fn may_publish(permissions: &Permissions, subject: &str) -> bool {
        permissions
            .publish_allow
            .iter()
            .any(|pattern| matches(pattern, subject))
            && !permissions
                .publish_deny
                .iter()
                .any(|pattern| matches(pattern, subject))
    }

    #[test]
    fn the_gateway_appends_users_groups_and_rejections_only() {
        let gateway = permissions(&scim(), Service::Gateway);
        assert!(may_publish(&gateway, "scim.dir.t1.user.u1"));
        assert!(may_publish(&gateway, "scim.rej.t1.request.r1"));
        assert!(may_publish(&gateway, "$KV.SCIM_USERNAMES.t1.abc"));
        assert!(!may_publish(&gateway, "scim.lic.t1.user.u1"));
        assert!(!may_publish(&gateway, "scim.adm.t1.config.c1"));
    }

    #[test]
    fn only_the_license_service_appends_license_decisions() {
        for service in Service::ALL {
            assert_eq!(
                may_publish(&permissions(&scim(), service), "scim.lic.t1.user.u1"),
                service == Service::License,
                "{service:?}"
            );
        }
    }

    #[test]
    fn no_service_may_create_change_purge_or_delete_a_stream() {
        for service in Service::ALL {
            let granted = permissions(&scim(), service);
            for stream in ["SCIM_EVENTS", "KV_SCIM_USERNAMES"] {
                for verb in ["CREATE", "UPDATE", "DELETE", "PURGE", "MSG.DELETE"] {
                    let subject = format!("$JS.API.STREAM.{verb}.{stream}");
                    assert!(!may_publish(&granted, &subject), "{service:?} {subject}");
                }
                let info = format!("$JS.API.STREAM.INFO.{stream}");
                assert!(may_publish(&granted, &info), "{service:?} {info}");
            }
        }
    }

    #[test]
    fn each_service_uses_its_own_consumer_and_no_other() {
        let namespace = scim();
        for service in Service::ALL {
            let granted = permissions(&namespace, service);
            for other in Service::ALL {
                let Some((durable, filter)) = other.durable_consumer(&namespace) else {
                    continue;
                };
                let own = other == service;
                for (subject, granted_to_owner) in [
                    (
                        format!("$JS.API.CONSUMER.CREATE.SCIM_EVENTS.{durable}.{filter}"),
                        true,
                    ),
                    // Made with another filter only when its own covers it (the audit's).
                    (
                        format!("$JS.API.CONSUMER.CREATE.SCIM_EVENTS.{durable}.scim.adm.>"),
                        filter == "scim.>",
                    ),
                    (
                        format!("$JS.API.CONSUMER.DELETE.SCIM_EVENTS.{durable}"),
                        true,
                    ),
                    (
                        format!("$JS.API.CONSUMER.MSG.NEXT.SCIM_EVENTS.{durable}"),
                        true,
                    ),
                    (format!("$JS.ACK.SCIM_EVENTS.{durable}.1.2.3.4.5"), true),
                ] {
                    assert_eq!(
                        may_publish(&granted, &subject),
                        own && granted_to_owner,
                        "{service:?} {subject}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_gateway_follows_admin_actions_with_consumers_of_its_own_only() {
        let gateway = permissions(&scim(), Service::Gateway);
        assert!(may_publish(
            &gateway,
            "$JS.API.CONSUMER.CREATE.SCIM_EVENTS.revocations_1.scim.adm.>"
        ));
        assert!(may_publish(
            &gateway,
            "$JS.API.CONSUMER.MSG.NEXT.SCIM_EVENTS.revocations_1"
        ));
        // Not with another filter: it could then read through the consumer what it follows.
        assert!(!may_publish(
            &gateway,
            "$JS.API.CONSUMER.CREATE.SCIM_EVENTS.revocations_1.scim.>"
        ));
        assert!(!may_publish(
            &gateway,
            "$JS.API.CONSUMER.CREATE.SCIM_EVENTS.revocations_1"
        ));
    }

    #[test]
    fn replies_are_readable_by_their_own_service_only() {
        let namespace = scim();
        for service in Service::ALL {
            let inbox = format!("{}.abc.def", inbox_prefix(&namespace, service));
            for other in Service::ALL {
                let subscribed = permissions(&namespace, other)
                    .subscribe_allow
                    .iter()
                    .any(|pattern| matches(pattern, &inbox));
                assert_eq!(subscribed, other == service, "{other:?} on {inbox}");
            }
        }
        assert_eq!(
            inbox_prefix(&namespace, Service::Gateway),
            "_INBOX_scim_gateway"
        );
    }

    #[test]
    fn the_server_config_names_every_user_and_quotes_every_subject() {
        let config = render_server_config(&scim());
        assert!(config.contains("{ user: \"scim-admin\", password: $SCIM_ADMIN_NATS_PASSWORD }"));
        for service in Service::ALL {
            assert!(
                config.contains(&format!("user: \"{}\"", service.user())),
                "{config}"
            );
            assert!(
                config.contains(&format!("password: ${}\n", service.password_variable())),
                "{config}"
            );
        }
        assert!(config.contains("\"$JS.API.STREAM.INFO.SCIM_EVENTS\""));
        // Every `$` outside a quoted string is a password reference.
        for line in config.lines() {
            if let Some(at) = line.find('$') {
                assert!(
                    line[..at].ends_with('"') || line.contains("password: $"),
                    "an unquoted $ would be read as a variable: {line}"
                );
            }
        }
        assert_eq!(
            config.matches('{').count(),
            config.matches('}').count(),
            "{config}"
        );
    }

    /// The committed Helm values are what the generator renders for the default namespace:
    /// a permission changed here without regenerating them fails this test.
    #[test]
    fn the_deployed_helm_values_are_generated() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../deploy/k8s/nats/values.yaml");
        let committed = std::fs::read_to_string(&path).unwrap();
        assert!(
            committed == render_helm_values(&scim()),
            "{} is not what `scimctl nats server-config --format helm` renders; regenerate it",
            path.display()
        );
    }

    #[test]
    fn quoting_escapes_what_would_end_the_string() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}

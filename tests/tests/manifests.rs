//! The Kubernetes manifests in `deploy/k8s` are what a cluster would accept: every file the
//! kustomization names exists, every manifest is named (or is one of the documented optional
//! ones), and each validates strictly against the Kubernetes API schemas (kubernetes-validate,
//! from PyPI, pinned in `tests/manifests/requirements.txt`). No cluster is needed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use e2e::python::{pinned_venv, workspace_root};

/// The oldest Kubernetes release the manifests are meant for (`preStop.sleep` needs 1.30).
const KUBERNETES_VERSION: &str = "1.32.0";

/// Kinds from CRDs, which the Kubernetes schemas do not describe.
const CUSTOM_KINDS: [&str; 1] = ["ServiceMonitor"];

fn k8s_dir() -> PathBuf {
    workspace_root().join("deploy/k8s")
}

/// The kustomization's `resources`, and the optional ones it names in comments.
fn kustomization_resources() -> (BTreeSet<String>, BTreeSet<String>) {
    let text = std::fs::read_to_string(k8s_dir().join("kustomization.yaml")).unwrap();
    let mut listed = BTreeSet::new();
    let mut optional = BTreeSet::new();
    let mut in_resources = false;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.starts_with('#') {
            in_resources = line.trim_end() == "resources:";
            continue;
        }
        if !in_resources {
            continue;
        }
        let item = line.trim();
        if let Some(file) = item.strip_prefix("- ") {
            listed.insert(file.trim().to_owned());
        } else if let Some(file) = item.strip_prefix("# - ") {
            optional.insert(file.trim().to_owned());
        }
    }
    (listed, optional)
}

fn validate(python: &Path, files: &[PathBuf]) -> Output {
    Command::new(python)
        .args(["-m", "kubernetes_validate", "--strict", "--quiet"])
        .args(["--kubernetes-version", KUBERNETES_VERSION])
        .args(files)
        .output()
        .unwrap()
}

#[test]
fn the_kustomization_names_every_manifest_and_each_validates_against_the_kubernetes_schemas() {
    let (listed, optional) = kustomization_resources();
    assert!(listed.contains("scim-gateway.yaml"), "{listed:?}");
    let on_disk: BTreeSet<String> = std::fs::read_dir(k8s_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml") && name != "kustomization.yaml")
        .collect();
    for file in listed.iter().chain(&optional) {
        assert!(
            on_disk.contains(file),
            "the kustomization names {file}, which is missing"
        );
    }
    // The secret is an example to copy, never applied as is.
    let unnamed: Vec<&String> = on_disk
        .iter()
        .filter(|file| !listed.contains(*file) && !optional.contains(*file))
        .filter(|file| file.as_str() != "secret.example.yaml")
        .collect();
    assert!(
        unnamed.is_empty(),
        "manifests the kustomization does not name: {unnamed:?}"
    );

    let python = pinned_venv("kubernetes-validate", "tests/manifests/requirements.txt")
        .unwrap_or_else(|error| panic!("{error:#}"));
    let files: Vec<PathBuf> = on_disk.iter().map(|file| k8s_dir().join(file)).collect();
    let output = validate(&python, &files);
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{report}");
    for line in report.lines().filter(|line| !line.trim().is_empty()) {
        // --quiet leaves only warnings and failures: the only ones allowed are for CRD kinds.
        assert!(
            CUSTOM_KINDS
                .iter()
                .any(|kind| line.contains(&format!("kind {kind} "))),
            "{line}"
        );
    }

    // The check can fail: a misspelt field of a Deployment is refused.
    let broken = std::env::temp_dir().join(format!("broken-{}.yaml", uuid::Uuid::new_v4()));
    let gateway = std::fs::read_to_string(k8s_dir().join("scim-gateway.yaml")).unwrap();
    std::fs::write(&broken, gateway.replacen("replicas:", "replica:", 1)).unwrap();
    let refused = validate(&python, std::slice::from_ref(&broken));
    let _ = std::fs::remove_file(&broken);
    assert!(
        !refused.status.success() && String::from_utf8_lossy(&refused.stdout).contains("replica"),
        "{}",
        String::from_utf8_lossy(&refused.stdout)
    );
}

/// Which pods each NetworkPolicy lets in, on which ports: `(selected pod, port, from pods)`.
fn network_policy_edges(python: &Path) -> BTreeSet<(String, u16, BTreeSet<String>)> {
    const PRINT_EDGES: &str = r#"
import json, sys, yaml
edges = []
for doc in yaml.safe_load_all(open(sys.argv[1])):
    if not doc or doc.get("kind") != "NetworkPolicy":
        continue
    pod = doc["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name", "*")
    for rule in doc["spec"].get("ingress", []):
        sources = sorted(
            peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name", "*")
            for peer in rule.get("from", [{"podSelector": {}}])
        )
        for port in rule.get("ports", [{"port": 0}]):
            edges.append([pod, port["port"], sources])
print(json.dumps(edges))
"#;
    let output = Command::new(python)
        .args(["-c", PRINT_EDGES])
        .arg(k8s_dir().join("networkpolicy.yaml"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let edges: Vec<(String, u16, Vec<String>)> = serde_json::from_slice(&output.stdout).unwrap();
    edges
        .into_iter()
        .map(|(pod, port, from)| (pod, port, from.into_iter().collect()))
        .collect()
}

#[test]
fn the_network_policies_admit_to_each_grpc_port_exactly_the_callers_the_service_admits() {
    use service_kit::admin_auth::OperatorAuth;
    use service_kit::callers::{AUDIT_SERVICE, CallerPolicy, DIRECTORY_SERVICE, LICENSE_SERVICE};
    let python = pinned_venv("kubernetes-validate", "tests/manifests/requirements.txt")
        .unwrap_or_else(|error| panic!("{error:#}"));
    let edges = network_policy_edges(&python);
    let admin = CallerPolicy::admin(OperatorAuth::new("unused-in-this-test"));
    let callers = |policies: &[&CallerPolicy]| -> BTreeSet<String> {
        policies
            .iter()
            .flat_map(|policy| policy.services().iter().map(|name| (*name).to_owned()))
            .collect()
    };
    for (service, port, admitted) in [
        (
            DIRECTORY_SERVICE,
            50051,
            callers(&[&CallerPolicy::directory_reads(), &admin]),
        ),
        (LICENSE_SERVICE, 50052, callers(&[&admin])),
        (AUDIT_SERVICE, 50053, callers(&[&admin])),
    ] {
        let rules: Vec<_> = edges
            .iter()
            .filter(|(pod, rule_port, _)| {
                (pod == service || pod == "*") && (*rule_port == port || *rule_port == 0)
            })
            .collect();
        assert_eq!(
            rules.len(),
            1,
            "{service}:{port} has one rule, naming its callers: {rules:?}"
        );
        assert_eq!(rules[0].2, admitted, "{service}:{port}");
    }
    // Only the public HTTP ports (gateway, account center) let everyone in.
    for (pod, port, from) in &edges {
        assert!(
            !from.contains("*") || [8080, 8090].contains(port),
            "{pod}:{port} admits everyone"
        );
    }
}

/// Each workload's container as the cluster would start it: its environment (the ConfigMap,
/// then its own `env`, with Secret values taken from `secret.example.yaml`) and the paths its
/// volumes are mounted at. Keyed by the workload's name.
fn workload_environments(
    python: &Path,
) -> std::collections::BTreeMap<String, (std::collections::BTreeMap<String, String>, Vec<String>)> {
    const PRINT_ENVIRONMENTS: &str = r#"
import json, os, sys, yaml
k8s = sys.argv[1]
def docs(name):
    return [d for d in yaml.safe_load_all(open(os.path.join(k8s, name))) if d]
config_maps = {d["metadata"]["name"]: d.get("data", {}) for d in docs("configmap.yaml") + docs("secret.example.yaml") if d["kind"] == "ConfigMap"}
secrets = {d["metadata"]["name"]: d.get("stringData", {}) for d in docs("secret.example.yaml") if d["kind"] == "Secret"}
out = {}
for name in sys.argv[2:]:
    for doc in docs(name):
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        container = doc["spec"]["template"]["spec"]["containers"][0]
        env = {}
        for source in container.get("envFrom", []):
            env.update(config_maps[source["configMapRef"]["name"]])
        for var in container.get("env", []):
            if "value" in var:
                env[var["name"]] = var["value"]
                continue
            ref = var["valueFrom"]
            if "secretKeyRef" in ref:
                env[var["name"]] = secrets[ref["secretKeyRef"]["name"]][ref["secretKeyRef"]["key"]]
            else:
                env[var["name"]] = config_maps[ref["configMapKeyRef"]["name"]][ref["configMapKeyRef"]["key"]]
        mounts = [m["mountPath"] for m in container.get("volumeMounts", [])]
        out[doc["metadata"]["name"]] = [env, mounts]
print(json.dumps(out))
"#;
    let output = Command::new(python)
        .args(["-c", PRINT_ENVIRONMENTS])
        .arg(k8s_dir())
        .args([
            "scim-gateway.yaml",
            "directory-service.yaml",
            "license-service.yaml",
            "audit-service.yaml",
            "account-center.yaml",
            "nats-setup.yaml",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Parses `env` with the configuration of the service `workload` runs.
fn service_config(
    workload: &str,
    env: &std::collections::BTreeMap<String, String>,
) -> Result<(), service_kit::config::ConfigError> {
    let lookup = |name: &str| env.get(name).cloned();
    match workload {
        "scim-gateway" => scim_gateway::Config::from_lookup(&lookup).map(drop),
        "directory-service" => directory_service::Config::from_lookup(&lookup).map(drop),
        "license-service" => {
            license_service::Config::from_lookup(&license_service::ENV, &lookup).map(drop)
        }
        "audit-service" => {
            audit_service::Config::from_lookup(&audit_service::ENV, &lookup).map(drop)
        }
        "account-center" => account_center::Config::from_lookup(&lookup).map(drop),
        other => panic!("no configuration for {other}"),
    }
}

#[test]
fn every_connection_the_manifests_configure_is_tls_checked_against_a_mounted_ca() {
    let python = pinned_venv("kubernetes-validate", "tests/manifests/requirements.txt")
        .unwrap_or_else(|error| panic!("{error:#}"));
    let workloads = workload_environments(&python);
    assert_eq!(workloads.len(), 6, "{:?}", workloads.keys());
    for (workload, (env, mounts)) in &workloads {
        // The example's placeholders would fail the credential length check, which is not
        // what this test is about.
        let env: std::collections::BTreeMap<String, String> = env
            .iter()
            .map(|(name, value)| {
                let value = value.replace("change-me", "placeholder-secret-0123456789");
                (name.clone(), value)
            })
            .collect();
        // Every CA or certificate a variable names is inside one of the container's mounts.
        let mut files: Vec<String> = [
            "NATS_TLS_CA",
            "GRPC_TLS_CERT",
            "GRPC_TLS_KEY",
            "GRPC_TLS_CA",
        ]
        .iter()
        .filter_map(|name| env.get(*name).cloned())
        .collect();
        for (name, value) in &env {
            if name.ends_with("DATABASE_URL") {
                assert!(value.contains("sslmode=verify-full"), "{workload}: {name}");
                let root = value.split("sslrootcert=").nth(1).unwrap_or_default();
                files.push(root.split('&').next().unwrap_or_default().to_owned());
            }
        }
        assert!(
            env.contains_key("NATS_TLS_CA"),
            "{workload} has no NATS_TLS_CA"
        );
        for file in files {
            assert!(
                mounts
                    .iter()
                    .any(|mount| file.starts_with(&format!("{mount}/"))),
                "{workload}: {file} is not in a mounted volume ({mounts:?})"
            );
        }
        if workload == "scim-nats-setup" {
            continue;
        }
        // The service's own rules accept the environment: nothing leaves the pod in plaintext.
        service_config(workload, &env)
            .unwrap_or_else(|error| panic!("{workload} would not start: {error}"));
        assert!(!env.contains_key("ALLOW_PLAINTEXT_NETWORK"), "{workload}");

        // And they would refuse it without NATS's CA.
        let mut without_nats_tls = env.clone();
        without_nats_tls.remove("NATS_TLS_CA");
        let error = service_config(workload, &without_nats_tls).unwrap_err();
        assert!(
            error.to_string().contains("NATS_URL"),
            "{workload}: {error}"
        );
    }
}

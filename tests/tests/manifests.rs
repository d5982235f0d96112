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

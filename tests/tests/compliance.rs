//! python-scim's `scim2-tester` (RFC 7643/7644 compliance checker) against a
//! real stack. The checker runs in a virtualenv under `.local/` that this test
//! creates from `tests/compliance/requirements.txt` (pinned) when missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

use e2e::TestStack;

/// The virtualenv's python, with the pinned requirements installed.
fn scim2_tester_python() -> PathBuf {
    e2e::python::pinned_venv("scim2-tester", "tests/compliance/requirements.txt")
        .unwrap_or_else(|error| panic!("{error:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim2_tester_finds_no_rfc_violation() {
    let python = tokio::task::spawn_blocking(scim2_tester_python)
        .await
        .unwrap();
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("compliance").await.unwrap();
    let script = e2e::python::workspace_root().join("tests/compliance/scim2_tester_run.py");
    let base_url = stack.base_url().to_owned();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .arg(base_url)
            .arg(&tenant.token)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "scim2-tester reported failures:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("checks executed"), "{report}");
}

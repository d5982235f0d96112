//! python-scim's `scim2-tester` (RFC 7643/7644 compliance checker) against a
//! real stack. The checker runs in a virtualenv under `.local/` that this test
//! creates from `tests/compliance/requirements.txt` (pinned) when missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::TestStack;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
        .to_path_buf()
}

fn run(command: &mut Command) {
    let output = command.output().unwrap_or_else(|error| {
        panic!("could not run {command:?}: {error} (python3 with venv and pip is required)")
    });
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The virtualenv's python, installing the pinned requirements when the venv
/// is missing or was made from other requirements.
fn scim2_tester_python() -> PathBuf {
    let root = workspace_root();
    let requirements = root.join("tests/compliance/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).unwrap();
    let venv = root.join(".local/scim2-tester");
    let python = venv.join("bin/python");
    let stamp = venv.join("requirements.installed");
    if python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&wanted) {
        return python;
    }
    std::fs::create_dir_all(root.join(".local")).unwrap();
    run(Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg("--clear")
        .arg(&venv));
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&requirements));
    std::fs::write(&stamp, wanted).unwrap();
    python
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim2_tester_finds_no_rfc_violation() {
    let python = tokio::task::spawn_blocking(scim2_tester_python)
        .await
        .unwrap();
    let stack = TestStack::start().await.unwrap();
    let tenant = stack.tenant("compliance").await.unwrap();
    let script = workspace_root().join("tests/compliance/scim2_tester_run.py");
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

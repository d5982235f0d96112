//! Third-party checkers published on PyPI (scim2-tester, kubernetes-validate), each run from a
//! virtualenv under `.local/` that is made from a pinned requirements file when it is missing
//! or was made from other requirements.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// The python of the virtualenv `.local/<name>`, with `requirements` (relative to the
/// workspace root) installed.
pub fn pinned_venv(name: &str, requirements: &str) -> anyhow::Result<PathBuf> {
    let root = workspace_root();
    let requirements = root.join(requirements);
    let wanted = std::fs::read_to_string(&requirements)?;
    let venv = root.join(".local").join(name);
    let python = venv.join("bin/python");
    let stamp = venv.join("requirements.installed");
    let ready =
        || python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&wanted);
    if ready() {
        return Ok(python);
    }
    // Tests run as separate processes, and several may need the same virtualenv at once on
    // a clean clone: one builds it under an exclusive lock, the others wait and then find it
    // ready (a virtualenv cannot be built elsewhere and renamed into place).
    std::fs::create_dir_all(root.join(".local"))?;
    let lock = std::fs::File::create(root.join(".local").join(format!("{name}.lock")))?;
    lock.lock()?;
    if ready() {
        return Ok(python);
    }
    run(Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg("--clear")
        .arg(&venv))?;
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&requirements))?;
    std::fs::write(&stamp, wanted)?;
    Ok(python)
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let output = command.output().map_err(|error| {
        anyhow::anyhow!(
            "could not run {command:?}: {error} (python3 with venv and pip is required)"
        )
    })?;
    anyhow::ensure!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

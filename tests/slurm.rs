//! The real-SLURM test: `scripts/slurm-test.sh` starts a single-node SLURM cluster on this
//! machine, runs a small experiment as a 2-task job array plus a merge job through
//! `descent slurm --submit`, and compares the merged tables with a local run.
//!
//! It runs when `sbatch` is on the PATH and the test runs as root (the script starts
//! daemons), or whenever `DESCENT_SLURM_TEST=1` (the script then installs SLURM itself);
//! `DESCENT_SLURM_TEST=0` skips it (CI runs the script as a step of its own).

use std::path::Path;
use std::process::Command;

/// Why the test should not run here, if it should not.
fn skip_reason() -> Option<String> {
    match std::env::var("DESCENT_SLURM_TEST").ok().as_deref() {
        Some("1") => return None,
        Some("0") => return Some("DESCENT_SLURM_TEST=0".into()),
        _ => {}
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    if !std::env::split_paths(&path).any(|dir| dir.join("sbatch").is_file()) {
        return Some(
            "sbatch is not on the PATH (DESCENT_SLURM_TEST=1 installs SLURM and runs it)".into(),
        );
    }
    let uid = Command::new("id").arg("-u").output().ok()?;
    (String::from_utf8_lossy(&uid.stdout).trim() != "0")
        .then(|| "not root: the test starts SLURM daemons (DESCENT_SLURM_TEST=1 forces it)".into())
}

#[test]
fn a_sharded_experiment_on_a_real_slurm_cluster_equals_a_local_run() {
    if let Some(reason) = skip_reason() {
        eprintln!("skipped: {reason}");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/slurm-test.sh");
    let output = Command::new("bash")
        .arg(&script)
        .env("DESCENT_BIN", env!("CARGO_BIN_EXE_descent"))
        .output()
        .expect("bash runs the script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} failed ({}):\n{stdout}\n{stderr}",
        script.display(),
        output.status
    );
    assert!(
        stdout.contains("runs.csv: 6 rows equal to the local run"),
        "{stdout}"
    );
    println!("{stdout}");
}

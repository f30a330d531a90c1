//! `voxpin check` exits 0 on the shipped configuration and non-zero on a bad
//! one, printing the file, line, key and reason.

use std::path::Path;
use std::process::Command;

fn voxpin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_voxpin"));
    cmd.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
    cmd.env_remove("RUST_LOG");
    cmd
}

#[test]
fn shipped_configuration_passes() {
    let out = voxpin().arg("check").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("config/voxpin.toml: ok"), "{stdout}");
    assert!(stdout.contains("dialplan(s)"), "{stdout}");
}

#[test]
fn bad_value_names_file_line_key_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[trunks.carrier]\nhost = \"192.0.2.1\"\ntransport = \"sctp\"\n",
    )
    .unwrap();
    let out = voxpin()
        .arg("check")
        .arg("--config")
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "{}:3: trunks.carrier.transport: unknown transport `sctp`",
        file.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn unknown_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[api]\nlisten = \"127.0.0.1:8080\"\nkey = \"x\"\n").unwrap();
    let out = voxpin()
        .arg("check")
        .arg("--config")
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(":3:") && stderr.contains("unknown field `key`"),
        "{stderr}"
    );
}

#[test]
fn missing_file_is_reported() {
    let out = voxpin()
        .args(["check", "--config", "no/such.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no/such.toml: cannot read"), "{stderr}");
}

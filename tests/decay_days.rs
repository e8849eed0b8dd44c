//! Nightly builds a day apart over changing replayed data: first and last seen, scores and
//! expiry against values computed by hand from `shared/misp/decay.md`.
//!
//! The project has three feeds, replayed from a folder per day:
//! - `daily` (free text): day 1 lists .1 and .2; days 2 and 3 list .1 and .3.
//! - `flaky` (free text): lists .20 on days 1 and 2, answers 500 on day 3, so its last good
//!   data (from day 2) stands in and .20 decays from day 2, the last build that saw it.
//! - `events` (a MISP feed, the same every day): .30 changed ten days before day 1 and tagged
//!   `false-positive:risk="low"` (75); .31 changed thirty days before day 1 with a "seen"
//!   sighting on day 2; .32 changed on day 1 with `retention:2d` and
//!   `false-positive:risk="medium"` (50).
//!
//! Two tasks: `nids` scores every feed with MISP's NIDS model (τ = 120 days, δ = 2, θ = 30,
//! default B = 80, `false-positive:risk` and `retention` weigh 0.1667 each); `retain` scores
//! `events` with a `polynomial_extended` model of the same curve whose base score counts
//! `false-positive:risk` only.

use std::collections::BTreeSet;

use crate::util::{feedsmith, plain_values, repo};

pub(crate) const DAY: i64 = 86_400;
/// 2026-08-20T00:00:00Z, 2026-08-21, 2026-08-22.
pub(crate) const D1: i64 = 1_787_184_000;
pub(crate) const D2: i64 = D1 + DAY;
pub(crate) const D3: i64 = D2 + DAY;

const RETAIN_MODEL: &str = r#"name = "NIDS with retention"
type = "polynomial_extended"
lifetime_days = 120
decay_speed = 2
threshold = 30
default_base_score = 80
attribute_types = ["ip-dst"]
[base_score_config]
"false-positive:risk" = 0.1667
"#;

pub(crate) fn rfc3339(unix: i64) -> String {
    let time = time::OffsetDateTime::from_unix_timestamp(unix).unwrap();
    time.format(&time::format_description::well_known::Rfc3339).unwrap()
}

pub(crate) fn ip(last: u8) -> String {
    format!("198.51.100.{last}")
}

fn event() -> serde_json::Value {
    let attribute = |last: u8, changed: i64, tags: &[&str], sightings: serde_json::Value| {
        let tags: Vec<serde_json::Value> =
            tags.iter().map(|t| serde_json::json!({ "name": t })).collect();
        serde_json::json!({
            "type": "ip-dst", "value": ip(last), "to_ids": true,
            "timestamp": changed.to_string(), "Tag": tags, "Sighting": sightings,
        })
    };
    serde_json::json!({ "Event": {
        "uuid": "7d1f5a8e-3c2b-4e6f-9a0d-1b2c3d4e5f60",
        "info": "days", "timestamp": D1.to_string(),
        "Attribute": [
            attribute(30, D1 - 10 * DAY, &["false-positive:risk=\"low\""], serde_json::json!([])),
            attribute(31, D1 - 30 * DAY, &[], serde_json::json!([
                { "type": "0", "date_sighting": D2.to_string() },
            ])),
            attribute(32, D1, &["retention:2d", "false-positive:risk=\"medium\""], serde_json::json!([])),
        ],
    }})
}

pub(crate) struct Days {
    pub(crate) root: tempfile::TempDir,
    replay: tempfile::TempDir,
}

impl Days {
    pub(crate) fn new() -> Days {
        let root = tempfile::tempdir().unwrap();
        let at = |p: &str| root.path().join(p);
        for dir in ["feeds.d", "decay.d", "tasks.d"] {
            std::fs::create_dir_all(at(dir)).unwrap();
        }
        std::fs::copy(repo().join("decay.d/nids.toml"), at("decay.d/nids.toml")).unwrap();
        std::fs::write(at("decay.d/retain.toml"), RETAIN_MODEL).unwrap();
        for (id, format, url) in [
            ("daily", "freetext", "https://feeds.test/daily.txt"),
            ("flaky", "freetext", "https://feeds.test/flaky.txt"),
            ("events", "misp", "https://feeds.test/misp"),
        ] {
            std::fs::write(
                at(&format!("feeds.d/{id}.toml")),
                format!(
                    "name = \"{id}\"\nprovider = \"test\"\nurl = \"{url}\"\nformat = \"{format}\"\n"
                ),
            )
            .unwrap();
        }
        std::fs::write(
            at("tasks.d/nids.toml"),
            "name = \"nids\"\n[select]\nmodel = \"nids\"\nexclude_reserved = false\n\
             [[outputs]]\nformat = \"plain\"\npath = \"nids.txt\"\n",
        )
        .unwrap();
        std::fs::write(
            at("tasks.d/retain.toml"),
            "name = \"retain\"\n[select]\nfeeds = [\"events\"]\nmodel = \"retain\"\n\
             exclude_reserved = false\n[[outputs]]\nformat = \"plain\"\npath = \"retain.txt\"\n",
        )
        .unwrap();
        Days { root, replay: tempfile::tempdir().unwrap() }
    }

    /// Writes the replay folder of day `day` (1, 2 or 3).
    pub(crate) fn serve_day(&self, day: u8) {
        let dir = self.replay.path().join(format!("day{day}"));
        std::fs::create_dir_all(dir.join("misp")).unwrap();
        let daily = if day == 1 { [ip(1), ip(2)] } else { [ip(1), ip(3)] };
        std::fs::write(dir.join("daily.txt"), daily.join("\n") + "\n").unwrap();
        let (flaky, flaky_status) =
            if day < 3 { (ip(20) + "\n", 200) } else { ("oops".to_owned(), 500) };
        std::fs::write(dir.join("flaky.txt"), flaky).unwrap();
        let event = event();
        let uuid = event["Event"]["uuid"].as_str().unwrap().to_owned();
        std::fs::write(dir.join(format!("misp/{uuid}.json")), event.to_string()).unwrap();
        let manifest = serde_json::json!({ &uuid: { "timestamp": D1.to_string() } });
        std::fs::write(dir.join("misp/manifest.json"), manifest.to_string()).unwrap();
        std::fs::write(
            dir.join("index.toml"),
            format!(
                "[[response]]\nurl = \"https://feeds.test/daily.txt\"\nfile = \"daily.txt\"\n\
                 [[response]]\nurl = \"https://feeds.test/flaky.txt\"\nfile = \"flaky.txt\"\n\
                 status = {flaky_status}\n\
                 [[folder]]\nurl = \"https://feeds.test/misp\"\ndir = \"misp\"\n"
            ),
        )
        .unwrap();
    }

    /// Builds with the replay folder of `day` at `now`; returns the exit code.
    pub(crate) fn build(&self, day: u8, now: i64) -> Option<i32> {
        self.build_with(day, now, &[])
    }

    /// [`Days::build`] with more arguments.
    pub(crate) fn build_with(&self, day: u8, now: i64, more: &[&str]) -> Option<i32> {
        let replay = self.replay.path().join(format!("day{day}"));
        let now = rfc3339(now);
        let mut args = vec!["build", "--replay", replay.to_str().unwrap(), "--now", &now];
        args.extend_from_slice(more);
        let output = feedsmith(self.root.path(), &args);
        assert!(
            output.status.code().is_some_and(|c| c == 0 || c == 3),
            "build failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.status.code()
    }

    /// `lookup --json` of `value` over the replay folder of `day` at `now`.
    pub(crate) fn lookup(&self, day: u8, now: i64, value: &str) -> serde_json::Value {
        let replay = self.replay.path().join(format!("day{day}"));
        let now = rfc3339(now);
        let args = ["lookup", value, "--json", "--replay", replay.to_str().unwrap(), "--now", &now];
        let output = feedsmith(self.root.path(), &args);
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&output.stderr));
        })
    }

    pub(crate) fn values(&self, file: &str) -> BTreeSet<String> {
        plain_values(&self.root.path().join("site").join(file)).into_iter().collect()
    }
}

fn ips(lasts: &[u8]) -> BTreeSet<String> {
    lasts.iter().map(|&l| ip(l)).collect()
}

#[test]
fn three_nightly_builds_age_expire_and_remember() {
    let days = Days::new();
    for day in 1..=3 {
        days.serve_day(day);
    }
    assert_eq!(days.build(1, D1), Some(0));
    // Day 1, NIDS: .32's base score is the mean of 50 (false-positive medium) and 2
    // (retention:2d), both weighing 0.1667: B = 26 < θ = 30, expired from the start. .31's
    // sighting (D2) is its reference time, a day in the future: MISP scores that 0.
    assert_eq!(days.values("nids.txt"), ips(&[1, 2, 20, 30]));
    assert_eq!(days.values("retain.txt"), ips(&[30, 32]));

    assert_eq!(days.build(2, D2), Some(0));
    assert_eq!(days.values("nids.txt"), ips(&[1, 3, 20, 30, 31]));

    // Day 3: `flaky` fails, its last good data keeps .20 listed (exit 3: a feed failed).
    assert_eq!(days.build(3, D3), Some(3));
    assert_eq!(days.values("nids.txt"), ips(&[1, 3, 20, 30, 31]));
    // .32 under the retention model: B = 50 (false-positive medium alone), changed on day 1
    // with `retention:2d`. At D3, now − changed = 172 800 s, not more than 2 × 86 400: kept,
    // score 50 × (1 − √(2/120)) ≈ 43.5.
    assert_eq!(days.values("retain.txt"), ips(&[30, 31, 32]));

    // What the ledger remembers, as `lookup` tells it at D3 over day 3's data.
    // .3: first listed on day 2, still on day 3. Reference: the last build that saw it (D3),
    // so B = 80 undecayed, expiring when 80 × (1 − √(t / 120 d)) < 30, t > 4 050 000 s.
    let three = days.lookup(3, D3, &ip(3));
    assert_eq!(seen_by(&three, "daily"), (rfc3339(D2), rfc3339(D3)));
    let scoring = nids_scoring(&three, "daily");
    assert_eq!(scoring["reference_from"], "ledger");
    assert_eq!(scoring["reference_time"], rfc3339(D3));
    assert_eq!(scoring["score"].as_f64(), Some(80.0));
    assert_eq!(scoring["expires"], rfc3339(D3 + 4_050_001));
    // .20: `flaky` failed on day 3; its last good data stands in, which day 3 did not see, so
    // it was last seen on day 2 and decays from there: 80 × (1 − √(1/120)).
    let twenty = days.lookup(3, D3, &ip(20));
    assert_eq!(seen_by(&twenty, "flaky"), (rfc3339(D1), rfc3339(D2)));
    let scoring = nids_scoring(&twenty, "flaky");
    assert_eq!(scoring["reference_time"], rfc3339(D2));
    let expected = 80.0 * (1.0 - (1.0_f64 / 120.0).sqrt());
    assert!((scoring["score"].as_f64().unwrap() - expected).abs() < 1e-9, "{scoring}");
    assert_eq!(scoring["expires"], rfc3339(D2 + 4_050_001));
    // .2: listed on day 1 only, so no feed lists it now; the look-up says so (exit code 1).
    let two = days.lookup(3, D3, &ip(2));
    assert_eq!(two["listed"], false);

    // One second later the retention has run out: the score is forced to 0.
    assert_eq!(days.build(3, D1 + 2 * DAY + 1), Some(3));
    assert_eq!(days.values("retain.txt"), ips(&[30, 31]));
}

/// First and last seen of `feed`'s listing in a look-up's answer.
fn seen_by(answer: &serde_json::Value, feed: &str) -> (String, String) {
    let listing = answer["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["feed"] == feed)
        .unwrap_or_else(|| panic!("{feed} does not list it: {answer}"));
    let time = |key: &str| listing[key].as_str().unwrap_or_default().to_owned();
    (time("first_seen"), time("last_seen"))
}

/// How the `nids` task scored `feed`'s entry.
fn nids_scoring<'a>(answer: &'a serde_json::Value, feed: &str) -> &'a serde_json::Value {
    let task = answer["tasks"].as_array().unwrap().iter().find(|t| t["task"] == "nids").unwrap();
    let scored = task["feeds"].as_array().unwrap().iter().find(|f| f["feed"] == feed).unwrap();
    &scored["scoring"]
}

#[test]
fn a_misp_attribute_expires_at_the_second_the_formula_gives() {
    // .30: B = 75, reference = its timestamp (D1 − 10 days). It decays when
    // 75 × (1 − √(t / T)) < 30, i.e. t > T × (1 − 30/75)² = 120 × 0.36 days = 3 732 480 s:
    // expired from the second 3 732 481 after the reference.
    let reference = D1 - 10 * DAY;
    let crossing = (120.0 * 86_400.0 * (1.0_f64 - 30.0 / 75.0).powi(2)).round() as i64;
    assert_eq!(crossing, 3_732_480);
    let expires = reference + crossing + 1;

    let days = Days::new();
    days.serve_day(2);
    days.build(2, expires - 1);
    assert!(days.values("nids.txt").contains(&ip(30)));
    assert!(days.values("retain.txt").contains(&ip(30)));
    days.build(2, expires);
    assert!(!days.values("nids.txt").contains(&ip(30)));
    assert!(!days.values("retain.txt").contains(&ip(30)));
    // .31 decays from its sighting on D2, not from its old timestamp: still listed about 32
    // days after D2 (the NIDS crossing for B = 80 is 46.875 days), although its timestamp is
    // 31 days older than D2.
    assert!(days.values("nids.txt").contains(&ip(31)));
}

#[test]
fn expiry_follows_the_sighting_not_the_timestamp() {
    // .31: reference D2 (its "seen" sighting), B = 80: decayed from D2 + 4 050 001 s
    // (120 × (1 − 30/80)² days = 46.875 days = 4 050 000 s).
    let days = Days::new();
    days.serve_day(2);
    days.build(2, D2 + 4_050_000);
    assert!(days.values("nids.txt").contains(&ip(31)));
    days.build(2, D2 + 4_050_001);
    assert!(!days.values("nids.txt").contains(&ip(31)));
}

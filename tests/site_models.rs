//! The site's decay-model pages: one per model, linked from the index and from each task that
//! uses it, with its curve and its score histogram drawn as SVG.
//!
//! Expected values come from the model files (read here as TOML), from the formula of
//! `misp/decay.md` and from the outputs (plain lines, MISP event attributes), never from the
//! page under test. Positions in the charts follow the layout the chart module documents: the
//! plot runs from x = 64 to 616 and from y = 256 (the value 0) up to y = 16 (the top of the
//! axis).

use std::path::Path;

use crate::util::{build_replay, copy_root_definitions, feedsmith, plain_values, svgs};

const NOW: &str = "2026-08-23T00:00:00Z";
/// `NOW` in Unix seconds.
const NOW_UNIX: i64 = 1_787_443_200;
const DAY: i64 = 86_400;

const PLOT_LEFT: f64 = 64.0;
const PLOT_RIGHT: f64 = 616.0;
const PLOT_TOP: f64 = 16.0;
const PLOT_BOTTOM: f64 = 256.0;

fn close(actual: f64, expected: f64, what: &str) {
    assert!((actual - expected).abs() < 0.006, "{what}: {actual} is not {expected}");
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn report(root: &Path) -> serde_json::Value {
    serde_json::from_str(&read(&root.join("site/report.json"))).unwrap()
}

fn number(node: roxmltree::Node<'_, '_>, attribute: &str) -> f64 {
    node.attribute(attribute).unwrap().parse().unwrap()
}

fn by_class<'a, 'input>(
    doc: &'a roxmltree::Document<'input>,
    class: &'a str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'input>> + 'a {
    doc.descendants().filter(move |n| n.attribute("class") == Some(class))
}

/// The model definitions of `decay.d/`, by file stem, read as plain TOML.
fn model_files(root: &Path) -> Vec<(String, toml::Table)> {
    let mut models: Vec<(String, toml::Table)> = std::fs::read_dir(root.join("decay.d"))
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
            (stem, read(&path).parse::<toml::Table>().unwrap())
        })
        .collect();
    models.sort_by(|a, b| a.0.cmp(&b.0));
    models
}

fn float(table: &toml::Table, key: &str) -> f64 {
    match &table[key] {
        toml::Value::Integer(i) => *i as f64,
        toml::Value::Float(f) => *f,
        other => panic!("{key} is {other}"),
    }
}

fn strings(table: &toml::Table, key: &str) -> Vec<String> {
    table[key].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

#[test]
fn every_model_has_a_page_linked_from_the_index_with_its_threshold_and_crossing_drawn() {
    let root = copy_root_definitions();
    build_replay(root.path(), NOW);
    let site = root.path().join("site");
    let index = read(&site.join("index.html"));
    let models = model_files(root.path());
    assert_eq!(models.len(), 3, "nids, phishing and vishing");
    for (id, model) in &models {
        assert!(index.contains(&format!("<a href=\"models/{id}.html\">")), "{id} not linked");
        let page = read(&site.join(format!("models/{id}.html")));
        let name = model["name"].as_str().unwrap();
        assert!(page.contains(&format!("<h1>{name}</h1>")), "{id}");
        let charts = svgs(&page);
        assert_eq!(charts.len(), 2, "{id}: a curve and a histogram");
        let doc = roxmltree::Document::parse(charts[0])
            .unwrap_or_else(|e| panic!("{id}: the curve is no XML: {e}"));
        let title = doc.root_element().first_element_child().unwrap();
        assert!(title.has_tag_name("title"));
        assert_eq!(title.text(), Some(format!("Decay of {name}").as_str()));

        // Every base score drawn is at most 100 for these models, so the score axis runs from
        // 0 to 100: its top tick is 100 at the top of the plot.
        let top = by_class(&doc, "tick").find(|n| n.text() == Some("100")).unwrap();
        close(number(top, "y") - 4.0, PLOT_TOP, "tick 100");

        // θ is drawn at 256 − θ/100 × 240.
        let (tau, delta) = (float(model, "lifetime_days"), float(model, "decay_speed"));
        let (theta, base) = (float(model, "threshold"), float(model, "default_base_score"));
        let rule = by_class(&doc, "rule").next().expect("a threshold line");
        let expected_y = PLOT_BOTTOM - theta / 100.0 * (PLOT_BOTTOM - PLOT_TOP);
        close(number(rule, "y1"), expected_y, id);
        close(number(rule, "y2"), expected_y, id);

        // The crossing: t_θ = τ × (1 − θ/B)^δ days (decay.md §2), at its share of τ across.
        let crossing = tau * (1.0 - theta / base).powf(delta);
        let marker = doc.descendants().find(|n| n.has_tag_name("circle")).unwrap();
        close(
            number(marker, "cx"),
            PLOT_LEFT + crossing / tau * (PLOT_RIGHT - PLOT_LEFT),
            &format!("{id} crossing x"),
        );
        close(number(marker, "cy"), expected_y, &format!("{id} crossing y"));

        // The default curve: 121 points from (0, B) to (τ, 0).
        let line = doc.descendants().find(|n| n.has_tag_name("polyline")).unwrap();
        let points: Vec<(f64, f64)> = line
            .attribute("points")
            .unwrap()
            .split(' ')
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect();
        assert_eq!(points.len(), 121, "{id}");
        close(points[0].0, PLOT_LEFT, id);
        close(points[0].1, PLOT_BOTTOM - base / 100.0 * (PLOT_BOTTOM - PLOT_TOP), id);
        close(points[120].0, PLOT_RIGHT, id);
        close(points[120].1, PLOT_BOTTOM, id);

        // The histogram parses too, and marks the bucket holding θ (30: the fourth of 11).
        let histogram = roxmltree::Document::parse(charts[1]).unwrap();
        let band = by_class(&histogram, "band").next().expect("the threshold bucket");
        let slot = (PLOT_RIGHT - PLOT_LEFT) / 11.0;
        close(number(band, "x"), PLOT_LEFT + (theta / 10.0).floor() * slot, id);

        // Parameters with at most two decimals.
        assert!(page.contains(&format!("<dt>Decay speed δ</dt><dd>{delta}</dd>")), "{id}");
    }
    // decay.md §7: the phishing model decays an untagged indicator after about 1.018 days.
    let phishing = read(&site.join("models/phishing.html"));
    assert!(phishing.contains("1.02 days after the indicator was last seen"), "{phishing}");
}

#[test]
fn a_models_histogram_counts_every_indicator_it_scored_in_the_build() {
    let root = copy_root_definitions();
    let report = build_replay(root.path(), NOW);
    let models = model_files(root.path());
    let types =
        |id: &str| strings(&models.iter().find(|m| m.0 == id).unwrap().1, "attribute_types");

    // With `auto`, the first model by id covering a type scores it: `nids` lists every type
    // `phishing` lists, and no task takes the types of `vishing` (phone numbers).
    let nids_types = types("nids");
    assert!(types("phishing").iter().all(|t| nids_types.contains(t)));
    let tasks = report["tasks"].as_array().unwrap();
    for task in tasks {
        for kind in task["types"].as_array().unwrap() {
            assert!(!types("vishing").contains(&kind.as_str().unwrap().to_owned()));
        }
    }
    let model = |id: &str| {
        report["models"].as_array().unwrap().iter().find(|m| m["id"] == id).unwrap().clone()
    };
    for id in ["phishing", "vishing"] {
        assert_eq!(model(id)["tasks"].as_array().unwrap().len(), 0, "{id}");
        assert_eq!(model(id)["scores"]["kept"], 0, "{id}");
        assert_eq!(model(id)["scores"]["expired"], 0, "{id}");
    }

    // What nids kept, counted in the outputs: every line of the network blocklists, and every
    // attribute of the MISP feed that is no hash (hashes have no model).
    let site = root.path().join("site");
    let mut kept = 0;
    for name in ["ipv4", "ipv6", "domains", "urls"] {
        kept += plain_values(&site.join(format!("blocklists/{name}.txt"))).len() as u64;
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&read(&site.join("misp/c2/manifest.json"))).unwrap();
    for uuid in manifest.as_object().unwrap().keys() {
        let event: serde_json::Value =
            serde_json::from_str(&read(&site.join(format!("misp/c2/{uuid}.json")))).unwrap();
        for attribute in event["Event"]["Attribute"].as_array().unwrap() {
            let kind = attribute["type"].as_str().unwrap();
            if nids_types.iter().any(|t| t == kind) {
                kept += 1;
            } else {
                assert!(["md5", "sha1", "sha256"].contains(&kind), "{kind}");
            }
        }
    }
    let expired: u64 = tasks.iter().map(|t| t["expired"].as_u64().unwrap()).sum();
    assert!(kept > 0 && expired > 0, "the recorded data has both");

    let nids = model("nids");
    let scores = &nids["scores"];
    let buckets: Vec<u64> =
        scores["buckets"].as_array().unwrap().iter().map(|b| b.as_u64().unwrap()).collect();
    assert_eq!(buckets.len(), 11);
    assert_eq!(scores["kept"], kept);
    assert_eq!(scores["expired"], expired);
    assert_eq!(buckets.iter().sum::<u64>(), kept + expired);
    // θ = 30 is a bucket edge and no task sets `min_score`: the three buckets below it hold
    // exactly the expired indicators.
    assert_eq!(buckets[..3].iter().sum::<u64>(), expired);
    let used_by: Vec<&str> =
        nids["tasks"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(used_by, ["c2-misp", "domains", "ipv4-blocklist", "ipv6-blocklist", "urls"]);

    // The page says the same, and each task page links its model.
    let page = read(&site.join("models/nids.html"));
    assert!(page.contains(&format!("{} indicators scored in this build", kept + expired)));
    for task in used_by {
        let task_page = read(&site.join(format!("tasks/{task}.html")));
        assert!(
            task_page.contains("<a href=\"../models/nids.html\">NIDS Simple Decaying Model</a>")
        );
        assert!(page.contains(&format!("<a href=\"../tasks/{task}.html\">")), "{task}");
    }
    let hashes = read(&site.join("tasks/hashes.html"));
    assert!(hashes.contains("<dt>Decay model</dt><dd>none covers its types</dd>"), "{hashes}");
}

/// A one-task project: a CSV feed of addresses with their last-seen time, a free-text feed
/// with a base score of 150, and a model named and described by `name` and `description`.
fn project(name: &str, description: &str, rows: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let files = [
        ("seen.csv", rows.to_owned()),
        ("high.txt", "192.0.2.200\n".to_owned()),
        (
            "feeds.d/seen.toml",
            "name = \"seen\"\nprovider = \"test\"\npath = \"seen.csv\"\nformat = \"csv\"\n\
             [csv]\nvalue_columns = [1]\nlast_seen_column = 2\n"
                .to_owned(),
        ),
        (
            "feeds.d/high.toml",
            "name = \"high\"\nprovider = \"test\"\npath = \"high.txt\"\nformat = \"freetext\"\n\
             base_score = 150\n"
                .to_owned(),
        ),
        (
            "decay.d/steady.toml",
            format!(
                "name = {}\ndescription = {}\nlifetime_days = 120\ndecay_speed = 2\n\
                 threshold = 30\ndefault_base_score = 80\nattribute_types = [\"ip-dst\"]\n",
                toml::Value::from(name),
                toml::Value::from(description)
            ),
        ),
        (
            "tasks.d/list.toml",
            "name = \"list\"\n[select]\nmodel = \"steady\"\nexclude_reserved = false\n\
             [[outputs]]\nformat = \"plain\"\npath = \"list.txt\"\n"
                .to_owned(),
        ),
    ];
    for (path, text) in files {
        let path = root.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let output = feedsmith(root.path(), &["build", "--now", NOW]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    root
}

#[test]
fn scores_fall_in_buckets_of_ten_and_a_score_equal_to_the_threshold_is_kept() {
    // B = 80, τ = 120 days (10 368 000 s), δ = 2: score = 80 × (1 − √(t / τ)).
    let ago = |secs: i64| NOW_UNIX - secs;
    let rows = [
        ("192.0.2.1", ago(0)),         // 80: bucket 80–90
        ("192.0.2.2", ago(30 * DAY)),  // √¼ = ½: 40, bucket 40–50
        ("192.0.2.3", ago(4_050_000)), // √0.390625 = 0.625: exactly 30, kept (decay.md §8 ex. 2)
        ("192.0.2.4", ago(4_050_001)), // just below 30: 20–30, expired
        ("192.0.2.5", ago(60 * DAY)),  // 80 × (1 − √½) = 23.43: 20–30, expired
        ("192.0.2.6", ago(120 * DAY)), // 0 at τ: 0–10, expired
        ("192.0.2.7", ago(648_000)),   // 7.5 days: √(1/16) = ¼, exactly 60: bucket 60–70
        ("192.0.2.8", ago(7_938_000)), // 91.875 days: √(49/64) = ⅞, exactly 10: 10–20, expired
    ];
    let csv = rows.iter().map(|(ip, seen)| format!("{ip},{seen}")).collect::<Vec<_>>().join("\n");
    let root = project("Steady", "Steady decay.", &csv);
    let report = report(root.path());
    let scores = &report["models"][0]["scores"];
    // And 192.0.2.200 from the feed with base score 150, seen now: 150, in the last bucket.
    assert_eq!(scores["buckets"], serde_json::json!([1, 1, 2, 1, 1, 0, 1, 0, 1, 0, 1]));
    assert_eq!(scores["expired"], 4);
    assert_eq!(scores["kept"], 5);
    let listed = plain_values(&root.path().join("site/list.txt"));
    assert_eq!(listed.len(), 5);
    assert!(listed.contains(&"192.0.2.3".to_owned()), "the score of exactly θ is kept");
    assert!(!listed.contains(&"192.0.2.4".to_owned()));

    // The page shows the counts per bucket, and scores with at most two decimals.
    let page = read(&root.path().join("site/models/steady.html"));
    assert!(
        page.contains(
            "<tr class=\"threshold\"><td>30 to below 40 (holds θ)</td><td class=\"num\">1</td></tr>"
        ),
        "{page}"
    );
    assert!(page.contains("<td>100 and more</td><td class=\"num\">1</td>"));
    assert!(page.contains("9 indicators scored in this build"));
    // The default curve falls below θ after 46.875 days: 4 050 001 s.
    assert!(page.contains("46.88 days after the indicator was last seen (from second 4050001"));
    let histogram = roxmltree::Document::parse(svgs(&page)[1]).unwrap();
    let values: Vec<&str> = by_class(&histogram, "value").filter_map(|n| n.text()).collect();
    assert_eq!(values, ["1", "1", "2", "1", "1", "0", "1", "0", "1", "0", "1"]);
}

#[test]
fn a_hostile_model_name_and_description_come_out_escaped() {
    let name = "<script>alert(\"name\")</script> & 'co'";
    let description = "\"><img src=x onerror=alert(1)> it's <b>bold</b>";
    let root = project(name, description, "192.0.2.1,0\n");
    let site = root.path().join("site");
    for page in ["models/steady.html", "index.html", "tasks/list.html"] {
        let html = read(&site.join(page));
        assert!(!html.contains("<script>"), "{page}");
        assert!(!html.contains("<img"), "{page}");
        assert!(!html.contains("<b>bold"), "{page}");
        assert!(html.contains("&lt;script&gt;alert("), "{page}");
    }
    let page = read(&site.join("models/steady.html"));
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
    for svg in svgs(&page) {
        let doc = roxmltree::Document::parse(svg).expect("the SVG is still XML");
        let title = doc.root_element().first_element_child().unwrap().text().unwrap();
        assert!(title.ends_with(name), "{title}");
        assert!(!svg.contains("<script"));
    }
}

#[test]
fn a_feed_page_charts_its_indicators_over_the_builds() {
    // One address on day 1, three on day 2, two on day 3.
    let root =
        crate::util::one_list_project("198.51.100.1\n", &[("all", "exclude_reserved = false")]);
    let days = ["2026-08-21T00:00:00Z", "2026-08-22T00:00:00Z", "2026-08-23T00:00:00Z"];
    let lists = [
        "198.51.100.1\n",
        "198.51.100.1\n198.51.100.2\n198.51.100.3\n",
        "198.51.100.1\n198.51.100.2\n",
    ];
    let page = |root: &Path| read(&root.join("site/feeds/list.html"));
    for (index, (day, list)) in days.iter().zip(lists).enumerate() {
        std::fs::write(root.path().join("list.txt"), list).unwrap();
        let output = crate::util::feedsmith(root.path(), &["build", "--now", day]);
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        if index == 0 {
            assert!(page(root.path()).contains("starts with its second build"));
            assert!(svgs(&page(root.path())).is_empty());
            let index = read(&root.path().join("site/index.html"));
            assert!(index.contains("This is the first build in the history"), "{index}");
        }
    }
    let page = page(root.path());
    let chart = svgs(&page)[0];
    let doc = roxmltree::Document::parse(chart).unwrap();
    let desc = doc.descendants().find(|n| n.has_tag_name("desc")).unwrap().text().unwrap();
    assert!(
        desc.contains("last 3 builds: 1 on 2026-08-21T00:00:00Z, 3 on 2026-08-22T00:00:00Z, 2 on 2026-08-23T00:00:00Z"),
        "{desc}"
    );
    // Three points, left to right one day apart, the second highest (smallest y), the
    // first lowest.
    let line = doc.descendants().find(|n| n.has_tag_name("polyline")).unwrap();
    let points: Vec<(f64, f64)> = line
        .attribute("points")
        .unwrap()
        .split_whitespace()
        .map(|p| {
            let (x, y) = p.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect();
    assert_eq!(points.len(), 3, "{points:?}");
    assert!(points[0].0 < points[1].0 && points[1].0 < points[2].0);
    close(points[1].0 - points[0].0, points[2].0 - points[1].0, "one day apart");
    assert!(points[1].1 < points[2].1 && points[2].1 < points[0].1, "{points:?}");
    // The index compares with day 2: three addresses then, two now.
    let index = read(&root.path().join("site/index.html"));
    assert!(index.contains("at the previous build (2026-08-22T00:00:00Z) and now"), "{index}");
    let row = |name: &str| {
        format!(
            "<tr><td>{name}</td><td class=\"num\">3</td><td class=\"num\">2</td><td class=\"num\">−1</td></tr>"
        )
    };
    assert!(index.contains(&row("ip-dst")), "{index}");
    assert!(index.contains(&row("<a href=\"feeds/list.html\">list</a>")), "{index}");
    // On a linear axis, 1 → 2 and 2 → 3 indicators are the same height.
    close(points[0].1 - points[2].1, points[2].1 - points[1].1, "one indicator apart");
}

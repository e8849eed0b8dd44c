//! The site's overlap page, the overlap section of feed pages, the task pages' chart over the
//! builds and the index's health dashboard, through whole builds of small local projects.
//!
//! Expected values come from the feed files the tests write (the shared values are computed
//! here as set intersections of what each file lists) and from the build times passed as
//! `--now`, never from the pages under test.

use std::collections::BTreeSet;
use std::path::Path;

use crate::util::{feedsmith, one_list_project, svgs, write_file};

const DAY_1: &str = "2026-08-22T00:00:00Z";
const DAY_2: &str = "2026-08-23T00:00:00Z";
/// `DAY_2` in Unix seconds.
const DAY_2_UNIX: i64 = 1_787_443_200;
const DAY: i64 = 86_400;

/// A feed name that would run a script if a page wrote it unescaped.
const HOSTILE: &str = "<script>alert('x')</script> & \"co\"";

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn build(root: &Path, now: &str) -> serde_json::Value {
    build_exiting(root, now, 0)
}

/// Builds and expects the exit code `code` (3: outputs written, a feed failed).
fn build_exiting(root: &Path, now: &str, code: i32) -> serde_json::Value {
    let output = feedsmith(root, &["build", "--now", now]);
    assert_eq!(output.status.code(), Some(code), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_str(&read(&root.join("site/report.json"))).unwrap()
}

/// The text of the part of `page` from `start` to the next `end`.
fn section<'a>(page: &'a str, start: &str, end: &str) -> &'a str {
    let from = page.find(start).unwrap_or_else(|| panic!("no {start} in {page}"));
    let rest = &page[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// Feed files: what each lists, one value a line as written, and the canonical values they
/// stand for.
struct Lists {
    /// `(feed id, lines written, canonical values)`.
    feeds: Vec<(&'static str, Vec<String>, BTreeSet<String>)>,
}

fn lists() -> Lists {
    let ips = |range: std::ops::RangeInclusive<u8>| -> Vec<String> {
        range.map(|i| format!("203.0.113.{i}")).collect()
    };
    // `a`: ten addresses and two names.
    let a: Vec<String> =
        ips(1..=10).into_iter().chain(["evil.example".into(), "bad.example".into()]).collect();
    // `b`: addresses 5 to 14 (one written twice), and `evil.example` written defanged.
    let mut b = ips(5..=14);
    b.push("203.0.113.5".to_owned());
    b.push("evil[.]example".to_owned());
    // `d`: two of `a`'s addresses and the last of `b`'s.
    let d = vec!["203.0.113.1".to_owned(), "203.0.113.2".to_owned(), "203.0.113.14".to_owned()];
    let canonical = |lines: &[String]| -> BTreeSet<String> {
        lines.iter().map(|l| l.replace("[.]", ".")).collect()
    };
    Lists {
        feeds: vec![
            ("a", a.clone(), canonical(&a)),
            ("b", b.clone(), canonical(&b)),
            ("c", Vec::new(), BTreeSet::new()),
            ("d", d.clone(), canonical(&d)),
        ],
    }
}

/// A project of the four feeds of [`lists`], each named after [`HOSTILE`], and one task.
fn overlap_project(lists: &Lists) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("decay.d")).unwrap();
    std::fs::copy(
        crate::util::repo().join("decay.d/nids.toml"),
        root.path().join("decay.d/nids.toml"),
    )
    .unwrap();
    for (id, lines, _) in &lists.feeds {
        let body: String = lines.iter().flat_map(|l| [l.as_str(), "\n"]).collect();
        write_file(root.path(), &format!("data/{id}.txt"), &body);
        write_file(
            root.path(),
            &format!("feeds.d/{id}.toml"),
            &format!(
                "name = {}\nprovider = {}\npath = \"data/{id}.txt\"\nformat = \"freetext\"\nallow_empty = true\n",
                toml::Value::from(format!("{id} {HOSTILE}")),
                toml::Value::from(HOSTILE),
            ),
        );
    }
    write_file(
        root.path(),
        "tasks.d/all.toml",
        "name = \"all\"\n[select]\nexclude_reserved = false\n[[outputs]]\nformat = \"plain\"\npath = \"all.txt\"\n",
    );
    root
}

#[test]
fn shared_indicators_per_pair_of_feeds_reach_the_report_the_overlap_page_and_feed_pages() {
    let lists = lists();
    let root = overlap_project(&lists);
    let report = build(root.path(), DAY_2);
    let site = root.path().join("site");

    // Every pair that shares something, by set intersection of the canonical values.
    let mut expected = Vec::new();
    for (i, (a, _, values_a)) in lists.feeds.iter().enumerate() {
        for (b, _, values_b) in &lists.feeds[i + 1..] {
            let shared = values_a.intersection(values_b).count() as u64;
            if shared > 0 {
                expected.push(((*a).to_owned(), (*b).to_owned(), shared));
            }
        }
    }
    assert_eq!(
        expected,
        [("a".into(), "b".into(), 7), ("a".into(), "d".into(), 2), ("b".into(), "d".into(), 1)]
    );
    let pairs: Vec<(String, String, u64)> = report["overlap"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let id = |key: &str| p[key].as_str().unwrap().to_owned();
            (id("a"), id("b"), p["shared"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(pairs, expected);
    let indicators = |id: &str| crate::util::feed(&report, id)["indicators"].as_u64().unwrap();
    for (id, _, values) in &lists.feeds {
        assert_eq!(indicators(id), values.len() as u64, "{id}");
    }

    // The overlap page: a matrix of a, b and d (c has nothing), each cell shaded by the
    // share of its row feed; 7 of a's 12 is 58.3 %, the third of five shades.
    let page = read(&site.join("overlap.html"));
    let charts = svgs(&page);
    assert_eq!(charts.len(), 1);
    let doc = roxmltree::Document::parse(charts[0]).expect("the heat map is XML");
    let labels: Vec<&str> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("tick"))
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(labels, ["a", "a", "b", "b", "d", "d"]);
    let cell = |title: &str| {
        doc.descendants()
            .find(|n| {
                n.has_tag_name("rect")
                    && n.first_element_child().and_then(|t| t.text()) == Some(title)
            })
            .unwrap_or_else(|| panic!("no cell {title} in {}", charts[0]))
    };
    let a_b = cell("a and b: 7 shared, 58.3 % of the row feed");
    assert_eq!(a_b.attribute("class"), Some("heat heat-3"));
    // 7 of b's 11: 63.6 %, the fourth shade; 1 of d's 3, 33.3 %, the second.
    assert_eq!(
        cell("b and a: 7 shared, 63.6 % of the row feed").attribute("class"),
        Some("heat heat-4")
    );
    assert_eq!(
        cell("d and b: 1 shared, 33.3 % of the row feed").attribute("class"),
        Some("heat heat-2")
    );
    let numbers: Vec<&str> = doc
        .descendants()
        .filter(|n| n.attribute("class").is_some_and(|c| c.starts_with("cell-value")))
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(numbers.len(), 6, "both cells of each of the three pairs: {numbers:?}");
    assert_eq!(numbers.iter().filter(|&&n| n == "7").count(), 2);
    let desc = doc.descendants().find(|n| n.has_tag_name("desc")).unwrap().text().unwrap();
    assert!(
        desc.contains("3 pairs share indicators: a and b: 7; a and d: 2; b and d: 1."),
        "{desc}"
    );
    assert!(page.contains(
        "Left out of the matrix, having no indicators in this build: <a href=\"feeds/c.html\">"
    ));
    // The top pairs, the most shared first.
    let table = section(&page, "<h2 id=\"pairs\">", "</table>");
    let shared: Vec<&str> = table
        .match_indices("<td class=\"num\">")
        .map(|(at, _)| &table[at + "<td class=\"num\">".len()..])
        .map(|t| &t[..t.find('<').unwrap()])
        .collect();
    assert_eq!(
        shared,
        [
            "7",
            "58.3 % of 12",
            "63.6 % of 11",
            "2",
            "16.7 % of 12",
            "66.7 % of 3",
            "1",
            "9.1 % of 11",
            "33.3 % of 3"
        ]
    );
    assert!(table.contains("<td><a href=\"feeds/a.html\">a &lt;script&gt;"), "{table}");

    // Feed a's page: b then d, linked, with the shares of a and of the other feed.
    let feed_a = read(&site.join("feeds/a.html"));
    let overlap = section(&feed_a, "<h2 id=\"overlap\">", "</table>");
    let b_at = overlap.find("<a href=\"b.html\">").expect("b linked");
    let d_at = overlap.find("<a href=\"d.html\">").expect("d linked");
    assert!(b_at < d_at);
    assert!(overlap.contains("</a></td><td class=\"num\">7</td><td class=\"num\">58.3 %</td><td class=\"num\">63.6 % of 11</td>"), "{overlap}");
    assert!(overlap.contains("</a></td><td class=\"num\">2</td><td class=\"num\">16.7 %</td><td class=\"num\">66.7 % of 3</td>"), "{overlap}");
    assert!(!overlap.contains("c.html"));
    let feed_c = read(&site.join("feeds/c.html"));
    assert!(feed_c.contains("No other feed lists any of this feed's indicators"));

    // The navigation: on every page, the current one marked.
    let index = read(&site.join("index.html"));
    assert!(index.contains("<li><a href=\"index.html\" aria-current=\"page\">Index</a></li><li><a href=\"overlap.html\">Overlap</a></li>"), "{index}");
    assert!(page.contains("<a href=\"overlap.html\" aria-current=\"page\">Overlap</a>"));
    // (`root` is escaped as any value is: `&#x2f;` is the `/` of `../`.)
    assert!(feed_a.contains("<li><a href=\"..&#x2f;overlap.html\">Overlap</a></li>"), "{feed_a}");

    // The hostile names are text on every page that names feeds (a task page names them by
    // id), and no page holds a script.
    let mut pages = vec!["index.html".to_owned(), "overlap.html".to_owned()];
    pages.extend(lists.feeds.iter().map(|(id, _, _)| format!("feeds/{id}.html")));
    for name in pages {
        let html = read(&site.join(&name));
        assert!(!html.contains("<script>"), "{name}");
        assert!(html.contains("&lt;script&gt;alert("), "{name}");
    }
    assert!(!read(&site.join("tasks/all.html")).contains("<script>"));
}

#[test]
fn a_task_page_charts_selected_expired_and_warning_listed_over_the_builds() {
    let root = one_list_project("", &[("all", "exclude_reserved = false")]);
    // The shipped list of public resolvers, which holds 8.8.8.8.
    let list = crate::util::repo().join("warninglists.d/public-dns-v4.json");
    let to = root.path().join("warninglists.d/public-dns-v4.json");
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(list, to).unwrap();
    // NIDS keeps an address for 46.875 days after it was last seen: one seen 60 days before
    // the build is expired, one seen at the build is kept.
    let rows = |now: i64, fresh: &[&str], old: &[&str]| {
        let fresh = fresh.iter().map(|ip| format!("{ip},{now}\n"));
        let old = old.iter().map(|ip| format!("{ip},{}\n", now - 60 * DAY));
        std::iter::once("value,seen\n".to_owned()).chain(fresh).chain(old).collect::<String>()
    };
    let day_1 = rows(DAY_2_UNIX - DAY, &["8.8.8.8", "192.0.2.1"], &["198.51.100.7"]);
    crate::util::make_list_a_csv(root.path(), &day_1);
    build(root.path(), DAY_1);
    let page = || read(&root.path().join("site/tasks/all.html"));
    assert!(
        page().contains(
            "The chart of this task's counts over its builds starts with its second build."
        )
    );
    assert!(svgs(&page()).is_empty());

    let day_2 =
        rows(DAY_2_UNIX, &["8.8.8.8", "192.0.2.1", "192.0.2.2"], &["198.51.100.7", "198.51.100.8"]);
    crate::util::make_list_a_csv(root.path(), &day_2);
    let report = build(root.path(), DAY_2);
    let task = &report["tasks"][0];
    assert_eq!(
        (task["selected"].as_u64(), task["expired"].as_u64(), task["warninglisted"].as_u64()),
        (Some(2), Some(2), Some(1))
    );
    let page = page();
    let charts = svgs(&page);
    assert_eq!(charts.len(), 1);
    let doc = roxmltree::Document::parse(charts[0]).unwrap();
    let desc = doc.descendants().find(|n| n.has_tag_name("desc")).unwrap().text().unwrap();
    assert!(
        desc.ends_with(
            "in each of its last 2 builds: on 2026-08-22T00:00:00Z, 1 selected, 1 expired, 1 warning-listed; \
             on 2026-08-23T00:00:00Z, 2 selected, 2 expired, 1 warning-listed."
        ),
        "{desc}"
    );
    // Three lines, named in the legend, each from a day before to this build.
    let lines: Vec<roxmltree::Node<'_, '_>> =
        doc.descendants().filter(|n| n.has_tag_name("polyline")).collect();
    assert_eq!(lines.len(), 3);
    let names: Vec<&str> =
        lines.iter().map(|l| l.first_element_child().unwrap().text().unwrap()).collect();
    assert_eq!(names, ["selected", "expired", "warning-listed"]);
    let points = |line: &roxmltree::Node<'_, '_>| -> Vec<(f64, f64)> {
        line.attribute("points")
            .unwrap()
            .split_whitespace()
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect()
    };
    let (selected, warned) = (points(&lines[0]), points(&lines[2]));
    assert_eq!(selected.len(), 2);
    // Selected went from 1 to 2 (up: a smaller y); warning-listed stayed at 1, level with
    // selected's first point.
    assert!(selected[1].1 < selected[0].1, "{selected:?}");
    let level = |a: f64, b: f64| assert!((a - b).abs() < 0.006, "{a} is not {b}");
    level(warned[0].1, warned[1].1);
    level(warned[0].1, selected[0].1);
}

#[test]
fn the_index_puts_feeds_that_are_not_ok_first_with_their_last_success() {
    let root = one_list_project("192.0.2.1\n", &[("all", "exclude_reserved = false")]);
    write_file(root.path(), "gone.txt", "192.0.2.9\n192.0.2.10\n");
    write_file(
        root.path(),
        "feeds.d/gone.toml",
        &format!(
            "name = {}\nprovider = \"test\"\npath = \"gone.txt\"\nformat = \"freetext\"\n",
            toml::Value::from(format!("gone {HOSTILE}"))
        ),
    );
    build(root.path(), DAY_1);
    let index = read(&root.path().join("site/index.html"));
    assert!(index.contains("<p>Every feed is ok.</p>"), "{index}");
    // The next day `gone` comes back empty: its list of the day before stands in.
    write_file(root.path(), "gone.txt", "");
    let report = build_exiting(root.path(), DAY_2, 3);
    let gone = crate::util::feed(&report, "gone");
    assert_eq!(gone["status"], "empty");
    assert_eq!(gone["stale"], true);
    let index = read(&root.path().join("site/index.html"));
    let tiles = section(&index, "<ul class=\"health\"", "</ul>");
    for (class, count) in [("ok", 1), ("empty", 1), ("error", 0), ("stale", 1)] {
        assert!(
            tiles.contains(&format!("<li class=\"{class}\"><span class=\"count\">{count}</span>")),
            "{class}: {tiles}"
        );
    }
    let attention = section(&index, "<table class=\"attention\">", "</table>");
    assert_eq!(attention.matches("<tr>").count(), 2, "a head and `gone`: {attention}");
    assert!(
        attention.contains("<td><a href=\"feeds/gone.html\">gone &lt;script&gt;"),
        "{attention}"
    );
    assert!(attention.contains("<code>empty</code>"), "{attention}");
    assert!(
        attention.contains(&format!("<td>{DAY_1}</td>\n      <td>{DAY_2}</td>")),
        "last success, failing since: {attention}"
    );
    // The table comes before the downloads and the table of every feed.
    let at = |text: &str| index.find(text).unwrap();
    assert!(at("<table class=\"attention\">") < at("<h2 id=\"downloads\">"));
    assert!(at("<h2 id=\"downloads\">") < at("<h2 id=\"feeds\">"));
    assert!(index.contains("<a href=\"overlap.html\">shared indicators, feed by feed</a>"));
    assert!(!index.contains("<script>"));
}

//! The built site in a real browser (issue 7): Debian's Chromium, headless, opens the index, a
//! feed page and the look-up page that `feedsmith serve` serves on 127.0.0.1. The test reads
//! the DOM the pages leave once their scripts and fetches are done, what they wrote to the
//! console and every request they made, and writes a screenshot of each page to
//! `<target>/tmp/browser/`.
//!
//! Expected values never come from the site: titles and names from the definitions, the
//! look-up's answer from `feedsmith lookup --json`, which reads the recorded feeds itself.
//!
//! How an error is seen:
//! - Console: with `--enable-logging=stderr --v=0`, Chromium writes each console message of
//!   a page to stderr as `[pid:tid:time:INFO:CONSOLE:line] "text", source: url (line)`.
//!   Uncaught exceptions and rejections come the same way (`"Uncaught Error: …"`). Chromium
//!   logs web pages' messages at INFO whatever their level (it keeps the level only for its own
//!   built-in pages), so `console.error` cannot be told from `console.log`: every `CONSOLE`
//!   line fails the test. The site's pages have nothing to log when they work. Every other
//!   stderr line is Chromium's own (D-Bus, GPU, sandbox, the `chromium` wrapper script) and is
//!   ignored.
//! - Failed loads: Chromium 156 writes no stderr line for them (a page loading a missing image
//!   and fetching a missing file logs nothing), so the test reads the network log that
//!   `--log-net-log` writes (JSON): each request to the site's origin or made by its pages,
//!   with its status line and network error. A status of 400 or more, or a network error,
//!   fails the test. Chromium's own requests (it still asks Google's update and account
//!   services, and the machine has no network) have no page as initiator and are ignored.
//!
//! The first test checks that this harness does see console errors, uncaught exceptions and
//! failed loads, on a page made to have them.
//!
//! `.ci/run` installs Chromium (Debian package `chromium`). Outside CI (`CI` unset) a missing
//! Chromium skips these tests with a message; in CI it fails them.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use regex::Regex;

use crate::util::{StaticServer, build_replay, copy_root_definitions, lookup_json, repo};

const NOW: &str = "2026-08-23T00:00:00Z";
/// Values of the recorded data listed by several feeds and selected by tasks, with the name
/// of their screenshot. The first is listed by five feeds; the second has decayed scores that
/// are no whole numbers, so the page's rounding is checked; the third is listed as `ip-dst`
/// by some feeds and as `ip-src` by others, and one task selects the one and leaves the
/// other out as expired. The test checks that they still are so.
const LISTED: [(&str, &str); 3] = [
    ("77.239.124.108", "lookup.png"),
    ("193.141.65.199", "lookup-decayed.png"),
    ("66.132.195.46", "lookup-expired.png"),
];
/// An address no feed lists itself, inside a network that feeds list (`1.10.16.0/20`).
const COVERED: &str = "1.10.16.5";
/// A value no feed lists.
const UNLISTED: &str = "www.feedsmith-browser-test.org";
/// The feed page opened, one of the feeds that list the values of [`LISTED`].
const FEED: &str = "ipsum";
/// How long one Chromium run may take before it is killed. A page takes about two seconds on
/// an idle machine; CI's two cores are shared with the other tests.
const CHROMIUM_TIMEOUT: Duration = Duration::from_mins(3);

/// Chromium's flags for every run.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    // CI runs as root in a container, where Chromium's sandbox cannot start.
    "--no-sandbox",
    "--disable-gpu",
    // The machine has no network: without these, Chromium keeps trying Google's services
    // (QUIC, updates, sync, first-run pages) and floods stderr with their failures.
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    // Console messages to stderr (see the module's documentation).
    "--enable-logging=stderr",
    "--v=0",
    // Runs the page's timers and waits for its fetches, up to 10 s of virtual time, before
    // the DOM is dumped and the screenshot taken: the look-up's answer is in both.
    "--virtual-time-budget=10000",
    "--window-size=1280,2000",
    "--dump-dom",
];

/// Chromium's path; `None` (a failure in CI, a printed skip elsewhere) when it is missing.
fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).map(|dir| dir.join("chromium")).find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "Chromium is required in CI (.ci/run installs Debian's `chromium`)"
        );
        #[expect(clippy::print_stderr, reason = "a skipped test must say so in the test log")]
        {
            eprintln!(
                "skipping the browser test: Chromium is not installed (apt-get install chromium)"
            );
        }
    }
    found
}

/// One request of the network log.
#[derive(Debug, Default)]
struct Request {
    url: String,
    /// The origin of the page that made it; `"not an origin"` for a top-level navigation and
    /// for Chromium's own requests.
    initiator: String,
    /// The status of the last response (after redirects).
    status: Option<u16>,
    /// Chromium's network error (`-105`: name not resolved), if the request failed.
    net_error: Option<i64>,
}

/// What Chromium made of one page.
struct Page {
    url: String,
    /// The serialized DOM once the page's scripts and fetches were done.
    dom: String,
    /// The console lines of stderr.
    console: Vec<String>,
    /// The requests of the site's origin or of its pages.
    requests: Vec<Request>,
}

impl Page {
    /// The site's requests that failed, as `url: what`. Chromium asks for `/favicon.ico` on
    /// its own when a page names no icon (the site names none); that request is the
    /// browser's guess, not a load the page asked for, so its 404 is left out.
    fn failed_loads(&self, origin: &str) -> Vec<String> {
        let names_icon = elements(&self.dom).iter().any(|e| {
            e.name == "link"
                && e.attr("rel").is_some_and(|r| r.split_whitespace().any(|t| t == "icon"))
        });
        let favicon = format!("{origin}/favicon.ico");
        self.requests
            .iter()
            .filter(|r| names_icon || r.url != favicon)
            .filter_map(|r| match (r.status, r.net_error) {
                (_, Some(error)) => Some(format!("{}: network error {error}", r.url)),
                (Some(status), None) if status >= 400 => Some(format!("{}: HTTP {status}", r.url)),
                _ => None,
            })
            .collect()
    }

    /// Fails when the page wrote to the console, threw, or failed to load anything.
    fn assert_no_errors(&self, origin: &str) {
        let failed = self.failed_loads(origin);
        assert!(
            self.console.is_empty() && failed.is_empty(),
            "{}\nconsole messages:\n{}\nfailed loads:\n{}",
            self.url,
            self.console.join("\n"),
            failed.join("\n")
        );
    }
}

/// Opens `url` in headless Chromium and returns what it saw; writes a screenshot of the page
/// to `screenshot` when given. `origin` (`http://host:port`) tells the site's requests from
/// Chromium's own.
fn open(chromium: &Path, url: &str, origin: &str, screenshot: Option<&Path>) -> Page {
    let scratch = tempfile::tempdir().unwrap();
    let netlog = scratch.path().join("netlog.json");
    let stdout = scratch.path().join("stdout");
    let stderr = scratch.path().join("stderr");
    let mut command = Command::new(chromium);
    command
        .args(CHROMIUM_FLAGS)
        .arg(format!("--user-data-dir={}", scratch.path().join("profile").display()))
        .arg(format!("--log-net-log={}", netlog.display()));
    if let Some(path) = screenshot {
        command.arg(format!("--screenshot={}", path.display()));
    }
    // Files, not pipes: a helper process that outlives the browser cannot hold the test.
    // Its own process group, so that a timeout kills the renderers and the GPU process too.
    let mut child = command
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium.display()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > CHROMIUM_TIMEOUT {
            // The group leader is not reaped yet, so its id still names this group only.
            let _ =
                Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
            let _ = child.wait();
            panic!(
                "Chromium did not finish {url} in {CHROMIUM_TIMEOUT:?}; stderr:\n{}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let dom = std::fs::read_to_string(&stdout).unwrap();
    let stderr = std::fs::read_to_string(&stderr).unwrap();
    assert!(status.success() && !dom.is_empty(), "Chromium failed on {url} ({status}):\n{stderr}");
    let netlog: serde_json::Value = serde_json::from_slice(&std::fs::read(&netlog).unwrap())
        .unwrap_or_else(|e| panic!("the network log of {url} does not parse: {e}"));
    let requests: Vec<Request> = requests(&netlog)
        .into_iter()
        .filter(|r| r.url.starts_with(&format!("{origin}/")) || r.initiator == origin)
        .collect();
    // The page itself is in the log, or the log is not read right.
    assert!(requests.iter().any(|r| r.url == url), "{url} is not in its network log: {requests:?}");
    if let Some(path) = screenshot {
        let png = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(png.starts_with(b"\x89PNG"), "{} is no PNG", path.display());
        #[expect(clippy::print_stdout, reason = "the test log names the screenshots")]
        {
            println!("screenshot of {url}: {}", path.display());
        }
    }
    Page { url: url.to_owned(), dom, console: console_lines(&stderr), requests }
}

/// The lines of Chromium's stderr that carry a page's console message.
fn console_lines(stderr: &str) -> Vec<String> {
    // `[1234:1234:1204/055437.778976:INFO:CONSOLE:6] "text", source: http://… (6)`; older
    // versions wrote `CONSOLE(6)`.
    static CONSOLE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^\[[^\]]*:CONSOLE[:(]\d+\)?\] ").unwrap());
    stderr.lines().filter(|l| CONSOLE.is_match(l)).map(str::to_owned).collect()
}

/// Every URL request of a network log (Chromium's `NetLog` JSON: event types are numbers,
/// named in `constants.logEventTypes`; the events of one request share `source.id`).
fn requests(netlog: &serde_json::Value) -> Vec<Request> {
    let kind = |name: &str| {
        netlog["constants"]["logEventTypes"][name]
            .as_u64()
            .unwrap_or_else(|| panic!("the network log names no event type {name}"))
    };
    let start = kind("URL_REQUEST_START_JOB");
    let headers = kind("HTTP_TRANSACTION_READ_RESPONSE_HEADERS");
    let alive = kind("REQUEST_ALIVE");
    let mut by_source: BTreeMap<u64, Request> = BTreeMap::new();
    for event in netlog["events"].as_array().expect("the network log has events") {
        let (Some(source), Some(kind)) = (event["source"]["id"].as_u64(), event["type"].as_u64())
        else {
            continue;
        };
        let params = &event["params"];
        if kind == start
            && let Some(url) = params["url"].as_str()
        {
            // A redirect starts another job: the first URL is the one the page asked for.
            let request = by_source.entry(source).or_default();
            if request.url.is_empty() {
                url.clone_into(&mut request.url);
                params["initiator"].as_str().unwrap_or_default().clone_into(&mut request.initiator);
            }
        } else if kind == headers {
            // `"HTTP/1.1 404 Not Found"`
            let status = params["headers"][0].as_str().and_then(|l| l.split(' ').nth(1));
            by_source.entry(source).or_default().status = status.and_then(|s| s.parse().ok());
        } else if kind == alive
            && let Some(error) = params["net_error"].as_i64()
        {
            by_source.entry(source).or_default().net_error = Some(error);
        }
    }
    by_source.into_values().filter(|r| !r.url.is_empty()).collect()
}

/// A start tag of a serialized DOM.
#[derive(Debug)]
struct Element {
    name: String,
    attributes: BTreeMap<String, String>,
    /// Where the start tag ends in the text it was read from.
    end: usize,
}

impl Element {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }

    fn has_class(&self, class: &str) -> bool {
        self.attr("class").is_some_and(|c| c.split_whitespace().any(|t| t == class))
    }
}

/// The start tags of `html`, in order.
///
/// Chromium's `--dump-dom` is HTML, which no XML parser reads, but its serializer is
/// regular: lower-case names, every attribute value in double quotes with `&`, `"`, `<`
/// and `>` escaped. So a regular expression over start tags reads it reliably, and the test
/// needs no HTML parser. Markup inside `script`, `style` and `template` is text, not elements:
/// it is cut first.
fn elements(html: &str) -> Vec<Element> {
    static INERT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?is)<script\b[^>]*>.*?</script\s*>|<style\b[^>]*>.*?</style\s*>|<template\b[^>]*>.*?</template\s*>",
        )
        .unwrap()
    });
    static TAG: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s"'<>/=]+(?:\s*=\s*"[^"]*")?)*)\s*/?>"#)
            .unwrap()
    });
    static ATTRIBUTE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"([^\s"'<>/=]+)(?:\s*=\s*"([^"]*)")?"#).unwrap());
    // Cut inert content by blanking it, so that positions stay those of `html`.
    let mut text = html.to_owned();
    for cut in INERT.find_iter(html) {
        text.replace_range(cut.range(), &" ".repeat(cut.len()));
    }
    TAG.captures_iter(&text)
        .map(|tag| Element {
            name: tag[1].to_ascii_lowercase(),
            attributes: ATTRIBUTE
                .captures_iter(&tag[2])
                .map(|a| {
                    (
                        a[1].to_ascii_lowercase(),
                        a.get(2).map_or(String::new(), |v| unescape(v.as_str())),
                    )
                })
                .collect(),
            end: tag.get(0).unwrap().end(),
        })
        .collect()
}

/// Text as the serializer escaped it, unescaped.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The text of the first `name` element of `html`: tags dropped, entities unescaped, runs of
/// white space made one space.
fn text_of(html: &str, name: &str) -> Option<String> {
    let element = Regex::new(&format!(r"(?is)<{name}\b[^>]*>(.*?)</{name}\s*>")).unwrap();
    element.captures(html).map(|c| plain(&c[1]))
}

fn plain(html: &str) -> String {
    static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<[^>]*>").unwrap());
    unescape(&TAG.replace_all(html, " ")).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The links of `html`: target (without a leading `./`) and text.
fn links(html: &str) -> Vec<(String, String)> {
    static LINK: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?is)<a\b[^>]*\bhref="([^"]*)"[^>]*>(.*?)</a\s*>"#).unwrap()
    });
    LINK.captures_iter(html)
        .map(|c| (unescape(&c[1]).trim_start_matches("./").to_owned(), plain(&c[2])))
        .collect()
}

/// The `section#id` element of `html`: its start tag and its content.
fn section<'a>(html: &'a str, id: &str) -> Option<(Element, &'a str)> {
    static BOUNDARY: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)<section\b|</section\s*>").unwrap());
    let element =
        elements(html).into_iter().find(|e| e.name == "section" && e.attr("id") == Some(id))?;
    let mut depth = 1;
    for boundary in BOUNDARY.find_iter(&html[element.end..]) {
        depth += if boundary.as_str().starts_with("</") { -1 } else { 1 };
        if depth == 0 {
            let content = &html[element.end..element.end + boundary.start()];
            return Some((element, content));
        }
    }
    None
}

/// Where a screenshot is written: `<target>/tmp/browser/<name>`.
fn screenshot(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A string key of a TOML file of the repository.
fn definition(relative: &str, key: &str) -> String {
    let path = repo().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let table: toml::Table = toml::from_str(&text).unwrap();
    table[key].as_str().unwrap_or_else(|| panic!("no `{key}` in {relative}")).to_owned()
}

#[test]
fn the_harness_sees_console_errors_exceptions_and_failed_loads() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.html"),
        "<!DOCTYPE html><html><head><title>broken</title></head><body>\n\
         <p id=\"fetched\">not yet</p><img src=\"missing.png\" alt=\"\">\n\
         <script>\n\
         console.error(\"deliberate console error\");\n\
         fetch(\"missing.json\").then(r => {\n\
           document.getElementById(\"fetched\").textContent = \"fetched \" + r.status;\n\
           throw new Error(\"deliberate exception\");\n\
         });\n\
         </script></body></html>\n",
    )
    .unwrap();
    let server = StaticServer::serve(dir.path().to_owned());
    let origin = server.url("");
    let page = open(&chromium, &server.url("/broken.html"), &origin, None);

    // The fetch was answered before the DOM was dumped.
    assert_eq!(text_of(&page.dom, "p").as_deref(), Some("fetched 404"), "{}", page.dom);
    let console = page.console.join("\n");
    assert!(console.contains("\"deliberate console error\""), "{console}");
    assert!(console.contains("Uncaught (in promise) Error: deliberate exception"), "{console}");
    assert_eq!(page.console.len(), 2, "{console}");
    let failed = page.failed_loads(&origin);
    for missing in ["missing.png", "missing.json"] {
        let line = format!("{}: HTTP 404", server.url(&format!("/{missing}")));
        assert!(failed.contains(&line), "{missing} is not reported: {failed:?}");
    }
    // Nothing else: Chromium's own request for `/favicon.ico`, when it makes it before it
    // quits, is not the page's.
    assert_eq!(failed.len(), 2, "{failed:?}");
}

#[test]
fn the_index_and_a_feed_page_show_their_titles_without_errors() {
    let Some(chromium) = chromium() else { return };
    let root = copy_root_definitions();
    build_replay(root.path(), NOW);
    let title = definition("feedsmith.toml", "title");
    let name = definition(&format!("feeds.d/{FEED}.toml"), "name");
    let site = Site::serve(root.path());
    let origin = site.url("").trim_end_matches('/').to_owned();

    let index = open(&chromium, &site.url("index.html"), &origin, Some(&screenshot("index.png")));
    index.assert_no_errors(&origin);
    assert_eq!(text_of(&index.dom, "title").as_deref(), Some(title.as_str()));
    assert_eq!(text_of(&index.dom, "h1").as_deref(), Some(title.as_str()));
    let feed_page = format!("feeds/{FEED}.html");
    assert!(
        links(&index.dom).contains(&(feed_page.clone(), name.clone())),
        "the index has no link `{name}` to {feed_page}"
    );

    let feed = open(&chromium, &site.url(&feed_page), &origin, Some(&screenshot("feed.png")));
    feed.assert_no_errors(&origin);
    let feed_title = text_of(&feed.dom, "title").unwrap_or_default();
    assert!(feed_title.contains(&name) && feed_title.contains(&title), "{feed_title}");
    assert_eq!(text_of(&feed.dom, "h1").as_deref(), Some(name.as_str()));
}

/// The built site on 127.0.0.1, from a plain static server as a web host serves it: one
/// request per connection. (`feedsmith serve`, on `tiny_http`, now and then left Chromium
/// waiting for the look-up page's parallel fetches under load; tests/serve.rs tests the
/// preview itself.)
struct Site(StaticServer);

impl Site {
    fn serve(root: &Path) -> Site {
        Site(StaticServer::serve(root.join("site")))
    }

    /// The URL of `path` on the site (`path` without a leading `/`).
    fn url(&self, path: &str) -> String {
        self.0.url(&format!("/{path}"))
    }
}

/// The look-up page's answer for `value`: `data-state`, the feeds that list it, and per task
/// its verdict and the `data-score` text.
struct Answer {
    state: Option<String>,
    feeds: BTreeSet<String>,
    tasks: Verdicts<String>,
}

/// Per task id and type the task took the value as: the verdict and the score (a number, or
/// the text of `data-score`), if any.
type Verdicts<S> = BTreeMap<(String, String), (String, Option<S>)>;

/// Opens `lookup.html?q=<value>` and reads the answer; checks the search form on the way.
fn look_up(chromium: &Path, site: &Site, value: &str, shot: &str) -> Answer {
    let origin = site.url("").trim_end_matches('/').to_owned();
    // Encoded as submitting the form encodes it.
    let query: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let page = open(
        chromium,
        &site.url(&format!("lookup.html?q={query}")),
        &origin,
        Some(&screenshot(shot)),
    );
    page.assert_no_errors(&origin);
    let all = elements(&page.dom);
    assert!(
        all.iter().any(|e| e.name == "form"
            && e.attr("id") == Some("lookup-form")
            && e.attr("role") == Some("search")),
        "no <form id=\"lookup-form\" role=\"search\"> on {}",
        page.url
    );
    assert!(
        all.iter()
            .any(|e| e.name == "input" && e.attr("id") == Some("q") && e.attr("name") == Some("q")),
        "no <input id=\"q\" name=\"q\"> on {}",
        page.url
    );
    let (answer, content) = section(&page.dom, "answer")
        .unwrap_or_else(|| panic!("no <section id=\"answer\"> on {}", page.url));
    let inside = elements(content);
    let mut tasks = BTreeMap::new();
    for row in inside.iter().filter(|e| e.name == "tr") {
        let Some(task) = row.attr("data-task") else { continue };
        let kind = row.attr("data-type").unwrap_or_default().to_owned();
        let verdict = row.attr("data-verdict").unwrap_or_default().to_owned();
        let score = row.attr("data-score").map(str::to_owned);
        let earlier = tasks.insert((task.to_owned(), kind.clone()), (verdict, score));
        assert!(earlier.is_none(), "two rows of task {task} for {kind} on {}", page.url);
    }
    Answer {
        state: answer.attr("data-state").map(str::to_owned),
        feeds: inside
            .iter()
            .filter(|e| e.has_class("feed"))
            .filter_map(|e| e.attr("data-feed").map(str::to_owned))
            .collect(),
        tasks,
    }
}

/// What `feedsmith lookup --json` says of `value`: the feeds that list the value itself, and
/// per task its verdict and score. It must be listed.
fn expected_answer(root: &Path, value: &str) -> (BTreeSet<String>, Verdicts<f64>) {
    let (code, json) = lookup_json(root, value, NOW);
    assert_eq!(code, 0, "{value} is not listed: {json}");
    let feeds = json["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["match"] == "exact")
        .map(|l| l["feed"].as_str().unwrap().to_owned())
        .collect();
    let mut tasks = BTreeMap::new();
    for task in json["tasks"].as_array().unwrap() {
        let id = task["task"].as_str().unwrap().to_owned();
        let kind = task["indicator"]["type"].as_str().unwrap().to_owned();
        let verdict = task["verdict"].as_str().unwrap().to_owned();
        // A task of one IP version does not take an address of the other: the look-up index
        // has no row for it (README, "The look-up index").
        if verdict == "other_ip_version" {
            continue;
        }
        let earlier = tasks.insert((id.clone(), kind.clone()), (verdict, task["score"].as_f64()));
        assert!(earlier.is_none(), "task {id} takes {value} as {kind} twice: {json}");
    }
    (feeds, tasks)
}

#[test]
fn the_look_up_page_answers_as_feedsmith_lookup_does() {
    let Some(chromium) = chromium() else { return };
    let root = copy_root_definitions();
    build_replay(root.path(), NOW);
    let site = Site::serve(root.path());
    // `data-score`: at most 2 decimals, no trailing zeros.
    let score_text = Regex::new(r"^(0|[1-9][0-9]*)(\.[0-9]?[1-9])?$").unwrap();
    let (mut other_verdict, mut fraction) = (false, false);

    for (value, shot) in LISTED {
        let (feeds, tasks) = expected_answer(root.path(), value);
        assert!(feeds.len() >= 2, "{value} is no longer listed by several feeds: {feeds:?}");
        assert!(tasks.values().any(|(v, _)| v == "selected"), "no task selects {value}");
        other_verdict |= tasks.values().any(|(v, _)| v != "selected");
        fraction |= tasks.values().any(|(_, s)| s.is_some_and(|s| s.fract() != 0.0));

        let answer = look_up(&chromium, &site, value, shot);
        assert_eq!(answer.state.as_deref(), Some("found"), "data-state of the answer to {value}");
        assert_eq!(answer.feeds, feeds, "the feeds shown for {value}");
        assert_eq!(
            answer.tasks.keys().collect::<Vec<_>>(),
            tasks.keys().collect::<Vec<_>>(),
            "the tasks shown for {value}"
        );
        for (key, (verdict, score)) in &tasks {
            let task = &key.0;
            let (shown_verdict, shown_score) = &answer.tasks[key];
            assert_eq!(shown_verdict, verdict, "the verdict of {task} on {value}");
            match (score, shown_score) {
                (None, None) => {}
                // Within half a hundredth of the score: a tie may be rounded either way.
                (Some(score), Some(shown)) => {
                    assert!(
                        score_text.is_match(shown),
                        "{task} on {value}: data-score=\"{shown}\""
                    );
                    let shown: f64 = shown.parse().unwrap();
                    assert!(
                        (shown - score).abs() <= 0.005 + 1e-9,
                        "{task} on {value}: shown {shown}, score {score}"
                    );
                }
                _ => panic!("{task} on {value}: score {score:?}, data-score {shown_score:?}"),
            }
        }
    }
    // The values still show what the test is for.
    assert!(other_verdict, "every task selects every value of LISTED");
    assert!(fraction, "no score of LISTED's values needs rounding");

    let (code, json) = lookup_json(root.path(), UNLISTED, NOW);
    assert!(
        code == 1 && json["feeds"].as_array().unwrap().is_empty(),
        "{UNLISTED} is listed: {json}"
    );
    let answer = look_up(&chromium, &site, UNLISTED, "lookup-not-found.png");
    assert_eq!(
        answer.state.as_deref(),
        Some("not-found"),
        "data-state of the answer to {UNLISTED}"
    );
    assert!(answer.feeds.is_empty() && answer.tasks.is_empty(), "{UNLISTED}: {:?}", answer.feeds);

    // An address no feed lists itself, inside networks that feeds list: the page shows those
    // networks' feeds, as `feedsmith lookup` finds them ("covered" by a network).
    let (code, json) = lookup_json(root.path(), COVERED, NOW);
    assert_eq!(code, 0, "{COVERED} is not covered: {json}");
    let listings = json["feeds"].as_array().unwrap();
    assert!(listings.iter().all(|l| l["match"] == "covered"), "{COVERED} is listed itself: {json}");
    let by_network: BTreeSet<String> = listings
        .iter()
        .filter(|l| l["entry"]["value"].as_str().is_some_and(|v| v.contains('/')))
        .map(|l| l["feed"].as_str().unwrap().to_owned())
        .collect();
    assert!(!by_network.is_empty(), "no network holds {COVERED}: {json}");
    let answer = look_up(&chromium, &site, COVERED, "lookup-covered.png");
    assert_eq!(answer.state.as_deref(), Some("covered"), "data-state of the answer to {COVERED}");
    assert_eq!(answer.feeds, by_network, "the feeds of the networks holding {COVERED}");
}

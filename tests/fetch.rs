//! Fetching from a real HTTP server on 127.0.0.1 (issue 3): every fault a nightly build meets,
//! each through a whole `feedsmith build` of a small project whose feeds point at the server.
//!
//! `wiremock` serves what it can express; a small raw TCP server serves what it cannot (a
//! body that stalls half-way, a `Content-Length` larger than the body, a proxy, timing).
//! Projects use short timeouts and back-off (`timeout_secs = 2`, `retries = 2`,
//! `retry_base_ms = 50`) so that the faults cost seconds, not minutes.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::util::{plain_values, repo};

const NOW: &str = "2026-08-23T00:00:00Z";
/// Fetch settings of every test project, unless a test adds more.
const FAST: &str = "timeout_secs = 2\nretries = 2\nretry_base_ms = 50\n";
const LIST: &str = "198.51.100.1\n198.51.100.2\n";

/// A project of free-text feeds and one task writing every indicator to `all.txt`.
struct Project {
    root: tempfile::TempDir,
}

impl Project {
    /// `fetch` is added under `[fetch]`; each feed is `(id, definition lines)`, the lines
    /// holding at least `url` or `path`.
    fn new(fetch: &str, feeds: &[(&str, String)]) -> Project {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path();
        std::fs::create_dir_all(dir.join("feeds.d")).unwrap();
        std::fs::create_dir_all(dir.join("tasks.d")).unwrap();
        std::fs::write(dir.join("feedsmith.toml"), format!("[fetch]\n{FAST}{fetch}")).unwrap();
        for (id, definition) in feeds {
            let text = if definition.contains("format =") {
                format!("name = \"{id}\"\nprovider = \"test\"\n{definition}\n")
            } else {
                format!(
                    "name = \"{id}\"\nprovider = \"test\"\nformat = \"freetext\"\n{definition}\n"
                )
            };
            std::fs::write(dir.join(format!("feeds.d/{id}.toml")), text).unwrap();
        }
        std::fs::write(
            dir.join("tasks.d/all.toml"),
            // The inputs use the documentation ranges (RFC 5737), which tasks leave out by default.
            "name = \"all\"\n[select]\nexclude_reserved = false\n[[outputs]]\nformat = \"plain\"\npath = \"all.txt\"\n",
        )
        .unwrap();
        Project { root }
    }

    /// A project of one feed, `upstream`, reading `url`.
    fn one(url: &str, extra: &str) -> Project {
        Project::new("", &[("upstream", format!("url = \"{url}\"\n{extra}"))])
    }

    fn path(&self) -> &Path {
        self.root.path()
    }

    /// Runs `feedsmith <args>` with `env` set and no proxy variables from the caller.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = Command::cargo_bin("feedsmith").unwrap();
        command.arg("--root").arg(self.path()).arg("--no-progress").args(args);
        command.env_remove("GITHUB_ACTIONS");
        for variable in PROXY_VARIABLES {
            command.env_remove(variable);
        }
        command.envs(env.iter().copied());
        let started = Instant::now();
        let output = command.output().unwrap();
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            elapsed: started.elapsed(),
            root: self.path().to_owned(),
        }
    }

    fn build(&self) -> Run {
        self.build_with(&[])
    }

    fn build_with(&self, env: &[(&str, &str)]) -> Run {
        let run = self.run(&["build", "--now", NOW], env);
        assert!(matches!(run.code, Some(0 | 3)), "build failed: {run:?}");
        run
    }
}

const PROXY_VARIABLES: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// One run of the binary.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    root: PathBuf,
}

impl Run {
    fn report(&self) -> serde_json::Value {
        let bytes = std::fs::read(self.root.join("site/report.json")).expect("report.json");
        serde_json::from_slice(&bytes).unwrap()
    }

    fn feed(&self, id: &str) -> serde_json::Value {
        let report = self.report();
        report["feeds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .unwrap_or_else(|| panic!("feed {id} not in the report"))
            .clone()
    }

    fn error(&self, id: &str) -> String {
        let feed = self.feed(id);
        assert_eq!(feed["status"], "error", "{feed:#}");
        feed["error"].as_str().unwrap_or_default().to_owned()
    }

    fn values(&self) -> BTreeSet<String> {
        plain_values(&self.root.join("site/all.txt")).into_iter().collect()
    }
}

fn set(values: &[&str]) -> BTreeSet<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

/// A runtime to set up wiremock from synchronous tests (the mock server runs on a thread of
/// its own, so it keeps answering while the test waits for the binary).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn requests(rt: &tokio::runtime::Runtime, server: &MockServer) -> Vec<wiremock::Request> {
    rt.block_on(server.received_requests()).unwrap_or_default()
}

fn requests_to(rt: &tokio::runtime::Runtime, server: &MockServer, to: &str) -> usize {
    requests(rt, server).iter().filter(|r| r.url.path() == to).count()
}

fn text(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "text/plain")
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// What the raw server saw of one request.
#[derive(Clone, Debug)]
struct Seen {
    head: String,
    at: Instant,
}

/// A raw HTTP/1.1 server: one thread per connection, the request head recorded, the answer
/// written by `respond`, the connection closed after it.
struct RawServer {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl RawServer {
    fn start<F>(respond: F) -> RawServer
    where
        F: Fn(usize, &str, &mut TcpStream) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let respond = Arc::new(respond);
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let respond = Arc::clone(&respond);
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    let Some(head) = read_head(&mut stream) else { return };
                    let index = {
                        let mut log = log.lock().unwrap();
                        log.push(Seen { head: head.clone(), at: Instant::now() });
                        log.len() - 1
                    };
                    respond(index, &head, &mut stream);
                });
            }
        });
        RawServer { port, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn read_head(stream: &mut TcpStream) -> Option<String> {
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

fn write_response(stream: &mut TcpStream, status: &str, headers: &[(&str, &str)], body: &[u8]) {
    let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (name, value) in headers {
        let _ = write!(out, "{name}: {value}\r\n");
    }
    let _ = write!(out, "Content-Length: {}\r\n\r\n", body.len());
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.write_all(body);
}

// ---------------------------------------------------------------------------------------
// Timeouts, stalls, cut-off bodies, refused connections

#[test]
fn a_server_that_never_answers_times_out_after_every_retry() {
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(
        Mock::given(path("/list.txt"))
            .respond_with(text(LIST).set_delay(Duration::from_secs(10)))
            .mount(&server),
    );
    let project = Project::one(&format!("{}/list.txt", server.uri()), "");
    let run = project.build();
    let error = run.error("upstream");
    assert!(error.contains("timed out after 2 s"), "{error}");
    assert!(error.contains("gave up after 3 attempts"), "{error}");
    assert_eq!(run.code, Some(3));
    assert_eq!(requests_to(&rt, &server, "/list.txt"), 3, "one request and two retries");
    assert!(run.values().is_empty());
}

#[test]
fn a_body_that_stalls_half_way_is_an_error_not_partial_data() {
    let server = RawServer::start(|_, _, stream| {
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n",
        );
        let _ = stream.write_all(b"198.51.100.7\n198.51.100.8\n");
        let _ = stream.flush();
        std::thread::sleep(Duration::from_secs(8));
    });
    let project = Project::one(&server.url("/list.txt"), "");
    let run = project.build();
    let error = run.error("upstream");
    assert!(error.contains("stalled after 26 bytes"), "{error}");
    assert_eq!(server.seen().len(), 3);
    assert!(run.values().is_empty(), "no value from the half body");
}

#[test]
fn a_body_shorter_than_its_content_length_is_an_error_not_partial_data() {
    let server = RawServer::start(|_, _, stream| {
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\
              Connection: close\r\n\r\n198.51.100.7\n198.51.100.8\n",
        );
        // Closing the connection here cuts the body at 26 of 1000 bytes.
    });
    let project = Project::one(&server.url("/list.txt"), "");
    let run = project.build();
    let error = run.error("upstream");
    assert!(error.contains("cut off after 26 of 1000 bytes"), "{error}");
    assert!(error.contains("gave up after 3 attempts"), "{error}");
    assert!(run.values().is_empty());
}

#[test]
fn a_refused_connection_fails_the_feed_after_the_retries() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let project = Project::one(&format!("http://127.0.0.1:{port}/list.txt"), "");
    let run = project.build();
    let error = run.error("upstream");
    assert!(error.to_lowercase().contains("connection refused"), "{error}");
    assert!(error.contains("gave up after 3 attempts"), "{error}");
    assert_eq!(run.code, Some(3));
}

// ---------------------------------------------------------------------------------------
// Statuses, retries and redirects

#[test]
fn a_500_then_a_200_succeeds_on_the_retry() {
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(async {
        Mock::given(path("/list.txt"))
            .respond_with(ResponseTemplate::new(500))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(path("/list.txt")).respond_with(text(LIST)).mount(&server).await;
    });
    let project = Project::one(&format!("{}/list.txt", server.uri()), "");
    let run = project.build();
    assert_eq!(run.feed("upstream")["status"], "ok");
    assert_eq!(run.feed("upstream")["http_status"], 200);
    assert_eq!(requests_to(&rt, &server, "/list.txt"), 2);
    assert_eq!(run.values(), set(&["198.51.100.1", "198.51.100.2"]));
    assert_eq!(run.code, Some(0));
}

#[test]
fn a_429_is_retried_after_the_seconds_its_retry_after_asks_for() {
    let server = RawServer::start(|index, _, stream| {
        if index == 0 {
            write_response(stream, "429 Too Many Requests", &[("Retry-After", "1")], b"slow down");
        } else {
            write_response(stream, "200 OK", &[("Content-Type", "text/plain")], LIST.as_bytes());
        }
    });
    let project = Project::one(&server.url("/list.txt"), "");
    let run = project.build();
    assert_eq!(run.feed("upstream")["status"], "ok");
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    let gap = seen[1].at.duration_since(seen[0].at);
    // retry_base_ms = 50 would retry within 50 ms; the server asked for one second.
    assert!(gap >= Duration::from_millis(990), "retried after {gap:?}");
    assert_eq!(run.values(), set(&["198.51.100.1", "198.51.100.2"]));
}

#[test]
fn a_retry_after_longer_than_the_cap_is_not_waited_for() {
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(
        Mock::given(path("/list.txt"))
            .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "3600"))
            .mount(&server),
    );
    let project = Project::one(&format!("{}/list.txt", server.uri()), "");
    let run = project.build();
    let error = run.error("upstream");
    assert!(error.contains("HTTP 503"), "{error}");
    assert!(error.contains("retry after 3600 s, more than the 60 s cap"), "{error}");
    assert_eq!(requests_to(&rt, &server, "/list.txt"), 1);
    assert!(run.elapsed < Duration::from_secs(30), "{:?}", run.elapsed);
}

#[test]
fn a_404_is_not_retried() {
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(
        Mock::given(path("/list.txt")).respond_with(ResponseTemplate::new(404)).mount(&server),
    );
    let project = Project::one(&format!("{}/list.txt", server.uri()), "");
    let run = project.build();
    let error = run.error("upstream");
    assert!(error.starts_with("HTTP 404 from"), "{error}");
    assert_eq!(requests_to(&rt, &server, "/list.txt"), 1);
}

#[test]
fn a_redirect_loop_fails_with_the_loop_named_and_no_retry() {
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    let uri = server.uri();
    rt.block_on(async {
        Mock::given(path("/a"))
            .respond_with(ResponseTemplate::new(302).insert_header("Location", "/b"))
            .mount(&server)
            .await;
        Mock::given(path("/b"))
            .respond_with(ResponseTemplate::new(301).insert_header("Location", format!("{uri}/a")))
            .mount(&server)
            .await;
    });
    let project = Project::one(&format!("{uri}/a"), "");
    let run = project.build();
    let error = run.error("upstream");
    assert!(error.contains(&format!("redirect loop: {uri}/a → {uri}/b → {uri}/a")), "{error}");
    assert_eq!(requests(&rt, &server).len(), 2);
}

#[test]
fn a_redirect_within_the_limit_is_followed() {
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(async {
        Mock::given(path("/old"))
            .respond_with(ResponseTemplate::new(308).insert_header("Location", "/new/list.txt"))
            .mount(&server)
            .await;
        Mock::given(path("/new/list.txt")).respond_with(text(LIST)).mount(&server).await;
    });
    let project = Project::one(&format!("{}/old", server.uri()), "");
    let run = project.build();
    assert_eq!(run.feed("upstream")["status"], "ok");
    assert_eq!(run.values(), set(&["198.51.100.1", "198.51.100.2"]));
}

// ---------------------------------------------------------------------------------------
// Conditional requests

#[test]
fn a_second_build_with_unchanged_upstreams_makes_only_conditional_requests() {
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    let modified = "Sat, 01 Aug 2026 00:00:00 GMT";
    rt.block_on(async {
        Mock::given(path("/etag.txt"))
            .and(header("If-None-Match", "\"v1\""))
            .respond_with(ResponseTemplate::new(304))
            .mount(&server)
            .await;
        Mock::given(path("/etag.txt"))
            .respond_with(text("198.51.100.10\n").insert_header("ETag", "\"v1\""))
            .mount(&server)
            .await;
        Mock::given(path("/modified.txt"))
            // wiremock's `header` matcher splits values at commas, which HTTP dates hold.
            .and(move |r: &wiremock::Request| {
                r.headers
                    .get("if-modified-since")
                    .is_some_and(|v| v.as_bytes() == modified.as_bytes())
            })
            .respond_with(ResponseTemplate::new(304))
            .mount(&server)
            .await;
        Mock::given(path("/modified.txt"))
            .respond_with(text("198.51.100.11\n").insert_header("Last-Modified", modified))
            .mount(&server)
            .await;
        Mock::given(path("/fresh.txt")).respond_with(text("198.51.100.12\n")).mount(&server).await;
    });
    let uri = server.uri();
    let project = Project::new(
        "",
        &[
            ("etag", format!("url = \"{uri}/etag.txt\"")),
            ("modified", format!("url = \"{uri}/modified.txt\"")),
            ("fresh", format!("url = \"{uri}/fresh.txt\"\nrefresh_secs = 3600")),
        ],
    );
    let first = project.build();
    let expected = set(&["198.51.100.10", "198.51.100.11", "198.51.100.12"]);
    assert_eq!(first.values(), expected);
    let first_requests = requests(&rt, &server);
    assert_eq!(first_requests.len(), 3);
    assert!(first_requests.iter().all(|r| !r.headers.contains_key("if-none-match")
        && !r.headers.contains_key("if-modified-since")));

    let second = project.build();
    assert_eq!(second.values(), expected);
    assert_eq!(second.code, Some(0));
    let all = requests(&rt, &server);
    let later = &all[first_requests.len()..];
    // `fresh` is inside its refresh interval: no request at all.
    assert_eq!(later.len(), 2, "{later:?}");
    for request in later {
        let etag = request.headers.get("if-none-match").map(|v| v.to_str().unwrap());
        let since = request.headers.get("if-modified-since").map(|v| v.to_str().unwrap());
        match request.url.path() {
            "/etag.txt" => assert_eq!(etag, Some("\"v1\"")),
            "/modified.txt" => assert_eq!(since, Some(modified)),
            other => panic!("unexpected request to {other}"),
        }
    }
    for id in ["etag", "modified"] {
        let feed = second.feed(id);
        assert_eq!(feed["status"], "ok", "{feed:#}");
        assert_eq!(feed["http_status"], 304, "{feed:#}");
        assert_eq!(feed["origin"], "cache", "{feed:#}");
    }
    assert_eq!(second.feed("fresh")["origin"], "cache");
}

// ---------------------------------------------------------------------------------------
// Bodies: content that is not a list, compressed files, caps

#[test]
fn an_html_page_with_status_200_fails_the_feed_unparsed() {
    // shared/bugcases/01-html-instead-of-data (PaloAltoNetworks/minemeld#29)
    let payload =
        std::fs::read(repo().join("tests/fixtures/bugcases/01-html-instead-of-data/payload.txt"))
            .unwrap();
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(
        Mock::given(path("/domains.txt"))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(payload, "text/html; charset=utf-8"),
            )
            .mount(&server),
    );
    let project = Project::one(&format!("{}/domains.txt", server.uri()), "");
    let run = project.build();
    let error = run.error("upstream");
    assert!(error.contains("an HTML page (html_content)"), "{error}");
    assert!(error.contains("HTTP 200"), "{error}");
    assert!(error.contains("`text/html; charset=utf-8`"), "{error}");
    assert!(error.contains("<!DOCTYPE html>"), "{error}");
    assert_eq!(run.feed("upstream")["stats"]["lines"], 0);
    assert!(run.values().is_empty(), "not even bad-domain.example: {:?}", run.values());
    assert_eq!(run.code, Some(3));
}

#[test]
fn binary_bytes_sent_as_octet_stream_fail_the_feed() {
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(b"198.51.100.3\n");
    rt.block_on(
        Mock::given(path("/list.txt"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(png, "application/octet-stream"))
            .mount(&server),
    );
    let project = Project::one(&format!("{}/list.txt", server.uri()), "");
    let run = project.build();
    let error = run.error("upstream");
    assert!(error.contains("binary data (binary_data)"), "{error}");
    assert!(error.contains("`application/octet-stream`"), "{error}");
    assert!(run.values().is_empty());
}

#[test]
fn a_json_error_object_fails_a_text_feed() {
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(
        Mock::given(path("/api"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"query_status": "unknown_auth_key"})),
            )
            .mount(&server),
    );
    let project = Project::one(&format!("{}/api", server.uri()), "");
    let run = project.build();
    let error = run.error("upstream");
    assert!(error.contains("(json_error)"), "{error}");
    assert!(error.contains("unknown_auth_key"), "{error}");
}

#[test]
fn a_json_feed_reads_an_api_answer_that_a_text_feed_would_refuse() {
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    let answer = serde_json::json!({
        "query_status": "ok",
        "data": [{"ioc": "198.51.100.1"}, {"ioc": "198.51.100.2"}],
    });
    rt.block_on(
        Mock::given(path("/api"))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer))
            .mount(&server),
    );
    rt.block_on(
        Mock::given(path("/denied"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"query_status": "unknown_auth_key"})),
            )
            .mount(&server),
    );
    let json = "format = \"json\"\n[json]\nrecords = \"data\"\nvalue_field = \"ioc\"\n";
    let project = Project::new(
        "",
        &[
            ("api", format!("url = \"{}/api\"\n{json}", server.uri())),
            ("denied", format!("url = \"{}/denied\"\n{json}", server.uri())),
        ],
    );
    let run = project.build();
    assert_eq!(run.feed("api")["status"], "ok");
    assert_eq!(run.values(), set(&["198.51.100.1", "198.51.100.2"]));
    // The error object reaches the parser, which fails the feed with the stated status.
    let error = run.error("denied");
    assert!(error.contains("no `data` in the body"), "{error}");
    assert!(error.contains("`query_status` is `unknown_auth_key`"), "{error}");
}

#[test]
fn an_empty_200_leaves_the_feed_empty_not_failed() {
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(Mock::given(path("/list.txt")).respond_with(text("")).mount(&server));
    let project = Project::one(&format!("{}/list.txt", server.uri()), "");
    let run = project.build();
    let feed = run.feed("upstream");
    assert_eq!(feed["status"], "empty", "{feed:#}");
    assert_eq!(feed["http_status"], 200);
    assert_eq!(feed["bytes"], 0);
    assert!(run.values().is_empty());
}

#[test]
fn a_gzip_bomb_fails_the_feed_and_names_the_cap() {
    let bomb = gzip(&vec![0u8; 32 << 20]);
    assert!(bomb.len() < 100_000, "{} bytes", bomb.len());
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(
        Mock::given(path("/list.txt.gz"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(bomb, "application/gzip"))
            .mount(&server),
    );
    let project =
        Project::one(&format!("{}/list.txt.gz", server.uri()), "max_decompressed_bytes = 1048576");
    let run = project.build();
    let error = run.error("upstream");
    assert!(error.contains("decompresses to more than 1048576 bytes"), "{error}");
    assert!(error.contains("`max_decompressed_bytes`"), "{error}");
    assert_eq!(requests_to(&rt, &server, "/list.txt.gz"), 1, "a cap is not retried");
}

#[test]
fn a_body_over_max_body_bytes_fails_the_feed() {
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(
        Mock::given(path("/list.txt")).respond_with(text(&LIST.repeat(100))).mount(&server),
    );
    let project = Project::new(
        "max_body_bytes = 1000\n",
        &[("upstream", format!("url = \"{}/list.txt\"", server.uri()))],
    );
    let run = project.build();
    let error = run.error("upstream");
    assert!(error.contains("larger than 1000 bytes"), "{error}");
}

#[test]
fn compressed_files_are_opened_by_their_magic_bytes_whatever_the_url_says() {
    // shared/bugcases/16-compressed-payload (MISP/MISP#5790)
    let case = repo().join("tests/fixtures/bugcases/16-compressed-payload");
    let read = |name: &str| std::fs::read(case.join(name)).unwrap();
    let two_members = {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        writer.start_file("readme.txt", options).unwrap();
        writer.write_all(b"192.0.2.99 is the example in this readme\n").unwrap();
        writer.start_file("ips.txt", options).unwrap();
        writer.write_all(b"198.51.100.60\n").unwrap();
        writer.finish().unwrap().into_inner()
    };
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(async {
        let serve = |at: &str, body: Vec<u8>, mime: &str| {
            Mock::given(method("GET"))
                .and(path(at.to_owned()))
                .respond_with(ResponseTemplate::new(200).set_body_raw(body, mime))
        };
        serve("/csv_download.csv", read("csv_download.csv"), "text/csv").mount(&server).await;
        serve("/list_download.txt", read("list_download.txt"), "text/plain").mount(&server).await;
        serve("/online-valid.csv.gz", read("not_really.csv.gz"), "application/gzip")
            .mount(&server)
            .await;
        serve("/two.zip", two_members.clone(), "application/zip").mount(&server).await;
        serve("/two-unnamed.zip", two_members, "application/zip").mount(&server).await;
        Mock::given(path("/encoded.txt"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(gzip(b"198.51.100.50\n"), "text/plain")
                    .insert_header("Content-Encoding", "gzip"),
            )
            .mount(&server)
            .await;
    });
    let uri = server.uri();
    let local = case.join("list_download.txt");
    let project = Project::new(
        "",
        &[
            (
                "zipped",
                format!(
                    "url = \"{uri}/csv_download.csv\"\nformat = \"csv\"\n[csv]\nvalue_columns = [3]"
                ),
            ),
            ("gzipped", format!("url = \"{uri}/list_download.txt\"")),
            ("encoded", format!("url = \"{uri}/encoded.txt\"")),
            ("named", format!("url = \"{uri}/two.zip\"\nzip_member = \"ips.txt\"")),
            ("unnamed", format!("url = \"{uri}/two-unnamed.zip\"")),
            ("not-gzip", format!("url = \"{uri}/online-valid.csv.gz\"")),
            ("local", "path = \"local.txt\"".to_owned()),
        ],
    );
    std::fs::copy(&local, project.root.path().join("local.txt")).unwrap();
    let run = project.build();
    assert_eq!(
        run.values(),
        set(&[
            "http://198.51.100.31:5555/bin.sh",
            "http://files.bad.example/a.exe",
            "198.51.100.40",
            "198.51.100.41",
            "198.51.100.50",
            "198.51.100.60",
        ])
    );
    assert_eq!(run.feed("zipped")["indicators"], 2);
    assert_eq!(run.feed("local")["indicators"], 2);
    assert_eq!(run.feed("local")["origin"], "local");
    let error = run.error("unnamed");
    assert!(error.contains("holds 2 files (`readme.txt`, `ips.txt`)"), "{error}");
    assert!(error.contains("`zip_member`"), "{error}");
    let error = run.error("not-gzip");
    assert!(error.contains("names a gzip file, but the body is not gzip data"), "{error}");
    assert!(error.contains("--2024-05-02"), "the message shows the first bytes: {error}");
}

// ---------------------------------------------------------------------------------------
// Secrets, proxies, per-host concurrency, CA files

#[test]
fn a_secret_header_reaches_the_server_and_nothing_else() {
    let secret = format!(
        "fs-secret-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    );
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    let elsewhere = rt.block_on(MockServer::start());
    rt.block_on(async {
        Mock::given(path("/list.txt"))
            .and(header("X-Api-Key", secret.as_str()))
            .respond_with(text(LIST).insert_header("ETag", "\"s1\""))
            .mount(&server)
            .await;
        Mock::given(path("/moved"))
            .respond_with(
                ResponseTemplate::new(302)
                    .insert_header("Location", format!("{}/list.txt", elsewhere.uri())),
            )
            .mount(&server)
            .await;
        Mock::given(path("/denied")).respond_with(ResponseTemplate::new(401)).mount(&server).await;
        Mock::given(path("/list.txt"))
            .respond_with(text("198.51.100.77\n"))
            .mount(&elsewhere)
            .await;
    });
    let uri = server.uri();
    let keyed = "[headers_from_env]\nX-Api-Key = \"FEEDSMITH_TEST_API_KEY\"";
    let project = Project::new(
        "",
        &[
            ("keyed", format!("url = \"{uri}/list.txt\"\n{keyed}")),
            ("moved", format!("url = \"{uri}/moved\"\n{keyed}")),
            ("denied", format!("url = \"{uri}/denied\"\n{keyed}")),
            (
                "unset",
                format!(
                    "url = \"{uri}/list.txt\"\n[headers_from_env]\nX-Api-Key = \"FEEDSMITH_TEST_UNSET_KEY\""
                ),
            ),
        ],
    );
    let env = [("FEEDSMITH_TEST_API_KEY", secret.as_str()), ("RUST_LOG", "trace")];
    let mut runs = vec![project.build_with(&env)];
    runs.push(project.build_with(&env));
    runs.push(project.run(&["-vv", "build", "--now", NOW], &env));

    // The header went to the feed's server, not to the origin a redirect led to.
    let sent: Vec<_> = requests(&rt, &server)
        .into_iter()
        .filter(|r| r.url.path() == "/list.txt")
        .filter_map(|r| r.headers.get("x-api-key").map(|v| v.to_str().unwrap().to_owned()))
        .collect();
    assert!(!sent.is_empty() && sent.iter().all(|v| *v == secret), "{sent:?}");
    let leaked =
        requests(&rt, &elsewhere).iter().filter(|r| r.headers.contains_key("x-api-key")).count();
    assert_eq!(leaked, 0, "the secret followed a redirect to another origin");

    let last = runs.last().unwrap();
    assert_eq!(last.feed("keyed")["status"], "ok");
    assert_eq!(last.feed("moved")["status"], "ok");
    assert!(last.error("denied").contains("HTTP 401"));
    let unset = last.error("unset");
    assert!(unset.contains("`FEEDSMITH_TEST_UNSET_KEY`"), "{unset}");

    for run in &runs {
        assert!(!run.stdout.contains(&secret), "the secret is on stdout");
        assert!(!run.stderr.contains(&secret), "the secret is on stderr");
    }
    let mut files = Vec::new();
    collect_files(project.path(), &mut files);
    assert!(files.iter().any(|f| f.starts_with(project.path().join(".feedsmith/cache"))));
    assert!(files.iter().any(|f| f.starts_with(project.path().join("site"))));
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!found, "the secret is in {}", file.display());
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            collect_files(&entry.path(), out);
        } else {
            out.push(entry.path());
        }
    }
}

#[test]
fn requests_go_through_the_proxy_named_in_http_proxy() {
    let proxy = RawServer::start(|_, _, stream| {
        write_response(stream, "200 OK", &[("Content-Type", "text/plain")], LIST.as_bytes());
    });
    let project = Project::one("http://feeds.example.invalid/list.txt", "");
    let proxy_url = proxy.url("");
    let run = project.build_with(&[("HTTP_PROXY", proxy_url.as_str())]);
    assert_eq!(run.feed("upstream")["status"], "ok");
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].head.starts_with("GET http://feeds.example.invalid/list.txt HTTP/1.1\r\n"),
        "{}",
        seen[0].head
    );
}

#[test]
fn no_more_requests_than_per_host_concurrency_reach_one_host_at_once() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let server = {
        let (in_flight, most) = (Arc::clone(&in_flight), Arc::clone(&most));
        RawServer::start(move |_, _, stream| {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(300));
            in_flight.fetch_sub(1, Ordering::SeqCst);
            write_response(stream, "200 OK", &[("Content-Type", "text/plain")], LIST.as_bytes());
        })
    };
    let feeds: Vec<(&str, String)> = ["a", "b", "c", "d", "e", "f"]
        .iter()
        .map(|id| (*id, format!("url = \"{}\"", server.url(&format!("/{id}.txt")))))
        .collect();
    let project = Project::new("concurrency = 8\nper_host_concurrency = 2\n", &feeds);
    let run = project.build();
    for (id, _) in &feeds {
        assert_eq!(run.feed(id)["status"], "ok");
    }
    assert_eq!(server.seen().len(), 6);
    let most = most.load(Ordering::SeqCst);
    assert!((1..=2).contains(&most), "{most} requests at once");
}

#[test]
fn a_feed_with_a_ca_file_is_fetched_and_an_unreadable_one_fails_that_feed() {
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(Mock::given(path("/list.txt")).respond_with(text(LIST)).mount(&server));
    let uri = server.uri();
    let project = Project::new(
        "",
        &[
            ("trusted", format!("url = \"{uri}/list.txt\"\nca_file = \"ca.pem\"")),
            ("broken", format!("url = \"{uri}/list.txt\"\nca_file = \"broken.pem\"")),
        ],
    );
    std::fs::copy(repo().join("tests/fixtures/fetch/test-ca.pem"), project.path().join("ca.pem"))
        .unwrap();
    std::fs::write(project.path().join("broken.pem"), "not a certificate\n").unwrap();
    let run = project.build();
    assert_eq!(run.feed("trusted")["status"], "ok");
    let error = run.error("broken");
    assert!(error.contains("cannot use the CA file") && error.contains("broken.pem"), "{error}");
}

#[test]
fn check_rejects_a_missing_ca_file_and_zero_fetch_settings() {
    let project = Project::new(
        "",
        &[("upstream", "url = \"https://a.example/l.txt\"\nca_file = \"missing.pem\"".to_owned())],
    );
    std::fs::write(
        project.path().join("feedsmith.toml"),
        "[fetch]\nper_host_concurrency = 0\nmax_decompressed_bytes = 0\nretries = 11\n",
    )
    .unwrap();
    let run = project.run(&["check"], &[]);
    assert_eq!(run.code, Some(2), "{run:?}");
    let all = format!("{}{}", run.stdout, run.stderr);
    for expected in [
        "`ca_file`: `missing.pem` is not a file",
        "`fetch.per_host_concurrency`: must be at least 1, not 0",
        "`fetch.max_decompressed_bytes`: must be at least 1 byte, not 0",
        "`fetch.retries`: must be at most 10, not 11",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in\n{all}");
    }
}

#[test]
fn a_feed_that_shrinks_by_90_percent_over_http_keeps_its_last_good_data() {
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    let full: Vec<String> = (1..=100).map(|i| format!("198.51.100.{i}")).collect();
    rt.block_on(
        Mock::given(path("/list.txt"))
            .respond_with(text(&(full.join("\n") + "\n")))
            .up_to_n_times(1)
            .mount(&server),
    );
    rt.block_on(
        Mock::given(path("/list.txt"))
            .respond_with(text(&(full[..10].join("\n") + "\n")))
            .mount(&server),
    );
    let project = Project::one(&format!("{}/list.txt", server.uri()), "");
    let first = project.build();
    assert_eq!(first.code, Some(0));
    assert_eq!(first.values().len(), 100);

    let second = project.build();
    assert_eq!(second.code, Some(3));
    let feed = second.feed("upstream");
    assert_eq!(feed["status"], "error", "{feed:#}");
    assert_eq!(feed["reason"], "shrunk");
    assert_eq!(feed["stale"], true);
    assert_eq!(feed["stats"]["accepted"], 10, "this build's body was read");
    assert_eq!(second.values().len(), 100, "the output keeps yesterday's 100 entries");
    assert_eq!(requests_to(&rt, &server, "/list.txt"), 2);
}

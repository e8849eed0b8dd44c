//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// The repository root (where Cargo.toml is).
pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The recorded responses folder.
pub(crate) fn recorded() -> PathBuf {
    repo().join("tests/fixtures/recorded")
}

/// Copies the repository's definitions and output templates (not its cache, state, site or
/// site templates) into a fresh folder.
pub(crate) fn copy_root_definitions() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(repo().join("feedsmith.toml"), dir.path().join("feedsmith.toml")).unwrap();
    for folder in ["feeds.d", "decay.d", "tasks.d", "warninglists.d", "templates/outputs"] {
        copy_dir(&repo().join(folder), &dir.path().join(folder));
    }
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Runs `feedsmith` with `args` inside `root`.
pub(crate) fn feedsmith(root: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("feedsmith")
        .expect("binary")
        .arg("--root")
        .arg(root)
        .arg("--no-progress")
        .args(args)
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("run feedsmith")
}

/// Panics, with its exit code and both streams, unless a build succeeded.
pub(crate) fn assert_built(output: &Output) {
    assert!(
        output.status.success(),
        "build failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Builds `root` from the recorded responses at `now` into `root/site`; panics on failure.
pub(crate) fn build_replay(root: &Path, now: &str) -> serde_json::Value {
    let recorded = recorded();
    let output = feedsmith(root, &["build", "--replay", recorded.to_str().unwrap(), "--now", now]);
    assert_built(&output);
    let report = std::fs::read(root.join("site/report.json")).expect("report.json");
    serde_json::from_slice(&report).expect("report.json parses")
}

/// The data lines (not `#` header lines) of a plain output.
pub(crate) fn plain_values(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// The report entry of one feed.
pub(crate) fn feed<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("feed {id} not in the report"))
}

/// A static file server on 127.0.0.1: `GET /<path>` answers the file under its folder, or
/// 404. It records each request's path.
pub(crate) struct StaticServer {
    port: u16,
    paths: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl StaticServer {
    /// Serves `dir` until the test process ends.
    pub(crate) fn serve(dir: PathBuf) -> StaticServer {
        use std::io::{BufRead as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let paths: std::sync::Arc<std::sync::Mutex<Vec<String>>> = std::sync::Arc::default();
        let log = std::sync::Arc::clone(&paths);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split(' ').nth(1).unwrap_or("/").to_owned();
                // The rest of the head.
                loop {
                    let mut header = String::new();
                    match reader.read_line(&mut header) {
                        Ok(0) | Err(_) => break,
                        Ok(_) if header == "\r\n" => break,
                        Ok(_) => {}
                    }
                }
                log.lock().unwrap().push(path.clone());
                let relative = path.trim_start_matches('/').split(['?', '#']).next().unwrap_or("");
                let file = (!relative.split('/').any(|p| p == ".."))
                    .then(|| std::fs::read(dir.join(relative)).ok())
                    .flatten();
                let (status, body) = match file {
                    Some(body) => ("200 OK", body),
                    None => ("404 Not Found", b"not found".to_vec()),
                };
                let kind = match relative.split(['?', '#']).next().unwrap_or("").rsplit('.').next()
                {
                    Some("html") => "text/html; charset=utf-8",
                    Some("css") => "text/css; charset=utf-8",
                    Some("js") => "text/javascript; charset=utf-8",
                    Some("json") => "application/json",
                    Some("svg") => "image/svg+xml",
                    _ => "application/octet-stream",
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        StaticServer { port, paths }
    }

    /// The URL of `path` (starting with `/`).
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The paths requested so far.
    pub(crate) fn paths(&self) -> Vec<String> {
        self.paths.lock().unwrap().clone()
    }
}

/// Every file under `dir`, by its path relative to `dir` (`/`-separated), with its bytes.
pub(crate) fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        for item in std::fs::read_dir(&folder).unwrap() {
            let path = item.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap().to_str().unwrap().to_owned();
                files.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// Copies a folder and everything in it.
pub(crate) fn copy_tree(from: &Path, to: &Path) {
    copy_dir(from, to);
}

/// A project with one free-text feed `list` reading `list.txt` (holding `list`), MISP's
/// default decay models, and one plain-output task per `(id, select)` pair, `select` being
/// the lines of its `[select]` table; the task writes `<id>.txt`.
pub(crate) fn one_list_project(list: &str, tasks: &[(&str, &str)]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for folder in ["feeds.d", "tasks.d", "decay.d"] {
        std::fs::create_dir_all(root.path().join(folder)).unwrap();
    }
    for model in ["nids.toml", "phishing.toml", "vishing.toml"] {
        std::fs::copy(repo().join("decay.d").join(model), root.path().join("decay.d").join(model))
            .unwrap();
    }
    std::fs::write(root.path().join("list.txt"), list).unwrap();
    std::fs::write(
        root.path().join("feeds.d/list.toml"),
        "name = \"list\"\nprovider = \"test\"\npath = \"list.txt\"\nformat = \"freetext\"\n",
    )
    .unwrap();
    for (id, select) in tasks {
        std::fs::write(
            root.path().join(format!("tasks.d/{id}.toml")),
            format!(
                "name = \"{id}\"\n[select]\n{select}\n[[outputs]]\nformat = \"plain\"\n\
                 path = \"{id}.txt\"\n"
            ),
        )
        .unwrap();
    }
    root
}

/// Turns the `list` feed of [`one_list_project`] into a CSV feed reading `list.csv`
/// (holding `csv`: a `value` column and a `seen` column of last-seen times).
pub(crate) fn make_list_a_csv(root: &Path, csv: &str) {
    std::fs::write(root.join("list.csv"), csv).unwrap();
    std::fs::write(
        root.join("feeds.d/list.toml"),
        "name = \"list\"\nprovider = \"test\"\npath = \"list.csv\"\nformat = \"csv\"\n\
         [csv]\nheader = true\nvalue_columns = [\"value\"]\nlast_seen_column = \"seen\"\n",
    )
    .unwrap();
}

/// Loads the MISP feed folder `feed_dir` with PyMISP (`tests/support/pymisp_check.py`) and
/// returns what the script printed: `{"events", "attributes", "deleted"}`; panics when PyMISP
/// refuses the feed. Without PyMISP it returns `None` after saying so, except in CI (`CI`
/// set), where `.ci/run` installs it and its absence fails the test.
pub(crate) fn pymisp_check(feed_dir: &Path) -> Option<serde_json::Value> {
    let has_pymisp = std::process::Command::new("python3")
        .args(["-c", "import pymisp"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_pymisp {
        assert!(std::env::var_os("CI").is_none(), "PyMISP is required in CI (.ci/run installs it)");
        #[expect(clippy::print_stderr, reason = "a skipped check must say so in the test log")]
        {
            eprintln!("skipping the PyMISP check: PyMISP is not installed (pip install pymisp)");
        }
        return None;
    }
    let output = std::process::Command::new("python3")
        .arg(repo().join("tests/support/pymisp_check.py"))
        .arg(feed_dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "PyMISP refused the feed {}:\n{}{}",
        feed_dir.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).unwrap())
}

/// Writes `text` to `root/relative`, creating its folders.
pub(crate) fn write_file(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `feedsmith lookup --json --replay <recorded> --now <now> -- VALUE` in `root`, which must
/// exit 0 (listed) or 1 (not listed): the exit code and the parsed answer.
pub(crate) fn lookup_json(root: &Path, value: &str, now: &str) -> (i32, serde_json::Value) {
    let recorded = recorded();
    let output = feedsmith(
        root,
        &["lookup", "--json", "--replay", recorded.to_str().unwrap(), "--now", now, "--", value],
    );
    let code = output.status.code().unwrap();
    assert!(matches!(code, 0 | 1), "{output:?}");
    (code, serde_json::from_slice(&output.stdout).expect("the JSON parses"))
}

/// `feedsmith serve --port 0` on the built site of a project, killed when dropped, however
/// the test ends.
pub(crate) struct Preview {
    child: std::process::Child,
    /// Kept open: the server's stdout, so that a late line never meets a closed pipe.
    _stdout: std::io::BufReader<std::process::ChildStdout>,
    /// The line the server printed when it started listening.
    pub(crate) line: String,
    /// The site's address, `127.0.0.1:<port>`.
    pub(crate) address: String,
}

impl Preview {
    /// Starts the server on `root`'s built site and waits until it listens: it prints its URL
    /// only once it is bound.
    pub(crate) fn start(root: &Path) -> Preview {
        use std::io::BufRead as _;
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("feedsmith"))
            .args(["--root", root.to_str().unwrap(), "--no-progress", "serve", "--port", "0"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start feedsmith serve");
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let mut preview = Preview { child, _stdout: stdout, line, address: String::new() };
        assert!(matches!(read, Ok(n) if n > 0), "`feedsmith serve` printed nothing: {read:?}");
        // "Serving <dir> at http://127.0.0.1:<port>/ (Ctrl-C stops it)"
        let url = preview.line.rsplit(" at ").next().unwrap().split(' ').next().unwrap();
        preview.address = url.trim_start_matches("http://").trim_end_matches('/').to_owned();
        preview
    }
}

impl Drop for Preview {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The inline `<svg>` elements of a page, in order.
pub(crate) fn svgs(page: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = page;
    while let Some(start) = rest.find("<svg") {
        let end = start + rest[start..].find("</svg>").expect("closed svg") + "</svg>".len();
        found.push(&rest[start..end]);
        rest = &rest[end..];
    }
    found
}

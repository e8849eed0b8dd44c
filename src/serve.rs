//! `feedsmith serve`: the built site over HTTP on the loopback interface, for a preview.
//!
//! It serves files as they are in the output folder, with the media type their extension
//! gives, and `index.html` for a folder; nothing outside the folder is ever read (a path that
//! leaves it, through `..` or a symbolic link, is a 404). Only `GET` and `HEAD` are answered.
//! It is a preview, not a web server: a few requests at a time, no caching headers, no TLS.

use std::fs::File;
use std::path::{Component, Path, PathBuf};

/// Why the preview cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The output folder is not there (no build yet).
    #[error("there is no built site in `{}`; run `feedsmith build` first", dir.display())]
    NoSite {
        /// The folder.
        dir: PathBuf,
    },
    /// The address cannot be listened on.
    #[error("cannot listen on {address}: {message}")]
    Listen {
        /// The address.
        address: String,
        /// What the system said.
        message: String,
    },
}

/// A preview server bound to its address, not yet answering.
pub struct Preview {
    server: tiny_http::Server,
    root: PathBuf,
}

impl Preview {
    /// Binds `127.0.0.1:port` (`0`: any free port) for the site in `dir`.
    pub fn bind(dir: &Path, port: u16) -> Result<Preview, ServeError> {
        let root = dir
            .canonicalize()
            .ok()
            .filter(|d| d.join("index.html").is_file())
            .ok_or_else(|| ServeError::NoSite { dir: dir.to_owned() })?;
        let address = format!("127.0.0.1:{port}");
        let server = tiny_http::Server::http(&address)
            .map_err(|e| ServeError::Listen { address, message: e.to_string() })?;
        Ok(Preview { server, root })
    }

    /// The URL of the site's index.
    #[must_use]
    pub fn url(&self) -> String {
        match self.server.server_addr().to_ip() {
            Some(address) => format!("http://{address}/"),
            None => "http://127.0.0.1/".to_owned(),
        }
    }

    /// Answers requests until the process ends, on a few threads: a browser opens several
    /// connections at once (the look-up page fetches shards in parallel), and one thread
    /// waiting on one of them must not stall the others.
    pub fn run(self) {
        let server = std::sync::Arc::new(self.server);
        let root = std::sync::Arc::new(self.root);
        let workers: Vec<_> = (0..PREVIEW_THREADS)
            .map(|_| {
                let (server, root) = (std::sync::Arc::clone(&server), std::sync::Arc::clone(&root));
                std::thread::spawn(move || {
                    while let Ok(request) = server.recv() {
                        respond(&root, request);
                    }
                })
            })
            .collect();
        for worker in workers {
            let _ = worker.join();
        }
    }
}

/// How many requests the preview answers at once.
const PREVIEW_THREADS: usize = 8;

fn respond(root: &Path, request: tiny_http::Request) {
    let response = match answer(root, request.method(), request.url()) {
        // tiny_http leaves the body out of an answer to `HEAD` itself.
        Answer::File { file, media_type } => {
            let length = file.metadata().ok().and_then(|m| usize::try_from(m.len()).ok());
            let body: Box<dyn std::io::Read + Send> = Box::new(file);
            tiny_http::Response::new(200.into(), headers(&media_type), body, length, None)
        }
        Answer::Status(code, text) => tiny_http::Response::new(
            code.into(),
            headers("text/plain; charset=utf-8"),
            Box::new(text.as_bytes()) as Box<dyn std::io::Read + Send>,
            Some(text.len()),
            None,
        ),
    };
    if let Err(e) = request.respond(response) {
        tracing::debug!(error = %e, "A preview answer was not delivered");
    }
}

/// The response headers: the media type, and no sniffing of another.
fn headers(media_type: &str) -> Vec<tiny_http::Header> {
    // One request per connection: a browser's parallel fetches over kept-alive connections
    // stalled the preview's connection handling (the look-up page's shards never all came).
    [("Content-Type", media_type), ("X-Content-Type-Options", "nosniff"), ("Connection", "close")]
        .into_iter()
        .filter_map(|(name, value)| tiny_http::Header::from_bytes(name, value).ok())
        .collect()
}

/// What a request gets.
enum Answer {
    File { file: File, media_type: String },
    Status(u16, &'static str),
}

/// The answer to `method url` from the site in `root` (canonical).
fn answer(root: &Path, method: &tiny_http::Method, url: &str) -> Answer {
    if !matches!(method, tiny_http::Method::Get | tiny_http::Method::Head) {
        return Answer::Status(405, "only GET and HEAD\n");
    }
    let Some(path) = resolve(root, url) else {
        return Answer::Status(404, "not found\n");
    };
    match File::open(&path) {
        Ok(file) => {
            let media_type = mime_guess::from_path(&path).first_or_octet_stream();
            let media_type = match media_type.type_() {
                mime_guess::mime::TEXT => format!("{media_type}; charset=utf-8"),
                _ if media_type.subtype() == "json" || media_type.subtype() == "svg" => {
                    format!("{media_type}; charset=utf-8")
                }
                _ => media_type.to_string(),
            };
            Answer::File { file, media_type }
        }
        Err(_) => Answer::Status(404, "not found\n"),
    }
}

/// The file a URL path names inside `root`: percent-decoded, `index.html` for a folder;
/// `None` when it leaves the folder or is not a file.
fn resolve(root: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8().ok()?;
    let mut target = root.to_owned();
    for component in Path::new(decoded.trim_start_matches('/')).components() {
        match component {
            Component::Normal(part) => target.push(part),
            Component::CurDir => {}
            // `..`, a root or a prefix: never followed.
            _ => return None,
        }
    }
    if target.is_dir() {
        target.push("index.html");
    }
    // Symbolic links may point anywhere: the real path must still be inside the site.
    let real = target.canonicalize().ok()?;
    (real.starts_with(root) && real.is_file()).then_some(real)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<p>home</p>").unwrap();
        std::fs::create_dir_all(dir.path().join("feeds")).unwrap();
        std::fs::write(dir.path().join("feeds/index.html"), "<p>feeds</p>").unwrap();
        std::fs::write(dir.path().join("feeds/a b.html"), "<p>a b</p>").unwrap();
        dir
    }

    #[test]
    fn paths_resolve_inside_the_site_only() {
        let dir = site();
        let root = dir.path().canonicalize().unwrap();
        assert_eq!(resolve(&root, "/"), Some(root.join("index.html")));
        assert_eq!(resolve(&root, "/feeds/"), Some(root.join("feeds/index.html")));
        assert_eq!(resolve(&root, "/feeds/a%20b.html?x=1"), Some(root.join("feeds/a b.html")));
        for hostile in ["/../etc/passwd", "/feeds/../../x", "/%2e%2e/x", "/missing.html", "//etc"] {
            let found = resolve(&root, hostile);
            assert!(found.as_ref().is_none_or(|p| p.starts_with(&root)), "{hostile}: {found:?}");
            assert!(!matches!(found, Some(ref p) if !p.is_file()), "{hostile}");
        }
        assert_eq!(resolve(&root, "/../etc/passwd"), None);
        assert_eq!(resolve(&root, "/%2e%2e/etc/passwd"), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_out_of_the_site_is_not_followed() {
        let dir = site();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("link")).unwrap();
        let root = dir.path().canonicalize().unwrap();
        assert_eq!(resolve(&root, "/link"), None);
    }

    #[test]
    fn no_site_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = Preview::bind(&dir.path().join("site"), 0).err().unwrap();
        assert!(error.to_string().contains("run `feedsmith build` first"), "{error}");
    }
}

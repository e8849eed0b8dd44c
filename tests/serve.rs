//! `feedsmith serve`: the built site on 127.0.0.1, nothing outside it.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;

use crate::util::{Preview, feedsmith, one_list_project};

/// `method path` against `address`: the status code, the headers' text and the body.
fn request(address: &str, method: &str, path: &str) -> (u16, String, Vec<u8>) {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head, answer[split + 4..].to_vec())
}

#[test]
fn the_built_site_is_served_and_nothing_outside_it() {
    let root = one_list_project("198.51.100.1\n", &[("all", "exclude_reserved = false")]);
    std::fs::write(root.path().join("secret.txt"), "not for the web").unwrap();
    let output = feedsmith(root.path(), &["build", "--now", "2026-08-23T00:00:00Z"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");

    let server = Preview::start(root.path());
    let address = server.address.clone();
    assert!(address.starts_with("127.0.0.1:"), "{}", server.line);

    let (status, head, body) = request(&address, "GET", "/");
    assert_eq!(status, 200);
    assert!(head.contains("text/html; charset=utf-8"), "{head}");
    assert_eq!(body, std::fs::read(root.path().join("site/index.html")).unwrap());
    let (status, head, body) = request(&address, "GET", "/report.json");
    assert_eq!(status, 200);
    assert!(head.to_ascii_lowercase().contains("content-type: application/json"), "{head}");
    assert_eq!(body, std::fs::read(root.path().join("site/report.json")).unwrap());
    let (status, _, body) = request(&address, "GET", "/all.txt");
    assert_eq!((status, String::from_utf8_lossy(&body).contains("198.51.100.1")), (200, true));
    let (status, head, body) = request(&address, "HEAD", "/all.txt");
    assert_eq!(status, 200);
    assert!(body.is_empty(), "{head}");
    for outside in ["/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/missing"] {
        let (status, _, body) = request(&address, "GET", outside);
        assert_eq!(status, 404, "{outside}");
        assert!(!String::from_utf8_lossy(&body).contains("not for the web"), "{outside}");
    }
    assert_eq!(request(&address, "POST", "/").0, 405);
}

#[test]
fn serving_before_any_build_says_to_build_first() {
    let root = one_list_project("198.51.100.1\n", &[("all", "")]);
    let output = feedsmith(root.path(), &["serve", "--port", "0"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("run `feedsmith build` first"));
}

//! Parse-and-normalize throughput on the real free-text and CSV files of the snapshot
//! (`tests/fixtures/feeds`), one thread: `cargo bench --bench parse`.
//!
//! Each file is read as its definition in `feeds.d/` reads it (type detection, refanging,
//! canonical forms, de-duplication: everything `parse` does), repeated until a second has
//! passed, and the best pass is reported, then the total over all files in MB/s. The files are
//! small, so they stay in cache: this measures the parser, not the disk. An argument keeps
//! only the files whose path holds it: `cargo bench --bench parse -- ipsum`.

#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::path::Path;
use std::time::{Duration, Instant};

use feedsmith::config::{self, FeedFormat};
use feedsmith::parse;

/// `(file in the snapshot, feed id whose settings read it)`.
const FILES: &[(&str, &str)] = &[
    ("ipsum/ipsum.txt", "ipsum"),
    ("firehol/firehol_level1.netset", "firehol-level1"),
    ("spamhaus-drop/drop.txt", "spamhaus-drop"),
    ("criticalpathsecurity/AtomSpam.txt", "cps-atomspam"),
    ("criticalpathsecurity/threatfox.txt", "cps-threatfox-ips"),
    ("threatfox/full_urls.csv", "threatfox-urls"),
    ("threatfox/full_sha256.csv", "threatfox-sha256"),
    ("feodotracker/ipblocklist.csv", "feodo-ipblocklist"),
];

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let project = config::load(root).expect("the repository's definitions load");
    let mut total_bytes = 0u64;
    let mut total_time = Duration::ZERO;
    println!("{:<40} {:>10} {:>10} {:>10}", "file", "bytes", "values", "MB/s");
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    for (file, id) in FILES {
        if !only.is_empty() && !only.iter().any(|o| file.contains(o.as_str())) {
            continue;
        }
        let Some(feed) = project.feeds.iter().find(|f| f.id == *id) else {
            println!("{file:<40} (no feed `{id}`)");
            continue;
        };
        let body = std::fs::read(root.join("tests/fixtures/feeds").join(file)).expect("file");
        let run = || match feed.config.format {
            FeedFormat::Freetext => {
                parse::freetext::parse(&body, &feed.freetext, feed.exclude.as_ref())
            }
            FeedFormat::Csv => {
                parse::csv::parse(&body, &feed.csv, feed.exclude.as_ref()).expect("parses")
            }
            other => panic!("{id} is {other:?}, not free text or CSV"),
        };
        let values = run().records.len();
        let mut best = Duration::MAX;
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(1) {
            let pass = Instant::now();
            std::hint::black_box(run());
            best = best.min(pass.elapsed());
        }
        total_bytes += body.len() as u64;
        total_time += best;
        println!(
            "{file:<40} {:>10} {values:>10} {:>10.1}",
            body.len(),
            body.len() as f64 / best.as_secs_f64() / 1e6
        );
    }
    println!(
        "{:<40} {total_bytes:>10} {:>10} {:>10.1}",
        "all files",
        "",
        total_bytes as f64 / total_time.as_secs_f64() / 1e6
    );
}

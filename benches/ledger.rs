//! Ledger load and save at scale: `cargo bench --bench ledger [-- N]` (default 10 million
//! entries over 50 feeds, IPv4 addresses, domains and SHA-256 hashes as real feeds mix them).
//! Prints the file size and the time of one save and one load, each the best of three.

#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::time::{Duration, Instant};

use feedsmith::indicator::{AttrType, Indicator};
use feedsmith::ledger::Ledger;

fn main() {
    let total: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let feeds: Vec<String> = (0..50).map(|i| format!("feed-{i:02}")).collect();
    let started = Instant::now();
    let mut ledger = Ledger::new();
    for n in 0..total {
        let indicator = match n % 3 {
            0 => Indicator::new(
                AttrType::IpDst,
                std::net::Ipv4Addr::from(0x0b00_0000_u32.wrapping_add(n as u32)).to_string(),
            ),
            1 => Indicator::new(AttrType::Domain, format!("host{n}.example")),
            _ => Indicator::new(
                AttrType::Sha256,
                format!("{:064x}", n as u128 * 0x9e37_79b9_7f4a_7c15),
            ),
        };
        ledger.observe(&feeds[n % feeds.len()], &indicator, 1_780_000_000 + (n % 86_400) as i64);
    }
    println!("{total} entries built in {:.1} s", started.elapsed().as_secs_f64());

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger");
    let best = |mut run: Box<dyn FnMut()>| {
        (0..3)
            .map(|_| {
                let t = Instant::now();
                run();
                t.elapsed()
            })
            .min()
            .unwrap_or(Duration::ZERO)
    };
    let save = best(Box::new(|| ledger.save(&path).expect("save")));
    let bytes = std::fs::metadata(&path).expect("written").len();
    let load_path = path.clone();
    let load = best(Box::new(move || {
        let loaded = Ledger::load(&load_path).expect("load");
        assert_eq!(loaded.len(), total);
    }));
    println!(
        "file {:.1} MB; save {:.2} s; load {:.2} s; together {:.2} s",
        bytes as f64 / 1e6,
        save.as_secs_f64(),
        load.as_secs_f64(),
        (save + load).as_secs_f64()
    );
}

//! Ledger load and save at scale: `cargo bench --bench ledger [-- N]` (default 10 million
//! entries over 50 feeds, IPv4 addresses, domains and SHA-256 hashes as real feeds mix them).
//! Prints the file size, the time of one save (encode, write, flush to disk, rename) and of
//! one load (read, check, decode into the tables), each the best of three, and the same two
//! without the file system.
//!
//! FIGURES

#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::time::{Duration, Instant};

use feedsmith::indicator::{AttrType, Indicator};
use feedsmith::ledger::Ledger;

/// A well-mixed 64-bit number for `n` (splitmix64), so that hashes look like real ones:
/// uniformly random hexadecimal that shares no prefix beyond chance.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The shortest of three runs; what a run returns is dropped outside the timing.
fn best<T>(mut run: impl FnMut() -> T) -> Duration {
    (0..3)
        .map(|_| {
            let started = Instant::now();
            let result = run();
            let elapsed = started.elapsed();
            drop(result);
            elapsed
        })
        .min()
        .unwrap_or(Duration::ZERO)
}

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
            _ => {
                let seed = n as u64 * 4;
                let words = [mix(seed), mix(seed + 1), mix(seed + 2), mix(seed + 3)];
                let value =
                    format!("{:016x}{:016x}{:016x}{:016x}", words[0], words[1], words[2], words[3]);
                Indicator::new(AttrType::Sha256, value)
            }
        };
        ledger.observe(&feeds[n % feeds.len()], &indicator, 1_780_000_000 + (n % 86_400) as i64);
    }
    println!("{total} entries built in {:.1} s", started.elapsed().as_secs_f64());

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger");
    // A ledger built entry by entry across feeds, as no build makes it: its values lie
    // scattered over the whole heap.
    let save_built = best(|| ledger.save(&path).expect("save"));
    let size = std::fs::metadata(&path).expect("written").len();
    drop(ledger);
    let load = best(|| {
        let loaded = Ledger::load(&path).expect("load");
        assert_eq!(loaded.len(), total);
        loaded
    });
    // What a build saves: the ledger it loaded, with this build's sightings added.
    let loaded = Ledger::load(&path).expect("load");
    let save = best(|| loaded.save(&path).expect("save"));
    println!(
        "file {:.1} MB; save {:.2} s (of a ledger built in memory: {:.2} s); load {:.2} s; \
         load + save {:.2} s",
        size as f64 / 1e6,
        save.as_secs_f64(),
        save_built.as_secs_f64(),
        load.as_secs_f64(),
        (load + save).as_secs_f64()
    );
}

//! Gives the library a fingerprint of the sources it is built from.
//!
//! The parsed-feed cache in the state folder (`src/build/parse_cache`) must not hand a build
//! the records an older parser made from the same bytes. The version in Cargo.toml alone does
//! not tell two builds apart while it stays `0.1.0` across commits, so this script hashes
//! what decides how a body is read: every file of `src/` and `data/` (the vendored lists of
//! top-level domains and public suffixes) and `Cargo.lock` (the versions of `idna`, `url`,
//! `csv` and the other crates the parsers call). A build that finds nothing changed since
//! the last one (`src/build/unchanged.rs`) relies on it too, for everything the program
//! writes: so `templates/` and `docs/`, which the site embeds, are hashed as well. The
//! digest reaches the code as the
//! environment variable `FEEDSMITH_SOURCE_DIGEST`, and Cargo runs the script again when one
//! of these files changes.
//!
//! The digest only has to differ when the sources do, against accidents, not forgeries:
//! 64-bit FNV-1a over each path and its bytes, in path order, is enough and needs no
//! dependency.

use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let mut files = Vec::new();
    for folder in ["src", "data", "templates", "docs"] {
        collect(&root.join(folder), &mut files);
        println!("cargo::rerun-if-changed={folder}");
    }
    files.push(root.join("Cargo.lock"));
    println!("cargo::rerun-if-changed=Cargo.lock");
    files.sort();

    let mut digest = Fnv::new();
    for path in &files {
        let name = path.strip_prefix(&root).unwrap_or(path);
        digest.write(name.to_string_lossy().as_bytes());
        // A file that cannot be read still counts, as a file with no bytes and a marker.
        match fs::read(path) {
            Ok(bytes) => {
                digest.write(&(bytes.len() as u64).to_le_bytes());
                digest.write(&bytes);
            }
            Err(_) => digest.write(&u64::MAX.to_le_bytes()),
        }
    }
    println!("cargo::rustc-env=FEEDSMITH_SOURCE_DIGEST={:016x}", digest.0);
}

/// Every file below `dir`, recursively.
fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => collect(&path, files),
            Ok(_) => files.push(path),
            Err(_) => {}
        }
    }
}

/// 64-bit FNV-1a.
struct Fnv(u64);

impl Fnv {
    const fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

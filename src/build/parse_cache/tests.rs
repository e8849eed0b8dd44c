use std::path::{Path, PathBuf};
use std::sync::Arc;

use proptest::prelude::*;

use super::codec::{self, Damage};
use super::*;
use crate::build::{FetchMode, Health, Silent};
use crate::config::{CsvOptions, FreetextOptions, JsonOptions, MispOptions, Project};
use crate::indicator::{AttrType, Indicator};
use crate::parse::{self, Example, ParseStats, Record, Rejected, Sightings};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `parsed` encoded and decoded again.
fn round_trip(parsed: &ParsedFeed) -> ParsedFeed {
    let bytes = codec::encode(parsed).expect("every code of a real parse is known");
    codec::decode(&bytes).expect("an encoded parse decodes")
}

/// Whether the records of `a` and `b` share their event tags in the same places: a record
/// shares its list with the record before it in one exactly when it does in the other.
fn same_sharing(a: &ParsedFeed, b: &ParsedFeed) -> bool {
    let shared = |feed: &ParsedFeed| -> Vec<bool> {
        feed.records.windows(2).map(|w| Arc::ptr_eq(&w[0].event_tags, &w[1].event_tags)).collect()
    };
    shared(a) == shared(b)
}

fn assert_round_trips(parsed: &ParsedFeed, what: &str) {
    let decoded = round_trip(parsed);
    assert!(decoded == *parsed, "{what}: the decoded parse differs from the parse");
    assert!(same_sharing(parsed, &decoded), "{what}: event tags are shared differently");
}

/// A project in a temporary folder with one feed `feed` of definition `definition` (TOML,
/// `path = "input"` added) reading `input`, and a task writing every indicator.
fn project_with(definition: &str, input: &[u8]) -> (tempfile::TempDir, Project) {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("feeds.d")).unwrap();
    std::fs::create_dir_all(root.path().join("tasks.d")).unwrap();
    std::fs::write(root.path().join("input"), input).unwrap();
    std::fs::write(
        root.path().join("feeds.d/feed.toml"),
        format!("name = \"feed\"\nprovider = \"test\"\npath = \"input\"\n{definition}\n"),
    )
    .unwrap();
    std::fs::write(
        root.path().join("tasks.d/all.toml"),
        "name = \"all\"\n[[outputs]]\nformat = \"plain\"\npath = \"all.txt\"\n",
    )
    .unwrap();
    let project = crate::config::load(root.path()).expect("the test project loads");
    (root, project)
}

fn body(bytes: &[u8]) -> FeedFiles {
    FeedFiles { body: Some(bytes.to_vec()), ..FeedFiles::default() }
}

fn ip_list() -> &'static [u8] {
    b"# a list\n192.0.2.1\n198.51.100.7:8080\n010.001.001.001\nnot an address\n2001:db8::1\n"
}

// (a) Every feed the repository's own builds read, from the recorded responses, with its
// real definition: parsed once with the cache written, then read again from the cache.
#[test]
fn every_recorded_feed_of_the_repository_round_trips() {
    let mut project = crate::config::load(&repo()).expect("the repository's definitions load");
    let state = tempfile::tempdir().unwrap();
    project.settings.state_dir = state.path().join("state");
    project.settings.cache_dir = state.path().join("cache");
    let replay = FetchMode::Replay(repo().join("tests/fixtures/recorded"));
    let now = 1_787_443_200;
    let read = |project: &Project| {
        super::super::read_feeds(project, &replay, now, &Silent, Writes::Allowed, Health::default())
            .expect("the recorded feeds are read")
            .results
    };
    let first = read(&project);
    let second = read(&project);
    let mut formats = std::collections::BTreeSet::new();
    let mut read_ok = 0;
    for (fresh, cached) in first.iter().zip(&second) {
        let feed = &project.feeds[fresh.index];
        let Some(parsed) = &fresh.parsed else { continue };
        read_ok += 1;
        formats.insert(feed.config.format.as_str());
        assert!(!fresh.parse_reused, "{}: the first read parses", feed.id);
        assert!(cached.parse_reused, "{}: the second read takes the cached parse", feed.id);
        assert!(cached.parsed.as_ref() == Some(parsed), "{}: the cached parse differs", feed.id);
        assert!(cached.fresh_stats == fresh.fresh_stats, "{}: the stats differ", feed.id);
        assert!(same_sharing(parsed, cached.parsed.as_ref().unwrap()), "{}: sharing", feed.id);
        assert_round_trips(parsed, &feed.id);
    }
    // The recorded responses answer every enabled feed, of every format.
    let enabled: Vec<&str> =
        project.enabled_feeds().map(|(_, f)| f.config.format.as_str()).collect();
    assert_eq!(read_ok, enabled.len());
    assert_eq!(formats, enabled.into_iter().collect());
    assert_eq!(formats.len(), 4, "free text, CSV, JSON and MISP feeds");
}

/// Every file below `dir`, sorted.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() { folders.push(path) } else { files.push(path) }
        }
    }
    files.sort();
    files
}

// (a) Every feed file of the test fixtures, read in each format its name allows with the
// default settings; MISP feed folders with every event file, taking non-IDS attributes too.
#[test]
fn every_fixture_file_round_trips() {
    let fixtures = repo().join("tests/fixtures");
    let mut parsed = 0;
    for folder in ["feeds", "parse", "bugcases", "projects", "recorded"] {
        for path in files_below(&fixtures.join(folder)) {
            let bytes = std::fs::read(&path).unwrap();
            let name = path.display().to_string();
            let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if extension != "json" {
                let text = parse::freetext::parse(&bytes, &FreetextOptions::default(), None);
                assert_round_trips(&text, &name);
                parsed += 1;
            }
            if (extension == "csv" || extension == "txt")
                && let Ok(csv) = parse::csv::parse(&bytes, &CsvOptions::default(), None)
            {
                assert_round_trips(&csv, &name);
                parsed += 1;
            }
            if extension == "json"
                && !name.ends_with("manifest.json")
                && let Ok(json) = parse::json::parse(&bytes, &JsonOptions::default(), None)
            {
                assert_round_trips(&json, &name);
                parsed += 1;
            }
            if path.file_name().is_some_and(|n| n == "manifest.json") {
                let dir = path.parent().unwrap();
                let events: Vec<(String, Vec<u8>)> = files_below(dir)
                    .into_iter()
                    .filter(|p| p.parent() == Some(dir))
                    .filter_map(|p| {
                        let stem = p.file_stem()?.to_str()?.to_owned();
                        (p.extension()? == "json" && stem != "manifest")
                            .then(|| (stem, std::fs::read(&p).unwrap()))
                    })
                    .collect();
                for to_ids_only in [true, false] {
                    let opts = MispOptions { to_ids_only, ..MispOptions::default() };
                    let misp = parse::misp::parse_events(&events, &opts);
                    assert!(!misp.records.is_empty(), "{name}: the MISP fixture gives records");
                    assert_round_trips(&misp, &name);
                    parsed += 1;
                }
            }
        }
    }
    assert!(parsed > 100, "only {parsed} parses were checked");
}

// (c) The key: the feedsmith version, the sources, the definition and every byte of the
// files count, each on its own.
#[test]
fn the_key_changes_with_the_program_the_definition_and_every_file() {
    let (_root, project) = project_with("format = \"freetext\"", ip_list());
    let (_other, changed) =
        project_with("format = \"freetext\"\n[freetext]\nstrict_zero_padded = true", ip_list());
    let feed = &project.feeds[0];
    let files: Vec<(String, &[u8])> = vec![("body".to_owned(), ip_list())];
    let base = key(&Program::THIS, feed, &files, &[]);
    let other_version = Program { version: "0.0.1-other", ..Program::THIS };
    let other_sources = Program { sources: "0000000000000000", ..Program::THIS };
    assert_ne!(key(&other_version, feed, &files, &[]), base);
    assert_ne!(key(&other_sources, feed, &files, &[]), base);
    assert_ne!(key(&Program::THIS, &changed.feeds[0], &files, &[]), base);
    let mut flipped = ip_list().to_vec();
    flipped[12] ^= 1;
    assert_ne!(key(&Program::THIS, feed, &[("body".to_owned(), &flipped)], &[]), base);
    assert_ne!(key(&Program::THIS, feed, &[("manifest.json".to_owned(), ip_list())], &[]), base);
    assert_ne!(key(&Program::THIS, feed, &files, &["e.json: timeout".to_owned()]), base);
    // Where one file ends and the next starts counts too.
    let split = |at: usize| -> Vec<(String, &[u8])> {
        vec![("a.json".to_owned(), &ip_list()[..at]), ("b.json".to_owned(), &ip_list()[at..])]
    };
    assert_ne!(
        key(&Program::THIS, feed, &split(3), &[]),
        key(&Program::THIS, feed, &split(4), &[])
    );
    assert_eq!(key(&Program::THIS, feed, &files, &[]), base, "the key is a function");
}

/// A cache of `program` in `state`.
/// Parses `files` with the cache, the key computed as a build computes it.
fn parse_with(cache: &ParseCache, feed: &Feed, files: &FeedFiles) -> Parsed {
    cache.parse(feed, files, &[], &cache.key(feed, files, &[]))
}

fn cache_of(state: &Path, program: Program, writes: Writes) -> ParseCache {
    ParseCache { program, ..ParseCache::new(state, writes) }
}

// (c) A parse cached by another feedsmith version is not used; one by this version is.
#[test]
fn a_parse_cached_by_another_version_is_not_used() {
    let (root, project) = project_with("format = \"freetext\"", ip_list());
    let feed = &project.feeds[0];
    let state = root.path().join("state");
    let older = Program { version: "0.0.1-older", ..Program::THIS };
    let first = parse_with(&cache_of(&state, older, Writes::Allowed), feed, &body(ip_list()));
    assert!(!first.reused);
    assert!(state.join("parsed/feed.bin").is_file());
    let again = parse_with(&cache_of(&state, older, Writes::Allowed), feed, &body(ip_list()));
    assert!(again.reused, "the same version takes its own parse");
    let this = parse_with(&ParseCache::new(&state, Writes::Allowed), feed, &body(ip_list()));
    assert!(!this.reused, "another version parses the files");
    let parse = parse_files(feed, &body(ip_list()), &[]).unwrap();
    assert!(this.parsed.unwrap() == parse);
    // The values the list holds, as free text reads them (MISP's type detection).
    let values: Vec<&str> = parse.records.iter().map(|r| &*r.indicator.value).collect();
    assert_eq!(values, ["192.0.2.1", "198.51.100.7|8080", "10.1.1.1", "2001:db8::1"]);
}

// A look-up reads the cache and never writes it.
#[test]
fn a_look_up_reads_the_cache_and_never_writes_it() {
    let (root, project) = project_with("format = \"freetext\"", ip_list());
    let feed = &project.feeds[0];
    let state = root.path().join("state");
    let lookup = ParseCache::new(&state, Writes::Never);
    assert!(!parse_with(&lookup, feed, &body(ip_list())).reused);
    assert!(!state.exists(), "a look-up wrote into the state folder");
    parse_with(&ParseCache::new(&state, Writes::Allowed), feed, &body(ip_list()));
    let written = std::fs::read(state.join("parsed/feed.bin")).unwrap();
    assert!(parse_with(&lookup, feed, &body(ip_list())).reused);
    lookup.forget_others([]);
    assert_eq!(std::fs::read(state.join("parsed/feed.bin")).unwrap(), written);
}

/// The feed's cache file after one parse, and what loading it again says.
struct Stored {
    _root: tempfile::TempDir,
    project: Project,
    path: PathBuf,
}

impl Stored {
    fn new() -> Stored {
        let (root, project) = project_with("format = \"freetext\"", ip_list());
        let state = root.path().join("state");
        parse_with(&ParseCache::new(&state, Writes::Allowed), &project.feeds[0], &body(ip_list()));
        Stored { path: state.join("parsed/feed.bin"), _root: root, project }
    }

    fn load(&self) -> Result<ParsedFeed, Miss> {
        let feed = &self.project.feeds[0];
        let files = [("body".to_owned(), ip_list())];
        let input = (4 + ip_list().len()) as u64;
        load(&self.path, &key(&Program::THIS, feed, &files, &[]), max_file_bytes(input))
    }

    fn damaged(&self) -> String {
        match self.load() {
            Err(Miss::Damaged(why)) => why,
            Err(other) => panic!("refused as {other:?}, not as damaged"),
            Ok(_) => panic!("a damaged file was used"),
        }
    }
}

// (d) Damage of every kind is refused with its reason; the build then parses the files.
#[test]
fn a_truncated_bit_flipped_or_oversized_file_is_refused() {
    let stored = Stored::new();
    let good = std::fs::read(&stored.path).unwrap();
    let parse = parse_files(&stored.project.feeds[0], &body(ip_list()), &[]).unwrap();
    assert!(stored.load().unwrap() == parse);

    for length in [0, 5, HEADER, HEADER + 10, good.len() - 1] {
        std::fs::write(&stored.path, &good[..length]).unwrap();
        assert_eq!(stored.damaged(), "truncated", "cut to {length} bytes");
    }
    // A flipped bit anywhere in the parse or the checksum.
    for at in [HEADER, HEADER + 7, good.len() - DIGEST - 1, good.len() - 1] {
        let mut flipped = good.clone();
        flipped[at] ^= 0x10;
        std::fs::write(&stored.path, &flipped).unwrap();
        assert_eq!(stored.damaged(), "its SHA-256 does not match its content", "bit at {at}");
    }
    // In the header, a flip changes the magic, the length, or the key (then it is another
    // parse's file, and no more used).
    let mut flipped = good.clone();
    flipped[1] ^= 1;
    std::fs::write(&stored.path, &flipped).unwrap();
    assert_eq!(stored.damaged(), "not a cached parse");
    let length = (good.len() - HEADER - DIGEST) as u64;
    for (said, why) in [(length - 1, "longer than its header says"), (length + 1, "truncated")] {
        let mut wrong = good.clone();
        wrong[HEADER - 8..HEADER].copy_from_slice(&said.to_le_bytes());
        std::fs::write(&stored.path, &wrong).unwrap();
        assert_eq!(stored.damaged(), why, "a length of {said} for {length} bytes");
    }
    let mut flipped = good.clone();
    flipped[20] ^= 1;
    std::fs::write(&stored.path, &flipped).unwrap();
    assert!(matches!(stored.load(), Err(Miss::Changed)));

    // Larger than the files can explain: refused before it is read.
    let mut oversized = good.clone();
    oversized.resize(2 << 20, 0);
    std::fs::write(&stored.path, &oversized).unwrap();
    assert!(stored.damaged().starts_with(&format!("{} bytes, more than", 2 << 20)));

    // A folder, a symbolic link, a named pipe (which would block a reader).
    std::fs::remove_file(&stored.path).unwrap();
    std::fs::create_dir(&stored.path).unwrap();
    assert_eq!(stored.damaged(), "not a regular file");
    std::fs::remove_dir(&stored.path).unwrap();
    let elsewhere = stored.path.with_file_name("elsewhere");
    std::fs::write(&elsewhere, &good).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &stored.path).unwrap();
    assert_eq!(stored.damaged(), "not a regular file");
    std::fs::remove_file(&stored.path).unwrap();
    let mode = rustix::fs::Mode::from_raw_mode(0o600);
    rustix::fs::mknodat(rustix::fs::CWD, &stored.path, rustix::fs::FileType::Fifo, mode, 0)
        .unwrap();
    assert_eq!(stored.damaged(), "not a regular file");
    std::fs::remove_file(&stored.path).unwrap();
    assert!(matches!(stored.load(), Err(Miss::Absent)));

    // A parse with a valid checksum whose bytes do not decode.
    let mut bytes = header(&stored_key(&stored), 3).to_vec();
    bytes.extend_from_slice(&[0x05, 0xff, 0xff]);
    let digest = Sha256::digest(&bytes);
    bytes.extend_from_slice(&digest);
    std::fs::write(&stored.path, &bytes).unwrap();
    assert_eq!(stored.damaged(), "a count larger than the bytes left");

    // And the file a build writes over it is good again.
    let state = stored.path.parent().unwrap().parent().unwrap();
    parse_with(
        &ParseCache::new(state, Writes::Allowed),
        &stored.project.feeds[0],
        &body(ip_list()),
    );
    assert!(stored.load().unwrap() == parse);
}

fn stored_key(stored: &Stored) -> Key {
    key(&Program::THIS, &stored.project.feeds[0], &[("body".to_owned(), ip_list())], &[])
}

#[test]
fn files_of_feeds_no_longer_defined_are_forgotten() {
    let stored = Stored::new();
    let dir = stored.path.parent().unwrap();
    std::fs::write(dir.join("gone.bin"), b"x").unwrap();
    std::fs::write(dir.join(".feed.bin.tmp"), b"x").unwrap();
    std::fs::write(dir.join("notes.txt"), b"x").unwrap();
    ParseCache::new(dir.parent().unwrap(), Writes::Allowed).forget_others(["feed"]);
    let mut left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["feed.bin", "notes.txt"]);
}

#[test]
fn a_parse_whose_stats_hold_an_unknown_code_is_not_cached() {
    let mut stats = ParseStats::default();
    stats.warn_code("a_code_no_parser_has");
    let parsed = ParsedFeed { records: Vec::new(), stats };
    assert!(codec::encode(&parsed).is_err());
}

#[test]
fn hostile_bytes_are_refused_with_a_reason() {
    let refused = |bytes: &[u8]| codec::decode(bytes).err().map(|Damage(why)| why);
    assert_eq!(refused(&[]), Some("truncated"));
    // A count of types larger than the bytes left.
    assert_eq!(refused(&[0x7f]), Some("a count larger than the bytes left"));
    // A type name that is not one.
    assert_eq!(refused(b"\x01\x03bad"), Some("an unknown attribute type"));
    // A string that is not UTF-8 among the tags.
    assert_eq!(refused(b"\x00\x01\x02\xff\xfe"), Some("a string that is not UTF-8"));
    // A varint of eleven bytes.
    assert_eq!(refused(&[0xff; 11]), Some("a number larger than 64 bits"));
    // One record naming a type the table does not hold.
    assert_eq!(
        refused(b"\x00\x00\x01\x00\x01\x00\x05\x01x\x00\x00"),
        Some("a type number out of range")
    );
}

// The empty parse, written out by hand from the format's description.
#[test]
fn the_empty_parse_is_its_counts_and_nothing_else() {
    let bytes = codec::encode(&ParsedFeed::default()).unwrap();
    // types, tags, lists, records; five counts, rejected, warnings, bom, ten counts.
    assert_eq!(bytes, [0_u8; 4 + 5 + 2 + 1 + 10]);
    assert!(codec::decode(&bytes).unwrap() == ParsedFeed::default());
}

/// Any text: control characters, NUL, newlines, every plane of Unicode.
fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[\\x00-\\x1f\n\r\t \"\\\\]{0,8}", any::<String>(), "[a-z0-9.:/|-]{1,40}",]
}

fn time() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![Just(None), any::<i64>().prop_map(Some), (0_i64..2_000_000_000).prop_map(Some)]
}

fn code() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        crate::indicator::RejectReason::InvalidIp.code(),
        crate::indicator::RejectReason::Unrecognized.code(),
        parse::UNPARSED_LINE,
        parse::INVALID_TIME,
        crate::indicator::Warning::Defanged.code(),
    ])
}

fn stats() -> impl Strategy<Value = ParseStats> {
    let rejected = prop::collection::btree_map(
        code(),
        (any::<u64>(), prop::collection::vec((any::<u64>(), text()), 0..7)).prop_map(
            |(count, examples)| Rejected {
                count,
                examples: examples.into_iter().map(|(line, text)| Example { line, text }).collect(),
            },
        ),
        0..4,
    );
    let warnings = prop::collection::btree_map(code(), any::<u64>(), 0..4);
    (prop::array::uniform15(any::<u64>()), rejected, warnings, any::<bool>()).prop_map(
        |(n, rejected, warnings, bom)| ParseStats {
            lines: n[0],
            comments: n[1],
            blank: n[2],
            accepted: n[3],
            duplicates: n[4],
            rejected,
            warnings,
            bom,
            events: n[5],
            excluded: n[6],
            header_rows: n[7],
            ignored_words: n[8],
            deleted: n[9],
            not_ids: n[10],
            ports_joined: n[11],
            filtered_events: n[12],
            context: n[13],
            context_lines: n[14],
        },
    )
}

/// Records over a few shared tag lists, as a MISP feed's events give them.
fn parsed_feed() -> impl Strategy<Value = ParsedFeed> {
    let lists = prop::collection::vec(prop::collection::vec(text(), 0..4), 1..4);
    let record = (
        prop::sample::select(AttrType::ALL),
        text(),
        any::<bool>(),
        (time(), time(), time()),
        prop::collection::vec(text(), 0..4),
        any::<prop::sample::Index>(),
        prop::option::of((any::<u32>(), any::<u32>(), time())),
    );
    (lists, prop::collection::vec(record, 0..40), stats()).prop_map(|(lists, records, stats)| {
        let lists: Vec<Arc<[Arc<str>]>> = lists
            .into_iter()
            .map(|list| list.into_iter().map(Arc::from).collect::<Vec<_>>().into())
            .collect();
        let records = records
            .into_iter()
            .map(|(kind, value, to_ids, (timestamp, first_seen, last_seen), tags, list, s)| {
                Record {
                    indicator: Indicator::new(kind, value),
                    to_ids,
                    timestamp,
                    first_seen,
                    last_seen,
                    tags: tags.into_iter().map(Arc::from).collect(),
                    event_tags: Arc::clone(list.get(&lists)),
                    sightings: s.map(|(total, seen, last_seen)| {
                        Box::new(Sightings { total, seen, last_seen })
                    }),
                }
            })
            .collect();
        ParsedFeed { records, stats }
    })
}

proptest! {
    // A fixed seed, as the other property tests: the same cases every run.
    #![proptest_config(ProptestConfig {
        cases: 500,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x9a75_ed01),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    // (e) Any parse comes back equal, sharing its event tags as it did.
    #[test]
    fn any_parse_round_trips(parsed in parsed_feed()) {
        let bytes = codec::encode(&parsed).unwrap();
        let decoded = codec::decode(&bytes).unwrap();
        prop_assert!(decoded == parsed);
        prop_assert!(same_sharing(&parsed, &decoded));
        // Every shorter prefix is refused: nothing decodes from a truncated parse.
        for length in 0..bytes.len() {
            prop_assert!(codec::decode(&bytes[..length]).is_err(), "prefix of {} bytes", length);
        }
    }

    // (e) Damaged and arbitrary bytes never panic the decoder, and never allocate beyond
    // what their length allows (a count is checked before it is reserved).
    #[test]
    fn damaged_parses_never_panic(
        parsed in parsed_feed(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = codec::encode(&parsed).unwrap();
        if !bytes.is_empty() {
            for (at, xor) in flips {
                let at = at.index(bytes.len());
                bytes[at] ^= xor;
            }
        }
        let _ = codec::decode(&bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = codec::decode(&bytes);
    }
}

//! Compressed files inside a body: gzip, zip and bzip2, recognized by their magic bytes.
//!
//! Transfer encodings (`Content-Encoding: gzip`, `deflate`, `br`) are undone by the HTTP
//! client. What is left here are *files* that are compressed: a feed published as
//! `list.txt.gz`, a CSV export that is really a zip archive (bug case 16), a `.bz2` dump. The
//! container is chosen from the first bytes of the body, never from the URL or the
//! `Content-Type`, which both lie in the wild. Only a URL ending in `.gz` is trusted enough to
//! make a body that is *not* gzip an error: such a file is usually an error page or a log
//! saved under the wrong name, and reading it as text would import its words as indicators.
//!
//! Every decompressor reads through a cap, so a bomb (a few KiB that inflate to gigabytes)
//! fails the feed after `max` bytes instead of filling the memory.

use std::fmt::Write as _;
use std::io::{Cursor, Read};

use super::{FetchError, shown};

/// A container format recognized by its magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Container {
    /// gzip (RFC 1952), `1f 8b`.
    Gzip,
    /// A zip archive, `PK 03 04` (or `PK 05 06` for an empty archive).
    Zip,
    /// bzip2, `BZh` and a block size digit, then a block or end-of-stream marker.
    Bzip2,
}

impl Container {
    /// The format's name, as messages show it.
    #[must_use]
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Container::Gzip => "gzip",
            Container::Zip => "zip",
            Container::Bzip2 => "bzip2",
        }
    }

    /// The container the bytes start with, if any.
    #[must_use]
    pub(crate) fn sniff(bytes: &[u8]) -> Option<Container> {
        const BZIP2_BLOCK: &[u8] = &[0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
        const BZIP2_END: &[u8] = &[0x17, 0x72, 0x45, 0x38, 0x50, 0x90];
        if bytes.starts_with(&[0x1f, 0x8b]) {
            return Some(Container::Gzip);
        }
        if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
            return Some(Container::Zip);
        }
        // `BZh` alone is plausible text; the block size digit and the 48-bit marker that
        // follows are not.
        if let [b'B', b'Z', b'h', level, rest @ ..] = bytes
            && (b'1'..=b'9').contains(level)
            && (rest.starts_with(BZIP2_BLOCK) || rest.starts_with(BZIP2_END))
        {
            return Some(Container::Bzip2);
        }
        None
    }
}

/// Decompresses `bytes` when they are a gzip, zip or bzip2 file, reading at most `max`
/// decompressed bytes; returns other bytes as they are.
///
/// `url` is used in messages and for its extension: a URL whose path ends in `.gz` must
/// carry gzip data. A zip archive must hold exactly one file, unless `zip_member` names the
/// one to read.
///
/// ```
/// use feedsmith::fetch::decode_body;
///
/// let plain = b"198.51.100.7\n".to_vec();
/// assert_eq!(decode_body(plain.clone(), "https://a.example/list.txt", None, 1024).unwrap(), plain);
/// assert!(decode_body(plain, "https://a.example/list.txt.gz", None, 1024).is_err());
/// ```
pub fn decode_body(
    bytes: Vec<u8>,
    url: &str,
    zip_member: Option<&str>,
    max: u64,
) -> Result<Vec<u8>, FetchError> {
    Ok(open(&bytes, url, zip_member, max)?.unwrap_or(bytes))
}

/// [`decode_body`] on borrowed bytes: `None` when they are not compressed (and may be used
/// as they are), so that a caller who keeps the raw body copies nothing.
pub(crate) fn open(
    bytes: &[u8],
    url: &str,
    zip_member: Option<&str>,
    max: u64,
) -> Result<Option<Vec<u8>>, FetchError> {
    let container = Container::sniff(bytes);
    if container != Some(Container::Gzip) && names_gzip(url) {
        return Err(FetchError::NotGzip { url: url.to_owned(), found: describe_start(bytes) });
    }
    let opened = match container {
        None => return Ok(None),
        Some(Container::Gzip) => {
            let reader = flate2::read::MultiGzDecoder::new(bytes);
            read_capped(reader, Container::Gzip, url, max)
        }
        Some(Container::Bzip2) => {
            let reader = bzip2::read::MultiBzDecoder::new(bytes);
            read_capped(reader, Container::Bzip2, url, max)
        }
        Some(Container::Zip) => unzip(bytes, url, zip_member, max),
    };
    opened.map(Some)
}

/// Whether the URL's path (without query or fragment) ends in `.gz`.
fn names_gzip(url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let path = path.trim_end_matches('/');
    path.len() >= 3 && path[path.len() - 3..].eq_ignore_ascii_case(".gz")
}

/// Reads a decompressor to its end, failing past `max` bytes.
fn read_capped(
    reader: impl Read,
    container: Container,
    url: &str,
    max: u64,
) -> Result<Vec<u8>, FetchError> {
    let mut out = Vec::new();
    // One byte more than the cap tells "exactly the cap" from "over it".
    let read = reader.take(max.saturating_add(1)).read_to_end(&mut out);
    match read {
        Ok(_) if out.len() as u64 > max => Err(FetchError::DecompressedTooLarge {
            url: url.to_owned(),
            container: container.as_str(),
            limit: max,
        }),
        Ok(_) => Ok(out),
        Err(e) => Err(FetchError::Corrupt {
            url: url.to_owned(),
            container: container.as_str(),
            message: e.to_string(),
        }),
    }
}

/// Most member names listed in a message about a zip archive.
const MAX_NAMES_SHOWN: usize = 5;

fn unzip(bytes: &[u8], url: &str, member: Option<&str>, max: u64) -> Result<Vec<u8>, FetchError> {
    let corrupt = |e: zip::result::ZipError| FetchError::Corrupt {
        url: url.to_owned(),
        container: "zip",
        message: e.to_string(),
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(corrupt)?;
    // Directories are entries too; only files count as members.
    let mut files = Vec::new();
    for index in 0..archive.len() {
        let entry = archive.by_index(index).map_err(corrupt)?;
        if !entry.is_dir() {
            files.push((index, entry.name().map_err(corrupt)?.into_owned()));
        }
    }
    let chosen = match member {
        Some(wanted) => files.iter().find(|(_, name)| name == wanted).map(|(i, _)| *i),
        None if files.len() == 1 => files.first().map(|(i, _)| *i),
        None => None,
    };
    let Some(index) = chosen else {
        let names: Vec<String> = files
            .iter()
            .take(MAX_NAMES_SHOWN)
            .map(|(_, name)| format!("`{}`", shown(name, 100)))
            .collect();
        let mut listed = names.join(", ");
        if files.len() > MAX_NAMES_SHOWN {
            listed.push_str(", …");
        }
        let message = match member {
            Some(wanted) => format!(
                "the archive has no member `{}` (it holds {} file(s): {listed})",
                shown(wanted, 100),
                files.len()
            ),
            None if files.is_empty() => "the archive holds no file".to_owned(),
            None => format!(
                "the archive holds {} files ({listed}); set `zip_member` to the one to read",
                files.len()
            ),
        };
        return Err(FetchError::ZipMember { url: url.to_owned(), message });
    };
    let entry = archive.by_index(index).map_err(corrupt)?;
    read_capped(entry, Container::Zip, url, max)
}

/// The first bytes of a body, printable, for a message: at most 80 bytes, non-printable
/// bytes as `\xNN`.
pub(crate) fn describe_start(bytes: &[u8]) -> String {
    let start = bytes.get(..80).unwrap_or(bytes);
    let mut out = String::with_capacity(start.len() + 2);
    out.push('`');
    for &b in start {
        if b.is_ascii_graphic() || b == b' ' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out.push('`');
    if bytes.is_empty() {
        return "an empty body".to_owned();
    }
    out
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    const LIST: &[u8] = b"198.51.100.40\n198.51.100.41\n";

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn bzip2(data: &[u8]) -> Vec<u8> {
        let mut encoder = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in members {
            if name.ends_with('/') {
                writer.add_directory(*name, options).unwrap();
            } else {
                writer.start_file(*name, options).unwrap();
                writer.write_all(data).unwrap();
            }
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn plain_text_passes_through_unchanged() {
        let out = decode_body(LIST.to_vec(), "https://a.example/list.txt", None, 1 << 20).unwrap();
        assert_eq!(out, LIST);
    }

    #[test]
    fn gzip_is_recognized_by_magic_whatever_the_url_says() {
        let out = decode_body(gzip(LIST), "https://a.example/list.txt", None, 1 << 20).unwrap();
        assert_eq!(out, LIST);
        let out = decode_body(gzip(LIST), "https://a.example/list.TXT.GZ?x=1", None, 1 << 20);
        assert_eq!(out.unwrap(), LIST);
    }

    #[test]
    fn bzip2_is_recognized_by_magic() {
        let compressed = bzip2(LIST);
        assert!(compressed.starts_with(b"BZh9"));
        let out = decode_body(compressed, "https://a.example/list", None, 1 << 20).unwrap();
        assert_eq!(out, LIST);
    }

    #[test]
    fn text_starting_with_bzh_is_not_taken_for_bzip2() {
        let text = b"BZh9 is not a domain\n".to_vec();
        assert_eq!(decode_body(text.clone(), "https://a.example/l", None, 1024).unwrap(), text);
    }

    #[test]
    fn a_zip_of_one_file_gives_that_file_and_directories_do_not_count() {
        let archive = zip(&[("data/", b""), ("data/csv.txt", LIST)]);
        let out = decode_body(archive, "https://a.example/export.csv", None, 1 << 20).unwrap();
        assert_eq!(out, LIST);
    }

    #[test]
    fn a_zip_of_several_files_needs_a_member_name() {
        let archive = zip(&[("a.txt", b"198.51.100.1\n"), ("b.txt", LIST)]);
        let err = decode_body(archive.clone(), "https://a.example/x.zip", None, 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(err.contains("holds 2 files"), "{err}");
        assert!(err.contains("`a.txt`, `b.txt`"), "{err}");
        assert!(err.contains("zip_member"), "{err}");
        let out = decode_body(archive.clone(), "https://a.example/x.zip", Some("b.txt"), 1 << 20);
        assert_eq!(out.unwrap(), LIST);
        let err = decode_body(archive, "https://a.example/x.zip", Some("c.txt"), 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no member `c.txt`"), "{err}");
    }

    #[test]
    fn a_gz_url_whose_body_is_not_gzip_is_an_error() {
        let log = b"--2024-01-01-- http://feeds.example/ 192.0.2.80\n".to_vec();
        let err =
            decode_body(log, "https://a.example/online-valid.csv.gz", None, 1 << 20).unwrap_err();
        assert_eq!(err.reason(), "not_gzip");
        assert!(err.to_string().contains("not gzip"), "{err}");
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_cap() {
        let zeros = vec![0u8; 4 << 20];
        let bomb = gzip(&zeros);
        assert!(bomb.len() < 10_000, "{} bytes", bomb.len());
        let err = decode_body(bomb, "https://a.example/l.gz", None, 1 << 20).unwrap_err();
        assert_eq!(err.reason(), "decompressed_too_large");
        assert!(err.to_string().contains("1048576 bytes"), "{err}");
    }

    #[test]
    fn a_body_exactly_at_the_cap_is_accepted() {
        let data = vec![b'a'; 1000];
        assert_eq!(decode_body(gzip(&data), "u", None, 1000).unwrap(), data);
        assert!(decode_body(gzip(&data), "u", None, 999).is_err());
    }

    #[test]
    fn zip_and_bzip2_bombs_stop_at_the_cap() {
        let zeros = vec![0u8; 4 << 20];
        let err = decode_body(zip(&[("z", &zeros)]), "u", None, 1 << 20).unwrap_err();
        assert_eq!(err.reason(), "decompressed_too_large");
        let err = decode_body(bzip2(&zeros), "u", None, 1 << 20).unwrap_err();
        assert_eq!(err.reason(), "decompressed_too_large");
    }

    #[test]
    fn truncated_gzip_is_corrupt() {
        let mut data = gzip(&vec![b'x'; 10_000]);
        data.truncate(data.len() / 2);
        let err = decode_body(data, "u", None, 1 << 20).unwrap_err();
        assert_eq!(err.reason(), "corrupt_archive");
    }

    #[test]
    fn bug_case_16_inputs_decode_as_expected_md_says() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/bugcases/16-compressed-payload");
        let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
        let csv = decode_body(read("csv_download.csv"), "csv_download.csv", None, 1 << 20).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert!(csv.contains("http://198.51.100.31:5555/bin.sh"), "{csv}");
        assert!(csv.contains("http://files.bad.example/a.exe"), "{csv}");
        let list =
            decode_body(read("list_download.txt"), "list_download.txt", None, 1 << 20).unwrap();
        let list = String::from_utf8(list).unwrap();
        assert!(list.contains("198.51.100.40") && list.contains("198.51.100.41"), "{list}");
        let err =
            decode_body(read("not_really.csv.gz"), "not_really.csv.gz", None, 1 << 20).unwrap_err();
        assert_eq!(err.reason(), "not_gzip");
    }
}

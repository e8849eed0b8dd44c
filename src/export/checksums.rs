//! `SHA256SUMS`: the SHA-256 of every file the tasks' outputs wrote, in the format that
//! `sha256sum -c` reads.
//!
//! A subscriber that mirrors the output folder checks its copy with
//! `sha256sum -c SHA256SUMS` from the folder's root. The list covers the files of every
//! output of every task (each file inside a `misp-feed` or `suricata` folder on its own
//! line), not the site's pages, `report.json` or the published state, which has its own
//! manifest. Lines are sorted by path, byte by byte, so the file is byte-stable.

use std::fmt::Write as _;
use std::path::Path;

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::{ExportError, write_file};

/// The file name, at the top of the output folder.
pub const FILE_NAME: &str = "SHA256SUMS";

/// One output for [`write`]: its path relative to the folder, and the SHA-256 its writer
/// computed of the bytes it wrote, as hex, when it is one file (`None`: read and hash it).
pub type Listed<'p> = (&'p str, Option<&'p str>);

/// Writes `dir/SHA256SUMS` for the outputs `listed` (a folder output stands for every file
/// under it) and returns the number of files listed.
///
/// Each line is `<64 hex digits><two spaces><path>`, the text-mode line of `sha256sum`.
/// Output paths hold only letters, digits and `. _ - + /` (checked by `check`), so no line
/// needs `sha256sum`'s backslash escapes; a path that would need them is refused rather than
/// written in a form the tool misreads. A file whose digest its writer did not give is read
/// back and hashed, on every core.
pub fn write<'p>(
    dir: &Path,
    listed: impl IntoIterator<Item = Listed<'p>>,
) -> Result<usize, ExportError> {
    let mut files: Vec<(String, Option<String>)> = Vec::new();
    for (relative, digest) in listed {
        match digest.filter(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit())) {
            Some(digest) => {
                check_path(relative)?;
                files.push((relative.to_owned(), Some(digest.to_ascii_lowercase())));
            }
            None => collect(dir, relative, &mut files)?,
        }
    }
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    files.dedup_by(|a, b| a.0 == b.0);
    let digests: Vec<Option<String>> = files
        .par_iter()
        .map(|(relative, known)| match known {
            Some(digest) => Ok(Some(digest.clone())),
            None => hash_file(dir, relative),
        })
        .collect::<Result<_, _>>()?;
    let mut text = String::new();
    let mut count = 0;
    for ((path, _), digest) in files.iter().zip(digests) {
        // A `template` output that failed on a first build, with no previous file to
        // keep, has no file: nothing to list.
        let Some(digest) = digest else { continue };
        let _ = writeln!(text, "{digest}  {path}");
        count += 1;
    }
    write_file(&dir.join(FILE_NAME), text.as_bytes())?;
    Ok(count)
}

/// Adds the file at `dir/relative`, or every file under the folder there, to `files`, to be
/// hashed.
fn collect(
    dir: &Path,
    relative: &str,
    files: &mut Vec<(String, Option<String>)>,
) -> Result<(), ExportError> {
    let path = dir.join(relative);
    let io = |source| ExportError::Io { path: path.clone(), source };
    if path.is_dir() {
        let mut names: Vec<String> = Vec::new();
        for item in std::fs::read_dir(&path).map_err(io)? {
            let name = item.map_err(io)?.file_name();
            let Some(name) = name.to_str() else {
                return Err(unlisted(relative, "a file name that is not UTF-8"));
            };
            names.push(name.to_owned());
        }
        for name in names {
            collect(dir, &format!("{relative}/{name}"), files)?;
        }
        return Ok(());
    }
    check_path(relative)?;
    files.push((relative.to_owned(), None));
    Ok(())
}

/// Refuses a path that `sha256sum` would need escapes for.
fn check_path(relative: &str) -> Result<(), ExportError> {
    if relative.chars().any(|c| c == '\\' || c.is_control()) {
        return Err(unlisted(relative, "a backslash or a control character"));
    }
    Ok(())
}

/// The SHA-256 of the file at `dir/relative` as hex; `None` when there is no file.
fn hash_file(dir: &Path, relative: &str) -> Result<Option<String>, ExportError> {
    let path = dir.join(relative);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(hex::encode(Sha256::digest(&bytes)))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ExportError::Io { path, source }),
    }
}

fn unlisted(relative: &str, what: &str) -> ExportError {
    ExportError::Invalid {
        path: relative.escape_default().to_string(),
        message: format!("{what} in the path cannot be listed in {FILE_NAME}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_file_of_file_and_folder_outputs_sorted_by_path() {
        let dir = tempfile::tempdir().unwrap();
        let put = |relative: &str, text: &str| {
            write_file(&dir.path().join(relative), text.as_bytes()).unwrap();
        };
        put("lists/b.txt", "b\n");
        put("misp/c2/manifest.json", "{}");
        put("misp/c2/hashes.csv", "");
        put("index.html", "<p>not an output</p>");
        let listed = write(dir.path(), [("misp/c2", None), ("lists/b.txt", None)]).unwrap();
        assert_eq!(listed, 3);
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        // The SHA-256 of "b\n", of the empty string and of "{}", as coreutils' sha256sum
        // gives them.
        assert_eq!(
            text,
            "0263829989b6fd954f72baaf2fc64bc2e2f01d692d4de72986ea808f6e99813f  lists/b.txt\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  misp/c2/hashes.csv\n\
             44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a  misp/c2/manifest.json\n"
        );
    }

    #[test]
    fn takes_a_writers_digest_and_skips_a_file_that_is_not_there() {
        let dir = tempfile::tempdir().unwrap();
        write_file(&dir.path().join("a.txt"), b"b\n").unwrap();
        // The digest given for a.txt stands, unread (it is not the file's); gone.txt, a
        // template output that failed on a first build, is not listed.
        let given = "ab".repeat(32);
        let listed = write(dir.path(), [("a.txt", Some(given.as_str())), ("gone.txt", None)]);
        assert_eq!(listed.unwrap(), 1);
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert_eq!(text, format!("{given}  a.txt\n"));
    }

    #[test]
    fn refuses_a_path_that_sha256sum_would_misread() {
        let dir = tempfile::tempdir().unwrap();
        write_file(&dir.path().join("a\\b"), b"x").unwrap();
        assert!(matches!(write(dir.path(), [("a\\b", None)]), Err(ExportError::Invalid { .. })));
    }
}

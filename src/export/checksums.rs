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

use sha2::{Digest, Sha256};

use super::{ExportError, write_file};

/// The file name, at the top of the output folder.
pub const FILE_NAME: &str = "SHA256SUMS";

/// Writes `dir/SHA256SUMS` for the outputs at `paths` (relative to `dir`; a folder output
/// stands for every file under it) and returns the number of files listed.
///
/// Each line is `<64 hex digits><two spaces><path>`, the text-mode line of `sha256sum`.
/// Output paths hold only letters, digits and `. _ - + /` (checked by `check`), so no line
/// needs `sha256sum`'s backslash escapes; a path that would need them is refused rather than
/// written in a form the tool misreads.
pub fn write<'p>(
    dir: &Path,
    paths: impl IntoIterator<Item = &'p str>,
) -> Result<usize, ExportError> {
    let mut files: Vec<(String, [u8; 32])> = Vec::new();
    for relative in paths {
        collect(dir, relative, &mut files)?;
    }
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    files.dedup_by(|a, b| a.0 == b.0);
    let mut text = String::new();
    for (path, digest) in &files {
        let _ = writeln!(text, "{}  {path}", hex::encode(digest));
    }
    write_file(&dir.join(FILE_NAME), text.as_bytes())?;
    Ok(files.len())
}

/// Adds the file at `dir/relative`, or every file under the folder there, to `files`.
fn collect(
    dir: &Path,
    relative: &str,
    files: &mut Vec<(String, [u8; 32])>,
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
    if relative.chars().any(|c| c == '\\' || c.is_control()) {
        return Err(unlisted(relative, "a backslash or a control character"));
    }
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        // A `template` output that failed on a first build, with no previous file to keep,
        // has no file: nothing to list.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(e)),
    };
    files.push((relative.to_owned(), Sha256::digest(&bytes).into()));
    Ok(())
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
        let listed = write(dir.path(), ["misp/c2", "lists/b.txt"]).unwrap();
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
    fn refuses_a_path_that_sha256sum_would_misread() {
        let dir = tempfile::tempdir().unwrap();
        write_file(&dir.path().join("a\\b"), b"x").unwrap();
        assert!(matches!(write(dir.path(), ["a\\b"]), Err(ExportError::Invalid { .. })));
    }
}

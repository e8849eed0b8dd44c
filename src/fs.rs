//! File writes that a killed process never leaves half done.

use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` through a synced temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent)?;
    let mut tmp = tempfile::NamedTempFile::new_in(parent)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Where the previous version of a state file is kept: `<name>.prev` beside it.
#[must_use]
pub fn previous_path(path: &Path) -> PathBuf {
    with_suffix(path, ".prev")
}

/// Replaces `path` with `bytes` atomically, keeping the file it replaces as `<name>.prev`
/// (see [`previous_path`]).
///
/// The bytes go to `<name>.tmp` in the same folder, are flushed to disk, and the temporary
/// file is renamed over `path`; the folder entry is flushed too where the system allows it.
/// At every moment `path` holds the old bytes or the new ones, never a mix and never nothing
/// (on file systems with hard links; elsewhere `path` is missing between two renames, and
/// `<name>.prev` holds the old bytes then).
pub fn replace_keeping_previous(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replace_keeping_previous_with(path, |file| file.write_all(bytes))
}

/// [`replace_keeping_previous`] with the bytes written by `write`, which gets the temporary
/// file (buffered writes are up to the caller).
pub fn replace_keeping_previous_with(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    if path.file_name().is_none() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{}` is not a file path", path.display()),
        ));
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    let tmp = with_suffix(path, ".tmp");
    let written = File::create(&tmp).and_then(|mut file| {
        write(&mut file)?;
        file.sync_all()
    });
    if let Err(error) = written {
        // Best effort: the error that matters is the one being returned.
        let _ = fs::remove_file(&tmp);
        return Err(error);
    }
    keep_previous(path)?;
    fs::rename(&tmp, path)?;
    sync_dir(dir);
    Ok(())
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(ToOwned::to_owned).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

/// Makes the current file (if any) the `.prev` file, without ever leaving `path` missing.
///
/// With no current file there is nothing to keep, and an older `.prev` stays as it is.
fn keep_previous(path: &Path) -> io::Result<()> {
    if fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    let prev = previous_path(path);
    match fs::remove_file(&prev) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    match fs::hard_link(path, &prev) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        // A file system without hard links: move it instead; `path` is missing only until
        // the rename that follows.
        Err(_) => match fs::rename(path, &prev) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        },
    }
}

/// Flushes a folder's entries (the rename) to disk where the system allows it.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = File::open(dir) {
        // Not every file system supports it; the data itself is already synced.
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Opens `path` for reading when it is a regular file (after symbolic links). Anything else
/// is refused before it is opened: a named pipe would block the build until someone writes
/// to it, a device such as `/dev/zero` never ends.
pub(crate) fn open_regular(path: &Path) -> io::Result<std::fs::File> {
    let kind = std::fs::metadata(path)?.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() { "a folder" } else { "not a regular file" };
        return Err(io::Error::other(format!("it is {what}")));
    }
    std::fs::File::open(path)
}

/// The one key read before the rest of a versioned JSON file.
#[derive(serde::Deserialize)]
struct FormatKey {
    format: Option<serde_json::Value>,
}

/// Reads a versioned JSON file of layout `expected`: its `format` key is checked first, so
/// that a newer layout is named as such rather than as a parse error of the fields it
/// changed. `what` names the kind of file in the reason given when it is not one.
pub(crate) fn read_versioned_json<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    expected: u32,
    what: &str,
) -> Result<T, String> {
    let not_one = |e: serde_json::Error| format!("not a {what}: {e}");
    let key: FormatKey = serde_json::from_slice(bytes).map_err(not_one)?;
    match key.format {
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(u64::from(expected)) => {}
        Some(other) => {
            let shown = crate::text::shown(&other.to_string(), 40);
            return Err(format!(
                "unknown format `{shown}` (this feedsmith reads format {expected})"
            ));
        }
        None => return Err("the `format` key is missing".to_owned()),
    }
    serde_json::from_slice(bytes).map_err(not_one)
}

/// How many files [`remove_dir_all`] removes at once. Removing a file is mostly waiting for
/// the disk (on a file system mounted with `discard`, each removal trims its blocks), so
/// more removals than cores are in flight.
const REMOVERS: usize = 16;

/// Removes a folder and everything in it, many files at once.
///
/// The same as [`std::fs::remove_dir_all`], which removes one file after another: on a disk
/// that trims freed blocks, the site of a large build (tens of thousands of files) took it
/// fifteen seconds where concurrent removals take two. Links are removed, never followed.
pub fn remove_dir_all(dir: &Path) -> io::Result<()> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_owned()];
    let mut next = 0;
    while let Some(folder) = folders.get(next).cloned() {
        next += 1;
        for item in fs::read_dir(&folder)? {
            let item = item?;
            if item.file_type()?.is_dir() {
                folders.push(item.path());
            } else {
                files.push(item.path());
            }
        }
    }
    let queue = std::sync::Mutex::new(files.iter());
    let failure: std::sync::Mutex<Option<io::Error>> = std::sync::Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..REMOVERS.min(files.len()) {
            scope.spawn(|| {
                while let Some(file) = queue.lock().map_or(None, |mut q| q.next()) {
                    if let Err(e) = fs::remove_file(file)
                        && e.kind() != io::ErrorKind::NotFound
                        && let Ok(mut slot) = failure.lock()
                    {
                        slot.get_or_insert(e);
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }
    // Folders after the files they held, the deepest first.
    for folder in folders.iter().rev() {
        fs::remove_dir(folder)?;
    }
    Ok(())
}

#[cfg(test)]
mod remove_tests {
    use super::*;

    #[test]
    fn removes_a_tree_of_files_and_folders_and_leaves_what_a_link_points_to() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("site");
        for a in 0..5 {
            for b in 0..7 {
                let folder = dir.join(format!("{a:x}")).join(format!("{b:x}"));
                fs::create_dir_all(&folder).unwrap();
                for c in 0..9 {
                    fs::write(folder.join(format!("{c}.json")), b"[]").unwrap();
                }
            }
        }
        let outside = root.path().join("outside");
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("keep.txt"), b"kept").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(&outside, dir.join("link")).unwrap();
        remove_dir_all(&dir).unwrap();
        assert!(!dir.exists());
        assert_eq!(fs::read(outside.join("keep.txt")).unwrap(), b"kept");
    }

    #[test]
    fn a_missing_folder_is_an_error_as_with_the_standard_library() {
        let root = tempfile::tempdir().unwrap();
        let missing = root.path().join("missing");
        assert_eq!(
            remove_dir_all(&missing).unwrap_err().kind(),
            std::fs::remove_dir_all(&missing).unwrap_err().kind()
        );
    }
}

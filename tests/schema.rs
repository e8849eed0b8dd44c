//! `feedsmith schema`: the committed schemas under `schema/` are the ones the binary writes.
//! Their content (every definition validates) is tested in `config::schema`.

use crate::util::{copy_root_definitions, feedsmith, repo};

/// The file names in `dir`, sorted.
fn names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn the_committed_schemas_are_the_ones_the_binary_writes() {
    let out = tempfile::tempdir().unwrap();
    let output = feedsmith(&repo(), &["schema", "--out", out.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let committed = repo().join("schema");
    let regenerate = "run `cargo run -- schema` at the repository root to regenerate them";
    assert_eq!(names(out.path()), names(&committed), "schema/ is out of date: {regenerate}");
    for name in names(out.path()) {
        let written = std::fs::read(out.path().join(&name)).unwrap();
        let kept = std::fs::read(committed.join(&name)).unwrap();
        assert!(written == kept, "schema/{name} is out of date: {regenerate}");
    }
}

#[test]
fn schema_without_out_writes_into_the_repository_even_when_definitions_are_broken() {
    let root = copy_root_definitions();
    std::fs::write(root.path().join("feeds.d/broken.toml"), "name = 3\n").unwrap();
    let output = feedsmith(root.path(), &["schema"]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let written = names(&root.path().join("schema"));
    assert_eq!(written, names(&repo().join("schema")));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.lines().count(), written.len(), "{stdout}");
    assert!(stdout.contains("feed.schema.json (for feeds.d/"), "{stdout}");
}

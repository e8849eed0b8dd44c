//! Where each key of a definition file is written: key path → line and column.
//!
//! serde turns a file into structs and forgets positions, yet every problem found afterwards
//! (a task naming an unknown feed, a delimiter that is too long) must point at the line and
//! column of the key or list element it is about. [`KeyMap`] is built from a second,
//! position-keeping parse of the same text: `toml_edit`'s spanned document for TOML, saphyr's
//! marked nodes for YAML. It maps key paths written the way diagnostics name them
//! (`csv.delimiter`, `select.feeds[1]`, `outputs[0].format`) to positions, and answers the
//! reverse question for parser errors: which key holds this position?
//!
//! Positions are 1-based lines and 1-based columns counted in characters, the way editors
//! count them.

use std::collections::HashMap;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

/// A 1-based line and 1-based column, in characters.
pub(crate) type Position = (usize, usize);

/// The position of the whole file when no key applies: its first character.
const FILE_START: Position = (1, 1);

/// One key, list element or array-of-tables element of a file.
#[derive(Clone, Debug)]
struct Entry {
    /// Where the key (or, for a list element, the value) starts.
    key: Position,
    /// Where the value starts.
    value: Position,
    /// Where the value ends (exclusive when known; equal to `value` for zero-width spans).
    end: Position,
}

/// Key paths of one file and where they are written.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyMap {
    entries: HashMap<String, Entry>,
}

impl KeyMap {
    /// Maps the keys of a TOML text. A text that does not parse gives an empty map: its
    /// syntax error is reported by the deserializer, with its own position.
    pub(crate) fn from_toml(text: &str) -> KeyMap {
        let mut map = KeyMap::default();
        if let Ok(doc) = toml_edit::Document::parse(text) {
            let lines = LineIndex::new(text);
            walk_toml_table(doc.as_table(), "", &lines, &mut map);
        }
        map
    }

    /// Maps the keys of the first document of a YAML text. A text that does not parse gives
    /// an empty map.
    pub(crate) fn from_yaml(text: &str) -> KeyMap {
        let mut map = KeyMap::default();
        if let Ok(docs) = MarkedYaml::load_from_str(text)
            && let Some(doc) = docs.first()
        {
            walk_yaml(doc, "", &mut map);
        }
        map
    }

    /// Whether the key `path` is written in the file.
    pub(crate) fn contains(&self, path: &str) -> bool {
        self.entries.contains_key(path)
    }

    /// Where `path` is written. A key that is not in the file (a default, a missing required
    /// key) is located at its nearest written parent, and at the start of the file when none is.
    pub(crate) fn position(&self, path: &str) -> Position {
        let mut path = path;
        loop {
            if let Some(entry) = self.entries.get(path) {
                return entry.key;
            }
            match parent(path) {
                Some(up) => path = up,
                None => return FILE_START,
            }
        }
    }

    /// The key path that best holds `pos`: a key or value starting exactly there, else the
    /// innermost entry whose span holds it. `None` when `pos` is outside every key.
    pub(crate) fn path_at(&self, pos: Position) -> Option<&str> {
        // Deepest first: a list element starts where its list value starts.
        let exact = self
            .entries
            .iter()
            .filter(|(_, e)| e.key == pos || e.value == pos)
            .max_by(|(a, _), (b, _)| a.len().cmp(&b.len()).then_with(|| b.cmp(a)));
        if let Some((path, _)) = exact {
            return Some(path);
        }
        self.entries
            .iter()
            .filter(|(_, e)| e.key <= pos && pos <= e.end)
            .max_by(|(a, ea), (b, eb)| {
                ea.key.cmp(&eb.key).then_with(|| a.len().cmp(&b.len())).then_with(|| b.cmp(a))
            })
            .map(|(path, _)| path.as_str())
    }

    fn insert(&mut self, path: String, key: Position, value: Position, end: Position) {
        // A key written twice is a parse error reported elsewhere; keep the first place.
        self.entries.entry(path).or_insert(Entry { key, value, end });
    }
}

/// The parent of a key path: `csv.delimiter` → `csv`, `select.feeds[1]` → `select.feeds`,
/// `name` → the root (an empty path), and the root → `None`.
pub(crate) fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(&path[..cut])
}

fn child(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_owned() } else { format!("{parent}.{key}") }
}

fn element(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// Turns byte offsets of a text into lines and character columns.
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset of the start of each line.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Indexes the line starts of `text`.
    pub(crate) fn new(text: &'a str) -> LineIndex<'a> {
        let starts =
            std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        LineIndex { text, starts }
    }

    /// The position of byte `offset`; an offset past the end is the end of the text, and an
    /// offset inside a character is that character.
    pub(crate) fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..)
            .map_or(0, |rest| rest.char_indices().take_while(|(i, _)| start + i < offset).count());
        (line, column + 1)
    }
}

fn span_positions(
    span: Option<std::ops::Range<usize>>,
    lines: &LineIndex<'_>,
) -> Option<(Position, Position)> {
    span.map(|s| (lines.position(s.start), lines.position(s.end)))
}

fn walk_toml_table(table: &toml_edit::Table, path: &str, lines: &LineIndex<'_>, map: &mut KeyMap) {
    for (name, _) in table {
        let Some((key, item)) = table.get_key_value(name) else { continue };
        let here = child(path, name);
        let key_pos = span_positions(key.span(), lines).map(|(start, _)| start);
        walk_toml_item(item, &here, key_pos, lines, map);
    }
}

fn walk_toml_item(
    item: &toml_edit::Item,
    path: &str,
    key_pos: Option<Position>,
    lines: &LineIndex<'_>,
    map: &mut KeyMap,
) {
    match item {
        toml_edit::Item::None => {}
        toml_edit::Item::Value(value) => walk_toml_value(value, path, key_pos, lines, map),
        toml_edit::Item::Table(table) => {
            let span = span_positions(table.span(), lines);
            if let Some(key) = key_pos.or(span.map(|(s, _)| s)) {
                let (value, end) = span.unwrap_or((key, key));
                map.insert(path.to_owned(), key, value, end);
            }
            walk_toml_table(table, path, lines, map);
        }
        toml_edit::Item::ArrayOfTables(tables) => {
            let span = span_positions(tables.span(), lines);
            if let Some(key) = key_pos.or(span.map(|(s, _)| s)) {
                let (value, end) = span.unwrap_or((key, key));
                map.insert(path.to_owned(), key, value, end);
            }
            for (index, table) in tables.iter().enumerate() {
                let here = element(path, index);
                if let Some((start, end)) = span_positions(table.span(), lines) {
                    map.insert(here.clone(), start, start, end);
                }
                walk_toml_table(table, &here, lines, map);
            }
        }
    }
}

fn walk_toml_value(
    value: &toml_edit::Value,
    path: &str,
    key_pos: Option<Position>,
    lines: &LineIndex<'_>,
    map: &mut KeyMap,
) {
    let span = span_positions(value.span(), lines);
    if let Some(key) = key_pos.or(span.map(|(s, _)| s)) {
        let (start, end) = span.unwrap_or((key, key));
        map.insert(path.to_owned(), key, start, end);
    }
    match value {
        toml_edit::Value::Array(array) => {
            for (index, item) in array.iter().enumerate() {
                walk_toml_value(item, &element(path, index), None, lines, map);
            }
        }
        toml_edit::Value::InlineTable(table) => {
            for (name, _) in table {
                let Some((key, item)) = table.get_key_value(name) else { continue };
                let key_pos = span_positions(key.span(), lines).map(|(start, _)| start);
                walk_toml_item(item, &child(path, name), key_pos, lines, map);
            }
        }
        _ => {}
    }
}

fn marker_position(marker: saphyr::Marker) -> Position {
    (marker.line(), marker.col() + 1)
}

fn yaml_key_name(node: &MarkedYaml<'_>) -> Option<String> {
    match &node.data {
        YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        YamlData::Value(Scalar::FloatingPoint(f)) => Some(f.to_string()),
        YamlData::Value(Scalar::Null) => Some("null".to_owned()),
        YamlData::Representation(raw, _, _) => Some(raw.to_string()),
        _ => None,
    }
}

fn walk_yaml(node: &MarkedYaml<'_>, path: &str, map: &mut KeyMap) {
    match &node.data {
        YamlData::Mapping(mapping) => {
            for (key, value) in mapping {
                let Some(name) = yaml_key_name(key) else { continue };
                let here = child(path, &name);
                map.insert(
                    here.clone(),
                    marker_position(key.span.start),
                    marker_position(value.span.start),
                    marker_position(value.span.end),
                );
                walk_yaml(value, &here, map);
            }
        }
        YamlData::Sequence(items) => {
            for (index, item) in items.iter().enumerate() {
                let here = element(path, index);
                let start = marker_position(item.span.start);
                map.insert(here.clone(), start, start, marker_position(item.span.end));
                walk_yaml(item, &here, map);
            }
        }
        YamlData::Tagged(_, inner) => walk_yaml(inner, path, map),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = "\
name = \"x\"
[select]
feeds = [\"a\", \"b\"]

[[outputs]]
format = \"plain\"
path = \"a.txt\"

[[outputs]]
path = \"b.txt\"
";

    #[test]
    fn locates_toml_keys_list_elements_and_array_of_tables() {
        let map = KeyMap::from_toml(TOML);
        assert_eq!(map.position("name"), (1, 1));
        assert_eq!(map.position("select"), (2, 2));
        assert_eq!(map.position("select.feeds"), (3, 1));
        assert_eq!(map.position("select.feeds[1]"), (3, 15));
        assert_eq!(map.position("outputs[0].format"), (6, 1));
        assert_eq!(map.position("outputs[1].path"), (10, 1));
        assert_eq!(map.position("outputs[1]"), (9, 1));
    }

    #[test]
    fn locates_a_missing_key_at_its_nearest_written_parent() {
        let map = KeyMap::from_toml(TOML);
        assert_eq!(map.position("outputs[1].format"), (9, 1));
        assert_eq!(map.position("select.model"), (2, 2));
        assert_eq!(map.position("missing"), (1, 1));
    }

    #[test]
    fn finds_the_key_holding_a_toml_position() {
        let map = KeyMap::from_toml(TOML);
        assert_eq!(map.path_at((3, 15)), Some("select.feeds[1]"));
        assert_eq!(map.path_at((3, 16)), Some("select.feeds[1]"));
        assert_eq!(map.path_at((7, 8)), Some("outputs[0].path"));
        assert_eq!(map.path_at((4, 1)), None);
    }

    #[test]
    fn locates_dotted_keys_and_inline_tables() {
        let map = KeyMap::from_toml("csv.delimiter = \";\"\nmisp = { to_ids_only = false }\n");
        assert_eq!(map.position("csv.delimiter"), (1, 5));
        assert_eq!(map.position("misp.to_ids_only"), (2, 10));
        assert_eq!(map.path_at((2, 24)), Some("misp.to_ids_only"));
    }

    #[test]
    fn locates_yaml_keys_and_sequence_elements() {
        let text = "name: x\nselect:\n  feeds:\n    - a\n    - b\n\
                    outputs:\n  - format: plain\n    path: a.txt\n";
        let map = KeyMap::from_yaml(text);
        assert_eq!(map.position("name"), (1, 1));
        assert_eq!(map.position("select.feeds"), (3, 3));
        assert_eq!(map.position("select.feeds[1]"), (5, 7));
        assert_eq!(map.position("outputs[0].format"), (7, 5));
        assert_eq!(map.position("outputs[0].path"), (8, 5));
        assert_eq!(map.path_at((8, 11)), Some("outputs[0].path"));
    }

    #[test]
    fn counts_columns_in_characters_not_bytes() {
        let lines = LineIndex::new("a = \"é\"\nb = 1\n");
        // `"` after é: byte 7, character column 7.
        assert_eq!(lines.position(7), (1, 7));
        assert_eq!(lines.position(9), (2, 1));
        assert_eq!(lines.position(999), (3, 1));
    }
}

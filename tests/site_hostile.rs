//! Hostile values through every page of the site (issue #7): a project whose every name,
//! description, tag, list, rejected line and surviving URL carries markup, script, quotes,
//! template syntax or invisible characters, built twice a day apart with the values changed in
//! between, so that the changes page, each feed page's "since the previous build" and the
//! history charts carry them too.
//!
//! Every `.html` file of the site is then read by a small tokenizer that follows the HTML
//! rules for tags and attributes, and must hold no script but the look-up's include, no `on…`
//! attribute, no `javascript:` link and no tag outside the set the templates write; its
//! tables, lists, paragraphs and charts are closed, and each inline SVG is XML. The hostile
//! values are looked for in the text a browser shows (tags dropped, character references
//! decoded): they are there, whole, while their raw markup is nowhere in the file. The look-up
//! index holds them byte for byte, and the look-up script has no way to turn its text into
//! markup.
//!
//! Every expected value comes from the inputs written here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::util::{feedsmith, svgs, tree, write_file};

const FIRST: &str = "2026-08-22T00:00:00Z";
const SECOND: &str = "2026-08-23T00:00:00Z";

/// An attribute break-out followed by an element with an event handler.
const IMG: &str = "\"><img src=x onerror=alert(1)>";
/// A script element, quotes in it.
const SCRIPT: &str = "<script>alert('x')</script>";

/// URL paths a feed may carry that survive parsing whole (a URL's path is kept byte for
/// byte): markup, quotes, a closing script tag, template syntax of Jinja and of JavaScript,
/// backticks, character references and CDATA's end. Build 1 lists the first five, build 2 the
/// last five, so that some are added and some removed.
const SURVIVING: [&str; 8] = [
    "http://bad.example/x\"><svg/onload=alert(1)>",
    "http://bad.example/it's'><img/src=x/onerror=alert(1)>",
    "http://bad.example/</script><script>alert(1)</script>",
    "http://bad.example/<script>alert(1)</script>",
    "http://bad.example/{{7*7}}${alert(1)}`x`",
    "http://bad.example/&amp;&lt;&#x3c;",
    "http://bad.example/]]></svg><svg/onload=alert(1)>",
    "http://bad.example/{%raw%}<!--x-->",
];

/// The URLs of build `n`.
fn urls(n: usize) -> &'static [&'static str] {
    if n == 1 { &SURVIVING[..5] } else { &SURVIVING[3..] }
}

/// The value both feeds list in both builds, so that they overlap (the free-text reader ends
/// a URL at `<`, but not at template syntax).
const SHARED: &str = SURVIVING[4];

/// The value the warning list holds: a surviving URL, so that the task page shows it among
/// what the list removed.
const LISTED: &str = SURVIVING[3];

/// Every user- or feed-controlled string of build `n` (a build number in each, so that they
/// change between builds).
struct Inputs {
    title: String,
    feed_name: String,
    provider: String,
    licence: String,
    homepage: String,
    tag: String,
    csv_name: String,
    task_name: String,
    task_description: String,
    model_name: String,
    model_description: String,
    tag_key: String,
    list_name: String,
    /// Lines the free-text feed rejects, each shown as an example.
    rejected_lines: Vec<String>,
    /// CSV rows the CSV feed rejects: `(value, type)`.
    rejected_rows: Vec<(String, String)>,
}

impl Inputs {
    fn of(n: usize) -> Inputs {
        Inputs {
            title: format!("Blocklists {SCRIPT}{IMG} #{n}"),
            feed_name: format!("Evil {IMG}{SCRIPT} #{n}"),
            provider: format!("<b onmouseover=alert(1)>&amp; '{n}'"),
            licence: format!("</dd>{SCRIPT} {{{{ now }}}} #{n}"),
            homepage: format!("https://home.example/{n}/{IMG}"),
            tag: format!("tag{IMG}{n}"),
            csv_name: format!("CSV `${{alert({n})}}` {SCRIPT}"),
            task_name: format!("Task {SCRIPT}{IMG} #{n}"),
            task_description: format!("</p><iframe src=javascript:alert({n})></iframe>"),
            model_name: format!("Model {SCRIPT}{IMG} #{n}"),
            model_description: format!("<svg onload=alert({n})> ]]> --> #{n}"),
            tag_key: format!("key{IMG}"),
            list_name: format!("List {SCRIPT}{IMG} #{n}"),
            rejected_lines: vec![
                format!("<img src=x onerror=alert({n})>"),
                format!("<a href=\"javascript:alert({n})\">x</a>"),
            ],
            rejected_rows: vec![
                // Invisible characters: a line separator and a right-to-left override.
                (format!("http://bad.example/{n}\u{2028}<b>"), "url".to_owned()),
                (format!("http://bad.example/{n}\u{202e}<b>"), "url".to_owned()),
                ("203.0.113.9".to_owned(), format!("<img src=x onerror=alert({n})>")),
            ],
        }
    }

    /// The strings a page may show, each of which must never appear unescaped.
    fn all(&self) -> Vec<&str> {
        let mut all = vec![
            self.title.as_str(),
            &self.feed_name,
            &self.provider,
            &self.licence,
            &self.homepage,
            &self.tag,
            &self.csv_name,
            &self.task_name,
            &self.task_description,
            &self.model_name,
            &self.model_description,
            &self.tag_key,
            &self.list_name,
        ];
        all.extend(self.rejected_lines.iter().map(String::as_str));
        all.extend(self.rejected_rows.iter().flat_map(|(v, t)| [v.as_str(), t.as_str()]));
        all
    }
}

/// A TOML string.
fn toml_str(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// Writes the definitions and feed files of build `n` into `root`.
fn write_project(root: &Path, n: usize) {
    let inputs = Inputs::of(n);
    write_file(root, "feedsmith.toml", &format!("title = {}\n", toml_str(&inputs.title)));
    write_file(
        root,
        "feeds.d/evil.toml",
        &format!(
            "name = {}\nprovider = {}\nlicence = {}\nhomepage = {}\ntags = [{}, \"c2\"]\n\
             path = \"evil.txt\"\nformat = \"freetext\"\n",
            toml_str(&inputs.feed_name),
            toml_str(&inputs.provider),
            toml_str(&inputs.licence),
            toml_str(&inputs.homepage),
            toml_str(&inputs.tag),
        ),
    );
    let mut lines = vec![SHARED.to_owned(), "198.51.100.7".to_owned()];
    lines.extend(inputs.rejected_lines.iter().cloned());
    write_file(root, "evil.txt", &(lines.join("\n") + "\n"));

    write_file(
        root,
        "feeds.d/csvfeed.toml",
        &format!(
            "name = {}\nprovider = \"p\"\npath = \"csvfeed.csv\"\nformat = \"csv\"\n\
             tags = [\"c2\"]\n[csv]\nheader = true\nvalue_columns = [\"value\"]\n\
             type_column = \"type\"\ntags_column = \"tags\"\n",
            toml_str(&inputs.csv_name),
        ),
    );
    let mut csv = ::csv::Writer::from_writer(Vec::new());
    csv.write_record(["value", "type", "tags"]).unwrap();
    for url in urls(n) {
        csv.write_record([*url, "url", &format!("{}:80", inputs.tag_key)]).unwrap();
    }
    for (value, kind) in &inputs.rejected_rows {
        csv.write_record([value.as_str(), kind, SCRIPT]).unwrap();
    }
    write_file(root, "csvfeed.csv", &String::from_utf8(csv.into_inner().unwrap()).unwrap());

    write_file(
        root,
        "tasks.d/all.toml",
        &format!(
            "name = {}\ndescription = {}\n[select]\nfeed_tags = [\"c2\"]\nmodel = \"evil\"\n\
             warninglists = [\"evil\"]\nexclude_reserved = false\n\
             [[outputs]]\nformat = \"plain\"\npath = \"all.txt\"\n",
            toml_str(&inputs.task_name),
            toml_str(&inputs.task_description),
        ),
    );
    write_file(
        root,
        "decay.d/evil.toml",
        &format!(
            "name = {}\ndescription = {}\ntype = \"polynomial\"\nlifetime_days = 30\n\
             decay_speed = 1\nthreshold = 10\ndefault_base_score = 80\n\
             attribute_types = [\"ip-dst\", \"url\"]\n[base_score_config]\n{} = 1.0\n",
            toml_str(&inputs.model_name),
            toml_str(&inputs.model_description),
            toml_str(&inputs.tag_key),
        ),
    );
    let list = serde_json::json!({
        "name": inputs.list_name,
        "description": format!("{SCRIPT} {IMG}"),
        "version": n,
        "type": "string",
        "list": [LISTED],
        "matching_attributes": ["url"],
    });
    write_file(root, "warninglists.d/evil.json", &list.to_string());
}

/// Builds the project of build `n` at `now`; panics on failure.
fn build(root: &Path, n: usize, now: &str) {
    write_project(root, n);
    let output = feedsmith(root, &["build", "--now", now]);
    assert!(
        output.status.success(),
        "build {n} failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// One tag of a page, as an HTML tokenizer reads it.
#[derive(Debug)]
struct Tag {
    /// The name, in lower case.
    name: String,
    closing: bool,
    /// `(name in lower case, value with character references decoded)`.
    attrs: Vec<(String, String)>,
}

/// A page read as a browser reads its tags: the tags in order, and the text it shows (tags
/// dropped, character references decoded, a space where each tag was).
struct Page {
    tags: Vec<Tag>,
    text: String,
}

/// Reads `html` following the tokenizer of the HTML standard for what matters here: a `<`
/// followed by an ASCII letter opens a tag, `</` and a letter closes one; attributes are
/// separated by white space or `/`, and a value is quoted with `"` or `'`, or runs to white
/// space or `>`. Comments and `<!doctype>` are skipped; a script's content is not text.
fn read_page(html: &str) -> Page {
    let bytes = html.as_bytes();
    let mut tags = Vec::new();
    let mut raw_text = String::new();
    let mut i = 0;
    let mut text_from = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        let rest = &html[i..];
        let closing = rest.starts_with("</");
        let name_at = i + if closing { 2 } else { 1 };
        if rest.starts_with("<!--") {
            raw_text.push_str(&html[text_from..i]);
            i += rest.find("-->").map_or(rest.len(), |e| e + 3);
            text_from = i;
            continue;
        }
        if rest.starts_with("<!") {
            raw_text.push_str(&html[text_from..i]);
            i += rest.find('>').map_or(rest.len(), |e| e + 1);
            text_from = i;
            continue;
        }
        if !bytes.get(name_at).is_some_and(u8::is_ascii_alphabetic) {
            i += 1;
            continue;
        }
        raw_text.push_str(&html[text_from..i]);
        raw_text.push(' ');
        let mut j = name_at;
        while j < bytes.len()
            && !matches!(bytes[j], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/' | b'>')
        {
            j += 1;
        }
        let name = html[name_at..j].to_ascii_lowercase();
        let mut attrs = Vec::new();
        loop {
            while j < bytes.len()
                && matches!(bytes[j], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/')
            {
                j += 1;
            }
            if j >= bytes.len() || bytes[j] == b'>' {
                j += 1;
                break;
            }
            let start = j;
            j += 1;
            while j < bytes.len()
                && !matches!(bytes[j], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/' | b'>' | b'=')
            {
                j += 1;
            }
            let attr = html[start..j].to_ascii_lowercase();
            while j < bytes.len() && matches!(bytes[j], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c') {
                j += 1;
            }
            let mut value = String::new();
            if bytes.get(j) == Some(&b'=') {
                j += 1;
                while j < bytes.len() && matches!(bytes[j], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
                {
                    j += 1;
                }
                if let Some(&quote @ (b'"' | b'\'')) = bytes.get(j) {
                    j += 1;
                    let end = html[j..].find(char::from(quote)).map_or(html.len(), |e| j + e);
                    value = decode(&html[j..end]);
                    j = end + 1;
                } else {
                    let end = html[j..]
                        .find(|c: char| c.is_ascii_whitespace() || c == '>')
                        .map_or(html.len(), |e| j + e);
                    value = decode(&html[j..end]);
                    j = end;
                }
            }
            attrs.push((attr, value));
        }
        if name == "script" && !closing {
            // Raw text up to the end tag.
            j += html[j.min(html.len())..].find("</script").unwrap_or(0);
        }
        tags.push(Tag { name, closing, attrs });
        i = j.min(html.len());
        text_from = i;
    }
    raw_text.push_str(&html[text_from.min(html.len())..]);
    Page { tags, text: decode(&raw_text) }
}

/// `text` with its character references decoded in one pass (`&amp;lt;` reads `&lt;`); named
/// references other than the five of XML are kept as they are.
fn decode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';').filter(|&e| e <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let name = &rest[1..end];
        let decoded = match name {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if name.starts_with("#x") || name.starts_with("#X") => {
                u32::from_str_radix(&name[2..], 16).ok().and_then(char::from_u32)
            }
            _ if name.starts_with('#') => name[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        if let Some(c) = decoded {
            out.push(c);
            rest = &rest[end + 1..];
        } else {
            out.push('&');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out
}

/// The elements the templates and the chart code write; anything else was injected.
const ELEMENTS: &[&str] = &[
    "html",
    "head",
    "meta",
    "title",
    "link",
    "body",
    "header",
    "nav",
    "main",
    "footer",
    "h1",
    "h2",
    "h3",
    "p",
    "a",
    "ul",
    "li",
    "dl",
    "dt",
    "dd",
    "table",
    "caption",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "code",
    "span",
    "strong",
    "sup",
    "figure",
    "figcaption",
    "section",
    "form",
    "label",
    "input",
    "button",
    "noscript",
    "script",
    "svg",
    "desc",
    "g",
    "line",
    "polyline",
    "rect",
    "circle",
    "text",
];

/// Elements whose every opening must be closed.
const CLOSED: &[&str] = &["table", "tr", "td", "th", "ul", "li", "svg", "p", "section"];

/// Checks one page against the rules of the module doc; `root` is its way back to the site
/// root (`""` or `"../"`). Returns what it read.
fn check_page(path: &str, html: &str, root: &str, hostile: &[&str]) -> Page {
    let page = read_page(html);
    let include = format!("<script src=\"{root}lookup.js\" defer></script>");
    let scripts = html.to_ascii_lowercase().matches("<script").count();
    assert_eq!(scripts, html.matches(&include).count(), "{path}: a script other than {include}");
    let mut opened: BTreeMap<&str, i64> = BTreeMap::new();
    for tag in &page.tags {
        assert!(ELEMENTS.contains(&tag.name.as_str()), "{path}: an element <{}>", tag.name);
        if let Some(name) = CLOSED.iter().find(|n| **n == tag.name) {
            *opened.entry(name).or_default() += if tag.closing { -1 } else { 1 };
        }
        for (name, value) in &tag.attrs {
            assert!(!name.starts_with("on"), "{path}: <{} {name}={value:?}>", tag.name);
            if matches!(name.as_str(), "href" | "src" | "action" | "formaction" | "xlink:href") {
                // Browsers drop tabs and line breaks from URLs and trim spaces around them.
                let url: String = value
                    .trim_matches(|c: char| c <= ' ')
                    .chars()
                    .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
                    .collect::<String>()
                    .to_ascii_lowercase();
                for scheme in ["javascript:", "data:", "vbscript:"] {
                    assert!(!url.starts_with(scheme), "{path}: <{} {name}={value:?}>", tag.name);
                }
            }
            if tag.name == "script" {
                assert_eq!(
                    tag.attrs,
                    [
                        ("src".to_owned(), format!("{root}lookup.js")),
                        ("defer".to_owned(), String::new())
                    ],
                    "{path}"
                );
            }
        }
    }
    for name in CLOSED {
        assert_eq!(opened.get(name).copied().unwrap_or(0), 0, "{path}: <{name}> not closed");
    }
    check_structure(path, &page.tags);
    for svg in svgs(html) {
        if let Err(e) = roxmltree::Document::parse(svg) {
            panic!("{path}: an SVG is no XML ({e}):\n{svg}");
        }
    }
    assert!(!html.contains(['\u{2028}', '\u{202e}']), "{path}: an invisible character as it is");
    for value in hostile {
        if value.contains(['<', '"']) {
            assert!(!html.contains(value), "{path}: {value:?} unescaped");
        }
    }
    page
}

/// What hostile text must not break for readers of assistive technology: one `<h1>` and no
/// heading level skipped, a caption first in every table and a scope on every header cell,
/// and every chart an image named by its title and description.
fn check_structure(path: &str, tags: &[Tag]) {
    let attr =
        |tag: &Tag, name: &str| tag.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let opened: Vec<&Tag> = tags.iter().filter(|t| !t.closing).collect();
    let levels: Vec<usize> = opened
        .iter()
        .filter_map(|t| t.name.strip_prefix('h').and_then(|n| n.parse().ok()))
        .collect();
    assert_eq!(levels.iter().filter(|l| **l == 1).count(), 1, "{path}: headings {levels:?}");
    assert_eq!(levels.first(), Some(&1), "{path}: headings {levels:?}");
    for pair in levels.windows(2) {
        assert!(pair[1] <= pair[0] + 1, "{path}: a heading level skipped in {levels:?}");
    }
    for (i, tag) in opened.iter().enumerate() {
        match tag.name.as_str() {
            "table" => assert!(
                opened.get(i + 1).is_some_and(|next| next.name == "caption"),
                "{path}: a table without a caption"
            ),
            "th" => assert!(attr(tag, "scope").is_some(), "{path}: a <th> without a scope"),
            "svg" => {
                assert_eq!(attr(tag, "role").as_deref(), Some("img"), "{path}");
                let ids = attr(tag, "aria-labelledby").unwrap_or_default();
                let named = ids
                    .split(' ')
                    .all(|id| opened.iter().any(|t| attr(t, "id").as_deref() == Some(id)));
                assert!(!ids.is_empty() && named, "{path}: a chart named by {ids:?}");
            }
            _ => {}
        }
    }
}

/// The text of the page at `path` shows each of `values` whole.
fn shows(pages: &BTreeMap<String, Page>, path: &str, values: &[&str]) {
    let page = pages.get(path).unwrap_or_else(|| panic!("no page {path}"));
    for value in values {
        assert!(page.text.contains(value), "{path} does not show {value:?}:\n{}", page.text);
    }
}

/// The decoded values of attribute `attr` on the `<a>` tags of the page at `path`.
fn links<'p>(pages: &'p BTreeMap<String, Page>, path: &str) -> Vec<&'p str> {
    pages[path]
        .tags
        .iter()
        .filter(|t| t.name == "a" && !t.closing)
        .flat_map(|t| t.attrs.iter().filter(|(n, _)| n == "href").map(|(_, v)| v.as_str()))
        .collect()
}

#[test]
fn hostile_values_reach_every_page_only_as_text() {
    let root = tempfile::tempdir().unwrap();
    build(root.path(), 1, FIRST);
    build(root.path(), 2, SECOND);
    let (old, new) = (Inputs::of(1), Inputs::of(2));
    let mut hostile = old.all();
    hostile.extend(new.all());
    hostile.extend(SURVIVING);
    hostile.extend([IMG, SCRIPT]);

    let site = root.path().join("site");
    let mut pages = BTreeMap::new();
    for (path, bytes) in tree(&site) {
        if Path::new(&path).extension().is_none_or(|e| e != "html") {
            continue;
        }
        let html = String::from_utf8(bytes).unwrap();
        let root = if path.contains('/') { "../" } else { "" };
        pages.insert(path.clone(), check_page(&path, &html, root, &hostile));
    }
    let expected: BTreeSet<&str> = [
        "index.html",
        "overlap.html",
        "changes.html",
        "lookup.html",
        "feeds/evil.html",
        "feeds/csvfeed.html",
        "tasks/all.html",
        "models/evil.html",
    ]
    .into();
    assert!(
        expected.iter().all(|p| pages.contains_key(*p)),
        "pages: {:?}",
        pages.keys().collect::<Vec<_>>()
    );

    // Every page shows the title of the latest build.
    for path in pages.keys() {
        shows(&pages, path, &[&new.title]);
    }
    shows(&pages, "index.html", &[&new.feed_name, &new.provider, &new.csv_name, &new.task_name]);
    shows(&pages, "index.html", &[&new.model_name]);
    shows(&pages, "overlap.html", &[&new.feed_name, &new.csv_name]);

    // The feed pages: metadata, rejected lines and rows, and what changed.
    let rejected: Vec<&str> = new.rejected_lines.iter().map(String::as_str).collect();
    shows(&pages, "feeds/evil.html", &[&new.feed_name, &new.provider, &new.licence, &new.tag]);
    shows(&pages, "feeds/evil.html", &[&new.homepage, &new.csv_name]);
    shows(&pages, "feeds/evil.html", &rejected);
    assert!(links(&pages, "feeds/evil.html").contains(&new.homepage.as_str()));
    // Invisible characters in a rejected row are shown as escapes, as the CLI shows them, so
    // that they neither reorder nor break the text around them.
    let rows: Vec<String> = new.rejected_rows[..2]
        .iter()
        .map(|(v, _)| v.replace('\u{2028}', "\\u{2028}").replace('\u{202e}', "\\u{202e}"))
        .collect();
    shows(&pages, "feeds/csvfeed.html", &rows.iter().map(String::as_str).collect::<Vec<_>>());
    shows(&pages, "feeds/csvfeed.html", &[&new.rejected_rows[2].1]);
    let added: Vec<&str> = urls(2).iter().filter(|u| !urls(1).contains(u)).copied().collect();
    let removed: Vec<&str> = urls(1).iter().filter(|u| !urls(2).contains(u)).copied().collect();
    assert!(!added.is_empty() && !removed.is_empty());
    shows(&pages, "feeds/csvfeed.html", &added);
    shows(&pages, "feeds/csvfeed.html", &removed);
    shows(&pages, "changes.html", &added);
    shows(&pages, "changes.html", &removed);

    // The task page: its text, its model, its warning list and what the list removed.
    shows(&pages, "tasks/all.html", &[&new.task_name, &new.task_description, &new.model_name]);
    shows(&pages, "tasks/all.html", &[&new.list_name, LISTED]);
    // The model page, its charts' names included.
    shows(&pages, "models/evil.html", &[&new.model_name, &new.model_description, &new.tag_key]);
    let model = std::fs::read_to_string(site.join("models/evil.html")).unwrap();
    for svg in svgs(&model) {
        let doc = roxmltree::Document::parse(svg).unwrap();
        let title = doc.descendants().find(|n| n.has_tag_name("title")).unwrap();
        assert!(title.text().unwrap().contains(&new.model_name), "{svg}");
    }
    // The history charts are drawn from the second build on.
    for path in ["feeds/evil.html", "feeds/csvfeed.html", "tasks/all.html"] {
        let html = std::fs::read_to_string(site.join(path)).unwrap();
        assert_eq!(svgs(&html).len(), 1, "{path}: a history chart");
    }

    // The look-up index holds the values byte for byte.
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(site.join("lookup/meta.json")).unwrap()).unwrap();
    let names = |key: &str| -> Vec<String> {
        meta[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(names("feeds").contains(&new.feed_name));
    assert!(names("feeds").contains(&new.csv_name));
    assert_eq!(names("tasks"), std::slice::from_ref(&new.task_name));
    assert_eq!(names("models"), std::slice::from_ref(&new.model_name));
    assert_eq!(names("warninglists"), std::slice::from_ref(&new.list_name));
    let mut values = BTreeSet::new();
    for (path, bytes) in tree(&site.join("lookup")) {
        let shard: serde_json::Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("lookup/{path} is no JSON: {e}"));
        if path != "meta.json" {
            values.extend(shard.as_object().unwrap().keys().cloned());
        }
    }
    for url in urls(2) {
        assert!(values.contains(*url), "{url} not in the look-up index: {values:?}");
    }
}

/// The look-up script puts text from the index into the page as text only: it has no
/// sink that parses markup or runs code.
#[test]
fn the_lookup_script_never_turns_index_text_into_markup() {
    let script = std::fs::read_to_string(crate::util::repo().join("templates/lookup.js")).unwrap();
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "Function(",
        "createContextualFragment",
        "DOMParser",
        "srcdoc",
        "javascript:",
    ] {
        assert!(!script.contains(sink), "lookup.js uses {sink}");
    }
    // Text reaches the page through text nodes, attributes through `setAttribute` in one
    // helper.
    assert!(script.contains("document.createTextNode(child)"));
}

/// A home page is linked only as http or https: `feedsmith check` refuses any other scheme.
#[test]
fn a_home_page_that_is_not_http_is_refused() {
    for homepage in ["javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,<b>x</b>"] {
        let root = tempfile::tempdir().unwrap();
        write_file(root.path(), "list.txt", "198.51.100.7\n");
        write_file(
            root.path(),
            "feeds.d/list.toml",
            &format!(
                "name = \"list\"\nprovider = \"p\"\npath = \"list.txt\"\nformat = \"freetext\"\n\
                 homepage = {}\n",
                toml_str(homepage)
            ),
        );
        let output = feedsmith(root.path(), &["check"]);
        assert_eq!(output.status.code(), Some(2), "{homepage}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("homepage"), "{homepage}: {stderr}");
    }
}

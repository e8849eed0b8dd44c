//! The static site: an index with feed health and downloads, one page per feed and per task.
//!
//! Pages are rendered with minijinja from the templates built into the binary
//! (`templates/` in the source tree). A file of the same name in the repository's own
//! `templates/` folder replaces the built-in one, so a team can restyle its site without a
//! fork. Autoescaping is on for `.html` and undefined variables are errors, so a typo in a
//! template fails the build instead of printing nothing, and no feed-derived text reaches a
//! page unescaped. Links are relative, so the site works under any sub-path and from
//! `file://`.

use std::fmt::Write as _;
use std::path::Path;

use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior, context};

use super::{ExportError, rfc3339, write_file};
use crate::report::BuildReport;

/// The built-in templates and assets, by name.
const BUILTIN: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("index.html", include_str!("../../templates/index.html")),
    ("feed.html", include_str!("../../templates/feed.html")),
    ("task.html", include_str!("../../templates/task.html")),
    ("style.css", include_str!("../../templates/style.css")),
];

/// Renders the site for `report` into `dir`, using overrides from `user_templates`.
pub fn write(dir: &Path, report: &BuildReport, user_templates: &Path) -> Result<u64, ExportError> {
    let env = environment(user_templates)?;
    let mut pages = 0;
    let render = |name: &str, ctx: minijinja::Value| -> Result<String, ExportError> {
        env.get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| ExportError::Template { name: name.to_owned(), message: describe(&e) })
    };

    let built = rfc3339(report.now_unix);
    let report_value = Value::from(Serde(report));
    let index = render(
        "index.html",
        context! { report => report_value.clone(), root => "", built => built.clone() },
    )?;
    write_file(&dir.join("index.html"), index.as_bytes())?;
    pages += 1;
    for feed in &report.feeds {
        let page = render(
            "feed.html",
            context! {
                report => report_value.clone(),
                feed => Value::from(Serde(feed)),
                root => "../",
                built => built.clone(),
            },
        )?;
        write_file(&dir.join("feeds").join(format!("{}.html", feed.id)), page.as_bytes())?;
        pages += 1;
    }
    for task in &report.tasks {
        let page = render(
            "task.html",
            context! {
                report => report_value.clone(),
                task => Value::from(Serde(task)),
                root => "../",
                built => built.clone(),
            },
        )?;
        write_file(&dir.join("tasks").join(format!("{}.html", task.id)), page.as_bytes())?;
        pages += 1;
    }
    let css = template_source("style.css", user_templates).unwrap_or_default();
    write_file(&dir.join("style.css"), css.as_bytes())?;
    Ok(pages)
}

/// The source of a template: the user's file if present, else the built-in one.
fn template_source(name: &str, user_templates: &Path) -> Option<String> {
    let user = user_templates.join(name);
    if let Ok(text) = std::fs::read_to_string(&user) {
        return Some(text);
    }
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, s)| (*s).to_owned())
}

fn environment(user_templates: &Path) -> Result<Environment<'static>, ExportError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        let is_html = Path::new(name).extension().is_some_and(|e| e.eq_ignore_ascii_case("html"));
        if is_html { AutoEscape::Html } else { AutoEscape::None }
    });
    env.add_filter("bytes", human_bytes);
    for (name, _) in BUILTIN {
        if let Some(source) = template_source(name, user_templates) {
            env.add_template_owned((*name).to_owned(), source).map_err(|e| {
                ExportError::Template { name: (*name).to_owned(), message: describe(&e) }
            })?;
        }
    }
    Ok(env)
}

/// Formats a byte count for people (`1.5 MB`).
fn human_bytes(value: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut size = value as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{value} B") } else { format!("{size:.1} {}", UNITS[unit]) }
}

fn describe(error: &minijinja::Error) -> String {
    let mut message = error.to_string();
    if let Some(line) = error.line() {
        let _ = write!(message, " (line {line})");
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_read_as_people_write_them() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1500), "1.5 KB");
        assert_eq!(human_bytes(2_500_000), "2.5 MB");
    }
}

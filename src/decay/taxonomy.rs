//! Numerical values of MISP taxonomy tags, the raw material of tag-based base scores.
//!
//! MISP gives some taxonomy entries a `numerical_value` (for example `false-positive:risk="low"`
//! is 75). A decay model weights these values to make an indicator's base score. feedsmith
//! ships the values of the taxonomies its default models use, reduced from MISP's
//! `machinetag.json` files into `data/taxonomies/` (see the README there for versions,
//! commits and licence), and compiles them in.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

/// The reduced taxonomy files compiled into the binary, by file name.
const BUILTIN: &[(&str, &str)] = &[
    ("estimative-language.json", include_str!("../../data/taxonomies/estimative-language.json")),
    ("false-positive.json", include_str!("../../data/taxonomies/false-positive.json")),
    ("phishing.json", include_str!("../../data/taxonomies/phishing.json")),
    ("priority-level.json", include_str!("../../data/taxonomies/priority-level.json")),
    ("retention.json", include_str!("../../data/taxonomies/retention.json")),
    (
        "targeted-threat-index.json",
        include_str!("../../data/taxonomies/targeted-threat-index.json"),
    ),
];

static BUILTIN_TAXONOMIES: LazyLock<Taxonomies> = LazyLock::new(|| {
    let mut taxonomies = Taxonomies::new();
    for (name, text) in BUILTIN {
        // The files are part of the source tree and a unit test parses every one of them, so
        // a failure here is a packaging bug, not bad input.
        if let Err(error) = taxonomies.add_machinetag_json(text) {
            panic!("built-in taxonomy `{name}` does not parse: {error}");
        }
    }
    taxonomies
});

/// The part of a MISP `machinetag.json` that carries numerical values.
#[derive(Deserialize)]
struct MachineTag {
    namespace: String,
    #[serde(default)]
    predicates: Vec<Predicate>,
    #[serde(default)]
    values: Vec<PredicateValues>,
}

#[derive(Deserialize)]
struct Predicate {
    value: String,
    numerical_value: Option<f64>,
}

#[derive(Deserialize)]
struct PredicateValues {
    predicate: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    value: String,
    numerical_value: Option<f64>,
}

/// A table from full tag name to the tag's numerical value.
///
/// Tag names are matched exactly: `false-positive:risk="low"` has a value,
/// `False-Positive:risk="low"` does not.
#[derive(Clone, Debug, Default)]
pub struct Taxonomies {
    values: HashMap<String, f64>,
}

impl Taxonomies {
    /// An empty table: no tag has a numerical value.
    #[must_use]
    pub fn new() -> Taxonomies {
        Taxonomies::default()
    }

    /// The values shipped with feedsmith: `estimative-language`, `false-positive`, `phishing`,
    /// `priority-level`, `retention` and `targeted-threat-index`.
    ///
    /// ```
    /// use feedsmith::decay::Taxonomies;
    /// let values = Taxonomies::builtin();
    /// assert_eq!(values.numerical_value("false-positive:risk=\"low\""), Some(75.0));
    /// assert_eq!(values.numerical_value("retention:2w"), Some(14.0));
    /// assert_eq!(values.numerical_value("tlp:white"), None);
    /// ```
    #[must_use]
    pub fn builtin() -> &'static Taxonomies {
        &BUILTIN_TAXONOMIES
    }

    /// The numerical value of a tag, if its taxonomy gives it one.
    #[must_use]
    pub fn numerical_value(&self, tag: &str) -> Option<f64> {
        self.values.get(tag).copied()
    }

    /// Sets (or overrides) the numerical value of one tag, as MISP allows per tag.
    pub fn insert(&mut self, tag: impl Into<String>, value: f64) {
        self.values.insert(tag.into(), value);
    }

    /// Every tag with its value, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.values.iter().map(|(tag, value)| (tag.as_str(), *value))
    }

    /// How many tags have a value.
    #[must_use]
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no tag has a value.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Adds the numerical values of one MISP `machinetag.json` document (full or reduced).
    ///
    /// A predicate's value is stored under `namespace:predicate`, an entry's under
    /// `namespace:predicate="entry"`. Predicates and entries without a `numerical_value` are
    /// skipped: such tags never count toward a base score.
    pub fn add_machinetag_json(&mut self, json: &str) -> Result<(), serde_json::Error> {
        let taxonomy: MachineTag = serde_json::from_str(json)?;
        let namespace = &taxonomy.namespace;
        for predicate in &taxonomy.predicates {
            if let Some(value) = predicate.numerical_value {
                self.insert(format!("{namespace}:{}", predicate.value), value);
            }
        }
        for group in &taxonomy.values {
            for entry in &group.entry {
                if let Some(value) = entry.numerical_value {
                    self.insert(
                        format!("{namespace}:{}=\"{}\"", group.predicate, entry.value),
                        value,
                    );
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_file_parses() {
        for (name, text) in BUILTIN {
            let mut table = Taxonomies::new();
            assert!(table.add_machinetag_json(text).is_ok(), "{name}");
            assert!(!table.is_empty(), "{name} has no numerical value");
        }
    }

    #[test]
    fn false_positive_risk_values_match_the_spec() {
        // decay.md §4.3
        let values = Taxonomies::builtin();
        assert_eq!(values.numerical_value("false-positive:risk=\"low\""), Some(75.0));
        assert_eq!(values.numerical_value("false-positive:risk=\"medium\""), Some(50.0));
        assert_eq!(values.numerical_value("false-positive:risk=\"high\""), Some(25.0));
    }

    #[test]
    fn retention_values_are_days_as_in_the_spec() {
        // decay.md §4.3
        let expected = [
            ("expired", 0.0),
            ("1d", 1.0),
            ("2d", 2.0),
            ("7d", 7.0),
            ("2w", 14.0),
            ("1m", 30.0),
            ("2m", 60.0),
            ("3m", 90.0),
            ("6m", 180.0),
            ("1y", 365.0),
            ("10y", 3650.0),
        ];
        let values = Taxonomies::builtin();
        for (predicate, value) in expected {
            assert_eq!(values.numerical_value(&format!("retention:{predicate}")), Some(value));
        }
    }

    #[test]
    fn keys_of_the_default_models_have_values() {
        let values = Taxonomies::builtin();
        for tag in [
            "estimative-language:confidence-in-analytic-judgment=\"high\"",
            "estimative-language:likelihood-probability=\"likely\"",
            "priority-level:high",
            "targeted-threat-index:targeting-sophistication-base-value=\"not-targeted\"",
            "targeted-threat-index:technical-sophistication-multiplier=\"the-sample-contains-multiple-advanced-protection-techniques\"",
            "phishing:state=\"active\"",
            "phishing:psychological-acceptability=\"high\"",
        ] {
            assert!(values.numerical_value(tag).is_some(), "{tag}");
        }
    }

    #[test]
    fn entries_without_numerical_value_have_none() {
        let values = Taxonomies::builtin();
        assert_eq!(
            values.numerical_value("phishing:psychological-acceptability=\"unknown\""),
            None
        );
        assert_eq!(values.numerical_value("phishing:techniques=\"fake-website\""), None);
        assert_eq!(values.numerical_value("false-positive:risk"), None);
    }

    #[test]
    fn names_are_matched_exactly() {
        let values = Taxonomies::builtin();
        assert_eq!(values.numerical_value("False-Positive:risk=\"low\""), None);
        assert_eq!(values.numerical_value("false-positive:risk=low"), None);
    }

    #[test]
    fn insert_overrides_a_value() {
        let mut values = Taxonomies::builtin().clone();
        values.insert("retention:2w", 40.0);
        assert_eq!(values.numerical_value("retention:2w"), Some(40.0));
    }
}

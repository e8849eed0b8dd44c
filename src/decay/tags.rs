//! Base scores from tags, following MISP's `DecayingModelBase` (decay.md §4).
//!
//! A model's `base_score_config` maps tag *keys* to weights. Each tag of an indicator whose key
//! is configured and that has a numerical value counts; the base score is the mean of those
//! values weighted by the configured weights, renormalised over the tags present.

use std::collections::BTreeMap;

use super::Taxonomies;

/// Bytes that no part of a structured tag name may contain.
const fn is_separator(byte: u8) -> bool {
    matches!(byte, b':' | b'=' | b'"')
}

/// Whether `part` is a non-empty run of bytes none of which is `:`, `=` or `"`.
fn is_plain(part: &str) -> bool {
    !part.is_empty() && !part.bytes().any(is_separator)
}

/// The key under which a tag is looked up in a model's `base_score_config` (decay.md §4.2).
///
/// | tag | key |
/// |---|---|
/// | `namespace:predicate="value"` (no part holds `:`, `=` or `"`) | `namespace:predicate` |
/// | `namespace:predicate` (no part holds `:`, `=` or `"`) | `namespace` |
/// | anything else | the whole tag |
///
/// The key is always a prefix of the tag, so no allocation is needed.
///
/// ```
/// use feedsmith::decay::tag_key;
/// assert_eq!(tag_key("false-positive:risk=\"low\""), "false-positive:risk");
/// assert_eq!(tag_key("retention:2w"), "retention");
/// assert_eq!(tag_key("tlp:amber+strict:x"), "tlp:amber+strict:x");
/// ```
#[must_use]
pub fn tag_key(tag: &str) -> &str {
    // MISP matches the first shape with a PCRE pattern ending in `$`, which also matches
    // before one final newline; mirror that so the same tags count.
    let body = tag.strip_suffix('\n').unwrap_or(tag);
    if let Some((namespace, rest)) = body.split_once(':')
        && let Some((predicate, quoted)) = rest.split_once('=')
        && let Some(value) = quoted.strip_prefix('"').and_then(|v| v.strip_suffix('"'))
        && is_plain(namespace)
        && is_plain(predicate)
        && is_plain(value)
    {
        return &tag[..namespace.len() + 1 + predicate.len()];
    }
    if let Some((namespace, predicate)) = tag.split_once(':')
        && is_plain(namespace)
        && is_plain(predicate)
    {
        return namespace;
    }
    tag
}

/// A base score and how it was made.
#[derive(Clone, Debug, PartialEq)]
pub struct BaseScore {
    /// The base score B. Not clamped: tag values above 100 (such as `retention:1y`, 365) can
    /// push it above 100, as in MISP.
    pub value: f64,
    /// Whether at least one tag counted; `false` means `value` is the model's
    /// `default_base_score`.
    pub from_tags: bool,
    /// The counting tags, in the order MISP sums them: `(tag, numerical value, ratio)`, where
    /// `ratio` is the tag key's weight divided by the total weight of the counting tags.
    pub contributions: Vec<(String, f64, f64)>,
}

/// Computes an indicator's base score from its own tags and its event's (or feed's) tags.
///
/// Steps, as MISP does them (decay.md §4):
/// 1. Attribute tags override event tags with the same [`tag_key`]: the first such event tag
///    is replaced by the attribute tag, the others with that key are removed. An attribute
///    tag whose key no event tag has is appended. (MISP's quirk is kept: when two attribute
///    tags share a key that event tags also have, the later one wins the replaced slot.)
/// 2. A tag counts when its key is in `config` and `values` gives it a numerical value.
///    Every occurrence counts, duplicates too.
/// 3. `W` = sum of the weights of the counting tags; each counting tag adds
///    `weight(key) / W × numerical_value`.
/// 4. When no tag counts, or the weights of the counting tags do not add up to a positive
///    number (MISP would divide by zero), the result is `default_base_score`.
///
/// The result depends only on the tag lists, so callers scoring many indicators with the
/// same tags should compute it once.
#[must_use]
pub fn base_score(
    attribute_tags: &[impl AsRef<str>],
    event_tags: &[impl AsRef<str>],
    config: &BTreeMap<String, f64>,
    default_base_score: f64,
    values: &Taxonomies,
) -> BaseScore {
    let fallback =
        BaseScore { value: default_base_score, from_tags: false, contributions: Vec::new() };
    if config.is_empty() {
        return fallback;
    }
    let tags = prioritised_tags(attribute_tags, event_tags);

    // Counting tags with their weight and value.
    let mut counting: Vec<(&str, f64, f64)> = Vec::new();
    let mut total_weight = 0.0;
    for tag in tags {
        if let Some(&weight) = config.get(tag_key(tag))
            && let Some(value) = values.numerical_value(tag)
        {
            total_weight += weight;
            counting.push((tag, weight, value));
        }
    }
    if counting.is_empty() || !(total_weight > 0.0 && total_weight.is_finite()) {
        return fallback;
    }
    let mut value = 0.0;
    let contributions = counting
        .into_iter()
        .map(|(tag, weight, numerical)| {
            let ratio = weight / total_weight;
            value += ratio * numerical;
            (tag.to_owned(), numerical, ratio)
        })
        .collect();
    BaseScore { value, from_tags: true, contributions }
}

/// The shortest retention, in days, among an indicator's `retention:*` tags after MISP's
/// override rule (an attribute tag replaces the event tags of its key), or `None` when no
/// such tag has a numerical value. `PolynomialExtended` forces the score to 0 once the
/// indicator's last change is older than this (decay.md §6.1).
#[must_use]
pub fn retention_days(
    attribute_tags: &[impl AsRef<str>],
    event_tags: &[impl AsRef<str>],
    values: &Taxonomies,
) -> Option<f64> {
    prioritised_tags(attribute_tags, event_tags)
        .filter(|tag| tag.starts_with("retention:"))
        .filter_map(|tag| values.numerical_value(tag))
        .reduce(f64::min)
}

/// Merges attribute and event tags with MISP's override rule (step 1 of [`base_score`]).
fn prioritised_tags<'a>(
    attribute_tags: &'a [impl AsRef<str>],
    event_tags: &'a [impl AsRef<str>],
) -> impl Iterator<Item = &'a str> {
    let mut tags: Vec<Option<&str>> = event_tags.iter().map(|t| Some(t.as_ref())).collect();
    for attribute_tag in attribute_tags {
        let attribute_tag = attribute_tag.as_ref();
        let key = tag_key(attribute_tag);
        // The event tags are few (a feed's or an event's tags); a linear scan keeps this
        // allocation-free and is faster than a map at that size.
        let mut same_key = event_tags
            .iter()
            .enumerate()
            .filter(|(_, t)| tag_key(t.as_ref()) == key)
            .map(|(i, _)| i);
        match same_key.next() {
            Some(first) => {
                tags[first] = Some(attribute_tag);
                for other in same_key {
                    tags[other] = None;
                }
            }
            None => tags.push(Some(attribute_tag)),
        }
    }
    tags.into_iter().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: [&str; 0] = [];

    fn nids_config() -> BTreeMap<String, f64> {
        [
            ("estimative-language:confidence-in-analytic-judgment", 0.1667),
            ("estimative-language:likelihood-probability", 0.1667),
            ("false-positive:risk", 0.1667),
            ("priority-level", 0.1667),
            ("retention", 0.1667),
            ("targeted-threat-index:targeting-sophistication-base-value", 0.0833),
            ("targeted-threat-index:technical-sophistication-multiplier", 0.0833),
        ]
        .into_iter()
        .map(|(k, w)| (k.to_owned(), w))
        .collect()
    }

    fn close(actual: f64, expected: f64) {
        assert!((actual - expected).abs() < 1e-9, "{actual} is not {expected}");
    }

    #[test]
    fn tag_key_follows_the_rule_table() {
        // decay.md §4.2
        let cases = [
            ("false-positive:risk=\"low\"", "false-positive:risk"),
            ("retention:2w", "retention"),
            ("priority-level:high", "priority-level"),
            ("tlp:white", "tlp"),
            ("plain-tag", "plain-tag"),
            ("a:b:c", "a:b:c"),
            ("a:b=c", "a:b=c"),
            ("a:b=\"c", "a:b=\"c"),
            ("a:b=\"c:d\"", "a:b=\"c:d\""),
            ("a:b=\"c=d\"", "a:b=\"c=d\""),
            ("a:b=\"\"", "a:b=\"\""),
            (":b", ":b"),
            ("a:", "a:"),
            ("a=\"b\"", "a=\"b\""),
            ("misp-galaxy:threat-actor=\"APT 28\"", "misp-galaxy:threat-actor"),
            ("", ""),
        ];
        for (tag, key) in cases {
            assert_eq!(tag_key(tag), key, "tag {tag:?}");
        }
    }

    #[test]
    fn tag_key_accepts_one_final_newline_like_pcre_dollar() {
        assert_eq!(tag_key("a:b=\"c\"\n"), "a:b");
    }

    #[test]
    fn config_key_of_a_namespace_does_not_match_triple_tags() {
        let config: BTreeMap<String, f64> = [("false-positive".to_owned(), 1.0)].into();
        let score = base_score(
            &["false-positive:risk=\"low\""],
            &NONE,
            &config,
            80.0,
            Taxonomies::builtin(),
        );
        assert!(!score.from_tags);
        close(score.value, 80.0);
    }

    #[test]
    fn untagged_indicator_gets_the_default_base_score() {
        // decay.md §8 example 1: B = 80 for NIDS without tags.
        let score = base_score(&NONE, &NONE, &nids_config(), 80.0, Taxonomies::builtin());
        assert_eq!(score, BaseScore { value: 80.0, from_tags: false, contributions: vec![] });
    }

    #[test]
    fn attribute_tag_overrides_event_tag_with_the_same_key() {
        // decay.md §8 example 4: event low (75), attribute medium (50) → B = 50.
        let score = base_score(
            &["false-positive:risk=\"medium\""],
            &["false-positive:risk=\"low\""],
            &nids_config(),
            80.0,
            Taxonomies::builtin(),
        );
        assert!(score.from_tags);
        close(score.value, 50.0);
        assert_eq!(
            score.contributions,
            vec![("false-positive:risk=\"medium\"".to_owned(), 50.0, 1.0)]
        );
    }

    #[test]
    fn override_removes_every_event_tag_with_that_key() {
        let score = base_score(
            &["false-positive:risk=\"medium\""],
            &["false-positive:risk=\"low\"", "retention:2w", "false-positive:risk=\"high\""],
            &nids_config(),
            80.0,
            Taxonomies::builtin(),
        );
        // medium (50) and 2w (14), equal weights.
        close(score.value, 32.0);
        assert_eq!(score.contributions.len(), 2);
        assert_eq!(score.contributions[0].0, "false-positive:risk=\"medium\"");
        assert_eq!(score.contributions[1].0, "retention:2w");
    }

    #[test]
    fn later_attribute_tag_wins_when_two_override_the_same_event_key() {
        // MISP's __getPrioritisedTag writes both into the slot of the first event tag.
        let score = base_score(
            &["false-positive:risk=\"medium\"", "false-positive:risk=\"high\""],
            &["false-positive:risk=\"low\""],
            &nids_config(),
            80.0,
            Taxonomies::builtin(),
        );
        close(score.value, 25.0);
    }

    #[test]
    fn two_keys_are_weighted_equally() {
        // decay.md §8 example 5: low (75) and 2w (14) → B = 44.5.
        let score = base_score(
            &["false-positive:risk=\"low\"", "retention:2w"],
            &NONE,
            &nids_config(),
            80.0,
            Taxonomies::builtin(),
        );
        close(score.value, 44.5);
        close(score.contributions[0].2, 0.5);
        close(score.contributions[1].2, 0.5);
    }

    #[test]
    fn unequal_weights_are_renormalised() {
        // decay.md §8 example 6.
        let config: BTreeMap<String, f64> =
            [("alpha:beta".to_owned(), 0.1667), ("gamma".to_owned(), 0.0833)].into();
        let mut values = Taxonomies::new();
        values.insert("alpha:beta=\"x\"", 75.0);
        values.insert("gamma:y", 20.0);
        let score = base_score(&["alpha:beta=\"x\"", "gamma:y"], &NONE, &config, 0.0, &values);
        close(score.value, 56.674);
        close(score.contributions[0].2, 0.6668);
        close(score.contributions[1].2, 0.3332);
    }

    #[test]
    fn same_key_twice_is_averaged() {
        // decay.md §8 example 7: event tags low (75) and high (25) → B = 50.
        let score = base_score(
            &NONE,
            &["false-positive:risk=\"low\"", "false-positive:risk=\"high\""],
            &nids_config(),
            80.0,
            Taxonomies::builtin(),
        );
        close(score.value, 50.0);
        close(score.contributions[0].2, 0.5);
        close(score.contributions[1].2, 0.5);
    }

    #[test]
    fn tags_without_numerical_value_do_not_count() {
        let config: BTreeMap<String, f64> =
            [("phishing:psychological-acceptability".to_owned(), 0.25)].into();
        let score = base_score(
            &["phishing:psychological-acceptability=\"unknown\""],
            &NONE,
            &config,
            80.0,
            Taxonomies::builtin(),
        );
        assert!(!score.from_tags);
        close(score.value, 80.0);
    }

    #[test]
    fn retention_can_push_the_base_score_above_100() {
        let score =
            base_score(&["retention:1y"], &NONE, &nids_config(), 80.0, Taxonomies::builtin());
        close(score.value, 365.0);
    }

    #[test]
    fn zero_total_weight_falls_back_to_the_default() {
        let config: BTreeMap<String, f64> = [("retention".to_owned(), 0.0)].into();
        let score = base_score(&["retention:2w"], &NONE, &config, 80.0, Taxonomies::builtin());
        assert!(!score.from_tags);
        close(score.value, 80.0);
    }

    #[test]
    fn empty_config_uses_the_default() {
        let score =
            base_score(&["retention:2w"], &NONE, &BTreeMap::new(), 12.5, Taxonomies::builtin());
        close(score.value, 12.5);
    }
}

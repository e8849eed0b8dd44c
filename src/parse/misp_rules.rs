//! A MISP feed's tag and organisation rules ([`MispRules`]), applied as MISP applies them.
//!
//! MISP checks a feed's `rules` twice while pulling (feed-format.md §5.2 and §5.3, MISP 2.5
//! `Feed::checkEventAgainstRules` and `Feed::__checkIfEventBlockedByFilter`), and the two
//! checks do not match text the same way:
//!
//! - [`Pass::Manifest`], on a `manifest.json` entry: a rule entry matches a tag name when it is
//!   equal to it (PHP `array_intersect`, case-sensitive), and an organisation when it is equal
//!   to the entry's `Orgc` name or `Orgc` UUID (`in_array`).
//! - [`Pass::Event`], on the event file: a rule entry matches when it occurs inside a tag name
//!   of `Event.Tag`, or inside `Event.Orgc.name`, ignoring ASCII case (PHP 8.2's `stripos`).
//!   MISP never looks at the UUID here, so an `orgs_or` rule written as a UUID passes the
//!   manifest and then blocks every event; feedsmith accepts an exactly equal UUID in this
//!   pass too (`docs/misp-differences.md`).
//!
//! In both passes a non-empty `_or` list needs one match and a non-empty `_not` list needs
//! none; tags are checked before organisations, `_or` before `_not`, and the first failing
//! list is the one reported.

use crate::config::MispRules;

/// Which of MISP's two checks applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Pass {
    /// The manifest entry: exact, case-sensitive equality.
    Manifest,
    /// The event file: case-insensitive substring.
    Event,
}

/// What the rules look at in one event.
pub(super) struct Subject<'s, T: AsRef<str>> {
    /// The event's tag names.
    pub(super) tags: &'s [T],
    /// `Orgc.name`, if given.
    pub(super) org_name: Option<&'s str>,
    /// `Orgc.uuid`, if given.
    pub(super) org_uuid: Option<&'s str>,
}

/// Why an event was left out: the rule list that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Blocked {
    /// `tags_or` is set and no tag matched.
    TagsOr,
    /// A tag matched `tags_not`.
    TagsNot,
    /// `orgs_or` is set and the organisation did not match.
    OrgsOr,
    /// The organisation matched `orgs_not`.
    OrgsNot,
}

impl Blocked {
    /// The rule's key in the definitions.
    pub(super) const fn key(self) -> &'static str {
        match self {
            Blocked::TagsOr => "tags_or",
            Blocked::TagsNot => "tags_not",
            Blocked::OrgsOr => "orgs_or",
            Blocked::OrgsNot => "orgs_not",
        }
    }
}

/// Checks one event against the rules in one pass.
pub(super) fn check<T: AsRef<str>>(
    rules: &MispRules,
    pass: Pass,
    subject: &Subject<'_, T>,
) -> Result<(), Blocked> {
    let tag_matches = |wanted: &str| {
        subject.tags.iter().any(|tag| match pass {
            Pass::Manifest => tag.as_ref() == wanted,
            Pass::Event => contains_ignoring_ascii_case(tag.as_ref(), wanted),
        })
    };
    let org_matches = |wanted: &str| {
        let by_name = subject.org_name.is_some_and(|name| match pass {
            Pass::Manifest => name == wanted,
            Pass::Event => contains_ignoring_ascii_case(name, wanted),
        });
        by_name || subject.org_uuid.is_some_and(|uuid| uuid == wanted)
    };
    if !rules.tags_or.is_empty() && !rules.tags_or.iter().any(|t| tag_matches(t)) {
        return Err(Blocked::TagsOr);
    }
    if rules.tags_not.iter().any(|t| tag_matches(t)) {
        return Err(Blocked::TagsNot);
    }
    if !rules.orgs_or.is_empty() && !rules.orgs_or.iter().any(|o| org_matches(o)) {
        return Err(Blocked::OrgsOr);
    }
    if rules.orgs_not.iter().any(|o| org_matches(o)) {
        return Err(Blocked::OrgsNot);
    }
    Ok(())
}

/// Whether `needle` occurs in `haystack`, ASCII letters compared without case, as PHP 8.2's
/// `stripos` compares them (other characters byte for byte).
fn contains_ignoring_ascii_case(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    if n.is_empty() {
        return true;
    }
    h.len() >= n.len() && h.windows(n.len()).any(|window| window.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(
        tags_or: &[&str],
        tags_not: &[&str],
        orgs_or: &[&str],
        orgs_not: &[&str],
    ) -> MispRules {
        let own = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        MispRules {
            tags_or: own(tags_or),
            tags_not: own(tags_not),
            orgs_or: own(orgs_or),
            orgs_not: own(orgs_not),
        }
    }

    const ORG_UUID: &str = "0b4e6f2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b";

    fn subject<'s>(tags: &'s [&'s str], org: Option<&'s str>) -> Subject<'s, &'s str> {
        Subject { tags, org_name: org, org_uuid: Some(ORG_UUID) }
    }

    #[test]
    fn no_rules_pass_every_event() {
        let none = MispRules::default();
        assert!(none.is_empty());
        for pass in [Pass::Manifest, Pass::Event] {
            assert_eq!(check(&none, pass, &subject(&[], None)), Ok(()));
        }
    }

    // feed-format.md §5.2: `tags.OR` needs a tag equal to a listed name, `tags.NOT` none.
    #[test]
    fn the_manifest_pass_matches_whole_tag_names_with_their_case() {
        let r = rules(&["tlp:clear"], &[], &[], &[]);
        let m = |tags: &[&str]| check(&r, Pass::Manifest, &subject(tags, None));
        assert_eq!(m(&["osint", "tlp:clear"]), Ok(()));
        assert_eq!(m(&["TLP:CLEAR"]), Err(Blocked::TagsOr));
        assert_eq!(m(&["tlp:clear-ish"]), Err(Blocked::TagsOr));
        assert_eq!(m(&[]), Err(Blocked::TagsOr));
        let r = rules(&[], &["tlp:red"], &[], &[]);
        assert_eq!(check(&r, Pass::Manifest, &subject(&["tlp:red"], None)), Err(Blocked::TagsNot));
        assert_eq!(check(&r, Pass::Manifest, &subject(&["TLP:RED"], None)), Ok(()));
        assert_eq!(check(&r, Pass::Manifest, &subject(&[], None)), Ok(()));
    }

    // feed-format.md §5.3: the event pass matches case-insensitive substrings.
    #[test]
    fn the_event_pass_matches_substrings_of_tag_names_without_case() {
        let r = rules(&["tlp:clear"], &["False-Positive"], &[], &[]);
        let e = |tags: &[&str]| check(&r, Pass::Event, &subject(tags, None));
        assert_eq!(e(&["TLP:CLEAR"]), Ok(()));
        assert_eq!(e(&["x-tlp:clear-ish"]), Ok(()));
        assert_eq!(e(&["tlp:green"]), Err(Blocked::TagsOr));
        assert_eq!(e(&[]), Err(Blocked::TagsOr));
        assert_eq!(e(&["tlp:clear", "misp:false-positive=\"yes\""]), Err(Blocked::TagsNot));
    }

    // feed-format.md §2: `orgs.OR` / `orgs.NOT` match the Orgc uuid or name, exactly.
    #[test]
    fn the_manifest_pass_matches_the_organisation_by_name_or_uuid() {
        let by_name = rules(&[], &[], &["CIRCL"], &[]);
        let by_uuid = rules(&[], &[], &[ORG_UUID], &[]);
        let m = |r: &MispRules, org| check(r, Pass::Manifest, &subject(&[], org));
        assert_eq!(m(&by_name, Some("CIRCL")), Ok(()));
        assert_eq!(m(&by_name, Some("circl")), Err(Blocked::OrgsOr));
        assert_eq!(m(&by_name, Some("CIRCL Luxembourg")), Err(Blocked::OrgsOr));
        assert_eq!(m(&by_name, None), Err(Blocked::OrgsOr));
        assert_eq!(m(&by_uuid, Some("anything")), Ok(()));
        let not = rules(&[], &[], &[], &["CIRCL", "Other"]);
        assert_eq!(m(&not, Some("CIRCL")), Err(Blocked::OrgsNot));
        assert_eq!(m(&not, Some("circl")), Ok(()));
        assert_eq!(m(&not, None), Ok(()));
    }

    #[test]
    fn the_event_pass_matches_the_organisation_name_without_case_and_the_exact_uuid() {
        let r = rules(&[], &[], &["circl"], &["test"]);
        let e = |org| check(&r, Pass::Event, &subject(&[], org));
        assert_eq!(e(Some("CIRCL Luxembourg")), Ok(()));
        assert_eq!(e(Some("Other")), Err(Blocked::OrgsOr));
        assert_eq!(e(Some("CIRCL test feed")), Err(Blocked::OrgsNot));
        assert_eq!(e(None), Err(Blocked::OrgsOr));
        // MISP would block this event (it never compares the UUID here); feedsmith does not.
        let by_uuid = rules(&[], &[], &[ORG_UUID], &[]);
        assert_eq!(check(&by_uuid, Pass::Event, &subject(&[], Some("Other"))), Ok(()));
    }

    #[test]
    fn tags_are_checked_before_organisations() {
        let r = rules(&["a"], &[], &["b"], &[]);
        assert_eq!(check(&r, Pass::Manifest, &subject(&[], None)), Err(Blocked::TagsOr));
        assert_eq!(Blocked::TagsOr.key(), "tags_or");
        assert_eq!(Blocked::OrgsNot.key(), "orgs_not");
    }

    #[test]
    fn substring_search_folds_ascii_letters_only() {
        assert!(contains_ignoring_ascii_case("tlp:CLEAR", "Clear"));
        assert!(!contains_ignoring_ascii_case("ÉTÉ", "été"));
        assert!(!contains_ignoring_ascii_case("ab", "abc"));
        assert!(contains_ignoring_ascii_case("x", ""));
    }
}

//! MISP's decaying models: how an indicator's score falls with time, to the decimal.
//!
//! A model (from `decay.d/`) gives a base score B, a lifetime τ in days, a decay speed δ and a
//! threshold θ. An indicator's score starts at B at its reference time and falls to 0 at τ:
//!
//! ```text
//! score(t) = max(0, B × (1 − (t / (τ × 86400))^(1/δ)))    t ≥ 0 seconds after the reference
//! score(t) = 0                                             t < 0 (reference in the future)
//! decayed  ⇔ score < θ                                     (strictly below)
//! ```
//!
//! B comes from the indicator's tags and the model's `base_score_config`, or from the model's
//! `default_base_score` when no tag counts. The specification is `shared/misp/decay.md`,
//! written from MISP 2.5's `DecayingModel*` code.
//!
//! ```
//! use feedsmith::decay::{is_decayed, polynomial_score};
//! // MISP's NIDS model: untagged (B = 80), τ = 120 days, δ = 2, 30 days later.
//! let score = polynomial_score(80.0, 30.0 * 86_400.0, 120.0, 2.0);
//! assert_eq!(score, 40.0);
//! assert!(!is_decayed(score, 30.0));
//! ```
//!
//! # Architecture
//! - this file: the formula, the reference time, and [`Model`], a resolved model that scores.
//! - `tags`: tag keys and base scores from tags ([`tag_key`], [`base_score`]).
//! - `taxonomy`: the numerical values of taxonomy tags ([`Taxonomies`]), shipped in
//!   `data/taxonomies/`.

mod tags;
mod taxonomy;

pub use tags::{BaseScore, base_score, retention_days, tag_key};
pub use taxonomy::Taxonomies;

use std::collections::BTreeMap;

use crate::config::{self, DecayKind, SightingsSettings};
use crate::indicator::AttrType;

/// Seconds in one day, as MISP counts a lifetime (no calendar, no leap seconds).
pub const SECS_PER_DAY: f64 = 86_400.0;

/// MISP's polynomial score `B × (1 − (t/T)^(1/δ))`, clamped at 0, with `T = τ × 86400`.
///
/// - `elapsed_secs` < 0 (a reference time in the future) gives 0, as in MISP.
/// - `elapsed_secs` ≥ T gives 0.
/// - B is not clamped to 0..=100; a negative result is clamped to 0.
///
/// Parameters that MISP cannot evaluate (τ ≤ 0, δ ≤ 0, or a NaN anywhere) give 0 rather than
/// NaN; the config loader rejects such models before they get here.
#[must_use]
pub fn polynomial_score(base: f64, elapsed_secs: f64, lifetime_days: f64, decay_speed: f64) -> f64 {
    // Written as a positive test so that a NaN anywhere also gives 0.
    let computable = elapsed_secs >= 0.0 && lifetime_days > 0.0 && decay_speed > 0.0;
    if !computable {
        return 0.0;
    }
    // MISP multiplies by 24, 60 and 60 in turn; doing the same keeps the last bit equal for
    // fractional lifetimes.
    let lifetime_secs = lifetime_days * 24.0 * 60.0 * 60.0;
    let score = base * (1.0 - (elapsed_secs / lifetime_secs).powf(1.0 / decay_speed));
    // `max` also turns a NaN (from a NaN base) into 0.
    score.max(0.0)
}

/// Whether a score is decayed: strictly below the threshold, as in MISP (a score equal to the
/// threshold is not decayed).
#[must_use]
pub fn is_decayed(score: f64, threshold: f64) -> bool {
    score < threshold
}

/// The time an attribute's decay is measured from, when there are no sightings (decay.md §3).
///
/// `last_seen` when known, else `timestamp` (the last modification time). `None` when neither
/// is known. See [`reference_time_with_sighting`] for MISP's full rule.
#[must_use]
pub fn reference_time(last_seen: Option<i64>, timestamp: Option<i64>) -> Option<i64> {
    reference_time_with_sighting(None, last_seen, timestamp)
}

/// MISP's reference time with the date of the most recent "seen" (type 0) sighting.
///
/// 1. The sighting if any, else `last_seen` if known, else `timestamp`.
/// 2. If `timestamp` is later than that choice (the attribute was edited since), `last_seen`
///    if known, else `timestamp`. So a known `last_seen` wins over a sighting older than the
///    last edit, even when `last_seen` is older still.
#[must_use]
pub fn reference_time_with_sighting(
    last_sighting: Option<i64>,
    last_seen: Option<i64>,
    timestamp: Option<i64>,
) -> Option<i64> {
    let chosen = last_sighting.or(last_seen).or(timestamp)?;
    match timestamp {
        Some(modified) if modified > chosen => Some(last_seen.unwrap_or(modified)),
        _ => Some(chosen),
    }
}

/// MISP's `Sightings` formula (decay.md §6.2), which ignores time.
///
/// `B` while there are fewer than `minimum_sightings` sightings, else
/// `B × (true_positive + tp_offset) / (total + tp_offset + fp_offset)`. A zero denominator
/// gives 0 instead of MISP's division error.
#[must_use]
pub fn sightings_score(
    base: f64,
    total: u64,
    true_positive: u64,
    minimum_sightings: u64,
    tp_offset: f64,
    fp_offset: f64,
) -> f64 {
    if total < minimum_sightings {
        return base;
    }
    let denominator = total as f64 + tp_offset + fp_offset;
    if denominator == 0.0 {
        return 0.0;
    }
    base * (true_positive as f64 + tp_offset) / denominator
}

/// Whether a `retention:*` tag has run out, which makes MISP's `PolynomialExtended` formula
/// force the score to 0 (decay.md §6.1).
///
/// A tag counts when it starts with `retention:` and has a numerical value (in days); it has
/// run out when `now − timestamp` (the attribute's modification time, not its reference time)
/// exceeds that many days.
#[must_use]
pub fn retention_expired(
    tags: &[impl AsRef<str>],
    timestamp: i64,
    now: i64,
    values: &Taxonomies,
) -> bool {
    retention_days(tags, &[] as &[&str], values)
        .is_some_and(|days| retention_ran_out(days, timestamp, now))
}

/// `now − modified > days × 86400`, MISP's test for a run-out retention.
fn retention_ran_out(days: f64, modified: i64, now: i64) -> bool {
    now.saturating_sub(modified) as f64 > days * SECS_PER_DAY
}

/// What one indicator brings to its score, beside the model.
///
/// ```
/// use feedsmith::decay::Evidence;
/// let evidence = Evidence { retention_days: Some(7.0), ..Evidence::new(80.0, 1_000) };
/// assert_eq!(evidence.modified, 1_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evidence {
    /// The base score B.
    pub base: f64,
    /// The time the decay runs from (Unix seconds): see [`reference_time_with_sighting`].
    pub reference_time: i64,
    /// The indicator's last change (MISP's attribute `timestamp`), from which a retention tag
    /// is counted by `PolynomialExtended`.
    pub modified: i64,
    /// The shortest retention of the indicator's tags, in days ([`retention_days`]).
    pub retention_days: Option<f64>,
    /// Sightings of any type, for the `Sightings` formula.
    pub sightings: u64,
    /// Sightings of type 0 ("seen").
    pub seen_sightings: u64,
}

impl Evidence {
    /// An indicator with base score `base` decaying from `reference_time`, changed then, with
    /// no retention tag and no sightings.
    #[must_use]
    pub fn new(base: f64, reference_time: i64) -> Evidence {
        Evidence {
            base,
            reference_time,
            modified: reference_time,
            retention_days: None,
            sightings: 0,
            seen_sightings: 0,
        }
    }
}

/// A scoring model resolved from a [`config::DecayModel`].
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// The model's id (its file stem in `decay.d/`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// The formula.
    pub kind: DecayKind,
    /// τ, in days.
    pub lifetime_days: f64,
    /// δ.
    pub decay_speed: f64,
    /// θ: a score strictly below it is decayed.
    pub threshold: f64,
    /// B when no tag counts.
    pub default_base_score: f64,
    /// Tag key → weight.
    pub base_score_config: BTreeMap<String, f64>,
    /// The attribute types the model scores (unknown MISP type names are left out).
    pub types: Vec<AttrType>,
    /// The `Sightings` formula's settings (MISP's defaults for the other formulas).
    pub sightings: SightingsSettings,
}

/// An indicator's score under one model at one time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score {
    /// The base score B the decay started from.
    pub base: f64,
    /// The current score.
    pub value: f64,
    /// Whether `value` is below the threshold.
    pub decayed: bool,
    /// The first whole second (Unix time) at or after the reference time from which the
    /// indicator is decayed for good.
    ///
    /// - The reference time itself when B is below the threshold.
    /// - `None` when it never decays: a threshold of 0 or less (the score is never negative),
    ///   an infinite lifetime, or a time beyond the range of `i64`.
    ///
    /// It does not depend on `now`. With a reference time in the future the score is 0 (and
    /// decayed) until the reference time is reached, then follows the curve; `expires_at`
    /// describes the curve.
    pub expires_at: Option<i64>,
}

impl Model {
    /// Resolves a loaded definition.
    #[must_use]
    pub fn new(model: &config::DecayModel) -> Model {
        let c = &model.config;
        Model {
            id: model.id.clone(),
            name: c.name.clone(),
            kind: c.kind,
            lifetime_days: c.lifetime_days,
            decay_speed: c.decay_speed,
            threshold: c.threshold,
            default_base_score: c.default_base_score,
            base_score_config: c.base_score_config.clone(),
            types: model.types.clone(),
            sightings: c.sightings.unwrap_or_default(),
        }
    }

    /// Whether the model scores indicators of this type.
    #[must_use]
    pub fn applies_to(&self, kind: AttrType) -> bool {
        self.types.contains(&kind)
    }

    /// The base score from an indicator's tags and its event's (or feed's) tags; see
    /// [`base_score`].
    #[must_use]
    pub fn base_score(
        &self,
        attribute_tags: &[impl AsRef<str>],
        event_tags: &[impl AsRef<str>],
        values: &Taxonomies,
    ) -> BaseScore {
        base_score(
            attribute_tags,
            event_tags,
            &self.base_score_config,
            self.default_base_score,
            values,
        )
    }

    /// The score at `now` of an indicator with base score `base` whose decay started at
    /// `reference_time` (both Unix seconds), with no retention tag and no sightings; see
    /// [`Model::evaluate`].
    #[must_use]
    pub fn score(&self, base: f64, reference_time: i64, now: i64) -> Score {
        self.evaluate(&Evidence::new(base, reference_time), now)
    }

    /// The score at `now` (Unix seconds) of an indicator, by the model's formula:
    /// - `polynomial`: the curve from the base score at the reference time to 0 at τ.
    /// - `polynomial_extended`: the same, forced to 0 from the first second at which the
    ///   indicator's last change is older than its shortest retention tag.
    /// - `sightings`: the base score scaled by the share of "seen" sightings; constant in time.
    #[must_use]
    pub fn evaluate(&self, evidence: &Evidence, now: i64) -> Score {
        let value = self.value_at(evidence, now);
        Score {
            base: evidence.base,
            value,
            decayed: is_decayed(value, self.threshold),
            expires_at: self.expiry(evidence),
        }
    }

    /// The score of `evidence` at `now`.
    fn value_at(&self, evidence: &Evidence, now: i64) -> f64 {
        let elapsed = now.saturating_sub(evidence.reference_time);
        match self.kind {
            DecayKind::Polynomial => self.value_after(evidence.base, elapsed),
            DecayKind::PolynomialExtended => {
                let ran_out = evidence
                    .retention_days
                    .is_some_and(|days| retention_ran_out(days, evidence.modified, now));
                if ran_out { 0.0 } else { self.value_after(evidence.base, elapsed) }
            }
            DecayKind::Sightings => self.sightings_value(evidence),
        }
    }

    /// The `Sightings` formula's score, which time does not change.
    fn sightings_value(&self, evidence: &Evidence) -> f64 {
        let settings = &self.sightings;
        sightings_score(
            evidence.base,
            evidence.sightings,
            evidence.seen_sightings,
            settings.minimum_sightings,
            settings.true_positive_offset,
            settings.false_positive_offset,
        )
    }

    /// The polynomial score `elapsed` seconds after the reference time.
    fn value_after(&self, base: f64, elapsed: i64) -> f64 {
        polynomial_score(base, elapsed as f64, self.lifetime_days, self.decay_speed)
    }

    /// The first whole second from which `evidence` is decayed for good, by the model's
    /// formula; see [`Score::expires_at`].
    #[must_use]
    pub fn expiry(&self, evidence: &Evidence) -> Option<i64> {
        let threshold = self.threshold;
        match self.kind {
            DecayKind::Polynomial => self.expires_at(evidence.base, evidence.reference_time),
            DecayKind::PolynomialExtended => {
                let curve = self.expires_at(evidence.base, evidence.reference_time);
                // The retention zeroes the score from the first second past it; 0 is decayed
                // only under a positive threshold.
                let cut = evidence
                    .retention_days
                    .filter(|_| threshold > 0.0)
                    .and_then(|days| retention_cut(days, evidence.modified))
                    .map(|cut| cut.max(evidence.reference_time));
                match (curve, cut) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            DecayKind::Sightings => is_decayed(self.sightings_value(evidence), threshold)
                .then_some(evidence.reference_time),
        }
    }

    /// The first whole second from which a polynomial score is decayed for good; see
    /// [`Score::expires_at`].
    ///
    /// The closed form `t_θ = τ × (1 − θ/B)^δ` days gives the crossing; the result is then
    /// checked against the score function itself, so that it agrees with [`Model::score`]
    /// to the second despite rounding.
    #[must_use]
    pub fn expires_at(&self, base: f64, reference_time: i64) -> Option<i64> {
        let threshold = self.threshold;
        if threshold.is_nan() || threshold <= 0.0 {
            return None;
        }
        let decayed_at = |t: i64| is_decayed(self.value_after(base, t), threshold);
        if decayed_at(0) {
            return Some(reference_time);
        }
        let lifetime_secs = self.lifetime_days * SECS_PER_DAY;
        if !lifetime_secs.is_finite() || lifetime_secs.ceil() >= i64::MAX as f64 {
            return None;
        }
        // At t ≥ T the score is 0 < θ, so the answer lies in 1..=ceil(T).
        let upper = (lifetime_secs.ceil() as i64).max(1);
        let crossing = lifetime_secs * (1.0 - threshold / base).powf(self.decay_speed);
        let mut guess = if crossing.is_finite() {
            (crossing.floor() as i64).saturating_add(1).clamp(1, upper)
        } else {
            upper
        };
        // Walk a few steps to fix rounding; fall back to bisection if that is not enough.
        let mut steps = 0;
        while steps < 4 && guess > 1 && decayed_at(guess - 1) {
            guess -= 1;
            steps += 1;
        }
        while steps < 8 && !decayed_at(guess) {
            guess += 1;
            steps += 1;
        }
        let exact = decayed_at(guess) && (guess == 1 || !decayed_at(guess - 1));
        let first = if exact { guess } else { first_decayed(1, upper, decayed_at) };
        reference_time.checked_add(first)
    }
}

/// The first second at which `now − modified > days × 86400` holds; `None` beyond `i64`.
fn retention_cut(days: f64, modified: i64) -> Option<i64> {
    let limit = days * SECS_PER_DAY;
    if !limit.is_finite() || limit >= i64::MAX as f64 {
        return None;
    }
    // `now − modified` is a whole number of seconds: the first one above `limit`.
    let first = if limit < 0.0 { 0 } else { limit.floor() as i64 + 1 };
    modified.checked_add(first)
}

/// The least `t` in `low..=high` with `decayed(t)`, for a predicate that is false then true;
/// `high` when none is found.
fn first_decayed(mut low: i64, mut high: i64, decayed: impl Fn(i64) -> bool) -> i64 {
    while low < high {
        let middle = low + (high - low) / 2;
        if decayed(middle) {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    high
}

#[cfg(test)]
#[expect(clippy::float_cmp, reason = "the spec gives some values exactly, and 0 is exact")]
mod tests {
    use super::*;
    use crate::config::DecayConfig;

    const DAY: i64 = 86_400;
    const NOW: i64 = 1_700_000_000;
    const NONE: [&str; 0] = [];

    fn close(actual: f64, expected: f64) {
        assert!((actual - expected).abs() < 1e-9, "{actual} is not {expected}");
    }

    fn model(lifetime_days: f64, decay_speed: f64, threshold: f64) -> Model {
        Model {
            id: "test".to_owned(),
            name: "test".to_owned(),
            kind: DecayKind::Polynomial,
            lifetime_days,
            decay_speed,
            threshold,
            default_base_score: 80.0,
            base_score_config: BTreeMap::new(),
            types: vec![AttrType::IpDst],
            sightings: SightingsSettings::default(),
        }
    }

    fn nids() -> Model {
        let config = parse_model("nids.toml");
        Model::new(&config::DecayModel {
            id: "nids".to_owned(),
            types: config.attribute_types.iter().filter_map(|t| AttrType::from_name(t)).collect(),
            config,
        })
    }

    fn parse_model(file: &str) -> DecayConfig {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("decay.d").join(file);
        let text = std::fs::read_to_string(&path).expect("decay.d file is readable");
        toml::from_str::<DecayConfig>(&text).expect("decay.d file parses")
    }

    #[test]
    fn nids_untagged_after_30_days_scores_40() {
        // decay.md §8 example 1.
        let nids = nids();
        let base = nids.base_score(&NONE, &NONE, Taxonomies::builtin());
        assert!(!base.from_tags);
        let score = nids.score(base.value, NOW - 30 * DAY, NOW);
        close(score.value, 40.0);
        assert!(!score.decayed);
        close(polynomial_score(80.0, 2_592_000.0, 120.0, 2.0), 40.0);
    }

    #[test]
    fn nids_score_equal_to_the_threshold_is_not_decayed() {
        // decay.md §8 example 2: exactly 30.0 at 4 050 000 s, below one second later.
        let nids = nids();
        let at = nids.score(80.0, NOW - 4_050_000, NOW);
        close(at.value, 30.0);
        assert_eq!(at.value, 30.0);
        assert!(!at.decayed);
        let after = nids.score(80.0, NOW - 4_050_001, NOW);
        assert!(after.value < 30.0);
        assert!(after.decayed);
        assert_eq!(at.expires_at, Some(NOW - 4_050_000 + 4_050_001));
    }

    #[test]
    fn phishing_untagged_matches_the_worked_values() {
        // decay.md §8 example 3.
        close(polynomial_score(80.0, 86_400.0, 3.0, 2.3), 30.381_233_557_813_56);
        close(polynomial_score(80.0, 43_200.0, 3.0, 2.3), 43.291_777_419_229_09);
        close(polynomial_score(80.0, 9_000.0, 3.0, 2.3), 61.440_275_979_624_495);
        let phishing = Model::new(&config::DecayModel {
            id: "phishing".to_owned(),
            config: parse_model("phishing.toml"),
            types: vec![AttrType::Url],
        });
        assert!(!phishing.score(80.0, NOW - 86_400, NOW).decayed);
        // Crossing at 87 934.447 s: decayed from second 87 935 on.
        assert_eq!(phishing.expires_at(80.0, 0), Some(87_935));
        assert!(!phishing.score(80.0, 0, 87_934).decayed);
        assert!(phishing.score(80.0, 0, 87_935).decayed);
        let crossing = 3.0 * 0.625_f64.powf(2.3);
        close(crossing, 1.017_759_804_034_973);
    }

    #[test]
    fn nids_overridden_tag_decays_after_60_days() {
        // decay.md §8 example 4.
        let nids = nids();
        let base = nids.base_score(
            &["false-positive:risk=\"medium\""],
            &["false-positive:risk=\"low\""],
            Taxonomies::builtin(),
        );
        close(base.value, 50.0);
        let score = nids.score(base.value, NOW - 60 * DAY, NOW);
        close(score.value, 14.644_660_940_672_62);
        assert!(score.decayed);
    }

    #[test]
    fn nids_two_keys_after_7_days() {
        // decay.md §8 example 5.
        let nids = nids();
        let base = nids.base_score(
            &["false-positive:risk=\"low\"", "retention:2w"],
            &NONE,
            Taxonomies::builtin(),
        );
        close(base.value, 44.5);
        let score = nids.score(base.value, NOW - 7 * DAY, NOW);
        close(score.value, 33.752_228_913_242_83);
        assert!(!score.decayed);
    }

    #[test]
    fn unequal_weights_after_10_days() {
        // decay.md §8 example 6.
        let mut m = model(120.0, 2.0, 30.0);
        m.base_score_config =
            [("alpha:beta".to_owned(), 0.1667), ("gamma".to_owned(), 0.0833)].into();
        let mut values = Taxonomies::new();
        values.insert("alpha:beta=\"x\"", 75.0);
        values.insert("gamma:y", 20.0);
        let base = m.base_score(&["alpha:beta=\"x\"", "gamma:y"], &NONE, &values);
        close(base.value, 56.674);
        close(m.score(base.value, NOW - 10 * DAY, NOW).value, 40.313_625_421_973_576);
    }

    #[test]
    fn same_key_twice_averages_to_50() {
        // decay.md §8 example 7.
        let base = nids().base_score(
            &NONE,
            &["false-positive:risk=\"low\"", "false-positive:risk=\"high\""],
            Taxonomies::builtin(),
        );
        close(base.value, 50.0);
    }

    #[test]
    fn score_is_zero_at_and_after_the_lifetime() {
        // decay.md §8 example 8.
        let nids = nids();
        for elapsed in [120 * DAY, 120 * DAY + 1, 1000 * DAY] {
            let score = nids.score(80.0, NOW - elapsed, NOW);
            assert_eq!(score.value, 0.0);
            assert!(score.decayed);
        }
    }

    #[test]
    fn future_reference_scores_zero() {
        // decay.md §8 example 8: t < 0 gives 0, not B.
        let score = nids().score(80.0, NOW + 1, NOW);
        assert_eq!(score.value, 0.0);
        assert!(score.decayed);
        assert_eq!(polynomial_score(80.0, -1.0, 120.0, 2.0), 0.0);
    }

    #[test]
    fn score_at_the_reference_is_the_base() {
        assert_eq!(polynomial_score(80.0, 0.0, 120.0, 2.0), 80.0);
        assert_eq!(polynomial_score(365.0, 0.0, 120.0, 2.0), 365.0);
    }

    #[test]
    fn sightings_formula_matches_the_worked_value() {
        // decay.md §8 example 8: 3 sightings, 2 true positives.
        close(sightings_score(80.0, 3, 2, 1, 0.0, 0.0), 53.333_333_333_333_336);
        assert_eq!(sightings_score(80.0, 0, 0, 1, 0.0, 0.0), 80.0);
    }

    #[test]
    fn retention_tag_older_than_its_days_expires() {
        // decay.md §8 example 8: `retention:7d`, timestamp 8 days ago → 0.
        let values = Taxonomies::builtin();
        assert!(retention_expired(&["retention:7d"], NOW - 8 * DAY, NOW, values));
        assert!(!retention_expired(&["retention:7d"], NOW - 6 * DAY, NOW, values));
        assert!(retention_expired(&["retention:expired"], NOW - 1, NOW, values));
        assert!(!retention_expired(&["false-positive:risk=\"low\""], 0, NOW, values));
    }

    fn with_kind(kind: DecayKind) -> Model {
        Model { kind, ..nids() }
    }

    #[test]
    fn polynomial_extended_zeroes_a_run_out_retention() {
        // decay.md §8 example 8: `retention:7d`, attribute timestamp 8 days ago → 0, although
        // the polynomial alone (reference 1 day ago) would give 80 × (1 − √(1/120)) ≈ 72.7.
        let extended = with_kind(DecayKind::PolynomialExtended);
        let evidence = Evidence {
            modified: NOW - 8 * DAY,
            retention_days: Some(7.0),
            ..Evidence::new(80.0, NOW - DAY)
        };
        let score = extended.evaluate(&evidence, NOW);
        assert_eq!(score.value, 0.0);
        assert!(score.decayed);
        // Retention runs out when now − modified > 7 days: from second 7 × 86 400 + 1.
        assert_eq!(score.expires_at, Some(NOW - 8 * DAY + 7 * DAY + 1));
        let at_limit = extended.evaluate(&evidence, NOW - DAY);
        close(at_limit.value, 80.0);
        // The plain polynomial model ignores the tag.
        close(nids().evaluate(&evidence, NOW).value, 80.0 * (1.0 - (1.0_f64 / 120.0).sqrt()));
    }

    #[test]
    fn polynomial_extended_without_retention_is_the_polynomial() {
        let extended = with_kind(DecayKind::PolynomialExtended);
        let score = extended.evaluate(&Evidence::new(80.0, NOW - 30 * DAY), NOW);
        close(score.value, 40.0);
        // The NIDS crossing at 46.875 days, as the plain model.
        assert_eq!(score.expires_at, Some(NOW - 30 * DAY + 4_050_001));
    }

    #[test]
    fn polynomial_extended_expires_at_the_earlier_of_curve_and_retention() {
        let extended = with_kind(DecayKind::PolynomialExtended);
        // A long retention: the curve (46.875 days) comes first.
        let long = Evidence { retention_days: Some(365.0), ..Evidence::new(80.0, 0) };
        assert_eq!(extended.expiry(&long), Some(4_050_001));
        // A retention run out before the reference: decayed from the reference on.
        let old = Evidence { modified: -10 * DAY, retention_days: Some(1.0), ..long };
        assert_eq!(extended.expiry(&old), Some(0));
        // `retention:expired` (0 days): from one second after the last change.
        let expired = Evidence { modified: 50, retention_days: Some(0.0), ..long };
        assert_eq!(extended.expiry(&expired), Some(51));
        assert!(extended.evaluate(&expired, 51).decayed);
        assert!(!extended.evaluate(&expired, 50).decayed);
    }

    #[test]
    fn sightings_model_scales_by_seen_share_and_ignores_time() {
        // decay.md §8 example 8: B = 80, 3 sightings of which 2 seen → 53.333…
        let sightings = with_kind(DecayKind::Sightings);
        let evidence = Evidence { sightings: 3, seen_sightings: 2, ..Evidence::new(80.0, NOW) };
        let score = sightings.evaluate(&evidence, NOW + 1000 * DAY);
        close(score.value, 80.0 * 2.0 / 3.0);
        assert!(!score.decayed);
        assert_eq!(score.expires_at, None);
        // No sightings (fewer than the minimum of 1): the base score, forever.
        assert_eq!(sightings.evaluate(&Evidence::new(80.0, NOW), NOW + 9999 * DAY).value, 80.0);
        // 1 seen of 4: 20 < 30, decayed from the reference on.
        let mostly_false = Evidence { sightings: 4, seen_sightings: 1, ..evidence };
        let score = sightings.evaluate(&mostly_false, NOW);
        close(score.value, 20.0);
        assert!(score.decayed);
        assert_eq!(score.expires_at, Some(NOW));
    }

    #[test]
    fn sightings_settings_offsets_and_minimum() {
        let mut model = with_kind(DecayKind::Sightings);
        model.sightings = SightingsSettings {
            minimum_sightings: 5,
            true_positive_offset: 1.0,
            false_positive_offset: 2.0,
        };
        let few = Evidence { sightings: 4, seen_sightings: 0, ..Evidence::new(80.0, NOW) };
        assert_eq!(model.evaluate(&few, NOW).value, 80.0);
        // 80 × (2 + 1) / (6 + 1 + 2) = 26.666…
        let enough = Evidence { sightings: 6, seen_sightings: 2, ..few };
        close(model.evaluate(&enough, NOW).value, 80.0 * 3.0 / 9.0);
    }

    #[test]
    fn degenerate_parameters_score_zero_instead_of_nan() {
        assert_eq!(polynomial_score(80.0, 10.0, 0.0, 2.0), 0.0);
        assert_eq!(polynomial_score(80.0, 10.0, 120.0, 0.0), 0.0);
        assert_eq!(polynomial_score(f64::NAN, 10.0, 120.0, 2.0), 0.0);
        assert_eq!(polynomial_score(80.0, f64::NAN, 120.0, 2.0), 0.0);
    }

    #[test]
    fn negative_base_is_clamped_to_zero() {
        assert_eq!(polynomial_score(-5.0, 10.0, 120.0, 2.0), 0.0);
    }

    #[test]
    fn lifetime_in_seconds_is_days_times_86400() {
        // MISP's τ×24×60×60 equals τ×86400 for whole days.
        let t = 120.0 * SECS_PER_DAY;
        close(polynomial_score(80.0, t / 4.0, 120.0, 2.0), 40.0);
    }

    #[test]
    fn expires_at_matches_the_nids_closed_form() {
        // t_θ = 120 × (1 − 30/80)² days = 46.875 days = 4 050 000 s; decayed from the next second.
        assert_eq!(nids().expires_at(80.0, 1_000), Some(1_000 + 4_050_001));
    }

    #[test]
    fn expires_at_is_the_reference_when_base_is_below_threshold() {
        let nids = nids();
        let score = nids.score(20.0, NOW, NOW);
        assert!(score.decayed);
        assert_eq!(score.expires_at, Some(NOW));
    }

    #[test]
    fn expires_one_second_after_the_reference_when_base_equals_threshold() {
        let score = nids().score(30.0, NOW, NOW);
        assert!(!score.decayed);
        assert_eq!(score.expires_at, Some(NOW + 1));
    }

    #[test]
    fn never_expires_without_a_positive_threshold() {
        assert_eq!(model(120.0, 2.0, 0.0).expires_at(80.0, NOW), None);
        assert_eq!(model(120.0, 2.0, -1.0).expires_at(80.0, NOW), None);
        assert_eq!(model(f64::INFINITY, 2.0, 30.0).expires_at(80.0, NOW), None);
    }

    #[test]
    fn expires_at_overflow_is_none() {
        assert_eq!(nids().expires_at(80.0, i64::MAX - 10), None);
    }

    #[test]
    fn expires_at_agrees_with_the_score_for_many_parameters() {
        for (lifetime, speed, threshold, base) in [
            (3.0, 2.3, 30.0, 80.0),
            (10.0, 2.3, 30.0, 95.0),
            (1.5, 0.5, 10.0, 100.0),
            (0.001, 1.0, 50.0, 60.0),
            (365.0, 7.0, 1.0, 365.0),
            (7.0, 1.0, 30.0, 30.000_001),
        ] {
            let m = model(lifetime, speed, threshold);
            let at = m.expires_at(base, 0).expect("expires");
            assert!(m.score(base, 0, at).decayed, "{lifetime} {speed} {threshold} {base}");
            assert!(!m.score(base, 0, at - 1).decayed, "{lifetime} {speed} {threshold} {base}");
        }
    }

    #[test]
    fn reference_is_last_seen_then_timestamp() {
        // decay.md §3 without sightings.
        assert_eq!(reference_time(Some(100), Some(200)), Some(100));
        assert_eq!(reference_time(Some(300), Some(200)), Some(300));
        assert_eq!(reference_time(None, Some(200)), Some(200));
        assert_eq!(reference_time(Some(100), None), Some(100));
        assert_eq!(reference_time(None, None), None);
    }

    #[test]
    fn last_seen_wins_over_a_sighting_older_than_the_last_edit() {
        // decay.md §3 step 3.
        assert_eq!(reference_time_with_sighting(Some(150), Some(100), Some(200)), Some(100));
        assert_eq!(reference_time_with_sighting(Some(150), None, Some(200)), Some(200));
        assert_eq!(reference_time_with_sighting(Some(250), Some(100), Some(200)), Some(250));
    }

    #[test]
    fn default_models_parse_with_misp_parameters() {
        // decay.md §7.
        let expected_nids_types = [
            "domain",
            "domain|ip",
            "hostname",
            "hostname|port",
            "ip-dst",
            "ip-dst|port",
            "ip-src",
            "ip-src|port",
            "url",
            "snort",
            "suricata",
            "zeek",
            "bro",
        ];
        let four_keys: BTreeMap<String, f64> = [
            ("estimative-language:confidence-in-analytic-judgment", 0.25),
            ("estimative-language:likelihood-probability", 0.25),
            ("phishing:psychological-acceptability", 0.25),
            ("phishing:state", 0.25),
        ]
        .into_iter()
        .map(|(k, w)| (k.to_owned(), w))
        .collect();

        let nids = parse_model("nids.toml");
        assert_eq!(nids.name, "NIDS Simple Decaying Model");
        assert_eq!(nids.uuid.as_deref(), Some("073fae4a-2377-4cfa-bd34-2516830d33c3"));
        assert_eq!(
            nids.description.trim_end(),
            "Simple decaying model for Network Intrusion Detection System (NIDS)."
        );
        assert_eq!(nids.kind, DecayKind::Polynomial);
        assert_eq!(
            (nids.lifetime_days, nids.decay_speed, nids.threshold, nids.default_base_score),
            (120.0, 2.0, 30.0, 80.0)
        );
        let nids_config: BTreeMap<String, f64> = [
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
        .collect();
        assert_eq!(nids.base_score_config, nids_config);
        assert_eq!(nids.attribute_types, expected_nids_types);

        let phishing = parse_model("phishing.toml");
        assert_eq!(phishing.name, "Phishing model");
        assert_eq!(phishing.uuid.as_deref(), Some("dbbd7ba7-6559-48fc-ab58-cc499d1b1143"));
        assert_eq!(phishing.description, "Simple model to rapidly decay phishing website.");
        assert_eq!(phishing.kind, DecayKind::Polynomial);
        assert_eq!(
            (
                phishing.lifetime_days,
                phishing.decay_speed,
                phishing.threshold,
                phishing.default_base_score
            ),
            (3.0, 2.3, 30.0, 80.0)
        );
        assert_eq!(phishing.base_score_config, four_keys);
        assert_eq!(phishing.attribute_types, expected_nids_types[..9]);

        let vishing = parse_model("vishing.toml");
        assert_eq!(vishing.name, "Vishing model");
        assert_eq!(vishing.uuid.as_deref(), Some("1097c0fe-06eb-4741-94d9-8098301d92f4"));
        assert_eq!(
            vishing.description,
            "Simple model to rapidly decay voice scamming, vishing relying on phone-numbers."
        );
        assert_eq!(vishing.kind, DecayKind::Polynomial);
        assert_eq!(
            (
                vishing.lifetime_days,
                vishing.decay_speed,
                vishing.threshold,
                vishing.default_base_score
            ),
            (10.0, 2.3, 30.0, 80.0)
        );
        assert_eq!(vishing.base_score_config, four_keys);
        assert_eq!(vishing.attribute_types, ["phone-number", "prtn"]);
    }

    #[test]
    fn nids_untagged_ip_decays_after_46_875_days() {
        // decay.md §7: "decays an untagged IP after 46.875 days".
        let nids = nids();
        assert!(nids.applies_to(AttrType::IpDst));
        let crossing = 46.875 * SECS_PER_DAY;
        assert_eq!(crossing, 4_050_000.0);
        assert_eq!(nids.expires_at(80.0, 0), Some(4_050_001));
    }
}

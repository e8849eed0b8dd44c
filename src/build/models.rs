//! The decay models as the report and the site show them: parameters, the tasks each one
//! scores for, its sampled curves, and the scores it gave in this build.

use std::collections::BTreeMap;

use crate::config::{ModelChoice, Project};
use crate::decay::{Evidence, Model, SECS_PER_DAY, Taxonomies, tag_key};
use crate::export::site::{Curve, ModelCurves};
use crate::indicator::AttrType;
use crate::report::{ModelReport, ModelTaskReport, ScoreHistogram};

/// Intervals per decay curve: enough for a smooth line at the chart's width.
pub(super) const CURVE_SAMPLES: usize = 120;

/// One report per model, in the project's (id) order, with the histograms the tasks
/// collected (by model index).
pub(super) fn reports(
    project: &Project,
    models: &[Model],
    scores: &BTreeMap<usize, ScoreHistogram>,
) -> Vec<ModelReport> {
    project
        .models
        .iter()
        .zip(models)
        .enumerate()
        .map(|(index, (definition, model))| {
            let config = &definition.config;
            ModelReport {
                id: definition.id.clone(),
                name: config.name.clone(),
                uuid: config.uuid.clone(),
                description: config.description.clone(),
                formula: config.kind,
                lifetime_days: config.lifetime_days,
                decay_speed: config.decay_speed,
                threshold: config.threshold,
                default_base_score: config.default_base_score,
                base_score_config: config.base_score_config.clone(),
                types: definition.types.iter().map(|t| t.as_str().to_owned()).collect(),
                unknown_types: config
                    .attribute_types
                    .iter()
                    .filter(|t| AttrType::from_name(t).is_none())
                    .cloned()
                    .collect(),
                expires_after_secs: model.expiry(&Evidence::new(config.default_base_score, 0)),
                tasks: tasks_using(project, index),
                scores: scores.get(&index).copied().unwrap_or_default(),
            }
        })
        .collect()
}

/// The tasks that model `index` scores indicators for: those that name it, and those with
/// `auto` for which it is the first model (by id) covering one of their types.
fn tasks_using(project: &Project, index: usize) -> Vec<ModelTaskReport> {
    let first_covering =
        |kind: AttrType| project.models.iter().position(|m| m.types.contains(&kind));
    let names = |types: &[AttrType]| types.iter().map(|t| t.as_str().to_owned()).collect();
    project
        .tasks
        .iter()
        .filter_map(|task| {
            let (auto, types) = match task.model {
                ModelChoice::Model(i) if i == index => (false, names(&task.types)),
                ModelChoice::Model(_) => return None,
                ModelChoice::Auto => {
                    // A task of every type meets every type the model lists.
                    let candidates = if task.types.is_empty() {
                        &project.models[index].types
                    } else {
                        &task.types
                    };
                    let mine: Vec<AttrType> = candidates
                        .iter()
                        .copied()
                        .filter(|&kind| first_covering(kind) == Some(index))
                        .collect();
                    if mine.is_empty() {
                        return None;
                    }
                    (true, names(&mine))
                }
            };
            Some(ModelTaskReport {
                id: task.id.clone(),
                name: task.config.name.clone(),
                auto,
                types,
            })
        })
        .collect()
}

/// The curves of every model: the default base score, then the highest and the lowest base
/// score above the threshold (up to 100) that one tag of the model's `base_score_config` can
/// give with the built-in taxonomy values.
pub(super) fn curves(models: &[Model]) -> Vec<ModelCurves> {
    let taxonomies = Taxonomies::builtin();
    models
        .iter()
        .map(|model| {
            let mut curves =
                vec![curve(model, "default base score".to_owned(), model.default_base_score)];
            for (tag, base) in tagged_examples(model, taxonomies) {
                curves.push(curve(model, format!("tag {tag}"), base));
            }
            ModelCurves { model: model.id.clone(), curves }
        })
        .collect()
}

/// Up to two `(tag, base score)` examples: the highest and the lowest base score in
/// `(θ, 100]` that a single tag gives, other than the default; ties go to the first tag name.
fn tagged_examples(model: &Model, taxonomies: &Taxonomies) -> Vec<(String, f64)> {
    let mut found: Vec<(f64, &str)> = taxonomies
        .iter()
        .filter(|(tag, _)| model.base_score_config.contains_key(tag_key(tag)))
        .map(|(tag, _)| (model.base_score(&[tag], &[] as &[&str], taxonomies).value, tag))
        .filter(|&(base, _)| {
            base > model.threshold
                && base <= 100.0
                && base.total_cmp(&model.default_base_score).is_ne()
        })
        .collect();
    found.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    // One tag per base score: the first by name.
    found.dedup_by(|later, first| later.0.total_cmp(&first.0).is_eq());
    let mut examples: Vec<(String, f64)> =
        found.iter().rev().take(1).map(|&(base, tag)| (tag.to_owned(), base)).collect();
    if found.len() > 1 {
        examples.extend(found.first().map(|&(base, tag)| (tag.to_owned(), base)));
    }
    examples
}

/// One curve: the score at [`CURVE_SAMPLES`] + 1 whole seconds evenly spread over the
/// lifetime, as the model computes it, and the second the score falls below θ.
fn curve(model: &Model, label: String, base: f64) -> Curve {
    let lifetime_secs = model.lifetime_days * SECS_PER_DAY;
    let points = (0..=CURVE_SAMPLES)
        .map(|i| {
            // The conversion saturates, so an absurd lifetime gives a flat curve, not a panic.
            let t = (i as f64 * lifetime_secs / CURVE_SAMPLES as f64).round() as i64;
            (t as f64 / SECS_PER_DAY, model.score(base, 0, t).value)
        })
        .collect();
    Curve { label, base, points, expires_after_secs: model.expiry(&Evidence::new(base, 0)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nids() -> Model {
        Model {
            id: "nids".to_owned(),
            name: "NIDS".to_owned(),
            kind: crate::config::DecayKind::Polynomial,
            lifetime_days: 120.0,
            decay_speed: 2.0,
            threshold: 30.0,
            default_base_score: 80.0,
            base_score_config: [("false-positive:risk".to_owned(), 0.1667)].into(),
            types: vec![AttrType::IpDst],
            sightings: crate::config::SightingsSettings::default(),
        }
    }

    #[test]
    fn a_curve_runs_from_the_base_score_to_zero_over_the_lifetime() {
        let curve = curve(&nids(), "default".to_owned(), 80.0);
        assert_eq!(curve.points.len(), CURVE_SAMPLES + 1);
        assert_eq!(curve.points[0], (0.0, 80.0));
        assert_eq!(curve.points[CURVE_SAMPLES], (120.0, 0.0));
        // 30 days is sample 30: score 40 (decay.md §8 example 1).
        assert!((curve.points[30].0 - 30.0).abs() < 1e-12);
        assert!((curve.points[30].1 - 40.0).abs() < 1e-9);
        // t_θ = 46.875 days = 4 050 000 s, decayed from the next second (decay.md §8 ex. 2).
        assert_eq!(curve.expires_after_secs, Some(4_050_001));
    }

    #[test]
    fn tagged_examples_are_the_highest_and_lowest_single_tag_bases_above_the_threshold() {
        // false-positive:risk: low 75, medium 50, high and cannot-be-judged 25 (below θ).
        let examples = tagged_examples(&nids(), Taxonomies::builtin());
        assert_eq!(
            examples,
            [
                ("false-positive:risk=\"low\"".to_owned(), 75.0),
                ("false-positive:risk=\"medium\"".to_owned(), 50.0)
            ]
        );
        let mut untagged = nids();
        untagged.base_score_config.clear();
        assert!(tagged_examples(&untagged, Taxonomies::builtin()).is_empty());
    }
}

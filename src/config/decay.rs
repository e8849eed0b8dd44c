//! `decay.d/<id>.toml|yaml`: a decay model, with MISP's parameters and meaning.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A decay model as written in its file.
///
/// Example (TOML), MISP's default NIDS model:
/// ```toml
/// name = "NIDS Simple Decaying Model"
/// type = "polynomial"
/// lifetime_days = 120
/// decay_speed = 2
/// threshold = 30
/// default_base_score = 80
/// attribute_types = ["ip-dst", "ip-src", "domain", "hostname", "url"]
///
/// [base_score_config]
/// "false-positive:risk" = 0.1667
/// retention = 0.1667
/// ```
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DecayConfig {
    /// Display name. Required.
    pub name: String,
    /// The model's UUID in MISP, when it comes from MISP. Default: none.
    #[serde(default)]
    pub uuid: Option<String>,
    /// What the model is for. Default: empty.
    #[serde(default)]
    pub description: String,
    /// The formula. Default: `polynomial` (MISP's `Polynomial`).
    #[serde(rename = "type", default)]
    pub kind: DecayKind,
    /// τ, the lifetime in days: the score reaches 0 after this time. Must be greater than 0.
    #[cfg_attr(feature = "schemars", schemars(extend("exclusiveMinimum" = 0)))]
    pub lifetime_days: f64,
    /// δ, the decay speed: 1 is linear, above 1 falls fast then flattens. Must be greater
    /// than 0.
    #[cfg_attr(feature = "schemars", schemars(extend("exclusiveMinimum" = 0)))]
    pub decay_speed: f64,
    /// θ: an indicator whose score is below this value is expired (strictly below, as in
    /// MISP). Default: 0.
    #[serde(default)]
    pub threshold: f64,
    /// The base score used when no tag with a numerical value applies. Default: 0.
    #[serde(default)]
    pub default_base_score: f64,
    /// Tag key → weight; tags with numerical values whose key is listed make the base score.
    /// Default: none.
    #[serde(default)]
    pub base_score_config: BTreeMap<String, f64>,
    /// The MISP attribute types the model applies to. Required, not empty.
    pub attribute_types: Vec<String>,
    /// The settings of the `sightings` formula (MISP's `parameters.settings`). Only allowed
    /// with `type = "sightings"`. Default: MISP's (a minimum of 1 sighting, no offsets).
    #[serde(default)]
    pub sightings: Option<SightingsSettings>,
}

/// The settings of MISP's `Sightings` formula (decay.md §6.2).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SightingsSettings {
    /// Below this many sightings the score is the base score. Default: 1.
    #[serde(default = "default_minimum_sightings")]
    pub minimum_sightings: u64,
    /// Added to the "seen" sightings and to the total. Default: 0.
    #[serde(default)]
    pub true_positive_offset: f64,
    /// Added to the total. Default: 0.
    #[serde(default)]
    pub false_positive_offset: f64,
}

impl Default for SightingsSettings {
    fn default() -> Self {
        SightingsSettings {
            minimum_sightings: default_minimum_sightings(),
            true_positive_offset: 0.0,
            false_positive_offset: 0.0,
        }
    }
}

fn default_minimum_sightings() -> u64 {
    1
}

/// The formula of a decay model.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schemars", schemars(transform = accept_misp_names))]
#[serde(rename_all = "snake_case")]
pub enum DecayKind {
    /// MISP's `Polynomial`: `B × (1 − (t/τ)^(1/δ))`.
    #[default]
    #[serde(alias = "Polynomial")]
    Polynomial,
    /// MISP's `PolynomialExtended`: the polynomial score, forced to 0 once a `retention:*` tag
    /// of the indicator has run out (counted from the indicator's last change).
    #[serde(alias = "PolynomialExtended")]
    PolynomialExtended,
    /// MISP's `Sightings`: the base score scaled by the share of "seen" sightings; time plays
    /// no part.
    #[serde(alias = "Sightings")]
    Sightings,
}

impl DecayKind {
    /// Every formula.
    pub const ALL: &'static [DecayKind] =
        &[DecayKind::Polynomial, DecayKind::PolynomialExtended, DecayKind::Sightings];

    /// The name written in a model file's `type`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            DecayKind::Polynomial => "polynomial",
            DecayKind::PolynomialExtended => "polynomial_extended",
            DecayKind::Sightings => "sightings",
        }
    }

    /// The name MISP gives the formula.
    #[must_use]
    pub fn misp_name(self) -> &'static str {
        match self {
            DecayKind::Polynomial => "Polynomial",
            DecayKind::PolynomialExtended => "PolynomialExtended",
            DecayKind::Sightings => "Sightings",
        }
    }
}

/// Adds MISP's spelling of each formula (`Polynomial`) beside feedsmith's (`polynomial`): the
/// loader takes both as serde aliases, which the schema derive does not see.
#[cfg(feature = "schemars")]
fn accept_misp_names(schema: &mut schemars::Schema) {
    let Some(variants) = schema.get_mut("oneOf").and_then(|v| v.as_array_mut()) else {
        return;
    };
    for variant in variants.iter_mut().filter_map(|v| v.as_object_mut()) {
        let Some(name) = variant.get("const").and_then(|c| c.as_str()) else { continue };
        let Some(kind) = DecayKind::ALL.iter().find(|k| k.name() == name) else { continue };
        let names = serde_json::json!([kind.name(), kind.misp_name()]);
        variant.remove("const");
        variant.insert("enum".to_owned(), names);
    }
}

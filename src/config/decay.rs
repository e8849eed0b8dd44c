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
    pub lifetime_days: f64,
    /// δ, the decay speed: 1 is linear, above 1 falls fast then flattens. Must be greater
    /// than 0.
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
}

/// The formula of a decay model.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecayKind {
    /// MISP's `Polynomial`: `B × (1 − (t/τ)^(1/δ))`.
    #[default]
    Polynomial,
}

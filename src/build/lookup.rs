//! `feedsmith lookup VALUE`: what a build would do with one value, and why.
//!
//! A look-up is a build that writes nothing. It reads every enabled feed as [`super::run`]
//! does (the same fetch, parse and last-good-data stages), from the cache of the last build
//! or from a folder of recorded responses, and writes no cache entry, no state and no output.
//! It then asks the question a build's selection asks, through the same scoring function,
//! for the records that list the value:
//!
//! 1. The value is classified and normalized as free text is (`indicator::classify`), so a
//!    defanged `hxxp://bad[.]example` is looked up as `http://bad.example`.
//! 2. Every record of every enabled feed is compared with it ([`Match`]): the same value; a
//!    pair holding it (`198.51.100.7|8080`, `name.exe|<md5>`); or an entry that covers it: a
//!    network holding the address, a parent domain that owns the host name (no public suffix
//!    in between, the rule of `hostname` warning lists), the host of a URL, the address of a
//!    value with a port.
//! 3. First and last seen per feed come from the ledger, with this look-up's data observed
//!    as a build at the same time would observe it (in memory only).
//! 4. Per task that reads a listing feed and takes the entry's type: the task's decisions in
//!    the build's order (IP version, special-purpose ranges, score against the minimum, the
//!    task's warning lists), each feed's score explained (model, base score, reference time,
//!    score, threshold, expiry), and the verdict.
//! 5. Every warning list of the project that matches the value, whichever tasks apply it.
//!
//! The result is plain data ([`Lookup`]), serialized as the documented JSON of
//! `lookup --json`; the binary prints it as text otherwise.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::Serialize;

use super::score::{BaseFrom, FeedBases, ReferenceFrom, Scored, Scorer, model_for};
use super::select::{Keeps, Taken, keeps, take};
use super::{BuildError, FeedResult, FeedsRead, FetchMode, Silent, Writes};
use crate::config::{ModelChoice, Project, Task};
use crate::decay;
use crate::export::rfc3339;
use crate::filter::{ListKind, host_of_url};
use crate::indicator::{self, AttrType, Indicator, RejectReason, is_public_suffix};
use crate::ledger::Ledger;
use crate::parse::Record;

/// The version of the JSON shape of [`Lookup`]; raised when a field changes meaning or goes.
pub const LOOKUP_FORMAT: u32 = 1;

/// The longest part of a refused value that an error message quotes, in characters.
const SHOWN_VALUE_CHARS: usize = 120;

/// What the caller chooses for one look-up.
#[derive(Clone, Debug)]
pub struct LookupOptions {
    /// The time scores are computed at, Unix seconds.
    pub now: i64,
    /// A folder of recorded responses to read instead of the cache (its `index.toml`).
    pub replay: Option<PathBuf>,
}

/// Why a look-up gives no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// The value is not an indicator (empty, too long, a control character, no type).
    #[error("`{shown}` is not a value feedsmith can look up: {why} (`{reason}`)")]
    BadValue {
        /// The value as a message shows it (control characters escaped, long values cut).
        shown: String,
        /// Why it is refused.
        reason: RejectReason,
        /// The reason in words.
        why: &'static str,
    },
    /// The feeds could not be read (a replay folder without a readable index, say).
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// A value with its MISP attribute type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TypedValue {
    /// The MISP attribute type (`ip-dst`, `domain`, `url`, `sha256`, …).
    #[serde(rename = "type")]
    pub kind: AttrType,
    /// The canonical value.
    pub value: String,
}

impl TypedValue {
    fn of(indicator: &Indicator) -> TypedValue {
        TypedValue { kind: indicator.kind, value: indicator.value.to_string() }
    }
}

/// How a feed's entry lists the value looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Match {
    /// The entry is the value.
    Exact,
    /// The entry is a pair that holds the value: `198.51.100.7|8080` or
    /// `bad.example|198.51.100.7` for `198.51.100.7`, `name.exe|<md5>` for the hash.
    Part,
    /// The entry covers the value: a network holding the address, a parent domain that owns
    /// the host name, the host of a URL, or one part of a pair (the address of
    /// `198.51.100.7|8080`).
    Covered,
}

/// The look-up of one value.
#[derive(Clone, Debug, Serialize)]
pub struct Lookup {
    /// [`LOOKUP_FORMAT`].
    pub version: u32,
    /// The value as given, as a message shows it (control characters escaped).
    pub query: String,
    /// What the value normalized to.
    pub indicator: TypedValue,
    /// What normalization changed, as warning codes (`defanged`, `zero_padded`,
    /// `host_bits_set`, `trailing_dot`, `port_dropped`, `ipv4_mapped`).
    pub normalized: Vec<&'static str>,
    /// The time of the scores, RFC 3339.
    pub now: String,
    /// The time of the scores, Unix seconds.
    pub now_unix: i64,
    /// Whether at least one enabled feed lists the value (exit code 0, else 1).
    pub listed: bool,
    /// Every entry of an enabled feed that lists the value, by feed id.
    pub feeds: Vec<Listing>,
    /// What each task that would take a listing entry does with it, by task id.
    pub tasks: Vec<TaskVerdict>,
    /// Every warning list of the project that matches the value, by id.
    pub warninglists: Vec<ListMatch>,
    /// Enabled feeds with no data for this look-up (nothing cached, a failing feed without
    /// last good data): the answer cannot say whether they list the value.
    pub unread: Vec<Unread>,
    /// What reading the state folder said (a ledger recovered from its previous copy, say).
    pub notes: Vec<String>,
}

/// One entry of a feed that lists the value.
#[derive(Clone, Debug, Serialize)]
pub struct Listing {
    /// The feed id.
    pub feed: String,
    /// The feed's display name.
    pub name: String,
    /// The entry as the feed lists it.
    pub entry: TypedValue,
    /// How the entry lists the value.
    #[serde(rename = "match")]
    pub matched: Match,
    /// The feed is failing and its last good data stands in (the entry is from that data).
    pub stale: bool,
    /// The first build that saw the entry in the feed, RFC 3339 (`null`: never recorded).
    pub first_seen: Option<String>,
    /// The last build that saw the entry in the feed, RFC 3339.
    pub last_seen: Option<String>,
    /// The record's own `last_seen`, RFC 3339, when the feed gives one.
    pub record_last_seen: Option<String>,
    /// The record's own `timestamp` (a MISP attribute's last change), RFC 3339.
    pub record_timestamp: Option<String>,
    /// The entry's own tags.
    pub tags: Vec<String>,
    /// The tags of the MISP event that holds the entry.
    pub event_tags: Vec<String>,
}

/// What a task makes of one entry, before any score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// In the task's outputs.
    Selected,
    /// Left out: its best score is below the task's minimum.
    Expired,
    /// Left out: no model scores its type and the task sets `keep_unscored = false`.
    Unscored,
    /// Left out: one of the task's warning lists matches it (`warninglists` says which).
    Warninglisted,
    /// Left out: it overlaps a special-purpose range (`exclude_reserved`).
    Reserved,
    /// Left out: it is of the other IP version than the task's `ip_version`.
    OtherIpVersion,
}

/// The model a task scores an entry with.
#[derive(Clone, Debug, Serialize)]
pub struct ModelUse {
    /// The model id (its file stem in `decay.d/`).
    pub id: String,
    /// Its display name.
    pub name: String,
    /// `task`: the task names it in `model`; `auto`: the first model (by id) whose
    /// `attribute_types` hold the entry's type.
    pub chosen_by: &'static str,
    /// τ, days.
    pub lifetime_days: f64,
    /// δ.
    pub decay_speed: f64,
    /// θ: a score strictly below it is decayed.
    pub threshold: f64,
}

/// What one task does with one indicator, as it takes it.
#[derive(Clone, Debug, Serialize)]
pub struct TaskVerdict {
    /// The task id.
    pub task: String,
    /// The task's display name.
    pub name: String,
    /// The indicator as the task takes it: the entry, or the address or host name of a
    /// `…|port` entry in a task of addresses or host names.
    pub indicator: TypedValue,
    /// What the task does with it.
    pub verdict: Verdict,
    /// The task's warning lists that match it, by id (with the verdict `warninglisted`).
    pub warninglists: Vec<String>,
    /// The model that scores it; `null` when no model covers the type.
    pub model: Option<ModelUse>,
    /// The best score over the feeds, the one the outputs carry; `null` when unscored or
    /// left out before scoring (`reserved`, `other_ip_version`).
    pub score: Option<f64>,
    /// The least score the task keeps; `null` when the type has no score.
    pub min_score: Option<f64>,
    /// `task` (its `min_score`) or `model` (the model's threshold).
    pub min_score_from: Option<&'static str>,
    /// Each feed's entry and its score, by feed id.
    pub feeds: Vec<FeedScore>,
}

/// One feed's entry as a task scores it.
#[derive(Clone, Debug, Serialize)]
pub struct FeedScore {
    /// The feed id.
    pub feed: String,
    /// The entry as the feed lists it.
    pub entry: TypedValue,
    /// How it was scored; `null` when unscored or left out before scoring.
    pub scoring: Option<Scoring>,
}

/// How one entry was scored under one model.
#[derive(Clone, Debug, Serialize)]
pub struct Scoring {
    /// The base score B the decay starts from.
    pub base_score: f64,
    /// `tags` (tags with numerical values the model weighs), `feed` (none counts: the feed's
    /// `base_score`) or `model` (none counts: the model's `default_base_score`).
    pub base_score_from: &'static str,
    /// The counting tags, in MISP's order; empty unless `base_score_from` is `tags`.
    pub tags: Vec<TagContribution>,
    /// The time the decay is measured from, RFC 3339.
    pub reference_time: String,
    /// `sighting` (a MISP attribute's newest "seen" sighting), `last_seen` or `timestamp` (the
    /// record's own), `ledger` (the last build that saw it in the feed) or `build` (nothing
    /// known: the build time).
    pub reference_from: &'static str,
    /// The reference time (the record's own, or the ledger's last build) lay after the build
    /// time and counts as the build time.
    pub reference_capped: bool,
    /// The record's last change, RFC 3339: its `timestamp`, else the first build that saw it
    /// in the feed. A `polynomial_extended` model counts retention tags from it.
    pub last_change: String,
    /// The shortest `retention:*` tag in days, for a `polynomial_extended` model.
    pub retention_days: Option<f64>,
    /// The record's sightings (MISP events), of any type, and of type 0 ("seen").
    pub sightings: u64,
    /// The "seen" sightings among them.
    pub seen_sightings: u64,
    /// The score at `now`.
    pub score: f64,
    /// The model's threshold.
    pub threshold: f64,
    /// Whether the score is below the threshold.
    pub decayed: bool,
    /// The first second from which the entry is decayed for good, RFC 3339; `null`: never.
    pub expires: Option<String>,
}

/// One tag that counts in a base score: B is the sum of `numerical_value × ratio`.
#[derive(Clone, Debug, Serialize)]
pub struct TagContribution {
    /// The tag.
    pub tag: String,
    /// `attribute` (the entry's own), `event` (its MISP event's) or `feed` (the feed's
    /// `misp_tags`, counted as event tags).
    pub source: &'static str,
    /// The tag's numerical value (from its taxonomy).
    pub numerical_value: f64,
    /// Its key's weight over the total weight of the counting tags.
    pub ratio: f64,
}

/// A warning list of the project that matches the value.
#[derive(Clone, Debug, Serialize)]
pub struct ListMatch {
    /// The list id (its file stem in `warninglists.d/`).
    pub id: String,
    /// Its display name.
    pub name: String,
    /// How it compares (`string`, `substring`, `hostname`, `cidr`, `regex`).
    #[serde(rename = "type")]
    pub kind: ListKind,
    /// The tasks that apply it, by id.
    pub tasks: Vec<String>,
}

/// An enabled feed with no data for the look-up.
#[derive(Clone, Debug, Serialize)]
pub struct Unread {
    /// The feed id.
    pub feed: String,
    /// Why (the reason the feed failed).
    pub reason: String,
}

/// Looks `value` up in every enabled feed of `project`, as a build at `options.now` would
/// see it, without writing anything.
pub fn lookup(
    project: &Project,
    value: &str,
    options: &LookupOptions,
) -> Result<Lookup, LookupError> {
    let classified = indicator::classify(value, &indicator::Options::default())
        .map_err(|reason| bad_value(value, reason))?;
    let query = Query::new(&classified.indicator);
    let now = options.now;

    let fetch = options.replay.clone().map_or(FetchMode::Offline, FetchMode::Replay);
    // Read only: damage is recovered in memory, from the previous copies and the output
    // folder's published state.
    let settings = &project.settings;
    let state = super::state::load(settings, None, &settings.output_dir);
    let (mut ledger, state_notes) = (state.ledger, state.notes);
    let FeedsRead { results, .. } =
        super::read_feeds(project, &fetch, now, &Silent, Writes::Never, state.health)?;

    // Every listing record.
    let mut found: Vec<Found<'_>> = Vec::new();
    let mut unread = Vec::new();
    for result in &results {
        let feed = &project.feeds[result.index];
        let Some(parsed) = &result.parsed else {
            let reason = result.problem.as_ref().map_or_else(String::new, |(_, m)| m.clone());
            unread.push(Unread { feed: feed.id.clone(), reason });
            continue;
        };
        for record in &parsed.records {
            if let Some(matched) = query.matches(&record.indicator) {
                found.push(Found { result, record, matched });
            }
        }
    }

    // The ledger as this build would leave it, in memory only.
    for found in &found {
        if let Some(seen) = super::confirmed_at(found.result, now) {
            let id = &project.feeds[found.result.index].id;
            ledger.observe(id, &found.record.indicator, seen);
        }
    }

    let feeds = found.iter().map(|f| listing(project, &ledger, f)).collect();
    let models: Vec<decay::Model> = project.models.iter().map(decay::Model::new).collect();
    let scorer = Scorer::new(&models, &ledger, now);
    let mut tasks = Vec::new();
    for task in &project.tasks {
        tasks.extend(task_verdicts(project, task, &scorer, &found));
    }
    let warninglists = project
        .warninglists
        .iter()
        .enumerate()
        .filter(|(_, file)| file.list.matches(&classified.indicator))
        .map(|(index, file)| ListMatch {
            id: file.id.clone(),
            name: file.list.name().to_owned(),
            kind: file.list.kind(),
            tasks: project
                .tasks
                .iter()
                .filter(|t| t.warninglists.contains(&index))
                .map(|t| t.id.clone())
                .collect(),
        })
        .collect();
    let listed = !found.is_empty();
    Ok(Lookup {
        version: LOOKUP_FORMAT,
        query: crate::text::shown(value, crate::text::WHOLE),
        indicator: TypedValue::of(&classified.indicator),
        normalized: classified.warnings.iter().map(indicator::Warning::code).collect(),
        now: rfc3339(now),
        now_unix: now,
        listed,
        feeds,
        tasks,
        warninglists,
        unread,
        notes: state_notes,
    })
}

/// The error for a refused value.
fn bad_value(value: &str, reason: RejectReason) -> LookupError {
    let why = match reason {
        RejectReason::TooLong => "it is longer than any indicator may be",
        RejectReason::InvalidValue => "it holds a control character, or is not a valid value",
        RejectReason::HiddenCharacter => "it holds an invisible character",
        RejectReason::Truncated => "it ends with `…`, the mark of a cut value",
        RejectReason::Unrecognized => "no indicator type matches it",
        _ => "it is not a valid value of its type",
    };
    // Control characters are escaped as every message escapes them, and so are invisible
    // ones (a right-to-left override, a zero-width space): the message shows what the value
    // holds.
    let mut shown = String::new();
    for c in value.chars().take(SHOWN_VALUE_CHARS) {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else if crate::text::is_invisible(c) {
            shown.extend(c.escape_unicode());
        } else {
            shown.push(c);
        }
    }
    if value.chars().nth(SHOWN_VALUE_CHARS).is_some() {
        let _ = write!(shown, "… ({} bytes)", value.len());
    }
    LookupError::BadValue { shown, reason, why }
}

/// A record that lists the value, and the feed's result it belongs to.
struct Found<'r> {
    result: &'r FeedResult,
    record: &'r Record,
    matched: Match,
}

fn listing(project: &Project, ledger: &Ledger, found: &Found<'_>) -> Listing {
    let feed = &project.feeds[found.result.index];
    let record = found.record;
    let seen = ledger.get(&feed.id, &record.indicator);
    let tags = |tags: &[std::sync::Arc<str>]| tags.iter().map(ToString::to_string).collect();
    Listing {
        feed: feed.id.clone(),
        name: feed.config.name.clone(),
        entry: TypedValue::of(&record.indicator),
        matched: found.matched,
        stale: found.result.stale_from.is_some(),
        first_seen: seen.map(|s| rfc3339(s.first_seen)),
        last_seen: seen.map(|s| rfc3339(s.last_seen)),
        record_last_seen: record.last_seen.map(rfc3339),
        record_timestamp: record.timestamp.map(rfc3339),
        tags: tags(&record.tags),
        event_tags: tags(&record.event_tags),
    }
}

/// What `task` does with each indicator it would take from the listing records, in the
/// order of the build's selection (`select::select`).
fn task_verdicts(
    project: &Project,
    task: &Task,
    scorer: &Scorer<'_>,
    found: &[Found<'_>],
) -> Vec<TaskVerdict> {
    // The records the task reads, grouped by the indicator as the task takes it: an
    // indicator listed by several feeds is one entry of the outputs, with its best score.
    let mut groups: Vec<(Cow<'_, Indicator>, Taken<'_>, Vec<&Found<'_>>)> = Vec::new();
    for f in found.iter().filter(|f| task.feeds.contains(&f.result.index)) {
        let taken = take(task, &f.record.indicator);
        let indicator = match &taken {
            Taken::No => continue,
            Taken::Yes(i) | Taken::OtherIpVersion(i) | Taken::Reserved(i) => i.clone(),
        };
        match groups.iter_mut().find(|(i, ..)| *i == indicator) {
            Some((.., records)) => records.push(f),
            None => groups.push((indicator, taken, vec![f])),
        }
    }
    groups
        .into_iter()
        .map(|(indicator, taken, records)| {
            let kind = indicator.kind;
            let model = model_for(project, task, kind);
            let before_score = match taken {
                Taken::OtherIpVersion(_) => Some(Verdict::OtherIpVersion),
                Taken::Reserved(_) => Some(Verdict::Reserved),
                Taken::Yes(_) | Taken::No => None,
            };
            let mut best: Option<f64> = None;
            let mut feeds = Vec::with_capacity(records.len());
            for f in &records {
                let feed = &project.feeds[f.result.index];
                let scoring = match (before_score, model) {
                    (None, Some(model)) => {
                        let mut bases = FeedBases::new(feed);
                        let result = scorer.score(&mut bases, f.record, model);
                        best = Some(best.map_or(result.score.value, |b| b.max(result.score.value)));
                        Some(scoring(project, f.record, &result))
                    }
                    _ => None,
                };
                feeds.push(FeedScore {
                    feed: feed.id.clone(),
                    entry: TypedValue::of(&f.record.indicator),
                    scoring,
                });
            }
            let mut warninglists = Vec::new();
            let verdict = before_score.unwrap_or_else(|| match keeps(project, task, kind, best) {
                Keeps::Expired => Verdict::Expired,
                Keeps::Unscored => Verdict::Unscored,
                Keeps::Kept => {
                    warninglists = task
                        .warninglists
                        .iter()
                        .map(|&i| &project.warninglists[i])
                        .filter(|file| file.list.matches(&indicator))
                        .map(|file| file.id.clone())
                        .collect();
                    if warninglists.is_empty() { Verdict::Selected } else { Verdict::Warninglisted }
                }
            });
            let (min_score, min_score_from) = match (task.config.select.min_score, model) {
                (Some(min), _) => (Some(min), Some("task")),
                (None, Some(i)) => (Some(project.models[i].config.threshold), Some("model")),
                (None, None) => (None, None),
            };
            TaskVerdict {
                task: task.id.clone(),
                name: task.config.name.clone(),
                indicator: TypedValue::of(&indicator),
                verdict,
                warninglists,
                model: model.map(|i| model_use(project, task, i)),
                score: best,
                min_score: min_score.filter(|_| model.is_some()),
                min_score_from: min_score_from.filter(|_| model.is_some()),
                feeds,
            }
        })
        .collect()
}

fn model_use(project: &Project, task: &Task, index: usize) -> ModelUse {
    let model = &project.models[index];
    ModelUse {
        id: model.id.clone(),
        name: model.config.name.clone(),
        chosen_by: match task.model {
            ModelChoice::Model(_) => "task",
            ModelChoice::Auto => "auto",
        },
        lifetime_days: model.config.lifetime_days,
        decay_speed: model.config.decay_speed,
        threshold: model.config.threshold,
    }
}

fn scoring(project: &Project, record: &Record, scored: &Scored<'_>) -> Scoring {
    let has = |tags: &[std::sync::Arc<str>], tag: &str| tags.iter().any(|t| &**t == tag);
    let tags = scored
        .base
        .base
        .contributions
        .iter()
        .map(|(tag, numerical_value, ratio)| TagContribution {
            tag: tag.clone(),
            source: if has(&record.tags, tag) {
                "attribute"
            } else if has(&record.event_tags, tag) {
                "event"
            } else {
                "feed"
            },
            numerical_value: *numerical_value,
            ratio: *ratio,
        })
        .collect();
    Scoring {
        base_score: scored.base.base.value,
        base_score_from: match scored.base_from {
            BaseFrom::Tags => "tags",
            BaseFrom::Feed => "feed",
            BaseFrom::Model => "model",
        },
        tags,
        reference_time: rfc3339(scored.reference.time),
        reference_from: match scored.reference.from {
            ReferenceFrom::Sighting => "sighting",
            ReferenceFrom::LastSeen => "last_seen",
            ReferenceFrom::Timestamp => "timestamp",
            ReferenceFrom::Ledger => "ledger",
            ReferenceFrom::Build => "build",
        },
        reference_capped: scored.reference.capped,
        last_change: rfc3339(scored.evidence.modified),
        retention_days: scored.evidence.retention_days,
        sightings: scored.evidence.sightings,
        seen_sightings: scored.evidence.seen_sightings,
        score: scored.score.value,
        threshold: project.models[scored.model].config.threshold,
        decayed: scored.score.decayed,
        expires: scored.score.expires_at.map(rfc3339),
    }
}

/// The value looked up, prepared once for every record.
#[derive(Debug)]
struct Query<'q> {
    /// The canonical value.
    value: &'q str,
    /// The values a composite value is made of: both sides of its first `|`, or only the
    /// left one for a `…|port` type (a port is no value of its own).
    parts: [Option<&'q str>; 2],
    /// The address or network the value names: itself, the address of an `ip|port` value,
    /// the address of a `domain|ip` value, the host of a URL written as an address.
    net: Option<IpNet>,
    /// The host name the value names, lower-case: itself, the name of a `hostname|port` or
    /// `domain|ip` value, the host of a URL (a name or an address).
    host: Option<Cow<'q, str>>,
}

impl<'q> Query<'q> {
    fn new(indicator: &'q Indicator) -> Query<'q> {
        let value = &*indicator.value;
        let parts = composite_parts(indicator.kind, value);
        let (mut net, mut host) = (None, None);
        match indicator.kind {
            AttrType::IpDst | AttrType::IpSrc => net = parse_net(value),
            AttrType::IpDstPort | AttrType::IpSrcPort => net = parts[0].and_then(parse_net),
            AttrType::Domain | AttrType::Hostname => host = Some(Cow::Borrowed(value)),
            AttrType::HostnamePort => host = parts[0].map(Cow::Borrowed),
            AttrType::DomainIp => {
                host = parts[0].map(Cow::Borrowed);
                net = parts[1].and_then(parse_net);
            }
            AttrType::Url | AttrType::Uri | AttrType::Link => {
                let url_host = host_of_url(value);
                net = url_host.parse::<IpAddr>().ok().map(IpNet::from);
                host = Some(url_host).filter(|h| !h.is_empty());
            }
            _ => {}
        }
        Query { value, parts, net, host }
    }

    /// How `entry` lists the value, if it does (see [`Match`]).
    fn matches(&self, entry: &Indicator) -> Option<Match> {
        let listed = &*entry.value;
        if listed == self.value {
            return Some(Match::Exact);
        }
        if composite_parts(entry.kind, listed).contains(&Some(self.value)) {
            return Some(Match::Part);
        }
        if self.parts.contains(&Some(listed)) {
            return Some(Match::Covered);
        }
        match entry.kind {
            AttrType::IpDst | AttrType::IpSrc => {
                let query = self.net?;
                // An address equal to the query's was found above, but for the host of a URL.
                if !listed.contains('/') {
                    return (self.host.as_deref() == Some(listed)).then_some(Match::Covered);
                }
                parse_net(listed).filter(|net| net.contains(&query)).map(|_| Match::Covered)
            }
            AttrType::Domain | AttrType::Hostname => {
                let host = self.host.as_deref()?;
                (host == listed || owns(listed, host)).then_some(Match::Covered)
            }
            _ => None,
        }
    }
}

/// The values a composite value is made of (see [`Query::parts`]); none for a plain type.
fn composite_parts(kind: AttrType, value: &str) -> [Option<&str>; 2] {
    if !kind.is_composite() {
        return [None, None];
    }
    match value.split_once('|') {
        Some((left, _)) if kind.has_port() => [Some(left), None],
        Some((left, right)) => [Some(left), Some(right)],
        None => [None, None],
    }
}

/// An address or network, as canonical IP values write them.
fn parse_net(text: &str) -> Option<IpNet> {
    text.parse::<IpNet>().ok().or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

/// Whether `parent` is a parent domain of `host` that owns it: neither it nor any name
/// between it and `host` is a public suffix (`duckdns.org` does not own `bad.duckdns.org`,
/// which belongs to whoever registered it). The rule of `hostname` warning lists.
fn owns(parent: &str, host: &str) -> bool {
    if host.len() <= parent.len() + 1
        || !host.ends_with(parent)
        || host.as_bytes()[host.len() - parent.len() - 1] != b'.'
    {
        return false;
    }
    let mut rest = host;
    while let Some((_, up)) = rest.split_once('.') {
        if is_public_suffix(up) {
            return false;
        }
        if up.len() == parent.len() {
            return true;
        }
        rest = up;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicator::MAX_VALUE_LEN;

    fn matched(query: (AttrType, &str), entry: (AttrType, &str)) -> Option<Match> {
        let query = Indicator::new(query.0, query.1);
        Query::new(&query).matches(&Indicator::new(entry.0, entry.1))
    }

    #[test]
    fn the_same_value_matches_exactly_whatever_the_direction() {
        let ip = (AttrType::IpDst, "198.51.100.7");
        assert_eq!(matched(ip, (AttrType::IpDst, "198.51.100.7")), Some(Match::Exact));
        assert_eq!(matched(ip, (AttrType::IpSrc, "198.51.100.7")), Some(Match::Exact));
        assert_eq!(matched(ip, (AttrType::IpDst, "198.51.100.70")), None);
        let name = (AttrType::Domain, "bad.example");
        assert_eq!(matched(name, (AttrType::Hostname, "bad.example")), Some(Match::Exact));
    }

    #[test]
    fn a_pair_holding_the_value_lists_it_as_a_part() {
        let ip = (AttrType::IpDst, "198.51.100.7");
        assert_eq!(matched(ip, (AttrType::IpDstPort, "198.51.100.7|8080")), Some(Match::Part));
        assert_eq!(
            matched(ip, (AttrType::DomainIp, "bad.example|198.51.100.7")),
            Some(Match::Part)
        );
        let md5 = (AttrType::Md5, "44d88612fea8a8f36de82e1278abb02f");
        assert_eq!(
            matched(md5, (AttrType::FilenameMd5, "eicar.com|44d88612fea8a8f36de82e1278abb02f")),
            Some(Match::Part)
        );
        // The port of a pair is no value of its own.
        let port = (AttrType::Text, "8080");
        assert_eq!(matched(port, (AttrType::IpDstPort, "198.51.100.7|8080")), None);
    }

    #[test]
    fn an_address_covers_every_port_of_it() {
        let with_port = (AttrType::IpDstPort, "198.51.100.7|8080");
        assert_eq!(matched(with_port, (AttrType::IpDst, "198.51.100.7")), Some(Match::Covered));
        assert_eq!(matched(with_port, (AttrType::IpDst, "198.51.100.0/24")), Some(Match::Covered));
        assert_eq!(matched(with_port, (AttrType::IpDstPort, "198.51.100.7|443")), None);
    }

    #[test]
    fn a_network_covers_the_addresses_and_smaller_networks_inside_it() {
        let ip = (AttrType::IpDst, "198.51.100.7");
        assert_eq!(matched(ip, (AttrType::IpDst, "198.51.100.0/24")), Some(Match::Covered));
        assert_eq!(matched(ip, (AttrType::IpSrc, "198.51.0.0/16")), Some(Match::Covered));
        assert_eq!(matched(ip, (AttrType::IpDst, "198.51.101.0/24")), None);
        let net = (AttrType::IpDst, "198.51.100.0/25");
        assert_eq!(matched(net, (AttrType::IpDst, "198.51.100.0/24")), Some(Match::Covered));
        // A network is not covered by one address inside it, nor by a smaller network.
        assert_eq!(matched(net, (AttrType::IpDst, "198.51.100.7")), None);
        assert_eq!(matched(net, (AttrType::IpDst, "198.51.100.0/26")), None);
        let v6 = (AttrType::IpDst, "2001:db8::7");
        assert_eq!(matched(v6, (AttrType::IpDst, "2001:db8::/32")), Some(Match::Covered));
        assert_eq!(matched(v6, (AttrType::IpDst, "198.51.100.0/24")), None);
    }

    #[test]
    fn a_parent_domain_that_owns_the_name_covers_it() {
        let name = (AttrType::Hostname, "a.b.bad.example");
        assert_eq!(matched(name, (AttrType::Domain, "bad.example")), Some(Match::Covered));
        assert_eq!(matched(name, (AttrType::Hostname, "b.bad.example")), Some(Match::Covered));
        assert_eq!(matched(name, (AttrType::Domain, "ad.example")), None);
        assert_eq!(matched(name, (AttrType::Domain, "a.b.bad.example.org")), None);
        // A child does not cover its parent.
        let parent = (AttrType::Domain, "bad.example");
        assert_eq!(matched(parent, (AttrType::Hostname, "www.bad.example")), None);
    }

    #[test]
    fn a_public_suffix_does_not_cover_the_names_registered_under_it() {
        assert!(is_public_suffix("duckdns.org"));
        let name = (AttrType::Hostname, "www.bad.duckdns.org");
        assert_eq!(matched(name, (AttrType::Domain, "duckdns.org")), None);
        assert_eq!(matched(name, (AttrType::Domain, "org")), None);
        assert_eq!(matched(name, (AttrType::Domain, "bad.duckdns.org")), Some(Match::Covered));
        assert!(is_public_suffix("s3.amazonaws.com"));
        let bucket = (AttrType::Hostname, "bucket.s3.amazonaws.com");
        assert_eq!(matched(bucket, (AttrType::Domain, "amazonaws.com")), None);
    }

    #[test]
    fn the_host_of_a_url_is_covered_by_its_name_or_address() {
        let url = (AttrType::Url, "http://www.bad.example:8080/gate.php");
        assert_eq!(matched(url, (AttrType::Hostname, "www.bad.example")), Some(Match::Covered));
        assert_eq!(matched(url, (AttrType::Domain, "bad.example")), Some(Match::Covered));
        assert_eq!(matched(url, (AttrType::Url, "http://www.bad.example:8080/other")), None);
        let by_address = (AttrType::Url, "http://198.51.100.7/x");
        assert_eq!(matched(by_address, (AttrType::IpDst, "198.51.100.0/24")), Some(Match::Covered));
        assert_eq!(matched(by_address, (AttrType::IpDst, "198.51.100.7")), Some(Match::Covered));
    }

    #[test]
    fn a_name_with_a_port_is_covered_by_the_name_and_its_parents() {
        let name = (AttrType::HostnamePort, "c2.bad.example|443");
        assert_eq!(matched(name, (AttrType::Hostname, "c2.bad.example")), Some(Match::Covered));
        assert_eq!(matched(name, (AttrType::Domain, "bad.example")), Some(Match::Covered));
    }

    #[test]
    fn unrelated_types_do_not_match() {
        let md5 = (AttrType::Md5, "44d88612fea8a8f36de82e1278abb02f");
        assert_eq!(
            matched(md5, (AttrType::Sha1, "3395856ce81f2b7382dee72602f798b642f14140")),
            None
        );
        let name = (AttrType::Domain, "bad.example");
        assert_eq!(matched(name, (AttrType::Url, "http://bad.example/")), None);
    }

    #[test]
    fn a_refused_value_is_quoted_escaped_and_cut() {
        let error = bad_value("a\u{1b}[31mb", RejectReason::InvalidValue);
        let text = error.to_string();
        assert!(text.contains("a\\u{1b}[31mb"), "{text}");
        assert!(!text.contains('\u{1b}'));
        let long = "a".repeat(MAX_VALUE_LEN + 10);
        let text = bad_value(&long, RejectReason::TooLong).to_string();
        assert!(text.contains(&format!("… ({} bytes)", MAX_VALUE_LEN + 10)), "{text}");
        assert!(text.len() < 400, "{text}");
        let text = bad_value("\u{202e}moc.elpmaxe", RejectReason::HiddenCharacter).to_string();
        assert!(text.contains("`\\u{202e}moc.elpmaxe`"), "{text}");
        assert!(!text.contains('\u{202e}'));
        let text = bad_value("bad\u{3164}.example", RejectReason::HiddenCharacter).to_string();
        assert!(text.contains("`bad\\u{3164}.example`"), "{text}");
    }
}

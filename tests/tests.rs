//! Integration tests: the `feedsmith` binary run on real definitions and recorded data.

// The built site in headless Chromium: the index, a feed page and the look-up page served on
// 127.0.0.1, without console errors or failed loads; the look-up answers as `feedsmith lookup`.
mod browser;
// Size budgets through a build: the best-ranked merged blocks kept, the rest in the companion
// file, the report and the task's page; names covered by a listed parent dropped.
mod budget;
// Bug cases from shared/bugcases, each through a whole build of a one-feed project.
mod bugcases;
// Builds a day apart over changing replayed data: first and last seen, scores, expiry.
mod decay_days;
// Every output of the root's tasks read by its real consumer: named-checkzone,
// unbound-checkconf, dnsmasq, nft, ipset, Python's csv and json.
mod consumers;
// `feedsmith convert`: one file to one output, checked against intervals and name sets
// computed from the input, the formats' syntax, and PyMISP.
mod convert;
// `feedsmith check` on the invalid fixtures: exit code 2 and located errors.
mod check;
// The repository's own definitions built from the recorded responses, checked against values
// computed directly from the fixture files.
mod e2e;
// Every blocklist format through a whole build: written, byte-stable, allow-list cut.
mod formats;
// Fetching from a local HTTP server: timeouts, retries, redirects, bodies, secrets, proxies.
mod fetch;
// Local feed files stay inside the repository, through symbolic links too.
mod local;
// `feedsmith lookup`: feeds, times, scores and verdicts of values from the recorded data.
mod lookup;
// MISP feeds across builds: stable UUIDs, timestamps that move only with the content,
// removed values revoked as deleted attributes, byte-identical rebuilds, PyMISP loads them.
mod misp;
// Builds killed with SIGKILL at many points leave the previous outputs and state intact.
mod kill;
// The parsed-feed cache: rebuilds of unchanged feeds parse nothing and write the same
// outputs; changed bodies and definitions, and damaged cache files, are parsed again.
mod parse_cache;
// `feedsmith plan`: two commits of definitions over replayed data, the numbers checked against
// set operations on the replayed lists; two built folders compared.
mod plan;
// Generated input: no parser panics, normalization is idempotent (proptest).
mod properties;
// `feedsmith schema`: the committed schemas are current.
#[cfg(feature = "schemars")]
mod schema;
// Task selection: what a task leaves out is counted.
mod select;
// Every real feed file of shared/feeds, read as its definition reads it, against a plain
// reading of the file.
mod real_feeds;
// What report.json and the site say: events left out by rules, escaped rejection examples,
// the feeds that list each indicator.
mod report;
// `feedsmith serve`: the built site on 127.0.0.1, and nothing outside it.
mod serve;
// Hostile names, lists and values through every page of the site, the look-up index and script.
mod site_hostile;
// The site's look-up index (rows read from the shard the hash names) and the changes page.
mod site_lookup;
// The site's decay-model pages: curves and score histograms as SVG, linked and escaped.
mod site_models;
// The site's overlap page and feed-page overlap, the task pages' chart over the builds and
// the index's health dashboard, checked against the feed files written.
mod site_overlap;
// Last good data: failing, emptied and shrunk feeds across builds.
mod stale;
// The state folder: damaged, deleted, and restored on a fresh machine from the published site.
mod state;
// Template outputs and the data exports through whole builds: first and last seen from two
// builds a day apart, a template failing on the data, templates linked from outside.
mod templates;
// A build on the same inputs as the last keeps its outputs; any changed input, state or
// output folder, or `--force`, makes a full build.
mod unchanged;
// Shared helpers: copying a project, running the binary, reading outputs.
mod util;
// Warning lists through a whole build: removals per list in the outputs, report and site.
mod warninglists;
// The GitHub Actions workflows: actionlint and ShellCheck find nothing, every action is pinned
// to a commit SHA, every job's permissions are declared.
mod workflows;

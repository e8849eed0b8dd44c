//! feedsmith turns threat-intelligence feeds into blocklists, a MISP feed and a static site,
//! driven by definition files kept in git.
//!
//! The library holds the whole pipeline and no terminal code; the `feedsmith` binary parses
//! arguments, prints and chooses the exit code. The stages, in the order a build runs them:
//!
//! - [`config`] loads `feedsmith.toml`, `feeds.d/`, `decay.d/` and `tasks.d/` and validates
//!   them, collecting every located problem before it fails.
//! - [`fetch`] gets each enabled feed's bytes: over http(s) with bounded concurrency, from a
//!   local path, from the cache (`--offline`) or from a folder of recorded responses
//!   (`--replay`). Raw responses are kept in the cache.
//! - [`parse`] reads a body in its format (free text, CSV, JSON, MISP feed) into records, counting
//!   every line it skips and every value it rejects, with a reason.
//! - [`indicator`] gives each value its MISP attribute type and the canonical form MISP stores.
//! - [`filter`] holds the warning lists (MISP's format) that keep known-good values, such as
//!   public resolvers, special-use ranges and popular domains, out of the outputs.
//! - [`ledger`] remembers when each feed first and last listed each indicator, across builds.
//! - [`decay`] scores indicators with MISP's decay models, to the decimal.
//! - [`export`] writes the outputs: blocklists, MISP feed folders, the site and the report.
//! - [`build`] runs the stages in order and returns what happened, as plain values;
//!   [`build::lookup`] runs the same stages for one value, writing nothing, and says what a
//!   build would do with it and why.
//! - [`convert`] is the one-file path: one feed body parsed and written in one output
//!   format, with no project, state or site, for the place of `iprange` or a host-list
//!   compiler in a pipeline.
//! - [`plan`] builds two versions of the definitions from the same data and says what the
//!   change does to every output, for a pull request.

pub mod build;
pub mod config;
pub mod convert;
pub mod decay;
pub mod export;
pub mod fetch;
pub mod filter;
pub mod fs;
pub mod history;
pub mod indicator;
pub mod ledger;
pub mod parse;
pub mod plan;
pub mod report;
pub mod serve;
pub mod text;

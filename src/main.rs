//! The `feedsmith` command line: arguments, terminal output, progress and exit codes.
//!
//! Everything else lives in the library; this file only turns its results into text and an
//! [`ExitStatus`].

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use feedsmith::build::{self, BuildOptions, FetchMode, Reporter};
use feedsmith::config;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tracing_subscriber::EnvFilter;

/// mimalloc rather than the system allocator: a build makes and frees tens of millions of
/// small values on every thread, and glibc's allocator took a tenth of its time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Builds blocklists, a MISP feed and a static site from threat-intelligence feeds.
#[derive(Debug, Parser)]
#[command(name = "feedsmith", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct GlobalArgs {
    /// The feedsmith repository (holding feedsmith.toml, feeds.d/, decay.d/, tasks.d/).
    #[arg(long, global = true, default_value = ".", value_name = "DIR")]
    root: PathBuf,
    /// More log output (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Less log output (-q: warnings and errors only, -qq: errors only).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "verbose")]
    quiet: u8,
    /// Never show a progress bar.
    #[arg(long, global = true)]
    no_progress: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fetch every enabled feed and write the outputs, the site and `report.json`.
    Build(BuildArgs),
    /// Load and validate every definition; print each problem with its file, line and column
    /// (and, inside GitHub Actions, an annotation for each problem and warning).
    Check,
    /// Which enabled feeds list a value, and what each task does with it and why, from the
    /// cached data of the last build; nothing is written.
    Lookup(LookupArgs),
    /// Serve the built site on 127.0.0.1 for a preview (the look-up page needs HTTP).
    Serve(ServeArgs),
    /// What a change to the definitions does to every output: both versions built from the
    /// cache of the last build (or recorded responses), never the network; Markdown for a
    /// pull request, or JSON.
    Plan(PlanArgs),
    /// Convert one feed file (free text, CSV or JSON) into one output: a blocklist in any
    /// format, or a MISP feed folder. No project, no state, no site: every accepted value of
    /// the kept types is written, and every line that gave none is counted on stderr.
    Convert(Box<ConvertArgs>),
    /// Write the JSON Schema of each kind of definition file (`feedsmith.toml`, feeds, tasks,
    /// decay models, warning lists), for editors to complete and check definitions with.
    #[cfg(feature = "schemars")]
    Schema(SchemaArgs),
}

#[cfg(feature = "schemars")]
#[derive(Debug, Args)]
struct SchemaArgs {
    /// The folder the schemas are written to, created if missing (default: `schema/` in the
    /// repository, where the editor settings of the README look for them).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ConvertArgs {
    /// The input file, or `-` for standard input.
    #[arg(value_name = "INPUT", allow_hyphen_values = true)]
    input: PathBuf,
    /// The input's format: `freetext` (MISP's free-text import, `#`, `;` and `//` comments
    /// skipped), `csv` or `json`.
    #[arg(long, default_value = "freetext", value_parser = feed_format)]
    from: feedsmith::config::FeedFormat,
    /// The output format, named as in a task's `[[outputs]]`: `cidr-ipv4`, `hosts`,
    /// `adblock`, `misp-feed`, `plain`…
    #[arg(long, value_parser = output_format)]
    to: feedsmith::config::OutputFormat,
    /// The output file (a folder for `misp-feed`), replaced whole (default: standard output).
    #[arg(short, long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Keep only these MISP attribute types (repeatable or comma-separated; default: every
    /// type). `ip-dst` alone also takes the address of `ip-dst|port` values.
    #[arg(long = "type", value_name = "TYPE", value_delimiter = ',', value_parser = attr_type)]
    types: Vec<feedsmith::indicator::AttrType>,
    /// The time in the output's header, and the reference time of values that carry none,
    /// RFC 3339 (default: now).
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
    /// The list's name in the output's header (default: `feedsmith convert of <input>`).
    #[arg(long)]
    name: Option<String>,
    /// Free text: read comment lines as data, as MISP does.
    #[arg(long)]
    keep_comments: bool,
    /// Free text: refuse zero-padded IPv4 octets instead of reading them as decimal.
    #[arg(long)]
    strict_zero_padded: bool,
    /// CSV: the field separator (default: `,`).
    #[arg(long, value_name = "TEXT")]
    delimiter: Option<String>,
    /// CSV: a column holding values, 1-based or a header name (repeatable; default: every
    /// column).
    #[arg(long = "column", value_name = "N|NAME")]
    columns: Vec<String>,
    /// CSV: read the column names from a header row.
    #[arg(long)]
    header: bool,
    /// CSV: the column holding each row's type; JSON: the field (default: types detected).
    #[arg(long, value_name = "N|NAME")]
    type_column: Option<String>,
    /// JSON: the path to the records (default: the document itself).
    #[arg(long, value_name = "PATH")]
    records: Option<String>,
    /// JSON: the field holding the value (default: `value`).
    #[arg(long, value_name = "FIELD")]
    value_field: Option<String>,
    /// `rpz`: the zone's name (default: `convert.rpz`).
    #[arg(long)]
    zone: Option<String>,
    /// `nftables`, `ipset`: the sets' base name (default: `convert`).
    #[arg(long)]
    set_name: Option<String>,
    /// `panos-edl`, `fortigate`: what the list holds: `ip`, `domain`, `url`, `hash`
    /// (default: `ip`).
    #[arg(long, value_parser = list_type)]
    list: Option<feedsmith::config::ListType>,
    /// `misp-feed`: the event's info (default: the list's name).
    #[arg(long)]
    event_info: Option<String>,
    /// `misp-feed`: the creator organisation (default: `feedsmith`).
    #[arg(long)]
    org_name: Option<String>,
    /// `misp-feed`: the threat level, 1 (high) to 4 (undefined) (default: 4).
    #[arg(long)]
    threat_level: Option<u8>,
    /// `misp-feed`: the event's TLP tag (default: `tlp:clear`).
    #[arg(long)]
    tlp: Option<String>,
    /// `misp-feed`: the event's distribution, 0 to 3 (default: none written).
    #[arg(long)]
    distribution: Option<u8>,
}

/// A feed format by its name in definition files.
fn feed_format(name: &str) -> Result<feedsmith::config::FeedFormat, String> {
    use feedsmith::config::FeedFormat;
    [FeedFormat::Freetext, FeedFormat::Csv, FeedFormat::Json]
        .into_iter()
        .find(|f| f.as_str() == name)
        .ok_or_else(|| "one of freetext, csv, json".to_owned())
}

/// An output format by its name in definition files.
fn output_format(name: &str) -> Result<feedsmith::config::OutputFormat, String> {
    use feedsmith::config::OutputFormat;
    OutputFormat::ALL.iter().copied().find(|f| f.as_str() == name).ok_or_else(|| {
        let names: Vec<&str> = OutputFormat::ALL.iter().map(|f| f.as_str()).collect();
        format!("one of {}", names.join(", "))
    })
}

/// A MISP attribute type by its name.
fn attr_type(name: &str) -> Result<feedsmith::indicator::AttrType, String> {
    feedsmith::indicator::AttrType::from_name(name)
        .ok_or_else(|| "a MISP attribute type such as ip-dst, domain, url, sha256".to_owned())
}

/// A `panos-edl` or `fortigate` list type by its name.
fn list_type(name: &str) -> Result<feedsmith::config::ListType, String> {
    use feedsmith::config::ListType;
    [ListType::Ip, ListType::Domain, ListType::Url, ListType::Hash]
        .into_iter()
        .find(|l| l.as_str() == name)
        .ok_or_else(|| "one of ip, domain, url, hash".to_owned())
}

#[derive(Debug, Args)]
struct PlanArgs {
    /// The git revision whose definitions the working tree's are compared with
    /// (`origin/main`, a commit).
    #[arg(long, value_name = "GIT-REF", required_unless_present = "compare")]
    base: Option<String>,
    /// Compare two built output folders instead (the earlier, then the later).
    #[arg(long, num_args = 2, value_names = ["BEFORE", "AFTER"], conflicts_with = "base")]
    compare: Option<Vec<PathBuf>>,
    /// Print the plan as JSON (its shape is documented in the README).
    #[arg(long)]
    json: bool,
    /// Read the feeds from a folder of recorded responses instead of the cache.
    #[arg(long, value_name = "DIR")]
    replay: Option<PathBuf>,
    /// The reference time of both builds, RFC 3339 (default: now).
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// The port on 127.0.0.1; 0 takes any free one.
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// The built site (default: the project's `output_dir`, normally `site/`).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct LookupArgs {
    /// The value: an address, network, domain, URL, hash… (defanged spellings are read).
    #[arg(value_name = "VALUE", allow_hyphen_values = true)]
    value: std::ffi::OsString,
    /// Print the answer as JSON (its shape is documented in the README).
    #[arg(long)]
    json: bool,
    /// The time the scores are computed at, RFC 3339 (default: now).
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
    /// Read the feeds from a folder of recorded responses (its index.toml) instead of the
    /// cache.
    #[arg(long, value_name = "DIR")]
    replay: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct BuildArgs {
    /// Output folder (default: the project's `output_dir`, normally `site/`).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Reference time for decay and file headers, RFC 3339 (default: now).
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
    /// Use cached responses only; no network.
    #[arg(long, conflicts_with = "replay")]
    offline: bool,
    /// Answer every request from a folder of recorded responses (its index.toml); no network.
    #[arg(long, value_name = "DIR")]
    replay: Option<PathBuf>,
    /// Where the last build published its state (the site's URL, or a folder holding the
    /// built site): a missing or damaged state file is recovered from there. Read over the
    /// network even with `--offline` or `--replay`.
    #[arg(long, value_name = "URL|DIR")]
    state_from: Option<String>,
    /// Build in full even when nothing changed since the last build (by default a build on
    /// the same data, definitions, program and `--now` as the last one keeps its outputs).
    #[arg(long)]
    force: bool,
}

/// How the process ends. The numbers are part of feedsmith's interface (README, "Exit codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExitStatus {
    /// The command did what was asked; after a build, every feed was read; after a look-up,
    /// at least one enabled feed lists the value.
    Success,
    /// An unexpected or I/O error stopped the command (an output not writable, say).
    Error,
    /// The definitions are invalid; nothing was built.
    InvalidConfig,
    /// Outputs were written, but some feeds failed or are served from their last good data,
    /// or a template output failed on the data and kept its previous file; the report and the
    /// site say which and why.
    FeedsFailed,
    /// `lookup`: no enabled feed lists the value (1, as `grep` says "no match").
    NotListed,
    /// `lookup`: the value is not an indicator, the definitions are invalid, or the look-up
    /// could not run (2, as `grep` says "trouble", so that 1 only ever means "not listed").
    LookupFailed,
}

impl ExitStatus {
    /// The process exit code.
    const fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Error | ExitStatus::NotListed => 1,
            ExitStatus::InvalidConfig | ExitStatus::LookupFailed => 2,
            ExitStatus::FeedsFailed => 3,
        }
    }
}

/// Whether the command line asks for `lookup`, for the exit code of an error that stops it
/// before its arguments are parsed.
fn is_lookup(args: impl IntoIterator<Item = std::ffi::OsString>) -> bool {
    args.into_iter().skip(1).any(|arg| arg == "lookup")
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // Help and version go to stdout with 0; a usage error is exit code 1, keeping 2
            // for invalid definitions, which CI must tell apart.
            // `lookup` keeps 1 for "not listed".
            let _ = error.print();
            let failed = if is_lookup(std::env::args_os()) {
                ExitStatus::LookupFailed
            } else {
                ExitStatus::Error
            };
            return ExitCode::from(if error.use_stderr() { failed.code() } else { 0 });
        }
    };
    let lookup = matches!(cli.command, Command::Lookup(_));
    // A look-up's answer is its output: warnings only unless `-v` asks. A conversion's
    // summary says what its warnings would (the values a format left out): errors only.
    let default_level = match cli.command {
        Command::Lookup(_) | Command::Plan(_) => "warn",
        Command::Convert(_) => "error",
        _ => "info",
    };
    init_logging(&cli.global, default_level);
    let status = match run(&cli) {
        Ok(status) => status,
        Err(error) => {
            printer::error(&error);
            if lookup { ExitStatus::LookupFailed } else { ExitStatus::Error }
        }
    };
    ExitCode::from(status.code())
}

/// Sets up the log on stderr, at `default_level` unless `-v` or `-q` asks otherwise.
fn init_logging(global: &GlobalArgs, default_level: &str) {
    let level = match (global.verbose, global.quiet) {
        (0, 0) => default_level,
        (1, _) => "debug",
        (v, _) if v >= 2 => "trace",
        (_, 1) => "warn",
        _ => "error",
    };
    let from_env = EnvFilter::try_from_env("FEEDSMITH_LOG").ok();
    // A log asked for in detail says when each line came, in seconds since the start: the
    // stage times of a long build, read off the log.
    let timed = from_env.is_some() || global.verbose > 0;
    let filter = from_env.unwrap_or_else(|| EnvFilter::new(format!("feedsmith={level},warn")));
    let log = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| LogWriter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    if timed {
        log.with_timer(tracing_subscriber::fmt::time::uptime()).init();
    } else {
        log.without_time().init();
    }
}

/// Standard error for log lines, where a failed write is dropped: a build whose log reader
/// went away (`feedsmith build 2>&1 | head`) must still write its outputs and state. The
/// logger's own fallback for a failed write is `eprint!`, which panics on a closed stream.
struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

fn run(cli: &Cli) -> anyhow::Result<ExitStatus> {
    // The schemas do not depend on the definitions, which may be the broken files an editor
    // is to help with.
    #[cfg(feature = "schemars")]
    if let Command::Schema(args) = &cli.command {
        return schema_command(&cli.global.root, args);
    }
    // A conversion reads one file and needs no repository.
    if let Command::Convert(args) = &cli.command {
        return convert_command(args);
    }
    let root = repository_root(&cli.global.root)?;
    // Only `check` annotates: the standard output of `plan` becomes a pull-request comment.
    let annotate = matches!(cli.command, Command::Check) && github::in_actions();
    let project = match config::load(&root) {
        Ok(project) => project,
        Err(errors) => {
            printer::diagnostics(&errors.diagnostics);
            if annotate {
                printer::annotations(&root, &errors.diagnostics, &errors.warnings);
            }
            return Ok(ExitStatus::InvalidConfig);
        }
    };
    match &cli.command {
        #[cfg(feature = "schemars")]
        Command::Schema(_) => unreachable!("`schema` returned above"),
        Command::Convert(_) => unreachable!("`convert` returned above"),
        Command::Check => {
            if annotate {
                printer::annotations(&root, &[], &project.warnings);
            }
            let enabled = project.enabled_feeds().count();
            printer::out(&format!(
                "Definitions are valid: {} feeds ({enabled} enabled), {} decay models, {} tasks, \
                 {} warning lists.",
                project.feeds.len(),
                project.models.len(),
                project.tasks.len(),
                project.warninglists.len()
            ));
            Ok(ExitStatus::Success)
        }
        Command::Build(args) => build_command(&cli.global, &project, args),
        Command::Lookup(args) => lookup_command(&project, args),
        Command::Plan(args) => plan_command(&root, &project, args),
        Command::Serve(args) => {
            let dir = args.dir.clone().unwrap_or_else(|| project.settings.output_dir.clone());
            let preview = feedsmith::serve::Preview::bind(&dir, args.port)?;
            printer::out(&format!(
                "Serving {} at {} (Ctrl-C stops it)",
                dir.display(),
                preview.url()
            ));
            preview.run();
            Ok(ExitStatus::Success)
        }
    }
}

/// The feedsmith repository `--root` names, absolute; a folder holding none of its files or
/// folders is refused: a nightly job started in the wrong folder must not publish an empty
/// site.
fn repository_root(root: &std::path::Path) -> anyhow::Result<PathBuf> {
    let absolute = root
        .canonicalize()
        .with_context(|| format!("cannot open the repository folder {}", root.display()))?;
    let is_repository = ["feedsmith.toml", "feeds.d", "decay.d", "tasks.d"]
        .iter()
        .any(|name| absolute.join(name).exists());
    if !is_repository {
        anyhow::bail!(
            "{} is not a feedsmith repository: it has no feedsmith.toml, feeds.d/, decay.d/ or tasks.d/ (use --root DIR)",
            absolute.display()
        );
    }
    Ok(absolute)
}

/// Writes every schema into `--out`, or `schema/` of the repository, and names each file.
#[cfg(feature = "schemars")]
fn schema_command(root: &std::path::Path, args: &SchemaArgs) -> anyhow::Result<ExitStatus> {
    use feedsmith::config::schema;

    let dir = match &args.out {
        Some(dir) => dir.clone(),
        None => repository_root(root)?.join(schema::SCHEMA_DIR),
    };
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the folder {}", dir.display()))?;
    for file in schema::schemas() {
        let path = dir.join(file.file_name);
        std::fs::write(&path, &file.text)
            .with_context(|| format!("cannot write {}", path.display()))?;
        printer::out(&format!("{} (for {})", path.display(), file.applies_to));
    }
    Ok(ExitStatus::Success)
}

/// The time `--now` names, or the clock.
fn parse_now(now: Option<&str>) -> anyhow::Result<i64> {
    match now {
        Some(text) => {
            Ok(time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .with_context(|| {
                    format!(
                        "`--now {}` is not an RFC 3339 time such as 2026-08-23T00:00:00Z",
                        feedsmith::text::shown(text, 80)
                    )
                })?
                .unix_timestamp())
        }
        None => Ok(time::OffsetDateTime::now_utc().unix_timestamp()),
    }
}

fn convert_command(args: &ConvertArgs) -> anyhow::Result<ExitStatus> {
    use feedsmith::config::{Column, CsvOptions, FreetextOptions, JsonOptions};
    use feedsmith::convert::{self, ConvertOptions, Destination, MispSettings, Source};

    let column = |text: &String| match text.parse::<usize>() {
        Ok(number) => Column::Number(number),
        Err(_) => Column::Name(text.clone()),
    };
    let mut csv = CsvOptions { header: args.header, ..CsvOptions::default() };
    if let Some(delimiter) = &args.delimiter {
        csv.delimiter.clone_from(delimiter);
    }
    csv.value_columns = args.columns.iter().map(column).collect();
    csv.type_column = args.type_column.as_ref().map(column);
    let mut json = JsonOptions { records: args.records.clone(), ..JsonOptions::default() };
    if let Some(field) = &args.value_field {
        json.value_field.clone_from(field);
    }
    json.type_field.clone_from(&args.type_column);
    let options = ConvertOptions {
        from: args.from,
        freetext: FreetextOptions {
            skip_comments: !args.keep_comments,
            strict_zero_padded: args.strict_zero_padded,
            ..FreetextOptions::default()
        },
        csv,
        json,
        types: args.types.clone(),
        to: args.to,
        destination: args.output.clone().map_or(Destination::Stdout, Destination::Path),
        name: args.name.clone(),
        now: parse_now(args.now.as_deref())?,
        zone: args.zone.clone(),
        set_name: args.set_name.clone(),
        list: args.list,
        misp: MispSettings {
            event_info: args.event_info.clone(),
            org_name: args.org_name.clone(),
            threat_level: args.threat_level,
            tlp: args.tlp.clone(),
            distribution: args.distribution,
        },
    };
    let source = if args.input.as_os_str() == "-" {
        Source::Stdin
    } else {
        Source::Path(args.input.clone())
    };
    let body = convert::read_input(&source)?;
    let converted = convert::convert(&body, &source, &options, &mut printer::stdout())?;
    for line in converted.summary() {
        printer::note(&line);
    }
    Ok(ExitStatus::Success)
}

fn plan_command(
    root: &std::path::Path,
    project: &config::Project,
    args: &PlanArgs,
) -> anyhow::Result<ExitStatus> {
    let plan = match (&args.base, &args.compare) {
        (_, Some(folders)) => {
            let [before, after] = folders.as_slice() else {
                anyhow::bail!("--compare takes two folders: BEFORE AFTER");
            };
            feedsmith::plan::plan_sites(before, after, Some(project))?
        }
        (Some(base), None) => {
            let fetch =
                match &args.replay {
                    Some(dir) => FetchMode::Replay(dir.canonicalize().with_context(|| {
                        format!("cannot open the replay folder {}", dir.display())
                    })?),
                    None => FetchMode::Offline,
                };
            let options = feedsmith::plan::PlanOptions {
                base: base.clone(),
                fetch,
                now: parse_now(args.now.as_deref())?,
            };
            feedsmith::plan::plan_git(root, &options)?
        }
        (None, None) => anyhow::bail!("give --base GIT-REF or --compare BEFORE AFTER"),
    };
    if args.json {
        printer::out(&serde_json::to_string_pretty(&plan)?);
    } else {
        printer::out(plan.to_markdown().trim_end());
    }
    Ok(ExitStatus::Success)
}

fn lookup_command(project: &config::Project, args: &LookupArgs) -> anyhow::Result<ExitStatus> {
    let now = parse_now(args.now.as_deref())?;
    let Some(value) = args.value.to_str() else {
        let shown = feedsmith::text::shown(&args.value.to_string_lossy(), 120);
        anyhow::bail!("`{shown}` is not a value feedsmith can look up: it is not UTF-8 text");
    };
    let replay = match &args.replay {
        Some(dir) => Some(
            dir.canonicalize()
                .with_context(|| format!("cannot open the replay folder {}", dir.display()))?,
        ),
        None => None,
    };
    let options = build::LookupOptions { now, replay };
    let found = match build::lookup(project, value, &options) {
        Ok(found) => found,
        // A refused value is the whole message; anything else is the look-up's failure.
        Err(error @ build::LookupError::BadValue { .. }) => {
            // A script reading `--json` gets an answer to read, with the same message.
            if args.json {
                let answer = serde_json::json!({
                    "version": 1,
                    "query": feedsmith::text::shown(value, 120),
                    "error": error.to_string(),
                });
                printer::out(&serde_json::to_string_pretty(&answer)?);
            }
            return Err(error.into());
        }
        Err(error) => return Err(anyhow::Error::new(error).context("the look-up failed")),
    };
    if args.json {
        printer::out(&serde_json::to_string_pretty(&found)?);
    } else {
        printer::out(lookup_text::render(&found).trim_end());
    }
    if found.listed {
        return Ok(ExitStatus::Success);
    }
    let enabled = project.enabled_feeds().count();
    if !found.unread.is_empty() && found.unread.len() == enabled {
        // Not a "not listed": nothing was read that could have listed it.
        tracing::error!(
            "None of the {enabled} enabled feeds could be read (nothing cached yet? run a build, or give --replay): the look-up cannot tell whether the value is listed"
        );
        return Ok(ExitStatus::LookupFailed);
    }
    if !found.unread.is_empty() {
        tracing::warn!(
            unread = found.unread.len(),
            "Some enabled feeds could not be read and may list the value"
        );
    }
    Ok(ExitStatus::NotListed)
}

fn build_command(
    global: &GlobalArgs,
    project: &config::Project,
    args: &BuildArgs,
) -> anyhow::Result<ExitStatus> {
    let now = parse_now(args.now.as_deref())?;
    let fetch = match (&args.replay, args.offline) {
        (Some(dir), _) => FetchMode::Replay(
            dir.canonicalize()
                .with_context(|| format!("cannot open the replay folder {}", dir.display()))?,
        ),
        (None, true) => FetchMode::Offline,
        (None, false) => FetchMode::Online,
    };
    let state_from = match args.state_from.as_deref().map(build::StateSource::parse) {
        Some(Err(why)) => anyhow::bail!(why),
        Some(Ok(source)) => Some(source),
        None => None,
    };
    let options =
        BuildOptions { now, fetch, output_dir: args.out.clone(), state_from, force: args.force };
    let show_progress =
        !global.no_progress && global.verbose == 0 && std::io::stderr().is_terminal();
    let progress = Progress::new(show_progress);
    let started = std::time::Instant::now();
    let outcome = build::run(project, &options, &progress).context("the build failed")?;
    progress.finish();

    let summary = &outcome.summary;
    let unchanged = if outcome.unchanged {
        format!(" (unchanged since the build at {}: nothing changed)", summary.now)
    } else {
        String::new()
    };
    printer::out(&format!(
        "Built {} in {:.1}s{unchanged}: {} feeds ({} ok, {} empty, {} failed, {} on last good data), {} tasks, {} outputs.",
        outcome.output_dir.display(),
        started.elapsed().as_secs_f64(),
        summary.feeds,
        summary.ok,
        summary.empty,
        summary.failed,
        summary.stale,
        summary.tasks,
        summary.outputs,
    ));
    for problem in &summary.problems {
        printer::out(&format!("  {problem}"));
    }
    if summary.failed > 0 || summary.stale > 0 || summary.failed_outputs > 0 {
        return Ok(ExitStatus::FeedsFailed);
    }
    Ok(ExitStatus::Success)
}

/// Progress bars on stderr, hidden when they would get in the way: one for the feeds done,
/// and one per feed in flight with the bytes received so far.
struct Progress {
    bars: Option<Bars>,
}

/// A feed being fetched: its bar and the fetcher's count of bytes received.
struct InFlight {
    id: String,
    bar: ProgressBar,
    received: Arc<AtomicU64>,
}

struct Bars {
    multi: MultiProgress,
    total: ProgressBar,
    in_flight: Arc<Mutex<Vec<InFlight>>>,
    stop: Arc<AtomicBool>,
    ticker: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Progress {
    fn new(show: bool) -> Progress {
        let bars = show.then(|| {
            let multi = MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr());
            let total = multi.add(ProgressBar::new(0));
            total.set_style(
                ProgressStyle::with_template("{spinner} {prefix} {pos}/{len} feeds {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            total.set_prefix("fetching");
            Bars {
                multi,
                total,
                in_flight: Arc::default(),
                stop: Arc::default(),
                ticker: Mutex::new(None),
            }
        });
        Progress { bars }
    }

    fn finish(&self) {
        if let Some(bars) = &self.bars {
            bars.stop.store(true, Ordering::Relaxed);
            if let Some(ticker) = bars.ticker.lock().ok().and_then(|mut t| t.take()) {
                let _ = ticker.join();
            }
            bars.total.finish_and_clear();
            let _ = bars.multi.clear();
        }
    }
}

impl Reporter for Progress {
    fn fetching(&self, total: usize) {
        let Some(bars) = &self.bars else { return };
        bars.total.set_length(total as u64);
        // The fetcher counts bytes as they arrive; a ticker copies the counts to the bars.
        let in_flight = Arc::clone(&bars.in_flight);
        let stop = Arc::clone(&bars.stop);
        let handle = std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(list) = in_flight.lock() {
                    for feed in list.iter() {
                        feed.bar.set_position(feed.received.load(Ordering::Relaxed));
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        });
        if let Ok(mut ticker) = bars.ticker.lock() {
            *ticker = Some(handle);
        }
    }

    fn feed_started(&self, id: &str, received: Arc<AtomicU64>) {
        let Some(bars) = &self.bars else { return };
        let bar = bars.multi.add(ProgressBar::no_length());
        bar.set_style(
            ProgressStyle::with_template("  {prefix:30!} {bytes:>10} {binary_bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(id.to_owned());
        if let Ok(mut list) = bars.in_flight.lock() {
            list.push(InFlight { id: id.to_owned(), bar, received });
        }
    }

    fn feed_fetched(&self, id: &str) {
        let Some(bars) = &self.bars else { return };
        bars.total.inc(1);
        if let Ok(mut list) = bars.in_flight.lock()
            && let Some(position) = list.iter().position(|feed| feed.id == id)
        {
            let done = list.remove(position);
            done.bar.finish_and_clear();
            bars.multi.remove(&done.bar);
        }
    }

    fn stage(&self, name: &str) {
        if let Some(bars) = &self.bars {
            bars.total.set_prefix(name.to_owned());
        }
    }
}

/// A look-up as text for people; `--json` prints the same data for scripts.
mod lookup_text {
    use std::fmt::Write as _;

    use feedsmith::build::{Lookup, Match, Scoring, TaskVerdict, TypedValue, Verdict};
    use feedsmith::text::{WHOLE, shown};

    /// Feed text (values, tags, names) as the terminal shows it: control characters escaped.
    fn safe(text: &str) -> String {
        shown(text, WHOLE)
    }

    fn typed(value: &TypedValue) -> String {
        format!("{} {}", value.kind, safe(&value.value))
    }

    /// The whole answer, one section per question.
    pub(super) fn render(found: &Lookup) -> String {
        let mut out = String::new();
        let changes = if found.normalized.is_empty() {
            String::new()
        } else {
            format!(" (normalized: {})", found.normalized.join(", "))
        };
        let _ = writeln!(out, "{}: {}{changes}", found.query, typed(&found.indicator));
        let _ = writeln!(out, "Scores at {}.", found.now);

        let _ = writeln!(out);
        match found.feeds.len() {
            0 => {
                let _ = writeln!(out, "Listed by no enabled feed.");
            }
            n => {
                let feeds: std::collections::BTreeSet<&str> =
                    found.feeds.iter().map(|l| l.feed.as_str()).collect();
                let plural = if feeds.len() == 1 { "" } else { "s" };
                let entries =
                    if n == feeds.len() { String::new() } else { format!(", {n} entries") };
                let _ = writeln!(out, "Listed by {} feed{plural}{entries}:", feeds.len());
            }
        }
        for listing in &found.feeds {
            let how = match listing.matched {
                Match::Exact => "the value itself".to_owned(),
                Match::Part => "holds the value".to_owned(),
                Match::Covered => "which covers the value".to_owned(),
            };
            let _ = writeln!(
                out,
                "  {} ({}): {}, {how}",
                listing.feed,
                safe(&listing.name),
                typed(&listing.entry)
            );
            let _ = writeln!(
                out,
                "      first seen {}, last seen {}{}",
                listing.first_seen.as_deref().unwrap_or("never recorded"),
                listing.last_seen.as_deref().unwrap_or("never recorded"),
                if listing.stale { "; from its last good data (the feed is failing)" } else { "" }
            );
            if let Some(time) = &listing.record_last_seen {
                let _ = writeln!(out, "      the feed says last seen {time}");
            }
            if let Some(time) = &listing.record_timestamp {
                let _ = writeln!(out, "      the feed says changed {time}");
            }
            for (label, tags) in [("tags", &listing.tags), ("event tags", &listing.event_tags)] {
                if !tags.is_empty() {
                    let tags: Vec<String> = tags.iter().map(|t| safe(t)).collect();
                    let _ = writeln!(out, "      {label}: {}", tags.join(", "));
                }
            }
        }

        if !found.tasks.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(out, "Tasks:");
            for task in &found.tasks {
                task_text(&mut out, task);
            }
        } else if found.listed {
            let _ = writeln!(out);
            let _ = writeln!(out, "No task takes it (none reads those feeds for that type).");
        }

        let _ = writeln!(out);
        if found.warninglists.is_empty() {
            let _ = writeln!(out, "Warning lists matching the value: none.");
        } else {
            let _ = writeln!(out, "Warning lists matching the value:");
            for list in &found.warninglists {
                let applied = if list.tasks.is_empty() {
                    "applied by no task".to_owned()
                } else {
                    format!("applied by {}", list.tasks.join(", "))
                };
                let _ = writeln!(
                    out,
                    "  {} ({}, {}): {applied}",
                    list.id,
                    safe(&list.name),
                    list.kind.as_str()
                );
            }
        }

        if !found.unread.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(out, "Not read (no data for this look-up; they may list the value):");
            for unread in &found.unread {
                let _ = writeln!(out, "  {}: {}", unread.feed, safe(&unread.reason));
            }
        }
        for note in &found.notes {
            let _ = writeln!(out, "note: {}", safe(note));
        }
        out
    }

    fn task_text(out: &mut String, task: &TaskVerdict) {
        let verdict = match task.verdict {
            Verdict::Selected => "selected".to_owned(),
            Verdict::Expired => "left out, expired".to_owned(),
            Verdict::Unscored => {
                "left out, no model scores the type (keep_unscored = false)".to_owned()
            }
            Verdict::Warninglisted => {
                format!("left out by warning list {}", task.warninglists.join(", "))
            }
            Verdict::Reserved => "left out, a special-purpose range (exclude_reserved)".to_owned(),
            Verdict::OtherIpVersion => "left out, the other IP version (ip_version)".to_owned(),
        };
        let score = match (task.score, task.min_score, task.min_score_from) {
            (Some(score), Some(min), Some(from)) => {
                let from =
                    if from == "task" { "the task's min_score" } else { "the model's threshold" };
                format!("; score {score}, minimum {min} ({from})")
            }
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  {} ({}): {}: {verdict}{score}",
            task.task,
            safe(&task.name),
            typed(&task.indicator)
        );
        match &task.model {
            Some(model) => {
                let chosen = if model.chosen_by == "task" {
                    "named by the task".to_owned()
                } else {
                    format!("auto: the first model covering {}", task.indicator.kind)
                };
                let _ = writeln!(
                    out,
                    "    model {} ({}; {chosen}): lifetime {} days, decay speed {}, threshold {}",
                    model.id,
                    safe(&model.name),
                    model.lifetime_days,
                    model.decay_speed,
                    model.threshold
                );
            }
            None => {
                let _ = writeln!(out, "    no model covers {}: unscored", task.indicator.kind);
            }
        }
        for feed in &task.feeds {
            let _ = writeln!(out, "    {}: {}", feed.feed, typed(&feed.entry));
            if let Some(scoring) = &feed.scoring {
                scoring_text(out, scoring);
            }
        }
    }

    fn scoring_text(out: &mut String, s: &Scoring) {
        let base = match s.base_score_from {
            "tags" => {
                let terms: Vec<String> = s
                    .tags
                    .iter()
                    .map(|t| {
                        format!(
                            "{} ({}) {} × {}",
                            safe(&t.tag),
                            t.source,
                            t.numerical_value,
                            t.ratio
                        )
                    })
                    .collect();
                format!("from tags: {}", terms.join(" + "))
            }
            "feed" => "the feed's base_score (no tag counts)".to_owned(),
            _ => "the model's default_base_score (no tag counts)".to_owned(),
        };
        let _ = writeln!(out, "      base score {}: {base}", s.base_score);
        let from = match s.reference_from {
            "last_seen" => "the feed's last_seen",
            "timestamp" => "the feed's timestamp",
            "ledger" => "the ledger: the last build that saw it in the feed",
            _ => "the build time: no time known",
        };
        let capped =
            if s.reference_capped { ", after the build time, so counted as it" } else { "" };
        let _ = writeln!(out, "      reference time {}: {from}{capped}", s.reference_time);
        let decayed = if s.decayed { "decayed" } else { "not decayed" };
        let expires = s
            .expires
            .as_deref()
            .map_or_else(|| "never expires".to_owned(), |at| format!("decayed for good from {at}"));
        let _ = writeln!(
            out,
            "      score {}, threshold {}: {decayed}; {expires}",
            s.score, s.threshold
        );
    }
}

/// The only place that writes to stdout and stderr.
mod printer {
    use feedsmith::config::Diagnostic;
    use std::io::Write as _;
    use std::path::Path;

    use super::github::Level;

    /// A line of normal output on stdout. A closed stdout (`feedsmith check | head -0`) is
    /// not an error of the command: the line is dropped, as `println!` would panic.
    pub(super) fn out(line: &str) {
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }

    /// The standard output for a command's data (a converted list), buffered; a closed
    /// stream fails the write, which the command reports.
    pub(super) fn stdout() -> std::io::BufWriter<std::io::StdoutLock<'static>> {
        std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock())
    }

    /// A line of a command's summary on stderr, where it does not mix with the data on
    /// stdout.
    pub(super) fn note(line: &str) {
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }

    /// An error on stderr, then each cause on its own line. A cause whose text the line
    /// above already holds is not repeated.
    pub(super) fn error(error: &anyhow::Error) {
        let mut stderr = std::io::stderr().lock();
        let mut previous = String::new();
        for (i, cause) in error.chain().enumerate() {
            let text = cause.to_string();
            if i == 0 {
                let _ = writeln!(stderr, "error: {text}");
            } else if !previous.contains(&text) {
                let _ = writeln!(stderr, "  caused by: {text}");
            }
            previous = text;
        }
    }

    /// Every definition problem, then a summary line.
    pub(super) fn diagnostics(diagnostics: &[Diagnostic]) {
        let mut stderr = std::io::stderr().lock();
        for d in diagnostics {
            let _ = writeln!(stderr, "error: {d}");
        }
        let _ = writeln!(stderr, "{} problem(s) found; nothing was built.", diagnostics.len());
    }

    /// A GitHub annotation on stdout for each error and warning (the human lines are on
    /// stderr already), with paths from the git repository holding `root`.
    pub(super) fn annotations(root: &Path, errors: &[Diagnostic], warnings: &[Diagnostic]) {
        let prefix = super::github::repository_prefix(root);
        let mut stdout = std::io::stdout().lock();
        let levels = errors.iter().map(|d| (Level::Error, d));
        for (level, d) in levels.chain(warnings.iter().map(|d| (Level::Warning, d))) {
            let _ = writeln!(stdout, "{}", super::github::annotation(level, &prefix, d));
        }
    }
}

/// GitHub Actions workflow commands, so that a definition problem shows on the line of the
/// pull request that made it
/// (<https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands>).
mod github {
    use std::path::{Component, Path, PathBuf};

    use feedsmith::config::Diagnostic;

    /// Whether the process runs inside GitHub Actions, which sets `GITHUB_ACTIONS=true`.
    pub(super) fn in_actions() -> bool {
        std::env::var_os("GITHUB_ACTIONS").is_some_and(|value| value == "true")
    }

    /// How serious an annotation is.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) enum Level {
        /// `::error`: the definitions are invalid.
        Error,
        /// `::warning`: valid, but probably not what was meant.
        Warning,
    }

    /// Where the feedsmith repository `root` sits inside the git repository holding it (the
    /// nearest folder above with a `.git`), since GitHub places annotations by paths from the
    /// git repository's root; empty when `root` is that root, or in no git repository.
    pub(super) fn repository_prefix(root: &Path) -> PathBuf {
        root.ancestors()
            .find(|dir| dir.join(".git").exists())
            .and_then(|top| root.strip_prefix(top).ok())
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// The annotation of one diagnostic: `::error file=…,line=…,col=…,title=…::message`.
    /// A problem with a whole file (line 0) has no line and column.
    pub(super) fn annotation(level: Level, prefix: &Path, d: &Diagnostic) -> String {
        let command = match level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        let mut properties = vec![format!("file={}", property(&slashed(&prefix.join(&d.file))))];
        if d.line > 0 {
            properties.push(format!("line={}", d.line));
            if d.column > 0 {
                properties.push(format!("col={}", d.column));
            }
        }
        let title = if d.key.is_empty() { "feedsmith check" } else { d.key.as_str() };
        properties.push(format!("title={}", property(title)));
        format!("::{command} {}::{}", properties.join(","), data(&d.message))
    }

    /// A path with `/` between its parts on every system, as GitHub writes repository paths.
    fn slashed(path: &Path) -> String {
        let parts: Vec<String> = path
            .components()
            .filter(|c| !matches!(c, Component::CurDir))
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        parts.join("/")
    }

    /// A message escaped for a workflow command: `%`, CR and LF, which would end it.
    fn data(text: &str) -> String {
        text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
    }

    /// A property value escaped: as a message, plus `:` and `,`, which separate properties.
    fn property(text: &str) -> String {
        data(text).replace(':', "%3A").replace(',', "%2C")
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn diagnostic(
            file: &str,
            line: usize,
            column: usize,
            key: &str,
            message: &str,
        ) -> Diagnostic {
            Diagnostic {
                file: PathBuf::from(file),
                line,
                column,
                key: key.to_owned(),
                message: message.to_owned(),
            }
        }

        #[test]
        fn escapes_the_message_and_the_properties_as_github_reads_them() {
            let d =
                diagnostic("a,b:c/tasks.d/t.toml", 3, 7, "outputs[0].format", "50% off,\r\nnow: x");
            assert_eq!(
                annotation(Level::Error, Path::new(""), &d),
                "::error file=a%2Cb%3Ac/tasks.d/t.toml,line=3,col=7,title=outputs[0].format::50%25 off,%0D%0Anow: x"
            );
        }

        #[test]
        fn a_problem_with_a_whole_file_has_no_line_or_column() {
            let d = diagnostic("warninglists.d/x.json", 0, 0, "", "cannot read the file");
            assert_eq!(
                annotation(Level::Warning, Path::new("defs"), &d),
                "::warning file=defs/warninglists.d/x.json,title=feedsmith check::cannot read the file"
            );
        }
    }
}

//! The size budgets of an output (`max_entries`, `max_bytes`): which formats take them, and
//! the smallest `max_bytes` each can honour.
//!
//! A file with no entries still has its header (a comment block, a zone's SOA and NS, an
//! nftables table declaration), so a `max_bytes` below that size could only be met by a
//! truncated file. `check` refuses such a budget; the size is computed here, from the same
//! definition values the writers put in their headers, so that the check needs no data.
//! The writers' own rendering is compared against these sizes by a test in
//! `export::budget`, which keeps the two from drifting apart.

use super::{ListType, OutputConfig, OutputFormat};

/// The formats that take `max_entries` and `max_bytes`: the one-file blocklists, whose lines
/// are entries a consumer may do without. Data exports (`csv`, `json`, `zeek`) and folders
/// (`misp-feed`, `suricata`) are written whole.
pub const BUDGET_FORMATS: &[OutputFormat] = &[
    OutputFormat::Plain,
    OutputFormat::CidrIpv4,
    OutputFormat::CidrIpv6,
    OutputFormat::Hosts,
    OutputFormat::Dnsmasq,
    OutputFormat::Unbound,
    OutputFormat::Rpz,
    OutputFormat::Nftables,
    OutputFormat::Ipset,
    OutputFormat::PanosEdl,
    OutputFormat::Fortigate,
    OutputFormat::Adblock,
];

/// The companion file next to an output at `path`, listing what its budget cut.
#[must_use]
pub fn cut_file_path(path: &str) -> String {
    format!("{path}.cut.csv")
}

/// Bytes of an RFC 3339 UTC time of the years 1000 to 9999 (`2026-08-23T00:00:00Z`), as the
/// headers write the build time.
const TIME: usize = 20;

/// Digits of the RPZ serial, the build time in Unix seconds: ten from 2001 to 2286.
const SERIAL: usize = 10;

/// The longest set base name, as `export` truncates a task id to it.
const SET_BASE: usize = 24;

/// The bytes the file of `output` takes with no entries, for a task `task_id` named
/// `task_name`; `None` for a format that takes no budget.
#[must_use]
pub fn empty_file_bytes(task_id: &str, task_name: &str, output: &OutputConfig) -> Option<usize> {
    // Comments write the name and id on one line, as `one_line` makes them.
    let name = super::template::one_line(task_name).len();
    let id = super::template::one_line(task_id).len();
    let format = output.format.as_str().len();
    // `P name`, `P task: id`, `P format: f`, `P built: t`, `P entries: 0`, each with a
    // newline, for a one-byte prefix `P`.
    let header = (2 + name + 1) + (8 + id + 1) + (10 + format + 1) + (9 + TIME + 1) + (12 + 1);
    let set_base = output.set_name.as_ref().map_or_else(
        || {
            let lead = usize::from(!task_id.starts_with(|c: char| c.is_ascii_alphabetic()));
            (task_id.chars().count() + lead).min(SET_BASE)
        },
        String::len,
    );
    let bytes = match output.format {
        // `# name`, `# task: id`, `# built: t`, `# entries: 0`: no format line.
        OutputFormat::Plain => (2 + name + 1) + (8 + id + 1) + (9 + TIME + 1) + (12 + 1),
        OutputFormat::CidrIpv4
        | OutputFormat::CidrIpv6
        | OutputFormat::Hosts
        | OutputFormat::Dnsmasq => header,
        OutputFormat::Unbound => header + "server:\n".len(),
        OutputFormat::Adblock => {
            ("! Title: ".len() + name + 1) + ("! Last modified: ".len() + TIME + 1) + header
        }
        OutputFormat::Rpz => {
            let zone = output.zone.as_ref().map_or(task_id.len() + ".rpz".len(), String::len);
            header
                + ("; zone: ".len() + zone + 2)
                + "$TTL 300\n".len()
                + "@ IN SOA localhost. hostmaster.localhost. ".len()
                + SERIAL
                + " 3600 600 604800 300\n".len()
                + "@ IN NS localhost.\n".len()
        }
        OutputFormat::Nftables => {
            let table = output.table.as_ref().map_or("feedsmith".len(), String::len);
            // `table inet T {`, per set `\tset B_v4 {`, `\t\ttype ipv4_addr`,
            // `\t\tflags interval`, `\t}`, then `}`, then a flush line per set.
            let set = (5 + set_base + 6) + 17 + 17 + 3;
            header + (11 + table + 3) + 2 * set + 2 + 2 * (15 + table + 1 + set_base + 4)
        }
        OutputFormat::Ipset => {
            let hashsize = output.hashsize.unwrap_or(1024).to_string().len();
            let maxelem = output.maxelem.unwrap_or(65_536).to_string().len();
            // Per version: two `create` lines (temporary and live), `flush`, `swap`,
            // `destroy`; `family inet6` is one byte longer than `family inet`.
            let create = |temporary: usize, family: usize| {
                "create ".len()
                    + set_base
                    + 3
                    + temporary
                    + " hash:net family ".len()
                    + family
                    + " hashsize ".len()
                    + hashsize
                    + " maxelem ".len()
                    + maxelem
                    + " -exist\n".len()
            };
            let per_version = |family: usize| {
                create(4, family)
                    + create(0, family)
                    + ("flush ".len() + set_base + 7 + 1)
                    + ("swap ".len() + (set_base + 7) + 1 + (set_base + 3) + 1)
                    + ("destroy ".len() + set_base + 7 + 1)
            };
            per_version(4) + per_version(5)
        }
        // The lone `#` line of an empty list.
        OutputFormat::PanosEdl => 2,
        OutputFormat::Fortigate => {
            header + "# list: \n".len() + output.list.unwrap_or(ListType::Ip).as_str().len()
        }
        _ => return None,
    };
    Some(bytes)
}

# The build report (site/report.json) as the Markdown of the nightly job's summary:
#   jq -r -f .github/report-summary.jq site/report.json >> "$GITHUB_STEP_SUMMARY"
# Every text from the definitions or a feed goes into a table cell or a code span that it
# cannot break out of (no line breaks, `|` escaped, backticks replaced).

def cell: tostring | gsub("[\r\n\t]+"; " ") | gsub("\\|"; "\\|");
def code: "`" + (cell | gsub("`"; "'")) + "`";
def count(f): [f] | length;
def shorten: if length > 200 then .[0:200] + "…" else . end;

"## feedsmith build",
"",
"Built at \(.now): \(.feeds | length) feeds, \(.tasks | length) tasks, \(count(.tasks[].outputs[])) outputs.",
"",
"| feeds | ok | empty | failed | stale |",
"| ---: | ---: | ---: | ---: | ---: |",
"| \(.feeds | length) | \(count(.feeds[] | select(.status == "ok"))) | \(count(.feeds[] | select(.status == "empty"))) | \(count(.feeds[] | select(.status == "error"))) | \(count(.feeds[] | select(.stale))) |",
"",
([.feeds[] | select(.status != "ok" or .stale)]
  | if length == 0 then empty else
      "| feed | status | served from last good data | last success | failing since | why |",
      "| --- | --- | --- | --- | --- | --- |",
      (.[] | "| \(.id | code) | \(.status) | \(if .stale then "yes" else "no" end) | \(.last_success // "never") | \(.failing_since // "") | \(.error // .reason // "" | cell | shorten) |"),
      ""
    end),
"| task | selected | expired | warning-listed | outputs | outputs failed |",
"| --- | ---: | ---: | ---: | ---: | --- |",
(.tasks[] | "| \(.id | code) \(.name | cell) | \(.selected) | \(.expired) | \(.warninglisted) | \(.outputs | length) | \([.outputs[] | select(.error != null) | .path | code] | join(", ")) |"),
"",
"<details><summary>Outputs</summary>",
"",
"| output | task | format | entries | bytes | error |",
"| --- | --- | --- | ---: | ---: | --- |",
(.tasks[] | .id as $task | .outputs[]
  | "| \(.path | code) | \($task | code) | \(.format) | \(.entries) | \(.bytes) | \(.error // "" | cell | shorten) |"),
"",
"</details>",
"",
(.notes | if length == 0 then empty else "Notes:", "", (.[] | "- " + cell), "" end)

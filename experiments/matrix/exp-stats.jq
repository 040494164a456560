# jq helpers for the experiment results (results.jsonl rows), shared by
# plot-experiments.sh and make-doc.sh. Import with
#   jq -L experiments/matrix 'import "exp-stats" as s; ...'

def median:
	map(select(. != null)) | sort |
	if length == 0 then null
	elif length % 2 == 1 then .[(length - 1) / 2]
	else (.[length / 2 - 1] + .[length / 2]) / 2 end;

# the runs of one configuration of one mode
def key: [.tool, .qemu, .mode, .mem_mib, .dirty_rate];

# the series name of a row in plots: "7.2 precopy", "10.0 cl-dump"
def series: "\(.qemu) \(.mode)";

# rows that moved the guest (not n/a, not the dirty-rate measurements)
def moved: select(.verdict != "n/a" and (.mode | startswith("calc-dirty-rate") | not));

# "med" or "med [min-max]" of FIELD over rows, rounded; "-" when none
def spread(f):
	[.[] | f | select(. != null)] as $v |
	if ($v | length) == 0 then "-"
	else ($v | median | round | tostring) +
		(if ($v | length) > 1
		 then " [\($v | min | round)–\($v | max | round)]" else "" end)
	end;

def mib: if . == null then null else . / 1048576 end;

# every distinct verdict of the runs, with how many runs had it when mixed
def verdicts:
	(map(.verdict) | group_by(.) | map({v: .[0], n: length})) as $g |
	if ($g | length) == 1 then $g[0].v
	else $g | map("\(.v)×\(.n)") | join(" + ") end;

# the fields every results.jsonl row has (issue 10's list, then the load
# average, the link's ceiling and durability this harness adds)
def required_fields: ["tool", "tool_version", "mode", "mem_mib", "dirty_rate",
	"total_ms", "downtime_ms", "pause_ms", "bytes", "rounds", "verdict",
	"guest_kmsg", "raw", "qemu", "run", "loadavg", "link_mb_s", "link4_mb_s",
	"durable"];

# the required fields a row lacks, and those of the wrong type
def schema_errors:
	. as $r |
	[required_fields[] as $k | select($r | has($k) | not) | "no \($k)"] +
	[("tool", "mode", "verdict", "tool_version", "qemu") as $k |
		select($r | has($k)) | select($r[$k] | type != "string") | "\($k) not a string"] +
	[("mem_mib", "dirty_rate", "run") as $k |
		select($r | has($k)) | select($r[$k] | type != "number") | "\($k) not a number"] +
	[("total_ms", "downtime_ms", "pause_ms", "bytes", "rounds", "guest_kmsg",
	  "link_mb_s", "link4_mb_s") as $k |
		select($r | has($k)) | select($r[$k] | type | IN("number", "null") | not) |
		"\($k) neither a number nor null"] +
	[select(has("loadavg") and (.loadavg | type != "array" or length != 3)) |
		"loadavg not [1, 5, 15 min]"] +
	[select(has("verdict") and .verdict == "") | "empty verdict"];

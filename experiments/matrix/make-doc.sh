#!/bin/bash
# Writes docs/experiments.md from a run's results: one section per question
# of issue 10, its tables computed from results.jsonl (medians over the runs,
# [min–max] when there are several), the plots of plot-experiments.sh, and
# the commands that reproduce it at the top. Never edit the output by hand.
#
# Usage: experiments/matrix/make-doc.sh RESULTS-DIR DOC PLOTS-DIR-REL
#   RESULTS-DIR   holds results.jsonl and meta.json (build/experiments)
#   DOC           the markdown file to write (docs/experiments.md)
#   PLOTS-DIR-REL the plots' directory relative to DOC's (experiments)
# shellcheck disable=SC2016
set -eu
cd "$(dirname "$0")/../.." || exit 1
dir=$1 doc=$2 plots=$3
res=$dir/results.jsonl meta=$dir/meta.json
[ -s "$res" ] || { echo "make-doc: $res is empty: run make experiments(-quick)" >&2; exit 1; }
[ -f "$meta" ] || echo '{}' >"$meta"

# table MODES COLUMNS [FILTER]: a markdown table of the modes (a JSON array,
# in that order) with the columns (a JSON array of names known to cell()),
# one row per QEMU version, tool, mode, RAM and rate; FILTER: a jq boolean
# on rows
table() {
	jq -L experiments/matrix -rn --argjson modes "$1" --argjson cols "$2" '
	import "exp-stats" as s;
	def q: .raw."query-migrate";
	def ratio_to($all; $base; f):
		# per run: f / f of $base (same run, version, RAM, rate)
		. as $g | [$g[] | . as $r | ($all[] | select(.mode == $base and
			.run == $r.run and .qemu == $r.qemu and .mem_mib == $r.mem_mib and
			.dirty_rate == $r.dirty_rate and .verdict == "ok") | f) as $b |
			select($b != null and $b > 0 and ($r | f) != null) | ($r | f) / $b] |
		if length == 0 then "-" else (s::median * 100 | round / 100 | tostring) end;
	# the figures of a configuration are those of its ok runs (a crashed
	# run has no downtime: its "iterate" was its whole time), "-" when
	# none was ok (a dirty-rate measurement that is only wrong counts);
	# the columns in $whole count every run
	def okrows: map(select(.verdict == "ok" or .verdict == "rate-too-low"));
	["QEMU", "tool", "mode", "RAM MiB", "pages/s", "runs", "verdict", "VERIFY",
	 "DISK", "NET", "note", "durable", "source after", "hb step", "kmsg",
	 "load"] as $whole |
	def words(f): [.[] | f | select(. != null and . != "")] | unique | join("+") |
		if . == "" then "-" else . end;
	def cell($c; $all):
		if $c == "QEMU" then .[0].qemu
		elif $c == "tool" then .[0].tool
		elif $c == "mode" then .[0].mode
		elif $c == "RAM MiB" then .[0].mem_mib
		elif $c == "pages/s" then .[0].dirty_rate
		elif $c == "runs" then length
		elif .[0].verdict == "n/a" then
			(if $c == "verdict" then "n/a" elif $c == "note" then .[0].note else "" end)
		elif $c == "setup ms" then s::spread(q."setup-time")
		elif $c == "total ms" then s::spread(.total_ms)
		elif $c == "iterate ms" then
			s::spread(if q != null and .downtime_ms != null
				then .total_ms - q."setup-time" - .downtime_ms else null end)
		elif $c == "downtime ms" then s::spread(.downtime_ms)
		elif $c == "pause ms" then s::spread(.pause_ms)
		elif $c == "guest gap ms" then s::spread(.guest_gap_ms)
		elif $c == "rounds" then s::spread(.rounds)
		elif $c == "MiB" then s::spread(.bytes | s::mib)
		elif $c == "alloc MiB" then s::spread(.raw."file-allocated-bytes" | s::mib)
		elif $c == "MB/s" then s::spread(if q.ram.mbps then q.ram.mbps / 8
			elif .bytes != null and (.save_ms // 0) > 0 then .bytes / .save_ms / 1000
			else null end)
		elif $c == "link MB/s" then s::spread(.link_mb_s)
		elif $c == "link 4 streams MB/s" then s::spread(.link4_mb_s)
		elif $c == "% of link" then s::spread(if q.ram.mbps and .link_mb_s then
				q.ram.mbps / 8 / .link_mb_s * 100
			elif .bytes != null and (.save_ms // 0) > 0 and .link_mb_s then
				.bytes / .save_ms / 1000 / .link_mb_s * 100
			else null end)
		elif $c == "durable" then words(.durable | if . == null then null else tostring end)
		elif $c == "fsync ms" then s::spread(.raw."fsync-ms")
		elif $c == "load" then s::spread(.loadavg[0])
		elif $c == "cut ms" then s::spread(.raw.recover.link_up_ms)
		elif $c == "paused after ms" then s::spread(.raw.recover | if . then
				[.src_paused_ms, .dst_paused_ms] | max else null end)
		elif $c == "postcopy again ms" then s::spread(.raw.recover.active_again_ms)
		elif $c == "guest pause in cut ms" then s::spread(.raw.recover.guest_pause_ms)
		elif $c == "zero pages" then s::spread(q.ram.duplicate)
		elif $c == "multifd MiB" then s::spread(q.ram."multifd-bytes" | s::mib)
		elif $c == "total / precopy-default" then ratio_to($all; "precopy-default"; .total_ms)
		elif $c == "pause / precopy-default" then ratio_to($all; "precopy-default"; .pause_ms)
		elif $c == "postcopy MiB" then s::spread((q.ram."postcopy-bytes" // .raw.source.ram."postcopy-bytes") | s::mib)
		elif $c == "postcopy requests" then s::spread(q.ram."postcopy-requests" // .raw.source.ram."postcopy-requests")
		elif $c == "save ms" then s::spread(.save_ms)
		elif $c == "restore ms" then s::spread(.restore_ms)
		elif $c == "throttle %" then s::spread(.raw."max-cpu-throttle-percentage-seen")
		elif $c == "guest HB/s" then s::spread(.guest_hb_per_s)
		elif $c == "guest pages/s" then s::spread(.guest_dirty_per_s)
		elif $c == "measured MiB/s" then s::spread(.raw."query-dirty-rate"."dirty-rate")
		elif $c == "workload MiB/s" then s::spread(.raw."workload-mib-per-s")
		elif $c == "lazy all-in ms" then s::spread(.raw."lazy-all-in-ms" // .raw.destination.all_memory_ms)
		elif $c == "source after" then words(.raw."source-status-after")
		elif $c == "verdict" then s::verdicts
		elif $c == "VERIFY" then words(.verify)
		elif $c == "DISK" then words(.disk)
		elif $c == "NET" then words(.net)
		elif $c == "hb step" then s::spread(.seq_step)
		elif $c == "kmsg" then s::spread(.guest_kmsg)
		elif $c == "note" then words(.note)
		else "?" end;
	[inputs | select('"${3:-true}"')] as $all |
	($all | group_by(s::key) |
		map(select(.[0].mode | IN($modes[]))) |
		sort_by(.[0].mode as $m | [($modes | index($m)), .[0].mem_mib,
			.[0].dirty_rate, (.[0].qemu | split(".") | map(tonumber))])) as $groups |
	if ($groups | length) == 0 then "(no runs of these modes in this run)"
	else
		"| " + ($cols | join(" | ")) + " |",
		"|" + ($cols | map("---") | join("|")) + "|",
		($groups[] | . as $g |
			"| " + ($cols | map(. as $c | $g |
				if $c | IN($whole[]) then . else okrows end |
				cell($c; $all) | tostring |
				gsub("\\|"; "\\\\|")) | join(" | ")) + " |")
	end' "$res"
}

m() { jq -r "$1 // \"-\"" "$meta"; }
# answer qN: the question's answer computed from the rows (answers.jq)
answer() {
	jq -rs -L experiments/matrix "import \"answers\" as a; a::$1" "$res"
	echo
}
quick=0
[ "$(m .command)" = "make experiments-quick" ] && quick=1
count() { jq -s "$1" "$res"; }
plot() { # NAME CAPTION
	[ -f "$(dirname "$doc")/$plots/$1.png" ] &&
		printf '![%s](%s/%s.png)\n\n(SVG: [%s.svg](%s/%s.svg))\n\n' "$2" "$plots" "$1" "$1" "$plots" "$1"
	return 0
}

# axis_words: a mode regex ("a|b|c") as words ("a, b and c"); "-" stays
axis_words() { sed -e 's/|/, /g' -e 's/\(.*\), /\1 and /'; }
# the EXP_* settings the run had, as the start of a command line
ENV_LINE=$(jq -r '.env // "" | if . == "" then "" else . + " " end' "$meta")
ID='"QEMU","tool","mode","RAM MiB","pages/s"'
# every mode, in the order of the runs
IN_ORDER='reduce (.[].mode) as $m ([]; if any(.[]; . == $m) then . else . + [$m] end)'
{
cat <<EOF
# Experiments: QEMU 7.2 and 10.0 migration beside criu-lite

<!-- Generated by experiments/matrix/make-doc.sh from $res
     ($(m .start)); do not edit: run the commands below instead. -->

Reproduce (as root, on a Debian 12 machine with 2 or more cores and 8 GiB;
missing packages are installed by the targets; no path of this machine is
needed), in a clone of this repository:

    make -j2                  # criu-lite
    make guest                # the test guest: Debian's cloud kernel and an
                              # initramfs with the workload (build/guest)
    make qemu10               # QEMU 10.0 from bookworm-backports into
                              # build/qemu10, beside the system's 7.2
    EXP_PLAN_ONLY=1 experiments/matrix/run-experiments.sh
                              # the full matrix's plan: its rows, the time
                              # it should take, every block's modes in
                              # their order; runs nothing (--quick: the
                              # quick run's)
    make experiments-quick    # every mode once, 512 MiB, busy guest (3-7
                              # min here at load 2-7, 10 at load 10-14:
                              # the two QEMU versions side by side;
                              # EXP_PARALLEL=0 one after the other)
    make experiments          # the full matrix (below; 49 min here at
                              # load 1-3, 77 at load 2-14; this page's
                              # run: its own time below)
    make experiments-doc      # plots and this page from build/experiments/
                              # (make experiments runs it)

This page's run again: \`${ENV_LINE}$(m .command)\` at commit $(m .commit)
(the harness's EXP_* settings of the run, if any, are in that line;
experiments/matrix/run-experiments.sh lists them all).$(jq -r '.added // [] | map(" Rows added to it by `\(.env) experiments/matrix/run-experiments.sh` at commit \(.commit) (\(.rows) rows, started \(.start)).") | join("") ' "$meta") The numbers will
differ with the machine and its load (below); what breaks and what does
not should not.

The full matrix (\`make experiments\`) has two parts. **The axes**: the
modes that answer the questions asked along RAM size and dirty rate, per
QEMU version, at idle, 5000 and 20000 pages/s, 3 runs interleaved (run 1
of every rate and version, then run 2, then run 3): at 512 MiB $(m .axis_modes | axis_words),
and at 2 GiB $(m .axis_modes_big | axis_words) (QEMU's precopy at its
default 128 MiB/s does not converge with a busy 2 GiB guest; the save to
a file moves as fast as unlimited precopy). **The single points**:
every other mode (the multifd channel counts and zero-page detection,
auto-converge, downtime-limit, postcopy-preempt, postcopy-recover,
calc-dirty-rate, the \`file:\` saves with and without mapped-ram, durable
saves, background-snapshot, the mismatches, criu-lite's other dumps) once
per QEMU version, at 512 MiB busy (20000 pages/s), in run 1's block of
that configuration. \`make experiments-quick\` is that block alone: every
mode once. Within a block, the modes run in an order that keeps every
criu-lite migrate starting from this host (it moves here to there; a
QEMU live move brings the guest back) and every criu-lite mode before the
block's QEMU postcopy moves (QEMU 10's postcopy destination keeps
/dev/userfaultfd open, which criu-lite refuses to dump). Every guest a
move starts from is intact: the first of a configuration is booted,
checked by a whole verify pass and saved as that configuration's
template; when a move breaks the guest the next starts from the template
loaded by a new QEMU, checked by a whole verify pass begun after the load
(a boot takes 15-30 s under TCG here, a load 2-4 s at 512 MiB). When a
precopy move breaks the guest, its source (which still holds the guest,
in \`postmigrate\`) is continued instead and checked the same way; the
row says whether it ran on (\`source_resumed\`). A guest is checked after
every move by a whole verify pass begun after the move (the guest's
verify loop: SSE2 under QEMU 10.0, whose TCG inlines it, the word loop
under 7.2).

Each run of a mode appends one JSON line to \`build/experiments/results.jsonl\`
(fields: \`tool\`, \`tool_version\`, \`qemu\`, \`mode\`, \`mem_mib\`,
\`dirty_rate\`, \`total_ms\`, \`downtime_ms\`, \`pause_ms\`, \`bytes\`, \`rounds\`,
\`verdict\`, \`guest_kmsg\`, \`loadavg\` (the machine's load average at
the row's end), \`link_mb_s\` and \`link4_mb_s\` (the link's ceiling in the
same run), \`durable\` and more; \`raw\` holds QEMU's whole
\`query-migrate\` return, or criu-lite's timing lines and stats files;
every row is checked by experiments/matrix/check-results.sh before this
page is made).

**This page's run:** \`$(m .command)\` at commit $(m .commit), $(m .start) to
$(m .end) ($(m .seconds) s), kernel $(m .kernel), $(m .cpus) CPUs,
$(m .mem_gib) GiB. **The machine is shared and noisy**: other sessions'
test suites and QEMU guests ran on the same 2 cores meanwhile. Load average
(1, 5, 15 min) $(m .loadavg_at_start) at the start, $(m .loadavg_at_end) at
the end; every row records the load at its end (\`loadavg\`): over this
run's rows the 1-minute load was $(jq -rs 'map(.loadavg[0] // empty) | sort |
if length == 0 then "not recorded" else "\(.[0])–\(.[-1]), median \(.[length / 2 | floor])" end' "$res")
(the \`load\` column of question 10). Times are noisy; compare ratios within
one run. QEMU versions: $(m .versions); guest RAM
(MiB): $(m .mems); dirty rates (pages/s): $(m .rates); runs: $(m .reps)
($(m .plan); single points at $(m .single_point | sed 's| | MiB, |') pages/s). Fresh
guests: $(m .fresh_guests), $(m .fresh_guest_seconds) s in all.
$(count 'length') rows, $(count 'map(select(.verdict == "ok")) | length') ok,
$(count 'map(select(.verdict == "n/a")) | length') n/a (a mode the version or
tool does not have), $(count 'map(select(.verdict != "ok" and .verdict != "n/a")) | length')
with a broken guest or a failed move.

EOF
if [ $quick = 1 ]; then
cat <<'EOF'
> **This is the quick run** (`make experiments-quick`): one run of every
> mode, 512 MiB, one dirty rate. It shows that every mode runs and what it
> does to the guest; it has no spread, no RAM-size axis (question 1's
> total-against-RAM plot has one point per mode) and no dirty-rate axis
> (questions 6 and 7 want idle and two rates). Those need the full run,
> `make experiments`.

EOF
fi
# the ones not ok: "(source ran on)" when the move's source, continued,
# ran on intact (source_resumed: a precopy's source still holds the guest)
summary_table() {
	echo "| tool | QEMU | moves | ok | not ok | source continued intact | the ones not ok |"
	echo "|---|---|---|---|---|---|---|"
	jq -rs -L experiments/matrix 'import "exp-stats" as s;
		map(s::moved) | group_by([.tool, .qemu])[] |
		"| \(.[0].tool) | \(.[0].qemu) | \(length) | \(map(select(.verdict == "ok")) | length) | " +
		"\(map(select(.verdict != "ok")) | length) | " +
		"\(map(select(.verdict != "ok" and .source_resumed == true)) | length) | " +
		(map(select(.verdict != "ok") | "\(.mode): \(.verdict)" +
			(if .source_resumed == true then " (source ran on)"
			 elif .source_resumed == false then " (source broken too)" else "" end)) |
			join("; ")) + " |"' "$res"
}

echo "## At a glance"
echo
echo "Moves per tool and QEMU version, and how many left the guest intact:"
echo
summary_table
echo
echo "Medians per QEMU version, RAM and dirty rate of the ok runs (ms; the"
echo "ratios are of medians of this run; - where no run of the mode was ok):"
echo
echo "| QEMU | RAM MiB | pages/s | precopy-default total | cl-migrate-128M total | precopy (unlimited) total | unlimited / default | cl-migrate total | multifd-4 total | precopy-default pause | precopy (unlimited) pause | cl-migrate pause | exec-save pause | cl-dump pause | cl-precopy-lazy pause | postcopy pause |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
jq -rs -L experiments/matrix 'import "exp-stats" as s;
	# of the ok runs, as the answers and tables (a crashed run has no
	# downtime and a time of its own)
	def med($m; f): map(select(.mode == $m and .verdict == "ok") | f) | s::median;
	def r: if . == null then "-" else round | tostring end;
	group_by([.qemu, .mem_mib, .dirty_rate])[] |
	med("precopy-default"; .total_ms) as $pd | med("precopy"; .total_ms) as $p |
	"| \(.[0].qemu) | \(.[0].mem_mib) | \(.[0].dirty_rate) | \($pd | r) | " +
	"\(med("cl-migrate-128M"; .total_ms) | r) | \($p | r) | " +
	(if $pd and $p then ($p / $pd * 100 | round / 100 | tostring) else "-" end) +
	" | \(med("cl-migrate"; .total_ms) | r) | \(med("multifd-4"; .total_ms) | r) | " +
	"\(med("precopy-default"; .pause_ms) | r) | \(med("precopy"; .pause_ms) | r) | " +
	"\(med("cl-migrate"; .pause_ms) | r) | " +
	"\(med("exec-save"; .pause_ms) | r) | " +
	"\(med("cl-dump"; .pause_ms) | r) | \(med("cl-precopy-lazy"; .pause_ms) | r) | " +
	"\(med("postcopy"; .pause_ms) | r) |"' "$res"
echo

cat <<'EOF'
## The setup

- The test guest (experiments/guest/): Debian's kernel and a busybox
  initramfs whose workload fills 3/4 of RAM with a known pattern, rewrites
  random pages at the given rate, verifies every page each second (`VERIFY`),
  prints a heartbeat every 100 ms from a real-time thread (`HB seq=N`), writes
  and reads back its virtio-blk disk (`DISK`) and pings a TCP echo server on
  the host through user-mode networking (`NET`). TCG, 1 vCPU, q35.
- Two hosts: live moves go from one host to another. The other host is a
  network, PID and mount namespace on the same machine, joined to this one
  by a veth pair (experiments/guest/two-hosts.sh, made once per run): its
  own addresses, its own PIDs (a process restored there cannot take its
  PID from the source), its own TCP echo server for the guest's `NET`
  pings; the file system is shared, so a guest keeps its disk, serial log
  and QMP socket paths. The link is a veth pair on 2 shared cores: its
  bandwidth is this machine's memory and CPU, not a network's.
- A *chain*: a guest is booted once per QEMU version and configuration and
  moved from mode to mode, each move's destination being the next one's
  source (QEMU) or the same restored process (criu-lite); live moves take
  it back and forth between the two hosts, moves through a file keep it on
  its host. A move that harms
  the guest ends the chain and the next mode starts on a fresh guest, so each
  verdict belongs to its own move. When only the destination failed and the
  source still holds the whole guest (precopy: it is in `postmigrate`), the
  source is continued instead, and the chain goes on from it only if it
  then passes two memory verifications with its disk intact and no kernel
  complaint.
- QEMU moves: live modes to an `-incoming defer` destination on the other
  host, listening on its address, capabilities and parameters set on both
  sides, tcp over the veth pair; save modes through a file on the same host
  (the VM stopped first as `virsh save` does; then a new QEMU loads it);
  background-snapshot to `exec:cat > FILE` while the VM runs, loaded on the
  same host. "unlimited" bandwidth is max-bandwidth = 100 TiB/s; default is
  QEMU's 128 MiB/s.
- criu-lite moves: `criu-lite dump -t PID -D DIR --qmp SOCK [OPTIONS]`, then
  `criu-lite restore -D DIR -d [--lazy-pages]` on the same host (cl-dump,
  cl-precopy, cl-precopy-lazy); `criu-lite migrate --incoming ADDR:PORT -D
  DIR` on the other host and `criu-lite migrate -t PID --to ADDR:PORT --qmp
  SOCK` here (cl-migrate: pre-copy rounds at any bandwidth until the rest
  fits the 300 ms downtime limit, as QEMU's default; cl-migrate-128M: at
  most 128 MiB/s, QEMU's default max-bandwidth, to compare with
  precopy-default). criu-lite migrate goes from this host to the other
  only: a chain that is on the other host when it comes is ended, and the
  move starts from a fresh guest here.
- Memory here: this machine is itself a virtual machine whose kernel hands
  free memory back to its hypervisor (free page reporting, 8 MiB blocks):
  memory a stopped guest freed comes back cold, and a process that fills
  it in fresh 2 MiB huge pages (guest RAM is MADV_HUGEPAGE) can run at
  ~0.1 GB/s against ~1 GB/s in small pages. A 2 GiB guest's restore,
  QEMU's or criu-lite's, is sensitive to it.
- `NET BAD err=reply-eof` after a QEMU move: a ping in flight at the
  switchover lost its TCP connection. libslirp's migrated state keeps
  only guestfwd sockets, not the guest's own connections: the
  destination's slirp knows nothing of one open at the switchover and
  resets it (the workload reports any recv <= 0, a reset too, as
  reply-eof). Its memory is not in question (VERIFY says so).
- Tables: per configuration, the median over its runs and [min–max]
  when there are several. Where some runs of a configuration broke the
  guest, its times, sizes and rates are those of its ok runs only (a
  crashed run has no downtime, a stalled one no pause), and its verdict
  column counts each outcome (`ok×2 + guest:crash×1`).
- After **every** move, for every tool: the guest must beat again with no
  heartbeat lost (`hb step` 1: the seq across the move; holes after it), pass
  two whole memory verifications (`VERIFY`), keep its disk and network
  (`DISK`, `NET`), and print no kernel complaint (`kmsg`: oops, panic, BUG,
  stalls, lockups, clocksource). `verdict` is `ok` or the list of what broke.
- `downtime ms` is the tool's own figure (QEMU: query-migrate `downtime`;
  criu-lite: `frozen`), `pause ms` what a client of the guest sees: the host
  time between the last heartbeat before the move and the first after.
  `total ms`: QEMU's `total-time` (live modes; save modes: stop to the
  loaded guest running, on the host clock); criu-lite: dump start to restore
  done; criu-lite migrate: its own `total_ms`, start to the guest running on
  the other host (its downtime: QMP stop to running there, the restore
  there included; save: start to the last byte sent; restore: the restore
  there).

EOF

echo "## 1. Where the time and the downtime go"
echo
answer q1
echo "setup, iterations (total - setup - downtime) and switchover (downtime),"
echo "from QEMU's query-migrate (recorded whole in each row's \`raw\`); for"
echo "criu-lite, the dump (save), the restore and its frozen time."
echo
table '["precopy-default","precopy","multifd-1","multifd-2","multifd-4","postcopy","postcopy-preempt","auto-converge","downtime-limit-50","cl-migrate","cl-migrate-128M","cl-dump","cl-precopy","cl-precopy-lazy"]' \
	"[$ID,\"setup ms\",\"iterate ms\",\"downtime ms\",\"total ms\",\"save ms\",\"restore ms\",\"pause ms\",\"rounds\",\"MiB\",\"verdict\"]" \
	'.verdict != "n/a"'
echo
plot total-vs-ram "Total time against guest RAM"
plot downtime-vs-rate "Downtime (the tool's figure) against the dirty rate (the 512 MiB guest: every axis mode runs there)"

echo "## 2. Why migration on one host is slow by default"
echo
answer q2
echo "QEMU's max-bandwidth defaults to 128 MiB/s (about 1 Gbit/s): precopy at"
echo "the default against unlimited, and multifd with 1, 2 and 4 channels, with"
echo "zero-page detection (10.0's default, \`multifd\`: in the channels) and"
echo "without (\`none\`). Ratios are per run, against precopy-default of the same"
echo "run and version; criu-lite migrate beside them, capped at the same"
echo "128 MiB/s (cl-migrate-128M) and not (cl-migrate)."
echo
echo "The link's own ceiling is measured in the same run, before every"
echo "configuration's modes: experiments/link-ceiling.c sends over TCP from this"
echo "host to the other for 2 s, on 1 stream and on 4 (\`link MB/s\`, \`link 4"
echo "streams MB/s\`: what the receiver got, MB = 10^6 bytes, as QEMU's mbps)."
echo "\`MB/s\` is QEMU's own mbps (/8) or, for criu-lite, the bytes sent over the"
echo "time to the last byte; \`% of link\` puts it against the 1-stream ceiling"
echo "of its own configuration block. Both ends of the veth pair are on this"
echo "machine's 2 shared cores: the ceiling is what TCP gets through them, not a"
echo "network's, measured with no guest running (before the block's first"
echo "boot), under whatever load the machine had then; a mode moving the guest"
echo "later can find more or less, and multifd's channels are several streams:"
echo "above 100 % is possible."
echo
table '["precopy-default","cl-migrate-128M","precopy","cl-migrate","multifd-1","multifd-2","multifd-4","multifd-1-nozpd","multifd-2-nozpd","multifd-4-nozpd"]' \
	"[$ID,\"total ms\",\"total / precopy-default\",\"downtime ms\",\"pause ms\",\"MB/s\",\"link MB/s\",\"link 4 streams MB/s\",\"% of link\",\"MiB\",\"multifd MiB\",\"zero pages\",\"rounds\",\"verdict\",\"note\"]"
echo

echo "## 3. Postcopy"
echo
answer q3
echo "postcopy-ram (and postcopy-preempt, a second channel for urgent pages)"
echo "switch over once the first precopy pass is done"
echo "(\`migrate-start-postcopy\` after dirty-sync-count 2; the precopy pass at"
echo "the default bandwidth, else a 512 MiB guest converges before the switch,"
echo "the postcopy phase unlimited); the destination runs and faults the rest in"
echo "(userfaultfd). \`postcopy MiB\` 0 means the move ended in precopy after"
echo "all. criu-lite's own postcopy (\`criu-lite migrate --postcopy\`,"
echo "cl-migrate-postcopy): pre-copy rounds, QMP stop, the tree frozen and"
echo "its state but the memory left sent, the tree resumed on the other host,"
echo "which pulls the pages it faults on (\`postcopy requests\`) while the"
echo "source pushes the rest (\`lazy all-in ms\`: when the last arrived);"
echo "the source stays frozen, holding the memory, until then. cl-precopy-lazy"
echo "is the same on one host through files: a pre-copy dump, then"
echo "\`restore --lazy-pages\` (the rest served from the images on fault)."
echo
table '["postcopy","postcopy-preempt","cl-migrate-postcopy","cl-precopy-lazy"]' \
	"[$ID,\"total ms\",\"downtime ms\",\"pause ms\",\"postcopy MiB\",\"postcopy requests\",\"lazy all-in ms\",\"MiB\",\"verdict\",\"note\"]"
echo
echo "### The link cut in postcopy: migrate-pause and migrate-recover"
echo
echo "postcopy-recover: postcopy from the first pass on (its phase capped at"
echo "64 MiB/s, max-postcopy-bandwidth, so that it is still running; with the"
echo "switch after the first pass, as the postcopy rows, an idle guest converged"
echo "before and the link was never cut), 1.5 s into it the link is cut"
echo "(this host's end of the veth pair set down: both ends lose their"
echo "carrier), \`migrate-pause\` on both sides (without it a cut link shows only"
echo "after TCP's retransmission timeouts), the link up again after 2 s,"
echo "\`migrate-recover\` on the destination with a new URI (another port) and"
echo "\`migrate\` with \`resume: true\` on the source. \`paused after ms\`: the"
echo "later side in \`postcopy-paused\` after the cut; \`postcopy again ms\`: the"
echo "source in postcopy-active (or completed) again, after the cut; \`guest"
echo "pause in cut ms\`: the guest's longest heartbeat gap (host clock, both"
echo "sides' heartbeats) that ends after the cut, the one spanning the cut"
echo "included (its vCPU waits for the pages that cannot come). A verdict of"
echo "\`link-never-cut\`, \`not-paused\` or \`not-recovered\` says the run did"
echo "not show what it is for. A kernel complaint here is the guest's"
echo "clocksource watchdog noticing the stall (\`complaints.txt\` of the run)."
echo
table '["postcopy-recover"]' \
	"[$ID,\"cut ms\",\"paused after ms\",\"postcopy again ms\",\"guest pause in cut ms\",\"total ms\",\"downtime ms\",\"postcopy MiB\",\"postcopy requests\",\"verdict\",\"note\"]"
echo

echo "## 4. background-snapshot against stop-at-end"
echo
answer q4
echo "background-snapshot writes the state of the migration's *start* while the"
echo "VM runs on (uffd-wp catches the pages written meanwhile); the snapshot is"
echo "then loaded by a new QEMU, and its first heartbeat's seq says which state"
echo "it holds. A save (\`exec:cat\`, \`file:\`) holds the state at the *end* and"
echo "leaves the source in \`postmigrate\` (save modes here stop the VM first)."
echo "The disk is in neither: a snapshot loaded after the source wrote on finds"
echo "a disk newer than its memory. The workload's DISK check sees that only for"
echo "blocks of its 64-block ring it had written before the snapshot, so a young"
echo "guest's \`DISK ok\` after a snapshot does not prove the two consistent;"
echo "where it sees it, every bad block holds a later round than the memory"
echo "expects: \`DISK newer:N/M\`, what a RAM-only snapshot must show, not a"
echo "failure of these modes (an older block or a read error would be)."
echo "criu-lite's \`dump --leave-running\` (cl-dump-leave-running) holds the"
echo "state at the dump's *end*, its freeze (QMP stop, the tree frozen and"
echo "dumped, cont), and the source runs on like background-snapshot's: its"
echo "pause is the freeze (\`--leave-running\` with pre-copy rounds before"
echo "it would shorten that freeze; not measured here: cl-precopy, in the"
echo "table, ends its source as a save does). The harness runs the"
echo "source on for 1 s after the dump, ends it, cuts the serial log back to"
echo "the image's file position (what the source wrote after is kept beside"
echo "the row), restores the image on the same host and checks that the"
echo "guest resumed at the heartbeat of the dump's end (\`not-dump-state\`"
echo "otherwise). The disk is not in the image either."
echo
table '["bg-snapshot","cl-dump-leave-running","exec-save","file-save","cl-precopy"]' \
	"[$ID,\"save ms\",\"restore ms\",\"pause ms\",\"MiB\",\"source after\",\"verdict\",\"note\"]"
echo

echo "## 5. Saving to a file"
echo
answer q5
echo "\`exec:cat > FILE\`, the \`file:\` URI (QEMU >= 8.2) with and without"
echo "\`mapped-ram\` (fixed offsets per page, a sparse file, written by 2 multifd"
echo "channels), against criu-lite's dump to a directory (zero pages not stored)."
echo "save: stop to file complete; restore: new QEMU started (or criu-lite"
echo "restore) to the guest running. Durable and not: QEMU never fsyncs a"
echo "migration file itself; the \`-sync\` modes time the save to the file's"
echo "fsync (\`sync FILE\` once migration completed and the exec: child is gone:"
echo "\`fsync ms\`). criu-lite's dump is durable by default (its pages and images"
echo "fsync'ed before the tree is killed); cl-dump-nosync is \`--no-sync\`."
echo
table '["exec-save","exec-save-sync","file-save","file-save-sync","file-mapped-ram","file-mapped-ram-sync","cl-dump-nosync","cl-dump"]' \
	"[$ID,\"durable\",\"save ms\",\"fsync ms\",\"restore ms\",\"total ms\",\"pause ms\",\"MiB\",\"alloc MiB\",\"verdict\",\"note\"]"
echo
plot bytes-per-mode "Bytes moved per mode"

echo "## 6. Dirty rate"
echo
answer q6
echo "\`calc-dirty-rate\` for 2 s (page-sampling and dirty-bitmap modes; QEMU's"
echo "\`dirty-rate\` is in MiB/s) against the workload's rate (an upper bound:"
echo "the guest may not keep up under TCG, and a page written twice counts"
echo "once). The dirty-bitmap mode counts through KVM's dirty log only: under"
echo "TCG it says 0, \`rate-too-low\` here, expected. criu-lite's exact per-round counts are in the cl-precopy rows' raw"
echo "timing lines (\`pre-copy: N rounds ... copied P pages ... last round L\`)"
echo "and the cl-migrate rows' stats file (pages per round, at the round's own"
echo "bandwidth)."
echo
table '["calc-dirty-rate-sampling","calc-dirty-rate-bitmap"]' \
	"[$ID,\"measured MiB/s\",\"workload MiB/s\",\"guest pages/s\",\"total ms\",\"verdict\",\"note\"]"
echo
jq -r 'select(.mode == "cl-precopy" or .mode == "cl-precopy-lazy") |
	"- criu-lite \(.mode), QEMU \(.qemu), \(.mem_mib) MiB, \(.dirty_rate) pages/s: " +
	((.raw.dump // []) | map(select(test("pre-copy: [0-9]"))) | join("; "))' "$res"
jq -r 'select((.mode | startswith("cl-migrate")) and .raw.source != null) |
	"- criu-lite \(.mode), QEMU \(.qemu), \(.mem_mib) MiB, \(.dirty_rate) pages/s: " +
	"pages per pre-copy round " + (.raw.source.rounds | map("\(.pages) in \(.ms | round) ms") |
	join(", ")) + "; \(.raw.source.expected_downtime_ms) ms expected left at the stop"' "$res"
echo

echo "## 7. Convergence under load"
echo
answer q7
echo "auto-converge (CPU throttling) and a 50 ms downtime-limit, both at the"
echo "default bandwidth, against precopy-default (300 ms limit); criu-lite's"
echo "pre-copy rounds (cl-precopy to a directory, cl-migrate to the other host)"
echo "beside them. The guest's own progress on the source during"
echo "the move: \`guest HB/s\` (heartbeats per second, 10 = unhindered) and"
echo "\`guest pages/s\` (the pages it really dirtied per second, from its own"
echo "counter; \`throttle %\` is the highest CPU throttle seen while polling)."
echo "The workload dirties at a fixed pace and its vCPU is idle between: a"
echo "throttle that takes 20 % of the vCPU's time takes none of its writes, so"
echo "auto-converge cannot slow this guest (its pages/s stay the rate asked)."
echo
table '["precopy-default","auto-converge","downtime-limit-50","cl-precopy","cl-migrate","cl-migrate-128M"]' \
	"[$ID,\"total ms\",\"downtime ms\",\"pause ms\",\"rounds\",\"throttle %\",\"guest HB/s\",\"guest pages/s\",\"MiB\",\"verdict\",\"note\"]"
echo
plot pause-vs-rate "Pause seen by the guest's clients against the dirty rate (the 512 MiB guest)"

echo "## 8. Device mismatch"
echo
answer q8
echo "criu-lite (cl-mismatch): the guest's QEMU is dumped, then restored where"
echo "its binary differs (the other QEMU version's binary bind-mounted over its"
echo "path, in a mount namespace of the restore's own: nothing changes for"
echo "anyone else), then where one of its libraries differs (libglib with one"
echo "byte of its first page complemented: same size). restore checks every"
echo "mapped file's size and a sample checksum recorded at dump time"
echo "(criu-lite/mem.c, check_mapped_files) and must refuse each, naming the"
echo "file, before it creates anything; then the restore with the real files"
echo "continues the guest, checked as every move. \`verdict\` says"
echo "\`binary-not-refused\`, \`library-not-refused\` or \`process-left\` when"
echo "one of those fails; \`note\` holds criu-lite's two messages."
echo
table '["cl-mismatch"]' \
	"[$ID,\"save ms\",\"restore ms\",\"pause ms\",\"verdict\",\"note\"]"
echo
echo "QEMU (dst-no-disk): a live move to a destination started without the"
echo "guest's virtio-blk disk. The precopy source has no return path: it"
echo "says \`completed\` whatever the destination made of the stream; the"
echo "destination refuses the stream and exits, and its message (its"
echo "qemu.out) is the row's note; the source, still holding the guest in"
echo "\`postmigrate\`, is continued and must run on intact. \`ok\` means"
echo "exactly that; \`dst-accepted\`, \`no-message\` or"
echo "\`source-not-resumed\` say what did not happen."
echo
table '["dst-no-disk"]' \
	"[$ID,\"total ms\",\"verdict\",\"note\"]"
echo

echo "## 9. In-flight disk I/O"
echo
answer q9
echo "The guest writes and reads back its virtio-blk disk every second during"
echo "every move (\`DISK\`: every round after the move ok; \`newer:N/M\`: a"
echo "RAM-only snapshot loaded after the disk went on, question 4; \`none\`:"
echo "no round after the move, a guest that crashed or hung)."
echo
table "$(jq -sc "$IN_ORDER" "$res")" \
	"[$ID,\"DISK\",\"NET\",\"verdict\"]" '.verdict != "n/a"'
echo

echo "## 10. Consistency"
echo
answer q10
echo "Every run of every tool: the guest's memory verification, heartbeat"
echo "continuity and kernel messages after the move. QEMU 7.2's TCG precopy was"
echo "seen to corrupt busy guests before this harness; here is what each"
echo "version does now. \`guest gap ms\` is the guest's own clock across the"
echo "move (the heartbeats' monotonic stamps around the longest host-clock"
echo "gap), not the host-time pause of questions 1-3: a guest stalled on"
echo "pages (postcopy-recover's cut) sees less of its stall than the host."
echo
table "$(jq -sc "$IN_ORDER" "$res")" \
	"[$ID,\"verdict\",\"VERIFY\",\"hb step\",\"guest gap ms\",\"kmsg\",\"load\",\"note\"]"
echo
echo "Summary per tool and QEMU version (rows that moved the guest):"
echo
summary_table
echo
} >"$doc.tmp"
mv "$doc.tmp" "$doc"
echo "make-doc: $doc"

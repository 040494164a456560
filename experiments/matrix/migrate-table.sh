#!/bin/bash
# make bench-migrate's table (issue 9, "Measure"): criu-lite migrate
# (precopy, postcopy) against QEMU's own migration (precopy at the default
# bandwidth and unlimited, postcopy), the same guest across the same two
# hosts, from the rows run-experiments.sh wrote.
#
# Usage: experiments/matrix/migrate-table.sh RESULTS.jsonl [QEMU-VERSION]
#
# One block per configuration (guest size, dirty rate); one line per mode:
# medians over the runs of total time, downtime, guest-observed pause
# (heartbeat gap on the host clock), MiB on the wire and rounds, the
# guest's verdicts (every run's), and the ratios of total time, pause and
# bytes to QEMU's precopy at the default bandwidth and unlimited ("x1.50":
# half again as long). A mode with no row says so: it was not run (not in
# this build's matrix, or EXP_MODES left it out), never a made-up figure.
# Below the busy 2 GiB guest's block, issue 9's goal: criu-lite migrate's
# median pause against QEMU precopy's (the shorter of its two modes), in
# how many runs it was no longer than QEMU's of the same run, how many
# moves ended with the guest's memory verified, and whether the goal
# holds (median no longer, every move verified).
set -eu
cd "$(dirname "$0")/../.." || exit 1
results=$1
ver=${2:-10.0}
[ -s "$results" ] || { echo "migrate-table: no rows in $results" >&2; exit 1; }

jq -rs -L experiments/matrix --arg ver "$ver" '
import "exp-stats" as s;
def modes: ["precopy-default", "precopy", "postcopy", "cl-migrate",
	    "cl-migrate-128M", "cl-migrate-postcopy"];
def title: {"precopy-default": "QEMU precopy, default bandwidth",
	    "precopy": "QEMU precopy, unlimited",
	    "postcopy": "QEMU postcopy",
	    "cl-migrate": "criu-lite migrate (precopy)",
	    "cl-migrate-128M": "criu-lite migrate, 128 MiB/s",
	    "cl-migrate-postcopy": "criu-lite migrate --postcopy"}[.];
def med(f): [.[] | f] | s::median;
def fmt: if . == null then "-" else (. | round | tostring) end;
def ratio($a; $b): if $a == null or $b == null or $b == 0 then "-"
	else "x" + (($a / $b * 100 | round) / 100 | tostring) end;
def cell($w): tostring | if length >= $w then . else . + " " * ($w - length) end;

[.[] | select(.qemu == $ver and (.mode as $m | modes | index($m)))] as $rows |
($rows | map([.mem_mib, .dirty_rate]) | unique) as $configs |
if ($configs | length) == 0 then "no rows of these modes for QEMU \($ver)" else
"QEMU \($ver); medians of the runs; ratios: to QEMU precopy at the default bandwidth / unlimited",
($configs[] as [$mem, $rate] |
 ($rows | map(select(.mem_mib == $mem and .dirty_rate == $rate))) as $c |
 def of($m): $c | map(select(.mode == $m));
 (of("precopy-default")) as $qd | (of("precopy")) as $qu |
 "",
 "\($mem) MiB guest, \(if $rate == 0 then "idle" else "dirtying \($rate) pages/s" end):",
 ([["mode", "runs", "total ms", "down ms", "pause ms", "MiB", "rounds",
    "total ratio", "pause ratio", "bytes ratio", "guest"]] +
  [modes[] as $m | of($m) as $r |
   if ($r | length) == 0 then [($m | title), "0", "-", "-", "-", "-", "-",
	"-", "-", "-", "not run"]
   else [($m | title), ($r | length | tostring),
	($r | med(.total_ms) | fmt), ($r | med(.downtime_ms) | fmt),
	($r | med(.pause_ms) | fmt), ($r | med(.bytes | s::mib) | fmt),
	($r | med(.rounds) | fmt),
	ratio($r | med(.total_ms); $qd | med(.total_ms)) + " / " +
	    ratio($r | med(.total_ms); $qu | med(.total_ms)),
	ratio($r | med(.pause_ms); $qd | med(.pause_ms)) + " / " +
	    ratio($r | med(.pause_ms); $qu | med(.pause_ms)),
	ratio($r | med(.bytes); $qd | med(.bytes)) + " / " +
	    ratio($r | med(.bytes); $qu | med(.bytes)),
	($r | s::verdicts)] end]) as $t |
 ([range(0; $t[0] | length) as $i | $t | map(.[$i] | tostring | length) | max]) as $w |
 ($t[] | [range(0; length) as $i | .[$i] | cell($w[$i])] | join("  ") | sub(" +$"; "")),
 # issue 9 "Done when": on the busy 2 GiB guest, criu-lite migrate'"'"'s
 # guest-observed pause no longer than QEMU precopy'"'"'s in the same run
 # (the shorter of the two precopy modes run), every move verified
 if $mem == 2048 and $rate > 0 then
  (of("cl-migrate")) as $cl | ($qd + $qu) as $q |
  ([$cl[] | .run as $n | ([$q[] | select(.run == $n) | .pause_ms |
	select(. != null)] | min) as $qp |
	select($qp != null and .pause_ms != null) |
	{ok: (.pause_ms <= $qp)}]) as $pairs |
  ([$qd, $qu] | map(med(.pause_ms)) | map(select(. != null)) | min) as $qmed |
  ($cl | med(.pause_ms)) as $cmed |
  ($cl | all(.verdict == "ok")) as $verified |
  if ($cl | length) == 0 or $qmed == null then
   "goal: not measured (criu-lite migrate or QEMU precopy not run)"
  else
   "goal: criu-lite migrate pause \($cmed | fmt) ms vs QEMU precopy \($qmed | fmt) ms (median, the shorter precopy mode): \(ratio($cmed; $qmed)); no longer in \($pairs | map(select(.ok)) | length) of \($pairs | length) runs; memory verified in \($cl | map(select(.verdict == "ok")) | length) of \($cl | length) moves: " +
   (if $cmed <= $qmed and $verified then "HOLDS" else "does NOT hold" end)
  end,
  # like for like: each tool at the same bandwidth
  ([["unlimited", of("cl-migrate"), $qu], ["128 MiB/s", of("cl-migrate-128M"), $qd]][] |
   select((.[1] | length) > 0 and (.[2] | length) > 0) |
   "  at \(.[0]): criu-lite migrate pause \(.[1] | med(.pause_ms) | fmt) ms vs QEMU precopy \(.[2] | med(.pause_ms) | fmt) ms: \(ratio(.[1] | med(.pause_ms); .[2] | med(.pause_ms)))")
 else empty end)
end
' "$results"

# The one-paragraph answer of each question of docs/experiments.md,
# computed from the run's rows (make-doc.sh slurps results.jsonl and calls
# qN). Every figure is a median over the ok runs of one configuration of
# this run; nothing here is typed in. Import with
#   jq -L experiments/matrix -rs 'import "answers" as a; a::q1'
import "exp-stats" as s;

# ---- plumbing ----

def versions: map(select(.tool == "qemu" and .qemu != null) | .qemu) | unique |
	sort_by(split(".") | map(tonumber));
def rows($v; $m): map(select(.qemu == $v and .mode == $m and .verdict != "n/a"));
def at($mem; $rate): map(select(.mem_mib == $mem and .dirty_rate == $rate));
def okr: map(select(.verdict == "ok"));
def med(f): okr | map(f | select(. != null)) | s::median;
def n: if . == null then "-" else round | tostring end;
def x($a; $b): if $a == null or $b == null or $b == 0 then "-"
	else ($a / $b * 100 | round / 100 | tostring) + "x" end;
def pct($a; $b): if $a == null or $b == null or $b == 0 then "-"
	else ($a / $b * 100 | round | tostring) + " %" end;
def q: .raw."query-migrate";
# [min–max] of the ok runs' f
def span(f): okr | map(f | select(. != null)) |
	if length == 0 then "" else "[\(min | n)–\(max | n)]" end;
def okcount: "\(okr | length) of \(length)";
# what a mode's rows say, or why they say nothing: TEXT when some run was ok
def said($rows; $name; text): ($rows | length) as $n |
	if $n == 0 then "\($name): not run"
	elif ($rows | okr | length) == 0 then
		"\($name) broke the guest in " + (if $n == 1 then "its one run" else "all \($n) runs" end)
	else text end;
# the busiest 512 MiB configuration of the run (the single points' one)
def busy: (map(select(.mem_mib == 512) | .dirty_rate) | max) as $r | [512, $r];
def big: (map(select(.mem_mib > 512) | .mem_mib) | max) as $m |
	if $m == null then null
	else [$m, (map(select(.mem_mib == $m) | .dirty_rate) | max)] end;
def cfg($c): "\($c[0]) MiB at \($c[1]) pages/s";

# ---- the questions ----

def q1:
	. as $all | busy as $b |
	"**Answer (this run, \(cfg($b)), medians of ok runs):** " +
	([versions[] as $v | $all | at($b[0]; $b[1]) |
		rows($v; "precopy-default") as $pd | rows($v; "precopy") as $p |
		rows($v; "cl-migrate") as $c |
		"QEMU \($v): " +
		said($pd; "precopy at the default bandwidth";
			"precopy at the default bandwidth spent " +
			"\($pd | med(q."setup-time") | n) ms in setup, " +
			"\($pd | med(.total_ms - q."setup-time" - .downtime_ms) | n) ms " +
			"iterating (\(pct($pd | med(.total_ms - q."setup-time" - .downtime_ms); $pd | med(.total_ms)))) and " +
			"\($pd | med(.downtime_ms) | n) ms in the switchover") + "; " +
		said($p; "unlimited precopy";
			"unlimited, \($p | med(.total_ms - q."setup-time" - .downtime_ms) | n) ms iterating and " +
			"\($p | med(.downtime_ms) | n) ms of downtime") + "; " +
		said($c; "criu-lite migrate";
			"criu-lite migrate of the same guest " +
			"\($c | med(.raw.source.precopy_ms) | n) ms in pre-copy rounds and " +
			"\($c | med(.raw.source.downtime_ms) | n) ms frozen (stop and freeze " +
			"\($c | med(.raw.source."downtime-parts"."stop-freeze_ms") | n), dump " +
			"\($c | med(.raw.source."downtime-parts".dump_ms) | n), send " +
			"\($c | med(.raw.source."downtime-parts".send_ms) | n), restore there " +
			"\($c | med(.raw.source."downtime-parts"."restore-there_ms") | n) ms)")] |
		join("; ")) +
	". The iterations are the time; the downtime is the last round plus " +
	"the switchover, and for criu-lite the restore on the other host is " +
	"part of it. Each figure is the median of its own column over the runs, " +
	"so the parts need not add up to a whole of one run. QEMU's " +
	"downtime-limit (300 ms) is a target it checks against the bandwidth " +
	"it measured while iterating, not a bound: unlimited moves here passed " +
	"it (the table's downtime column).";

def q2:
	. as $all | busy as $b | ($all | at($b[0]; $b[1])) as $r |
	"**Answer (this run, \(cfg($b))):** " +
	([versions[] as $v |
		($r | rows($v; "precopy-default")) as $pd | ($r | rows($v; "precopy")) as $p |
		($r | rows($v; "multifd-4")) as $m4 |
		($r | rows($v; "cl-migrate")) as $c | ($r | rows($v; "cl-migrate-128M")) as $c128 |
		"QEMU \($v): " +
		said($pd; "precopy at the default 128 MiB/s";
			"precopy at its default 128 MiB/s moved at " +
			"\($pd | med(q.ram.mbps / 8) | n) MB/s, " +
			"\(pct($pd | med(q.ram.mbps / 8); $pd | med(.link_mb_s))) of the link's " +
			"\($pd | med(.link_mb_s) | n) MB/s") + "; " +
		said($p; "unlimited precopy";
			"unlimited it took \($p | med(.total_ms) | n) ms" +
			(if ($pd | okr | length) > 0 then
				" (\(x($p | med(.total_ms); $pd | med(.total_ms))) the default's " +
				"\($pd | med(.total_ms) | n) ms)" else "" end)) +
		(if ($m4 | length) > 0 then "; " + said($m4; "multifd with 4 channels";
			"multifd with 4 channels \($m4 | med(.total_ms) | n) ms") else "" end) +
		"; " + said($c; "criu-lite migrate";
			"criu-lite migrate took \($c | med(.total_ms) | n) ms unlimited" +
			(if ($p | okr | length) > 0 then
				" (\(x($c | med(.total_ms); $p | med(.total_ms))) QEMU's unlimited precopy)"
			 else "" end)) +
		(if ($c128 | length) > 0 then " and " + said($c128; "at 128 MiB/s";
			"\($c128 | med(.total_ms) | n) ms at 128 MiB/s" +
			(if ($pd | okr | length) > 0 then
				" (\(x($c128 | med(.total_ms); $pd | med(.total_ms))) QEMU's default)"
			 else "" end)) else "" end)] |
		join("; ")) +
	". The default cap, not the link, makes a move on one host slow (QEMU's " +
	"mbps, MB = 10^6 bytes, covers the whole move after setup, the last pass " +
	"sent unthrottled at the switchover included: it can pass 128 MiB/s = 134 MB/s)." +
	(big as $g | if $g == null then "" else
		($all | at($g[0]; $g[1])) as $rg |
		" At \(cfg($g)): " + ([versions[] as $v |
			($rg | rows($v; "precopy")) as $p | ($rg | rows($v; "cl-migrate")) as $c |
			"QEMU \($v): " + said($p; "unlimited precopy";
				"unlimited precopy \($p | med(.total_ms) | n) ms") + ", " +
			said($c; "criu-lite migrate"; "criu-lite migrate \($c | med(.total_ms) | n) ms" +
				(if ($p | okr | length) > 0 then
					" (\(x($c | med(.total_ms); $p | med(.total_ms))))" else "" end))] |
			join("; ")) + "." end);

def q3:
	. as $all | busy as $b | ($all | at($b[0]; $b[1])) as $r |
	"**Answer (this run, \(cfg($b))):** " +
	([versions[] as $v |
		($r | rows($v; "postcopy")) as $pc | ($r | rows($v; "precopy")) as $p |
		($r | rows($v; "postcopy-preempt")) as $pp |
		($r | rows($v; "cl-migrate-postcopy")) as $c |
		($all | rows($v; "postcopy")) as $pcall |
		"QEMU \($v): postcopy paused the guest \($pc | med(.pause_ms) | n) ms " +
		"(unlimited precopy \($p | med(.pause_ms) | n) ms) and served " +
		"\($pc | med(q.ram."postcopy-requests") | n) page requests" +
		(if ($pp | length) == 0 then ""
		 else ", " + said($pp; "postcopy-preempt"; "preempt \($pp | med(.pause_ms) | n) ms with " +
			"\($pp | med(q.ram."postcopy-requests") | n) requests") end) +
		", ok in \($pcall | okcount) postcopy moves of the whole run; " +
		"criu-lite's postcopy paused it \($c | med(.pause_ms) | n) ms, " +
		"\($c | med(.raw.source.ram."postcopy-requests") | n) pages requested on fault, " +
		"all memory there after \($c | med(.raw."lazy-all-in-ms" // .raw.destination.all_memory_ms) | n) ms" +
		(($all | rows($v; "postcopy-recover")) as $rc | if ($rc | length) == 0 then ""
		 else "; with the link cut, both sides were paused \($rc | med(.raw.recover |
			[.src_paused_ms, .dst_paused_ms] | max) | n) ms after the cut and in postcopy again " +
			"\($rc | med(.raw.recover.active_again_ms) | n) ms after it, the guest stalled " +
			"\($rc | med(.raw.recover.guest_pause_ms) | n) ms (verdict \($rc | map(.verdict) | unique | join("/")))"
		 end)] | join("; ")) + ". A postcopy's downtime is its switchover " +
	"only; the guest's pause also counts the stalls of its first faults on " +
	"pages still on the source, so it can be far longer.";

def q4:
	. as $all |
	"**Answer (this run):** " +
	([versions[] as $v |
		($all | rows($v; "bg-snapshot")) as $bg |
		# the stop-at-end save of the same configuration as the snapshots
		(($all | busy) as $b | $all | at($b[0]; $b[1]) | rows($v; "exec-save")) as $es |
		($all | rows($v; "cl-dump-leave-running")) as $cl |
		"QEMU \($v): " +
		(if ($bg | length) == 0 then "no background-snapshot row"
		 else ($bg | map(select(.raw."hb-first-loaded" != null and .raw."hb-at-start" != null and
			.raw."hb-first-loaded" - .raw."hb-at-start" <= 10)) | length) as $start |
			"the background-snapshot resumed at its start's heartbeat in \($start) of \($bg | length) " +
			"(the source \($bg | map(.raw."source-status-after" // "-") | unique | join("/")), " +
			"its pause \($bg | med(.pause_ms) | n) ms, disk \($bg | map(.disk) | unique | join("/")))" end) +
		", the stop-at-end save paused it \($es | med(.pause_ms) | n) ms and left " +
		"the source stopped; criu-lite's dump --leave-running: the restored image at the dump's " +
		"state in \($cl | map(select(.verdict | test("not-dump-state") | not)) | length) of \($cl | length), " +
		"the source paused \($cl | med(.pause_ms) | n) ms"] | join("; ")) +
	". background-snapshot holds the start, a save the end; criu-lite's " +
	"dump --leave-running holds its freeze's moment, the source running on after a pause " +
	"of the whole dump.";

def q5:
	. as $all | busy as $b | ($all | at($b[0]; $b[1])) as $r |
	"**Answer (this run, \(cfg($b))):** " +
	([versions[] as $v |
		def m($mode; f): $r | rows($v; $mode) | med(f);
		"QEMU \($v): exec:cat saved \(m("exec-save"; .bytes | s::mib) | n) MiB in " +
		"\(m("exec-save"; .save_ms) | n) ms" +
		(if ($r | rows($v; "file-mapped-ram") | length) > 0 then
			", mapped-ram \(m("file-mapped-ram"; .raw."file-allocated-bytes" | s::mib) | n) MiB " +
			"allocated in \(m("file-mapped-ram"; .save_ms) | n) ms" else "" end) +
		", durable (fsync) \(m("exec-save-sync"; .save_ms) | n) ms; restore " +
		"\(m("exec-save"; .restore_ms) | n) ms; criu-lite's dump " +
		"\(m("cl-dump"; .bytes | s::mib) | n) MiB, durable " +
		"\(m("cl-dump"; .save_ms) | n) ms \($r | rows($v; "cl-dump") | span(.save_ms)) " +
		"(--no-sync \(m("cl-dump-nosync"; .save_ms) | n) ms, one run), " +
		"restore \(m("cl-dump"; .restore_ms) | n) ms"] | join("; ")) +
	(big as $g | if $g == null then "" else
		($all | at($g[0]; $g[1])) as $rg |
		". At \(cfg($g)): " + ([versions[] as $v | ($rg | rows($v; "cl-dump")) as $c |
			"QEMU \($v): " + said($c; "criu-lite's dump";
				"criu-lite's dump \($c | med(.bytes | s::mib) | n) MiB in " +
				"\($c | med(.save_ms) | n) ms \($c | span(.save_ms)), restore " +
				"\($c | med(.restore_ms) | n) ms \($c | span(.restore_ms))")] |
			join("; ")) + " (a dump writes its pages into fresh page cache: on this " +
			"VM, memory the host took back comes back slowly, see The setup, hence " +
			"the spread of the large dumps)" end) +
	". Zero pages: QEMU's stream carries a flag per zero page, mapped-ram " +
	"leaves holes, criu-lite stores none; criu-lite's image is the whole " +
	"QEMU process, its own memory (TCG's translated code, its heap) beside " +
	"the guest's RAM, QEMU's stream the guest's RAM and devices only.";

def q6:
	. as $all |
	"**Answer (this run):** " +
	([versions[] as $v |
		($all | rows($v; "calc-dirty-rate-sampling")) as $sa |
		($all | rows($v; "calc-dirty-rate-bitmap")) as $bm |
		"QEMU \($v): page-sampling measured " +
		"\($sa | map(.raw."query-dirty-rate"."dirty-rate") | map(select(. != null)) | s::median | n) MiB/s " +
		"(\($sa | map(.verdict) | unique | join("/"))), dirty-bitmap " +
		"\($bm | map(.raw."query-dirty-rate"."dirty-rate") | map(select(. != null)) | s::median | n) MiB/s " +
		"(\($bm | map(.verdict) | unique | join("/"))), against the workload's at most " +
		"\($sa + $bm | map(.raw."workload-mib-per-s") | map(select(. != null)) | s::median | n) MiB/s"] |
		join("; ")) +
	(busy as $b | ($all | at($b[0]; $b[1]) | map(select(.mode == "cl-migrate" and .raw.source.rounds != null)) | okr) as $c |
	 if ($c | length) == 0 then "" else
		"; criu-lite counts each round's pages exactly: its migrate's last pre-copy round at \(cfg($b)) " +
		"copied \($c | map(.raw.source.rounds[-1].pages) | s::median | n) pages, the ones written " +
		"while the round before it ran (\($c | map(.raw.source.rounds[-2].ms // null) | s::median | n) ms): " +
		"\($c | map(.raw.source.rounds | if length > 1 and .[-2].ms > 0
			then .[-1].pages * 4096 / .[-2].ms / 1000 else null end) |
			map(select(. != null)) | s::median | n) MB/s of distinct pages (a page written twice counts once; the " +
		"whole QEMU process's pages: its own memory, TCG's translated code " +
		"and heap, beside the guest's, which can put it above the workload's rate)" end) + ".";

def q7:
	. as $all | busy as $b | ($all | at($b[0]; $b[1])) as $r |
	"**Answer (this run, \(cfg($b))):** " +
	([versions[] as $v |
		def m($mode; f): $r | rows($v; $mode) | med(f);
		def rs($mode): $r | rows($v; $mode);
		"QEMU \($v): " +
		said(rs("precopy-default"); "precopy at the default bandwidth";
			"precopy at the default bandwidth took \(m("precopy-default"; .total_ms) | n) ms " +
			"(downtime \(m("precopy-default"; .downtime_ms) | n) ms)") + ", " +
		said(rs("auto-converge"); "auto-converge";
			"auto-converge \(m("auto-converge"; .total_ms) | n) ms (throttle up to " +
			"\(m("auto-converge"; .raw."max-cpu-throttle-percentage-seen") | n) %, " +
			"the guest at \(m("auto-converge"; .guest_hb_per_s) | n) heartbeats/s)") + ", " +
		said(rs("downtime-limit-50"); "downtime-limit 50 ms";
			"downtime-limit 50 ms \(m("downtime-limit-50"; .total_ms) | n) ms " +
			"(downtime \(m("downtime-limit-50"; .downtime_ms) | n) ms)") + "; " +
		said(rs("cl-migrate"); "criu-lite migrate";
			"criu-lite migrate \(m("cl-migrate"; .total_ms) | n) ms in " +
			"\(m("cl-migrate"; .rounds) | n) rounds, the guest at " +
			"\(m("cl-migrate"; .guest_hb_per_s) | n) heartbeats/s")] | join("; ")) + ".";

def q8:
	. as $all |
	"**Answer (this run):** " +
	([versions[] as $v |
		($all | rows($v; "dst-no-disk")) as $q | ($all | rows($v; "cl-mismatch")) as $c |
		"QEMU \($v)'s destination without the disk: " +
		($q | map(.note // "-" | .[0:160]) | unique | join(" / ")) +
		" (verdict \($q | map(.verdict) | unique | join("/"))); criu-lite refused the other " +
		"binary and the changed library naming the file in \($c | okcount) runs"] | join("; ")) + ".";

def q9:
	. as $all | map(s::moved) as $mv |
	"**Answer (this run):** the guest's disk checked after \($mv | length) moves: " +
	"ok in \($mv | map(select(.disk == "ok")) | length), newer than the memory after a " +
	"RAM-only snapshot in \($mv | map(select(.disk | startswith("newer"))) | length), " +
	"no round seen in \($mv | map(select(.mode != "dst-no-disk" and (.disk == "none" or .disk == "-" or .disk == null))) | length) " +
	"(guests that crashed or hung), no disk by design in \($mv | map(select(.mode == "dst-no-disk")) | length) " +
	"(dst-no-disk), bad in \($mv | map(select(.disk | startswith("BAD"))) | length)" +
	($mv | map(select(.disk | startswith("BAD"))) | if length == 0 then ""
		else " (" + (map("\(.qemu) \(.mode)") | unique | join(", ")) + ")" end) +
	"; by tool: " + ([$mv | group_by(.tool)[] |
		"\(.[0].tool) \(map(select(.disk == "ok" or (.disk | startswith("newer")))) | length) of \(length)"] |
		join(", ")) + ".";

def q10:
	. as $all | map(s::moved) as $mv |
	"**Answer (this run):** " +
	([$mv | group_by([.tool, .qemu])[] |
		"\(.[0].tool) with QEMU \(.[0].qemu): \(okcount) moves ok" +
		(map(select(.verdict != "ok")) | if length == 0 then "" else
			" (not ok: " + (group_by(.mode) | map("\(.[0].mode) ×\(length)") | join(", ")) + ")" end)] |
		join("; ")) +
	". Does QEMU's TCG precopy still break busy guests? " +
	([versions[] as $v | $mv | map(select(.tool == "qemu" and .qemu == $v and
		(.mode | IN("precopy", "precopy-default", "multifd-4", "multifd-2", "multifd-1",
			"multifd-4-nozpd", "multifd-2-nozpd", "multifd-1-nozpd",
			"auto-converge", "downtime-limit-50")) and .dirty_rate > 0)) |
		"QEMU \($v): \(okcount) of its precopy moves of a dirtying guest ok, " +
		"\(map(select(.verdict | test("guest:crash|VERIFY:BAD|guest:hang|guest:nohb"))) | length) " +
		"crashed, hung or corrupted it; dirty-sync rounds of the ok ones " +
		"\(okr | map(.rounds) | s::median | n) (median), up to \(okr | map(.rounds) | max | n), " +
		"\(okr | map(select((.rounds // 0) > 3)) | length) with more than 3; of the broken ones " +
		"\(map(select(.verdict != "ok")) | map(.rounds) | s::median | n)"] | join("; ")) + ".";

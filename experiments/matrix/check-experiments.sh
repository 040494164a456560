#!/bin/bash
# make experiments-selfcheck (in make check, a few seconds): the experiment
# harness's own plumbing, without a guest. Rows written by exp-lib.sh's
# emit_row (a QEMU move, an n/a mode, a durable criu-lite dump) must pass
# check-results.sh; a row lacking a field must fail it; make-doc.sh must
# write every question's section from them, with the figures of the rows
# (the link's ceiling, the durable column, the load average).
set -u
cd "$(dirname "$0")/../.." || exit 1
tmp=$(mktemp -d /tmp/exp-selfcheck.XXXXXX)
trap '[ -n "${EXP_SELFCHECK_KEEP:-}" ] || rm -rf "$tmp"' EXIT
fail() { echo "experiments-selfcheck: FAIL: $*" >&2; exit 1; }

# shellcheck disable=SC1091
. experiments/guest/guest-lib.sh
# shellcheck disable=SC1091
. experiments/matrix/exp-lib.sh
EXP_RESULTS=$tmp/results.jsonl
CH_VER=10.0 CH_MEM=512 CH_RATE=20000 EXP_RUN=1 CH_QEMU_VERSION="10.0.2 test"
EXP_LINK_MBS=512 EXP_LINK4_MBS=600
{
	row_reset qemu precopy
	R_TOOL_VERSION=$CH_QEMU_VERSION R_TOTAL=1000 R_DOWN=50 G_PAUSE=120
	R_BYTES=536870912 R_ROUNDS=3 R_VERDICT=ok G_KMSG=0
	R_RAW='{"query-migrate": {"total-time": 1000, "setup-time": 10,
		"downtime": 50, "ram": {"mbps": 4096, "transferred": 536870912}}}'
	emit_row
	row_na qemu file-save "QEMU 7.2: needs QEMU >= 8.2"
	row_reset criu-lite cl-dump
	R_TOOL_VERSION="criu-lite test" R_TOTAL=2000 R_DOWN=700 G_PAUSE=1900
	R_SAVE=1200 R_RESTORE=800 R_BYTES=400000000 R_VERDICT=ok G_KMSG=0
	R_DURABLE=true
	emit_row
	# a precopy that broke the guest: its source, continued, ran on
	# (chain_resume_source stands in for the guest's check): the row says
	# so, and the chain goes on from it
	chain_resume_source() { return 0; }
	chain_end() { echo ended >"$tmp/chain-ended"; }
	row_reset qemu precopy-default
	R_TOOL_VERSION=$CH_QEMU_VERSION R_VERDICT=guest:crash,qemu-exited R_SRC_RESUMABLE=1
	row_end
	# a postcopy's source does not hold the guest: the chain ends
	row_reset qemu postcopy
	R_TOOL_VERSION=$CH_QEMU_VERSION R_VERDICT=guest:crash,qemu-exited
	row_end
} 2>/dev/null || fail "emit_row"
[ "$(wc -l <"$EXP_RESULTS")" = 5 ] || fail "emit_row wrote $(wc -l <"$EXP_RESULTS") rows, not 5"
sed -n 4p "$EXP_RESULTS" | jq -e '.source_resumed == true and (.note | test("source was continued and ran on intact"))' >/dev/null ||
	fail "a broken precopy's row does not say that its source ran on"
sed -n 5p "$EXP_RESULTS" | jq -e '.source_resumed == null' >/dev/null ||
	fail "a broken postcopy's row says its source was continued"
[ -f "$tmp/chain-ended" ] || fail "a broken postcopy did not end the chain"
experiments/matrix/check-results.sh "$EXP_RESULTS" >/dev/null ||
	fail "emit_row's rows do not pass check-results.sh"
head -n 1 "$EXP_RESULTS" | jq -c 'del(.loadavg)' >"$tmp/bad.jsonl"
experiments/matrix/check-results.sh "$tmp/bad.jsonl" 2>/dev/null &&
	fail "check-results.sh passed a row without loadavg"

# the disk after a RAM-only snapshot: blocks from later rounds than the
# memory expects are "newer" (expected of a snapshot, a failure of a
# move); an older block or a read error stays BAD
printf '%s\n' "DISK ok round=5 blocks=5" \
	"DISK BAD round=6 block=7 expected_round=7 found_round=71" >"$tmp/newer.log"
[ "$(gl_disk_newer "$tmp/newer.log")" = newer:1/2 ] ||
	fail "a later round on disk is not judged newer: $(gl_disk_newer "$tmp/newer.log")"
printf '%s\n' "DISK BAD round=6 block=7 expected_round=71 found_round=7" \
	"DISK BAD round=7 block=8 expected_round=8 found_round=72" >"$tmp/older.log"
[ "$(gl_disk_newer "$tmp/older.log")" = BAD:2/2 ] ||
	fail "an older block on disk is not BAD: $(gl_disk_newer "$tmp/older.log")"
printf '%s\n' "DISK BAD round=6 read: Input/output error" >"$tmp/ioerr.log"
[ "$(gl_disk_newer "$tmp/ioerr.log")" = BAD:1/1 ] ||
	fail "a read error is not BAD: $(gl_disk_newer "$tmp/ioerr.log")"
G_FATE=ok G_VERIFY=ok G_DISK=newer:1/2 G_NET=ok G_SEQ=1 G_HBHOLES=0 G_KMSG=0
[ "$(guest_verdict noseq)" = ok ] ||
	fail "a snapshot's newer disk fails its row: $(guest_verdict noseq)"
[ "$(guest_verdict)" = DISK:newer:1/2 ] ||
	fail "a move's newer disk passes its row: $(guest_verdict)"

echo '{"command": "make experiments-quick", "loadavg_at_start": "1.00 1.00 1.00",
	"env": "EXP_REPS='"'1'"'", "commit": "abc1234", "axis_modes": "precopy|cl-dump",
	"axis_modes_big": "postcopy|multifd-4|cl-migrate"}' >"$tmp/meta.json"
experiments/matrix/make-doc.sh "$tmp" "$tmp/doc.md" experiments >/dev/null ||
	fail "make-doc.sh"
for n in 1 2 3 4 5 6 7 8 9 10; do
	grep -q "^## $n\. " "$tmp/doc.md" || fail "make-doc.sh wrote no section $n"
done
# each section opens with its answer, computed from the rows
[ "$(grep -c '^\*\*Answer (this run' "$tmp/doc.md")" = 10 ] ||
	fail "the doc has $(grep -c '^\*\*Answer (this run' "$tmp/doc.md") answers, not 10"
grep -q '^\*\*Answer (this run, 512 MiB at 20000 pages/s):\*\* QEMU 10.0: precopy at the default 128 MiB/s broke the guest in its one run; unlimited it took 1000 ms' "$tmp/doc.md" ||
	fail "question 2's answer does not give the rows' figures"
# the header: how to reproduce this run, the plan without running it
grep -q "^This page's run again: \`EXP_REPS='1' make experiments-quick\` at commit abc1234" "$tmp/doc.md" ||
	fail "the doc's header lacks the run's command line"
# rows a later run added (EXP_APPEND=1): their command is named too
mkdir -p "$tmp/meta2"
jq '.added = [{env: "EXP_APPEND='"'1'"' EXP_MODES='"'cl-snap'"'", commit: "def5678",
	rows: 2, start: "2026-01-01T00:00:00Z"}]' "$tmp/meta.json" >"$tmp/meta2/meta.json"
cp "$EXP_RESULTS" "$tmp/meta2/results.jsonl"
experiments/matrix/make-doc.sh "$tmp/meta2" "$tmp/doc2.md" experiments >/dev/null ||
	fail "make-doc.sh with added rows"
grep -q "Rows added to it by \`EXP_APPEND='1' EXP_MODES='cl-snap' experiments/matrix/run-experiments.sh\` at commit def5678 (2 rows" "$tmp/doc2.md" ||
	fail "the doc's header does not name the run that added rows"
grep -q 'Rows added' "$tmp/doc.md" && fail "the doc names an added run that did not happen"
grep -q '^    EXP_PLAN_ONLY=1 experiments/matrix/run-experiments.sh$' "$tmp/doc.md" &&
	grep -q 'at 512 MiB precopy and cl-dump,$' "$tmp/doc.md" &&
	grep -q '^and at 2 GiB postcopy, multifd-4 and cl-migrate (' "$tmp/doc.md" ||
	fail "the doc's header lacks the plan's command or the axes"
grep -q '^| 10.0 | qemu | precopy | 512 | 20000 | 1000 |.* 512 | 512 | 600 | 100 |' "$tmp/doc.md" ||
	fail "question 2's table lacks precopy's row with the link (512 MB/s, 600, 100 %)"
grep -q '^| 10.0 | criu-lite | cl-dump | 512 | 20000 | true | 1200 |' "$tmp/doc.md" ||
	fail "question 5's table lacks cl-dump's durable row"
grep -q '^| 10.0 | qemu | file-save | .* n/a | QEMU 7.2: needs QEMU >= 8.2 |' "$tmp/doc.md" ||
	fail "the n/a row's note is not in the doc"
grep -q '^| qemu | 10.0 | 3 | 1 | 2 | 1 | precopy-default: guest:crash,qemu-exited (source ran on); postcopy: guest:crash,qemu-exited |' "$tmp/doc.md" ||
	fail "the summary does not say which broken move's source ran on"
# a guest check's pass must have begun after the move: the first pass
# after the first heartbeat there began before it (1000 - 300 < 1000),
# the next one after it (1900 - 400 >= 1000)
printf '%s\n' "HB seq=1 mono_ms=1000" "HB seq=2 mono_ms=1100" \
	"VERIFY ok pages=9 dirtied=5 pass_ms=300" >"$tmp/fresh.log"
fresh_pass_in "$tmp/fresh.log" 0 && fail "fresh_pass_in took a pass begun before the move"
printf '%s\r\n' "HB seq=3 mono_ms=1900" "VERIFY ok pages=9 dirtied=6 pass_ms=400" >>"$tmp/fresh.log"
fresh_pass_in "$tmp/fresh.log" 0 || fail "fresh_pass_in missed a pass begun after the move"
# from an offset past the first heartbeat (1100 on), the later pass counts
fresh_pass_in "$tmp/fresh.log" "$(grep -b -m1 'seq=2' "$tmp/fresh.log" | cut -d: -f1)" ||
	fail "fresh_pass_in from an offset"
printf '%s\n' "HB seq=4 mono_ms=2000" "VERIFY ok pages=9 dirtied=7 pass_ms=400" >"$tmp/fresh2.log"
fresh_pass_in "$tmp/fresh2.log" 0 && fail "fresh_pass_in took a pass begun 300 ms before the first heartbeat"

# th_inner_pid on a process whose status lines change length while it is
# read (State flips between R and S): every call must find its NSpid
# (the piecewise read missed it about once in 80 calls)
# shellcheck disable=SC1091
. experiments/guest/two-hosts.sh
perl -e 'use Time::HiRes; while (1) { my $x = 0; $x++ for 1..20000;
	Time::HiRes::sleep(0.0002) }' &
flip=$!
torn=0
for _ in $(seq 1500); do
	[ "$(th_inner_pid "$flip")" = "$flip" ] || torn=$((torn + 1))
done
kill "$flip"; wait "$flip" 2>/dev/null
[ "$torn" = 0 ] || fail "th_inner_pid missed the NSpid of a live process $torn times in 1500"
th_inner_pid 999999999 >/dev/null && fail "th_inner_pid found a process that does not exist"

# the full matrix's plan (EXP_PLAN_ONLY=1: nothing runs, nothing is
# written): 2 RAM sizes x 3 rates x 3 runs x 2 versions; at 512 MiB the 8
# axis modes, at 2 GiB the 6 of EXP_AXIS_MODES_BIG, every mode at the
# single point (512 MiB, 20000 pages/s, run 1); the rows planned are the
# blocks' modes; in every block each criu-lite migrate starts from this
# host and no criu-lite mode comes after a QEMU postcopy move
# shellcheck disable=SC1091
. experiments/matrix/exp-qemu.sh
# shellcheck disable=SC1091
. experiments/matrix/exp-cl.sh
nall=$(($(qemu_mode_names | wc -l) + $(cl_mode_names | wc -l)))
small="precopy-default precopy multifd-4 postcopy exec-save cl-migrate cl-migrate-postcopy cl-dump"
big="precopy multifd-4 postcopy cl-migrate cl-migrate-postcopy cl-dump"
EXP_PLAN_ONLY=1 EXP_OUT=$tmp/plan-out experiments/matrix/run-experiments.sh \
	>"$tmp/plan.txt" 2>"$tmp/plan.err" || fail "EXP_PLAN_ONLY=1: $(cat "$tmp/plan.err")"
[ -e "$tmp/plan-out" ] && fail "EXP_PLAN_ONLY=1 wrote $tmp/plan-out"
[ "$(wc -l <"$tmp/plan.txt")" = 36 ] || fail "the plan has $(wc -l <"$tmp/plan.txt") blocks, not 36"
want=$((3 * 3 * 2 * 8 + 2 * (nall - 8) + 3 * 3 * 2 * 6))
grep -q "^experiments: $want rows planned (full run: .*estimate ~[0-9]* min" "$tmp/plan.err" ||
	fail "the plan does not say $want rows and an estimate: $(cat "$tmp/plan.err")"
[ "$(sed 's/^[^:]*:[^:]*: //' "$tmp/plan.txt" | wc -w)" = $want ] ||
	fail "the plan's blocks do not hold $want modes"
modes_of() { sed -n "s/^run $1: QEMU $2, $3 MiB, $4 pages\/s: //p" "$tmp/plan.txt" |
	tr ' ' '\n' | sed 's/^[a-z]*://' | sort | xargs; }
for v in 7.2 10.0; do
	for r in 1 2 3; do
		for rate in 0 5000 20000; do
			[ "$(modes_of $r $v 2048 $rate)" = "$(tr ' ' '\n' <<<"$big" | sort | xargs)" ] ||
				fail "run $r, QEMU $v, 2048 MiB, $rate: $(modes_of $r $v 2048 $rate)"
			n=$(modes_of $r $v 512 $rate | wc -w)
			if [ $r = 1 ] && [ $rate = 20000 ]; then
				[ "$n" = "$nall" ] || fail "the single point (QEMU $v) has $n modes, not $nall"
			else
				[ "$(modes_of $r $v 512 $rate)" = "$(tr ' ' '\n' <<<"$small" | sort | xargs)" ] ||
					fail "run $r, QEMU $v, 512 MiB, $rate: $(modes_of $r $v 512 $rate)"
			fi
		done
	done
done
# the order: the guest's side followed through the moves of each block
while read -r line; do
	side=here pc=0
	for m in ${line#*pages/s: }; do
		case $m in
		cl:*) [ $pc = 1 ] && fail "$m after a QEMU postcopy move: ${line%%:*}"
			if [ "$(cl_mode_field "${m#cl:}" 4)" = migrate ]; then
				[ "$side" = here ] || fail "$m starts there: $line"
				side=there
			fi ;;
		qemu:*) case $(qemu_mode_field "${m#qemu:}" 4) in
			postcopy*) pc=1 ;;&
			live|postcopy*) side=$([ "$side" = here ] && echo there || echo here) ;;
			esac ;;
		esac
	done
done <"$tmp/plan.txt"
EXP_PLAN_ONLY=1 experiments/matrix/run-experiments.sh --quick >"$tmp/quick.txt" 2>"$tmp/quick.err" ||
	fail "EXP_PLAN_ONLY=1 --quick"
[ "$(wc -l <"$tmp/quick.txt")" = 2 ] && grep -q "^experiments: $((2 * nall)) rows planned (quick" "$tmp/quick.err" ||
	fail "the quick plan is not every mode once per version: $(cat "$tmp/quick.err")"

echo "experiments-selfcheck: ok (emit_row, check-results.sh, make-doc.sh, fresh_pass_in, th_inner_pid, the plan)"

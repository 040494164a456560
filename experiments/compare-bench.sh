#!/bin/bash
# make bench-compare: criu-lite against QEMU's own migration and against
# CRIU, on the same test guest, in the same run.
#
# For each configuration (guest RAM, pages dirtied per second) these moves,
# each of a freshly booted guest with the same options (virtio-blk,
# virtio-net, 1 vCPU), in this order (the first three in reverse order in
# every other run):
#   criu-lite   criu-lite dump -t PID -D DIR --qmp SOCK (QMP stop, freeze,
#               dump, images fsync'ed, kill), then criu-lite restore -D DIR
#               -d (same PID, QMP cont)
#   cl-nosync   the same with dump --no-sync: what durability costs shows
#               as the difference, and in its flush column (the default
#               page path: splice where criu-lite's pipe can grow to 8
#               MiB, else copy; or CRIU_LITE_PAGE_PATH's)
#   cl-copy     the same as cl-nosync by the copy path
#               (CRIU_LITE_PAGE_PATH=copy: process_vm_readv + write)
#   cl-splice, cl-write  the same by CRIU_LITE_PAGE_PATH=splice, write
#               (the one-copy path's two ways): BENCH_PATHS (default
#               "copy") names which of cl-copy, cl-splice, cl-write run
#   criu        with CRIU=/path/to/criu only (CRIU 4.x): QMP stop,
#               criu dump -t PID -D DIR --shell-job --file-locks (kills
#               QEMU), criu restore -D DIR -d --shell-job --file-locks, QMP
#               cont: the QMP stop and cont as criu-lite's --qmp does them,
#               inside the timed save and restore. CRIU does not sync its
#               images: its flush column is that cost, as for QEMU. Without
#               CRIU these rows are left out, and the output says so.
#   qemu-stop   QMP stop, migrate "exec:cat > FILE", quit, a new QEMU with
#               -incoming "exec:cat FILE", cont (experiments/qemu-native-
#               bench.sh MODE stop: what `virsh save` / `virsh restore` do)
#   qemu-live   the same with live precopy (no stop before migrate)
#   cl-precopy-lazy  criu-lite dump ... --qmp SOCK --precopy-rounds 8
#               --precopy-until 64 (memory copied while the guest runs,
#               uffd-wp write tracking; the final freeze copies what
#               changed), then criu-lite restore -D DIR -d --lazy-pages
#               (resumes at once, a lazy-pages daemon fills guest RAM on
#               fault and in the background); in the first BENCH_PL_REPS
#               runs only (default 1). Its dump log gives the pre-copy
#               table: pages per round against the pages the final dump
#               stores.
# After each of the first three moves, with the VM stopped, this
# machine's ceilings are measured on the restored QEMU
# (build/guest/qemu-ceilings), so that each tool's rates are put against
# ceilings measured next to its own move (the load of a shared machine
# moves within a run):
# process_vm_readv of the guest RAM's present pages, a buffered write of as
# many bytes to the images' filesystem, and the same written durably. The
# page read and write rates of criu-lite's dumps (durable and --no-sync)
# and CRIU's page write rate are printed as ratios to them.
#
# Runtime here (2 vCPUs): 13-15 s per move at 512 MiB, 20-30 s at 2 GiB,
# most of it booting the guest and waiting for its checks: the default
# (2 runs, CRIU given) about 14 min on a quiet machine, 26 min with other
# TCG guests running beside it (docs/results.md).
#
# Usage: experiments/compare-bench.sh [RAM_MIB:RATE...]
#   default: 512:0 512:$BENCH_RATE 2048:0 2048:$BENCH_RATE
# Environment: BENCH_REPS runs of everything (default 2; a run does every
#   configuration once, so runs are spread over the time of the bench),
#   BENCH_RATE (default 20000 pages/s), BENCH_SMP (default 1),
#   BENCH_DISK=0 / BENCH_NET=0 drop virtio-blk / virtio-net,
#   BENCH_CL_VERIFY=1 restores with --verify (reads memory back; off by
#   default: QEMU does not either; the guest's own VERIFY judges both;
#   criu-lite's default check of image pages against their checksums,
#   ~40 ms/GiB, is on in every run),
#   BENCH_WARM=0 leaves out the warm-up before each move (default: as many
#   MiB as the guest has, plus 256, touched and given back right before
#   every tool's dump: on a VM whose host takes free memory back, the page
#   cache a dump fills is otherwise cold or warm by chance, 0.3 to 7.8 s
#   for the same 1.6 GiB written; the ceilings' best passes are warm),
#   BENCH_CEILINGS=0 skips the ceilings, BENCH_KEEP=1 keeps images/streams,
#   BENCH_CEIL_QUICK=1 measures only readv and the buffered write (no
#   durable or direct pass: quicker, with a ceiling after every move),
#   BENCH_QEMU=0 leaves QEMU's own migration out (criu-lite against CRIU
#   only), BENCH_PATHS="" the cl-copy move,
#   BENCH_PL_REPS runs with the cl-precopy-lazy move (default 1, at most
#   BENCH_REPS; 0 drops it), BENCH_OUT (default build/bench),
#   CRIU=/path/to/criu adds the criu rows (`make bench CRIU=...` passes
#   it; `criu check` must pass first).
#
# Output: the tables on stdout; $BENCH_OUT/compare.tsv (per configuration
# one row per tool, the median over the runs (seq_step, complaints: the
# worst; verdicts: all distinct ones, joined by "+"), then ratio rows
# "cl/qemu-stop", "cl/qemu-live", "cl/criu" (criu-lite), "cl-nosync/criu",
# "cl-copy/criu", "cl-nosync/cl-copy" (and cl-splice, cl-write the same
# way when run), "cl/cl-nosync" and "cl-pl/qemu-stop", "cl-pl/qemu-live" (cl-precopy-lazy):
# A's median divided by B's, verdicts as "A/B"); every run's rows in
# compare-runs.tsv; compare-ceilings.tsv (medians); compare-precopy.tsv
# (every cl-precopy-lazy dump); compare-{save,save-durable,restore-hb,
# pause}.svg; logs of every move in $BENCH_OUT/compare/<config>/run<N>/.
# On stdout: the table of all rows, criu-lite against CRIU, the ceilings,
# the dump page rates as ratios to the ceilings, and the pre-copy table.
# The exit status judges criu-lite's moves only; a failed CRIU move is
# reported on stderr.
# Columns of compare.tsv:
#   save_ms        wall time to save: from the stop to the image/stream
#                  complete (criu-lite: the dump command, QMP stop to QEMU
#                  dead, pages fsync'ed, for cl-precopy-lazy including its
#                  pre-copy rounds while the guest runs; QEMU: stop +
#                  migrate to "completed", no fsync)
#   flush_ms       fsync of the image files / the stream file: what the save
#                  had left unwritten (criu-lite: ~0). criu-lite and CRIU:
#                  right after the dump, before the restore (like for like
#                  with the durable dump, whose fsync is in its save);
#                  QEMU: after the move
#   durable_save_ms  save_ms + flush_ms
#   image_bytes    criu-lite, CRIU: all image files; QEMU: the stream file
#   restore_ms     criu-lite: the restore command (to the guest running;
#                  with --lazy-pages before its RAM is all back); CRIU:
#                  criu restore -d and QMP cont;
#                  QEMU: new process started to incoming done (paused)
#   restore_hb_ms  restore start (old QEMU gone) -> first guest heartbeat
#   outage_ms      host time between the last heartbeat before and the
#                  first after the move: the pause a client of the guest sees
#                  (criu-lite, CRIU: less the flush_ms between dump and
#                  restore)
#   guest_gap_ms   the guest's CLOCK_MONOTONIC across the same heartbeats
#                  (100 = the guest noticed no pause); seq_step 1 = no
#                  heartbeat lost
#   complaints     guest kernel complaint lines (lockups, stalls, clocksource,
#                  oops) after WORKLOAD READY
#   self_ms        the tool's own account of the pause: criu-lite "frozen"
#                  (from the dump log), CRIU frozen_time (its stats-dump),
#                  QEMU query-migrate "downtime"
#   lazy_ms        cl-precopy-lazy: the lazy-pages daemon's "all in after
#                  X ms" (restore to all guest RAM back); others "-"
#   guest          ok, crash, reboot, nohb (no heartbeat after the move),
#                  hang (heartbeats stopped again after the move)
#   verify/disk/net  the workload's verdicts after the move (ok, BAD:n/m,
#                  none); FAILED when the move itself failed
#   note           anything unusual (e.g. a retried restore); for
#                  cl-precopy-lazy the number of pre-copy rounds
#   runs           how many runs the medians are of
set -u
# CRIU: a path (from where we were started) or a name in PATH
if [ -n "${CRIU:-}" ]; then
	c=$(command -v "$CRIU") ||
		{ echo "compare-bench: CRIU=$CRIU: no such program" >&2; exit 1; }
	CRIU=$(realpath "$c") && export CRIU
fi
cd "$(dirname "$0")/.." || exit 1

# A killed QEMU keeps its PID until reaped; PID 1 reaps only every ~2 s here.
if [ -z "${COMPARE_SUBREAPED:-}" ]; then
	[ -x build/tests/subreaper ] || make -s build/tests/subreaper || exit 1
	COMPARE_SUBREAPED=1 exec build/tests/subreaper "$0" "$@"
fi

GL_GUEST=build/guest
. experiments/guest/guest-lib.sh
CL=build/criu-lite
CEIL=$GL_GUEST/qemu-ceilings

rate=${BENCH_RATE:-20000}
ceil_quick=''
[ "${BENCH_CEIL_QUICK:-0}" = 1 ] && ceil_quick=1
smp=${BENCH_SMP:-1}
reps=${BENCH_REPS:-2}
plreps=${BENCH_PL_REPS:-1}
out=${BENCH_OUT:-build/bench}
work=$out/compare
configs=("$@")
[ ${#configs[@]} = 0 ] && configs=(512:0 "512:$rate" 2048:0 "2048:$rate")
for f in "$CL" "$CEIL" "$GL_GUEST/qmp-client" "$GL_GUEST/serial-watch"; do
	[ -x "$f" ] || { echo "compare-bench: $f missing (make all guest)" >&2; exit 1; }
done
rm -rf "$work" && mkdir -p "$work"
# CRIU's options for QEMU: it is not a session leader (--shell-job) and
# holds file locks (OFD locks on its disk image, a POSIX lock on its pid
# file: --file-locks). No TCP connection stays open (user-net makes short
# ones: a dump that meets one is retried) and nobody is connected to the
# QMP socket during the move.
CRIU=${CRIU:-}
CRIU_OPTS=(--shell-job --file-locks)
if [ -n "$CRIU" ]; then
	if ! "$CRIU" check >"$work/criu-check.txt" 2>&1; then
		echo "compare-bench: $CRIU check failed:" >&2
		cat "$work/criu-check.txt" >&2
		exit 1
	fi
	criu_about="CRIU $("$CRIU" --version | awk '$1 == "Version:" { print $2 }') ($CRIU)"
else
	criu_about="CRIU not given (make bench CRIU=/path/to/criu): no CRIU rows"
fi
echo "compare-bench: $criu_about" >&2
rows=$work/rows.tsv
crows=$work/ceil-rows.tsv
prows=$work/precopy-rows.tsv
tsv=$out/compare.tsv
ctsv=$out/compare-ceilings.tsv
COLS="config ram_mib rate tool save_ms flush_ms durable_save_ms image_bytes"
COLS="$COLS restore_ms restore_hb_ms outage_ms guest_gap_ms seq_step"
COLS="$COLS complaints self_ms lazy_ms guest verify disk net note"
CCOLS="config ram_mib rate present_bytes readv_ceil_gbps write_ceil_gbps"
CCOLS="$CCOLS durable_ceil_gbps cl_read_gbps cl_write_gbps"
CCOLS="$CCOLS cl_write_fsync_gbps cl_stored_bytes cl_zero_pages cl_read_ms"
CCOLS="$CCOLS cl_write_ms cl_fsync_ms cl_frozen_ms"
CCOLS="$CCOLS durable_first_ceil_gbps direct_ceil_gbps"
CCOLS="$CCOLS nosync_write_gbps nosync_write_ms criu_write_gbps criu_memwrite_ms"
CCOLS="$CCOLS criu_pages write_first_ceil_gbps"
CCOLS="$CCOLS cl_phase_ms cl_all_gbps cl_all_pct cl_all_nofsync_pct"
CCOLS="$CCOLS nosync_phase_ms nosync_all_gbps nosync_all_pct nosync_all_first_pct"
CCOLS="$CCOLS criu_memdump_ms criu_all_gbps criu_all_pct criu_all_first_pct"
CCOLS="$CCOLS cl_all_durable_pct"
CCOLS="$CCOLS copy_phase_ms copy_all_gbps copy_all_pct copy_all_first_pct"
CCOLS="$CCOLS write_cold_ceil_gbps cl_all_cold_pct nosync_all_cold_pct"
CCOLS="$CCOLS copy_all_cold_pct criu_all_cold_pct"
CCOLS="$CCOLS splice_phase_ms splice_all_gbps splice_all_pct splice_all_cold_pct"
PCOLS="config ram_mib rate rounds r0 r1 r2 r3 r4 r5 r6 r7 copied stored zero"
PCOLS="$PCOLS reused frozen_read precopy_ms"
echo "$COLS run" | tr ' ' '\t' >"$rows"
echo "$CCOLS run" | tr ' ' '\t' >"$crows"
echo "$PCOLS run" | tr ' ' '\t' >"$prows"

qpid='' stamper=''
cleanup() {
	[ -n "$stamper" ] && kill "$stamper" 2>/dev/null
	[ -n "$qpid" ] && gl_stop_pid "$qpid"
	qpid='' stamper=''
}
trap 'cleanup; gl_stop_pid "${GL_ECHO_PID:-}"' EXIT
trap 'exit 130' INT TERM

netopt=()
if [ "${BENCH_NET:-1}" = 1 ]; then
	gl_start_echo "$work" || exit 1
	netopt=(-n "$GL_ECHO_PORT")
fi
diskopt=()
[ "${BENCH_DISK:-1}" = 1 ] && diskopt=(-D)
verifyopt=()
[ "${BENCH_CL_VERIFY:-0}" = 1 ] && verifyopt=(--verify)

log_size() { stat -c %s "$1" 2>/dev/null || echo 0; }

# pick KEY... < criu-lite's stderr: the numbers of its timing lines
# (read, write, fsync, phase: of the frozen page phase only, so that
# cl_read_ms, cl_write_ms and cl_fsync_ms are the page read, write and
# fsync while frozen: no pre-copy round, not the commit's fsync)
cl_numbers() {
	awk '{ for (i = 1; i <= NF; i++) {
		w = $i; sub(/,$/, "", w)
		if ($1 == "criu-lite:" && $2 == "dumped") {
			if (w == "frozen") v["frozen"] = $(i + 1)
			if (w == "stored") v["stored"] = $(i - 2)
			if (w == "elided") v["zero"] = $(i - 3)
			if (w == "written") v["mib"] = $(i - 2)
		}
		if ($2 == "pages:" && (w == "read" || w == "write" || w == "fsync" ||
				       w == "phase"))
			v[w] = $(i + 1)
		if ($2 == "restored" && i == 4) v["restored"] = $i
		if ($2 == "lazy-pages:" && $3 == "all" && w == "after")
			v["lazy"] = $(i + 1)
		if ($2 == "pre-copy:" && w == "rounds") v["rounds"] = $(i - 1)
	} }
	END { for (k in v) print k "=" v[k] }'
}

# criu_stats FILE: a CRIU stats-dump / stats-restore image as key=value
# lines (times in us). Format: two magics, the message size, then a
# stats_entry whose field 1 (dump) or 2 (restore) holds varints only
# (criu/images/stats.proto); decoded here so that no crit is needed.
criu_stats() {
	od -An -tu1 -v "$1" 2>/dev/null | awk '
		{ for (i = 1; i <= NF; i++) b[n++] = $i }
		function varint(   v, m, c) { v = 0; m = 1
			do { c = b[p++]; v += (c % 128) * m; m *= 128 } while (c >= 128 && p < n)
			return v }
		END {
			split("freezing_time frozen_time memdump_time memwrite_time " \
			      "pages_scanned pages_skipped_parent pages_written " \
			      "irmap_resolve pages_lazy page_pipes page_pipe_bufs " \
			      "shpages_scanned shpages_skipped_parent shpages_written", dn, " ")
			split("pages_compared pages_skipped_cow forking_time " \
			      "restore_time pages_restored", rn, " ")
			p = 12
			while (p < n) {
				t = varint(); f = int(t / 8); w = t % 8
				if (w == 2) { varint(); kind = f; continue }
				if (w != 0) exit 1
				v = varint()
				k = kind == 1 ? dn[f] : rn[f]
				if (k != "") print k "=" v
			}
		}'
}

# The dump and the restore of each tool: TOOL_dump MODE / TOOL_restore MODE
# with the move's $qpid, $d (its directory), $img and $sock; each returns
# non-zero if it failed, its log is $d/dump.log / $d/restore.log;
# TOOL_numbers prints what the tool says of itself as key=value lines.
# criu-lite's modes: plain, nosync (dump --no-sync), pl (pre-copy dump, lazy
# restore).
cl_dump() {
	local dopt=() try
	case $1 in
	pl) dopt=(--precopy-rounds 8 --precopy-until 64) ;;
	nosync) dopt=(--no-sync) ;;
	copy|splice|write) dopt=(--no-sync) ;;
	esac
	for try in 1 2; do
		if [ "$1" != plain ] && [ "$1" != nosync ] && [ "$1" != pl ]; then
			CRIU_LITE_PAGE_PATH=$1 $CL dump -t "$qpid" -D "$img" \
				--qmp "$sock" "${dopt[@]}" >"$d/dump.log" 2>&1 &&
				return 0
		else
			$CL dump -t "$qpid" -D "$img" --qmp "$sock" "${dopt[@]}" \
				>"$d/dump.log" 2>&1 && return 0
		fi
		# user-net's socket of the guest's short TCP connection (its
		# pings of the echo server), caught open: retry once, as for
		# CRIU (criu_dump); the guest runs again meanwhile (QMP cont)
		grep -q "established TCP connection" "$d/dump.log" || break
		row_note="dump retried (TCP socket)"
		cp "$d/dump.log" "$d/dump-try$try.log"
		sleep 0.2
	done
	echo "compare-bench: criu-lite dump failed:" >&2
	cat "$d/dump.log" >&2
	return 1
}

cl_restore() {
	local ropt=() err
	[ "$1" = pl ] && ropt=(--lazy-pages)
	$CL restore -D "$img" -d "${ropt[@]}" "${verifyopt[@]}" >"$d/restore.log" 2>&1 &&
		return 0
	err=$(cat "$d/restore.log")
	echo "compare-bench: criu-lite restore failed:" >&2
	echo "$err" >&2
	# A dumped PID was seen still taken (clone3 EEXIST) right after the
	# dump: retry once, counted in restore_hb_ms.
	case "$err" in *"File exists"*) ;; *) return 1 ;; esac
	row_note="restore retried (EEXIST)"
	sleep 0.2
	$CL restore -D "$img" -d "${ropt[@]}" "${verifyopt[@]}" >"$d/restore.log" 2>&1 ||
		{ cat "$d/restore.log" >&2; return 1; }
}

cl_numbers_of_move() { cl_numbers <"$d/dump.log"; cl_numbers <"$d/restore.log"; }

# CRIU: the VM is stopped and continued through QMP around the move, as
# criu-lite's --qmp does (the guest's clocks do not run while it is away;
# CRIU does not know QMP). CRIU's dump neither fsyncs nor syncs its images:
# its durability cost is the flush column, as for QEMU.
criu_dump() {
	local try
	gl_qmp "$sock" stop >/dev/null || return 1
	for try in 1 2; do
		rm -rf "$img" && mkdir -p "$img"
		"$CRIU" dump -t "$qpid" -D "$img" "${CRIU_OPTS[@]}" -o "$d/dump.log" &&
			return 0
		# user-net holds a socket of the guest's short TCP connection
		# for a moment: retry once, as exp-cl.sh does for criu-lite
		grep -q "TCP socket" "$d/dump.log" || break
		row_note="dump retried (TCP socket)"
		cp "$d/dump.log" "$d/dump-try$try.log"
		sleep 0.2
	done
	echo "compare-bench: criu dump failed:" >&2
	cat "$d/dump.log" >&2
	gl_qmp "$sock" cont >/dev/null
	return 1
}

criu_restore() {
	local i
	# The dumped QEMU must be reaped before CRIU can take its PID again
	# (criu-lite's restore waits for it itself; under the subreaper this
	# is at once).
	for ((i = 0; i < 250; i++)); do
		[ -e "/proc/$qpid" ] || break
		sleep 0.02
	done
	if ! "$CRIU" restore -D "$img" -d "${CRIU_OPTS[@]}" -o "$d/restore.log"; then
		echo "compare-bench: criu restore failed:" >&2
		cat "$d/restore.log" >&2
		return 1
	fi
	gl_qmp "$sock" cont >/dev/null
}

# CRIU's stats in criu-lite's words: frozen (ms); its page write rate from
# memwrite_time (criu_*, see the ceilings table)
criu_numbers_of_move() {
	criu_stats "$img/stats-dump" | awk -F= '
		{ v[$1] = $2 }
		END {
			if (!("frozen_time" in v)) exit
			printf "frozen=%.1f\n", v["frozen_time"] / 1000
			printf "criu_memdump=%.1f\ncriu_memwrite=%.1f\n",
				v["memdump_time"] / 1000, v["memwrite_time"] / 1000
			print "criu_pages=" v["pages_written"]
		}'
	criu_stats "$img/stats-restore" | awk -F= '$1 == "restore_time" {
		printf "criu_restore=%.1f\n", $2 / 1000 }'
}

# One move of the guest of one configuration by TOOL (cl or criu) in MODE;
# sets the row_* variables; after a dump move (not a pre-copy one)
# measures the ceilings on the restored QEMU. Returns non-zero if the move failed.
run_move() { # RAM RATE DIR TOOL MODE
	local ram=$1 r=$2 d=$3 tool=$4 mode=$5 img wlmem sock off t0 t1 t2 t3 t4 i offr
	rm -rf "$d" && mkdir -p "$d"
	d=$(cd "$d" && pwd)
	img=$d/img sock=$d/qmp.sock
	wlmem=$((ram * 3 / 4 < ram - 160 ? ram * 3 / 4 : ram - 160))
	: >"$d/serial.log"
	"$GL_GUEST/serial-watch" --stamp "$d/serial.log" >"$d/stamped.log" &
	stamper=$!
	qpid=$(experiments/guest/run-guest.sh -d "$d" -m "$ram" -s "$smp" \
		-w "$wlmem" -r "$r" "${diskopt[@]}" "${netopt[@]}" -W 300) || return 1
	# One full verify pass with the dirtier running: steady state (as
	# qemu-native-bench.sh waits before its migrate).
	"$GL_GUEST/serial-watch" -t 120 -p "$qpid" "$d/serial.log" "VERIFY " \
		>/dev/null || return 1

	# Earlier runs' dirty pages must not be written back during this one
	# (qemu-native-bench.sh does the same).
	sync
	[ "${BENCH_WARM:-1}" = 1 ] &&
		"$GL_GUEST/warm-mem" $((ram + 256)) >"$d/warm.out"
	off=$(log_size "$d/serial.log")
	t0=$(gl_now_ms)
	"${tool}_dump" "$mode" || return 1
	t1=$(gl_now_ms)
	row_save=$((t1 - t0))
	# What the dump left unwritten, synced at once (as the durable dump
	# does itself, and before the kernel's own write-back, which starts
	# 30 s later, takes part of it unmeasured); the restore comes after
	# it, and the pause below does not count it.
	t2=$(gl_now_ms)
	sync "$img"/*
	row_flush=$(($(gl_now_ms) - t2))
	row_dsave=$((row_save + row_flush))
	row_bytes=$(du -sb "$img" | cut -f1)
	# after the move: the serial log from here (a pre-copy dump lets the
	# guest beat and verify while it copies)
	offr=$off
	[ "$mode" = pl ] && offr=$(log_size "$d/serial.log")
	t2=$(gl_now_ms)
	"${tool}_restore" "$mode" || return 1
	t3=$(gl_now_ms)
	row_restore=$((t3 - t2))
	"${tool}_numbers_of_move" >"$d/numbers.out"
	row_self=$(gl_kv frozen <"$d/numbers.out")
	echo "t_dump=$t0 t_dumped=$t1 t_restore=$t2 t_restored=$t3" >"$d/times.out"

	if "$GL_GUEST/serial-watch" -t 60 -o "$offr" -p "$qpid" "$d/serial.log" \
		"HB seq=" >/dev/null; then
		sleep 0.1	# the stamper has seen it too
		t4=$(awk -v t="$t2" '$2 == "HB" && $1 >= t { print $1; exit }' \
			"$d/stamped.log")
		row_hb=$((t4 - t2))
		# two whole verify passes (a pass ends with "pass_ms="): the
		# second one started after the move for sure
		"$GL_GUEST/serial-watch" -t 60 -c 2 -o "$offr" -p "$qpid" \
			"$d/serial.log" " pass_ms=" >/dev/null
		sleep 0.3
		gl_hb_gap "$d/stamped.log" -- "$t0" >"$d/gap.out"
		row_outage=$(gl_kv outage_ms <"$d/gap.out")
		[ "$row_outage" != - ] && row_outage=$((row_outage - row_flush))
		row_ggap=$(gl_kv guest_gap_ms <"$d/gap.out")
		row_seq=$(gl_kv seq_step <"$d/gap.out")
		echo "t_first_hb=$t4" >>"$d/times.out"
	fi
	tail -c +"$((offr + 1))" "$d/serial.log" >"$d/after.log"
	row_guest=$(gl_fate "$d/after.log")
	[ -z "${t4:-}" ] && [ "$row_guest" = ok ] && row_guest=nohb
	[ "$row_guest" = ok ] && [ "$(gl_hb_silent_ms "$d/stamped.log")" -gt 2000 ] &&
		row_guest=hang
	gl_complaints "$d/serial.log" "WORKLOAD READY" >"$d/complaints.txt"
	row_compl=$(wc -l <"$d/complaints.txt")
	row_verify=$(gl_verdict "$d/after.log" VERIFY)
	row_disk=$(gl_verdict "$d/after.log" DISK)
	row_net=$(gl_verdict "$d/after.log" NET)
	if [ "$mode" = pl ]; then
		# the lazy-pages daemon (its stderr is restore.log) serves from
		# the images until all guest RAM is in
		for ((i = 0; i < 300; i++)); do
			grep -q "lazy-pages: all in\|lazy-pages: failed" "$d/restore.log" && break
			sleep 0.1
		done
		cl_numbers <"$d/restore.log" >>"$d/numbers.out"
		row_lazy=$(gl_kv lazy <"$d/numbers.out")
		row_lazy=${row_lazy:--}
		i=$(gl_kv rounds <"$d/numbers.out")
		[ "$i" != - ] && row_note="pre-copy rounds $i"
		if [ "$row_lazy" = - ]; then
			echo "compare-bench: no 'lazy-pages: all in' in $d/restore.log:" >&2
			grep lazy-pages "$d/restore.log" >&2
		fi
	fi
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$img"
	# This machine's ceilings, on the restored QEMU (the same guest RAM),
	# its VM stopped as for a dump, right after each dump move: each
	# tool's page rate is put against the ceilings measured next to its
	# own move (the machine's load moves a lot within a run). After the
	# move, not before: their page-cache churn would warm memory up for
	# the dump that follows.
	if [ "$mode" != pl ] && [ "${BENCH_CEILINGS:-1}" = 1 ] &&
		gl_alive "$qpid" && gl_qmp "$sock" stop >/dev/null; then
		if ! "$CEIL" "$qpid" "$ram" "$d" ${ceil_quick:+quick} >"$d/ceilings.out" 2>&1; then
			cat "$d/ceilings.out" >&2
			rm -f "$d/ceilings.out"
		fi
	fi
	gl_quit_qemu "$sock" "$qpid"
	cleanup
	return 0
}

# ceil_row CONFIG RAM RATE BASE REP: one row of ceilings, from
# qemu-ceilings' output after each dump move (cn.* after criu-lite's, cs.*
# after cl-nosync's, cq.* after cl-splice's, cc.* after cl-copy's, ck.*
# after CRIU's; the row's ceilings are their median), the timing lines of
# criu-lite's plain dump (n.*), --no-sync dump (s.*), splice-way dump
# (q.*) and copy-path dump (c.*), and CRIU's stats (k.*) of the same run. The *_all columns
# are the whole dump's page write: the bytes over the wall time of the
# page phase (criu-lite: read, write and fsync overlapped, its "phase";
# CRIU: its memdump_time, which holds its memwrite_time), and *_pct that
# rate against the buffered-write ceiling measured after that move (*_cold_pct:
# against the one whose source is in memory, not in the CPU cache).
ceil_row() {
	{ sed 's/^/cn./' "$4/criu-lite/ceilings.out"; sed 's/^/cs./' "$4/cl-nosync/ceilings.out"
	  sed 's/^/ck./' "$4/criu/ceilings.out"; sed 's/^/cc./' "$4/cl-copy/ceilings.out"
	  sed 's/^/c./' "$4/cl-copy/numbers.out"
	  sed 's/^/cq./' "$4/cl-splice/ceilings.out"
	  sed 's/^/q./' "$4/cl-splice/numbers.out"
	  sed 's/^/n./' "$4/criu-lite/numbers.out"
	  sed 's/^/s./' "$4/cl-nosync/numbers.out"; sed 's/^/k./' "$4/criu/numbers.out"
	} 2>/dev/null |
	awk -F= -v OFS="\t" -v cfg="$1" -v ram="$2" -v rate="$3" -v rep="$5" '
		{ v[$1] = $2 }
		function ok(x) { return x ~ /^[0-9.]+$/ && x > 0 }
		function g(k) { return (k in v) && v[k] != "" ? v[k] : "-" }
		function gbps(bytes, ms) { return bytes > 0 && ms > 0 ? sprintf("%.2f", bytes / ms / 1e6) : "-" }
		function pct(a, b) { return ok(a) && ok(b) ? sprintf("%.1f", 100 * a / b) : "-" }
		# the median of the ceilings measured after the moves of this run
		function med(key,   n, a, i, j, t) { n = 0
			if (ok(g("cn." key))) a[++n] = g("cn." key)
			if (ok(g("cs." key))) a[++n] = g("cs." key)
			if (ok(g("ck." key))) a[++n] = g("ck." key)
			if (ok(g("cc." key))) a[++n] = g("cc." key)
			if (ok(g("cq." key))) a[++n] = g("cq." key)
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
					t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
			if (!n) return "-"
			return n % 2 ? a[(n + 1) / 2] : sprintf("%.2f", (a[n / 2] + a[n / 2 + 1]) / 2) }
		END {
			st = g("n.stored"); zp = g("n.zero"); wb = g("n.mib") * 1048576
			rd = g("n.read"); wr = g("n.write"); fs = g("n.fsync")
			sb = g("s.mib") * 1048576; kb = g("k.criu_pages") * 4096
			cl_all = gbps(wb, g("n.phase")); ns_all = gbps(sb, g("s.phase"))
			k_all = gbps(kb, g("k.criu_memdump"))
			cb = g("c.mib") * 1048576; c_all = gbps(cb, g("c.phase"))
			qb = g("q.mib") * 1048576; q_all = gbps(qb, g("q.phase"))
			print cfg, ram, rate, med("present_bytes"), med("readv_gbps"),
				med("write_gbps"), med("durable_gbps"),
				gbps((st + zp) * 4096, rd), gbps(wb, wr), gbps(wb, wr + fs),
				st == "-" ? "-" : st * 4096, zp, rd, wr, fs, g("n.frozen"),
				med("durable_first_gbps"), med("direct_gbps"),
				gbps(sb, g("s.write")), g("s.write"),
				gbps(kb, g("k.criu_memwrite")),
				g("k.criu_memwrite"), g("k.criu_pages"),
				med("write_first_gbps"),
				g("n.phase"), cl_all, pct(cl_all, g("cn.write_gbps")),
				pct(gbps(wb, g("n.phase") - fs), g("cn.write_gbps")),
				g("s.phase"), ns_all, pct(ns_all, g("cs.write_gbps")),
				pct(ns_all, g("cs.write_first_gbps")),
				g("k.criu_memdump"), k_all, pct(k_all, g("ck.write_gbps")),
				pct(k_all, g("ck.write_first_gbps")),
				pct(cl_all, g("cn.durable_gbps")),
				g("c.phase"), c_all, pct(c_all, g("cc.write_gbps")),
				pct(c_all, g("cc.write_first_gbps")),
				med("write_cold_gbps"),
				pct(cl_all, g("cn.write_cold_gbps")),
				pct(ns_all, g("cs.write_cold_gbps")),
				pct(c_all, g("cc.write_cold_gbps")),
				pct(k_all, g("ck.write_cold_gbps")),
				g("q.phase"), q_all, pct(q_all, g("cq.write_gbps")),
				pct(q_all, g("cq.write_cold_gbps")), rep
		}' >>"$crows"
}

# precopy_row CONFIG RAM RATE DIR REP: the pages of each pre-copy round of
# a cl-precopy-lazy dump and what its final dump stored, from its log
precopy_row() {
	awk -v OFS='\t' -v cfg="$1" -v ram="$2" -v rate="$3" -v rep="$5" '
		function num(w) { sub(/[,:]$/, "", w); return w }
		$1 == "criu-lite:" && $2 == "pre-copy" && $3 == "round" {
			r[num($4) + 0] = $5; if (num($4) + 1 > nr) nr = num($4) + 1 }
		$1 == "criu-lite:" && $2 == "pre-copy:" {
			for (i = 3; i <= NF; i++) {
				if ($i == "rounds") ms = $(i + 2)
				if ($i == "copied") copied = $(i + 1)
				if ($i == "reused") reused = $(i + 1)
			} }
		$1 == "criu-lite:" && $2 == "dumped" {
			for (i = 3; i <= NF; i++) {
				if (num($i) == "stored") stored = $(i - 2)
				if (num($i) == "elided") zero = $(i - 3)
			} }
		END {
			o = cfg OFS ram OFS rate OFS (nr ? nr : "-")
			for (i = 0; i < 8; i++) o = o OFS (i in r ? r[i] : "-")
			fr = stored != "" && zero != "" && reused != "" ? stored + zero - reused : "-"
			print o, copied == "" ? "-" : copied, stored == "" ? "-" : stored,
				zero == "" ? "-" : zero, reused == "" ? "-" : reused, fr,
				ms == "" ? "-" : ms, rep
		}' "$4/dump.log" >>"$prows"
}

# qemu_rows CONFIG RAM RATE QEMU-NATIVE-TSV REP: its stop and live rows, ours
qemu_rows() {
	awk -F'\t' -v OFS='\t' -v cfg="$1" -v ram="$2" -v rate="$3" -v rep="$5" '
		NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		function g(k) { return (k in c) && $c[k] != "" ? $c[k] : "-" }
		{
			s = g("save_ms"); f = g("sync_ms")
			print cfg, ram, rate, "qemu-" g("mode"), s, f,
				s != "-" && f != "-" ? s + f : "-",
				g("stream_bytes"), g("load_ms"), g("restore_hb_ms"),
				g("outage_ms"), g("guest_gap_ms"), g("seq_step"),
				g("complaints"), g("q_downtime_ms"), "-", g("guest"),
				g("verify"), g("disk"), g("net"), "-", rep
		}' "$4" >>"$rows"
}

# aggregate NKEY MAXCOLS < RAW > TABLE: one row per key (the first NKEY
# columns) over the runs (the last column, dropped): numbers -> median (max
# for the columns named in MAXCOLS, e.g. "seq_step,complaints"), words ->
# the distinct ones joined by "+"; adds the column "runs".
aggregate() {
	awk -F'\t' -v OFS='\t' -v nkey="$1" -v maxcols=",$2," '
		function num(x) { return x ~ /^-?[0-9]+(\.[0-9]+)?$/ }
		function fmt(x, frac,    a) { a = x < 0 ? -x : x
			return (x == int(x) && !frac) || a >= 1000 ? sprintf("%.0f", x) : \
				a >= 100 ? sprintf("%.1f", x) : sprintf("%.2f", x) }
		NR == 1 { nf = NF - 1; h = $1; for (i = 2; i <= nf; i++) h = h OFS $i
			for (i = 1; i <= nf; i++) ismax[i] = index(maxcols, "," $i ",") > 0
			print h, "runs"; next }
		{
			k = $1; for (i = 2; i <= nkey; i++) k = k OFS $i
			if (!(k in n)) order[++nk] = k
			n[k]++
			for (i = nkey + 1; i <= nf; i++) {
				if (num($i)) { c = ++cnt[k, i]; val[k, i, c] = $i + 0
					if (index($i, ".")) frac[k, i] = 1 }
				else if ($i != "-" && !((k, i, $i) in seen)) {
					seen[k, i, $i] = 1
					str[k, i] = str[k, i] (str[k, i] == "" ? "" : "+") $i
				}
			}
		}
		END {
			for (j = 1; j <= nk; j++) {
				k = order[j]; o = k
				for (i = nkey + 1; i <= nf; i++) {
					c = cnt[k, i] + 0
					for (a = 2; a <= c; a++)	# insertion sort
						for (b = a; b > 1 && val[k, i, b - 1] > val[k, i, b]; b--) {
							t = val[k, i, b]; val[k, i, b] = val[k, i, b - 1]
							val[k, i, b - 1] = t
						}
					fr = (k, i) in frac
					if (!c) v = str[k, i] == "" ? "-" : str[k, i]
					else if (ismax[i]) v = fmt(val[k, i, c], fr)
					else if (c % 2) v = fmt(val[k, i, (c + 1) / 2], fr)
					else v = fmt((val[k, i, c / 2] + val[k, i, c / 2 + 1]) / 2, fr)
					o = o OFS v
				}
				print o, n[k]
			}
		}'
}

# move CONFIG RAM RATE BASE REP NAME TOOL MODE: one move by criu-lite
# (TOOL cl) or CRIU (criu), its row, named NAME
move() {
	row_save=- row_flush=- row_dsave=- row_bytes=- row_restore=- row_hb=-
	row_outage=- row_ggap=- row_seq=- row_compl=- row_self=- row_lazy=-
	row_guest=- row_verify=- row_disk=- row_net=- row_note=-
	echo "compare-bench: run $5/$reps $1: $6" >&2
	if ! run_move "$2" "$3" "$4/$6" "$7" "$8"; then
		echo "compare-bench: $1: $6 move failed (see $4/$6)" >&2
		row_verify=FAILED
		cleanup
	fi
	printf '%s\n' "$1" "$2" "$3" "$6" "$row_save" "$row_flush" \
		"$row_dsave" "$row_bytes" "$row_restore" "$row_hb" "$row_outage" \
		"$row_ggap" "$row_seq" "$row_compl" "$row_self" "$row_lazy" \
		"$row_guest" "$row_verify" "$row_disk" "$row_net" "$row_note" "$5" |
		paste -sd '\t' >>"$rows"
}

t_start=$(gl_now_ms)
for ((rep = 1; rep <= reps; rep++)); do
	for c in "${configs[@]}"; do
		IFS=: read -r ram r <<<"$c"
		cfg=${ram}M-rate$r
		base=$work/$cfg/run$rep
		# the dump tools in turn, in reverse order every other run (what
		# the previous move left in memory and the page cache then
		# weighs on each of them alike)
		dumpers=("criu-lite cl plain" "cl-nosync cl nosync")
		for p in ${BENCH_PATHS-copy}; do
			dumpers+=("cl-$p cl $p")
		done
		[ -n "$CRIU" ] && dumpers+=("criu criu plain")
		if ! ((rep % 2)); then
			rev=()
			for m in "${dumpers[@]}"; do rev=("$m" "${rev[@]}"); done
			dumpers=("${rev[@]}")
		fi
		for m in "${dumpers[@]}"; do
			# shellcheck disable=SC2086
			move "$cfg" "$ram" "$r" "$base" "$rep" $m
		done
		ceil_row "$cfg" "$ram" "$r" "$base" "$rep"

		if [ "${BENCH_QEMU:-1}" = 1 ]; then
			echo "compare-bench: run $rep/$reps $cfg: QEMU migrate, stop and live" >&2
			rm -rf "$base/qemu"
			BENCH_OUT=$base/qemu BENCH_SMP=$smp \
				experiments/qemu-native-bench.sh "$ram:$r:stop" "$ram:$r:live" \
				>"$base/qemu.txt" 2>&1 ||
				echo "compare-bench: $cfg: a QEMU move failed (see $base/qemu.txt)" >&2
			qemu_rows "$cfg" "$ram" "$r" "$base/qemu/qemu-native.tsv" "$rep"
		fi

		if [ "$rep" -le "$plreps" ]; then
			move "$cfg" "$ram" "$r" "$base" "$rep" cl-precopy-lazy cl pl
			precopy_row "$cfg" "$ram" "$r" "$base/cl-precopy-lazy" "$rep"
		fi
	done
done
t_end=$(gl_now_ms)
cp "$rows" "$out/compare-runs.tsv"

# compare.tsv: per configuration the tools' medians, then criu-lite (cl) and
# cl-precopy-lazy (cl-pl) / QEMU.
aggregate 4 seq_step,complaints <"$rows" | awk -F'\t' -v OFS='\t' '
	function num(x) { return x ~ /^[0-9]+(\.[0-9]+)?$/ }
	function ratio(a, b) { return num(a) && num(b) && b > 0 ? sprintf("%.2f", a / b) : "-" }
	NR == 1 { print; nf = NF
		for (i = 1; i <= NF; i++) {
			# words (and seq_step): both values side by side
			both[i] = $i ~ /^(seq_step|guest|verify|disk|net)$/
			skip[i] = $i ~ /^(note|runs)$/
		}
		next }
	{
		if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
		for (i = 1; i <= NF; i++) v[$1, $4, i] = $i
		nrow[$1]++; line[$1, nrow[$1]] = $0
	}
	END {
		# numerator:denominator:name of the ratio rows
		np = split("criu-lite:qemu-stop:cl/qemu-stop " \
			   "criu-lite:qemu-live:cl/qemu-live " \
			   "criu-lite:criu:cl/criu cl-nosync:criu:cl-nosync/criu " \
			   "cl-splice:criu:cl-splice/criu cl-copy:criu:cl-copy/criu " \
			   "cl-write:criu:cl-write/criu cl-nosync:cl-write:cl-nosync/cl-write " \
			   "cl-nosync:cl-splice:cl-nosync/cl-splice " \
			   "cl-nosync:cl-copy:cl-nosync/cl-copy " \
			   "criu-lite:cl-nosync:cl/cl-nosync " \
			   "cl-precopy-lazy:qemu-stop:cl-pl/qemu-stop " \
			   "cl-precopy-lazy:qemu-live:cl-pl/qemu-live", pair, " ")
		for (k = 1; k <= n; k++) {
			cfg = order[k]
			for (j = 1; j <= nrow[cfg]; j++) print line[cfg, j]
			for (p = 1; p <= np; p++) {
				split(pair[p], pq, ":"); cl = pq[1]; t = pq[2]
				if (!((cfg, t, 1) in v) || !((cfg, cl, 1) in v)) continue
				o = cfg OFS v[cfg, t, 2] OFS v[cfg, t, 3] OFS pq[3]
				for (i = 5; i <= nf; i++) {
					a = v[cfg, cl, i]; b = v[cfg, t, i]
					o = o OFS (skip[i] ? "-" : both[i] ? a "/" b : ratio(a, b))
				}
				print o
			}
		}
	}' >"$tsv"
aggregate 3 "" <"$crows" >"$ctsv"
cp "$prows" "$out/compare-precopy.tsv"

# tsv_cols TSV NAME...: prints the named columns, tab-separated
tsv_cols() {
	local f=$1
	shift
	awk -F'\t' -v OFS='\t' -v names="$*" '
		NR == 1 { n = split(names, want, " ")
			for (i = 1; i <= NF; i++) c[$i] = i }
		{ o = ""; for (j = 1; j <= n; j++) o = o (j > 1 ? OFS : "") ((want[j] in c) ? $c[want[j]] : "-")
		  print o }' "$f"
}

# The table.
echo
echo "criu-lite vs QEMU migration and CRIU, $(uname -r), $(nproc) CPUs," \
	"$(awk '/^MemTotal:/ { print int($2 / 1048576 + 0.5) }' /proc/meminfo) GiB," \
	"$(date -u '+%Y-%m-%d %H:%M UTC'), $(( (t_end - t_start) / 1000 )) s; medians of $reps run(s)"
echo "guest: $smp vCPU, virtio-blk $([ "${BENCH_DISK:-1}" = 1 ] && echo on || echo off)," \
	"virtio-net $([ "${BENCH_NET:-1}" = 1 ] && echo on || echo off); dirtying rate in pages/s"
echo "$criu_about"
fmt='%-15s %-15s %7s %6s %7s %7s %7s %7s %7s %6s %3s %4s %7s %6s %-6s %-7s %-5s %-5s\n'
# shellcheck disable=SC2059
printf "$fmt" config tool save flush save+fl img_MiB restore rst_hb pause \
	gst_gap seq cmp self lazy guest verify disk net
tsv_cols "$tsv" config tool save_ms flush_ms durable_save_ms image_bytes \
	restore_ms restore_hb_ms outage_ms guest_gap_ms seq_step complaints \
	self_ms lazy_ms guest verify disk net note |
awk -F'\t' -v fmt="$fmt" '
	function mib(x) { return x ~ /^[0-9]+$/ ? sprintf("%d", x / 1048576) : x }
	NR == 1 { next }
	{
		if ($1 != prev) { if (prev != "") print ""; prev = $1 }
		printf fmt, $1, $2, $3, $4, $5, $2 ~ /\// ? $6 : mib($6), $7, $8,
			$9, $10, $11, $12, $13, $14, $15, $16, $17, $18
		if ($19 != "-" && $19 != "") note = note "  " $1 " " $2 ": " $19 "\n"
	}
	END { if (note != "") printf "notes:\n%s", note }'
echo
echo "(times in ms. save: stop to a complete image/stream; flush: fsync of it"
echo " after the move (criu-lite fsyncs during its dump, QEMU does not);"
echo " restore: criu-lite restore / new QEMU to incoming done; rst_hb: restore"
echo " start to first heartbeat; pause: host time between the heartbeats around"
echo " the move; gst_gap: the guest's own clock across them, 100 = unnoticed;"
echo " self: criu-lite and CRIU 'frozen' / QEMU query-migrate 'downtime'; lazy:"
echo " cl-precopy-lazy's lazy-pages daemon, restore to all RAM in. cl-nosync:"
echo " criu-lite dump --no-sync (its flush is what durability costs). criu:"
echo " QMP stop, criu dump ${CRIU_OPTS[*]}, criu restore -d, QMP cont (CRIU"
echo " does not sync its images). cl-precopy-lazy: dump --precopy-rounds 8"
echo " --precopy-until 64, restore --lazy-pages; its save includes the"
echo " pre-copy while the guest runs; $plreps run(s) of it."
echo " Ratio rows: cl = criu-lite, cl-pl = cl-precopy-lazy, divided by QEMU or"
echo " CRIU, < 1 = criu-lite smaller/faster; words and seq step as A/B)"

# criu-lite against CRIU, the columns that matter for a dump tool
if [ -n "$CRIU" ]; then
	echo
	echo "criu-lite against CRIU (medians, ms; ratio < 1: criu-lite faster)"
	kfmt='%-16s %7s %7s %7s %6s %6s  %7s %7s %6s  %7s %7s %6s  %6s %6s %6s\n'
	# shellcheck disable=SC2059
	printf "$kfmt" config cl_dump nosync criu cl/k ns/k cl_dur k_dur cl/k \
		cl_rst k_rst cl/k cl_hb k_hb cl/k
	tsv_cols "$tsv" config tool save_ms durable_save_ms restore_ms restore_hb_ms |
	awk -F'\t' -v fmt="$kfmt" '
		function r(a, b) { return a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0 ? sprintf("%.2f", a / b) : "-" }
		function g(t, i) { return (cfg, t, i) in v ? v[cfg, t, i] : "-" }
		NR == 1 { next }
		{ if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
		  for (i = 3; i <= 6; i++) v[$1, $2, i] = $i }
		END {
			for (k = 1; k <= n; k++) {
				cfg = order[k]
				a = g("criu-lite", 3); b = g("cl-nosync", 3); c = g("criu", 3)
				printf fmt, cfg, a, b, c, r(a, c), r(b, c),
					g("criu-lite", 4), g("criu", 4), r(g("criu-lite", 4), g("criu", 4)),
					g("criu-lite", 5), g("criu", 5), r(g("criu-lite", 5), g("criu", 5)),
					g("criu-lite", 6), g("criu", 6), r(g("criu-lite", 6), g("criu", 6))
			}
		}'
	echo "(cl_dump: criu-lite dump, durable; nosync: criu-lite dump --no-sync;"
	echo " criu: CRIU's dump, QMP stop included as in criu-lite's; ns/k = nosync/criu;"
	echo " *_dur: the dump + fsync of its images after the move; *_rst: restore"
	echo " command (QMP cont included); *_hb: restore start to first heartbeat)"
fi
echo
echo "criu-lite dump throughput against this machine's ceilings (GB/s, same run)"
cfmt='%-16s %8s %6s %7s %4s %6s %7s %4s %7s %7s %4s %7s %4s %6s %4s\n'
# shellcheck disable=SC2059
printf "$cfmt" config pres_MiB readv dump_rd % write dump_wr % durable \
	dump_ws % dur_1st % direct %
awk -F'\t' -v fmt="$cfmt" '
	function pct(a, b) { return a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0 ? sprintf("%d%%", 100 * a / b + 0.5) : "-" }
	NR == 1 { next }
	{
		printf fmt, $1, $4 ~ /^[0-9]+$/ ? int($4 / 1048576) : "-",
			$5, $8, pct($8, $5), $6, $9, pct($9, $6), $7, $10, pct($10, $7),
			$17, pct($10, $17), $18, pct($10, $18)
	}' "$ctsv"
echo "(ceilings: the median of those measured on the QEMU restored by each of"
echo " criu-lite, cl-nosync and criu, VM stopped, right after the move; readv = process_vm_readv"
echo " of the guest RAM's present pages; write = buffered write of as many"
echo " bytes next to the images, durable = the same"
echo " with write-back started every 64 MiB, then fsync: the best of 2 passes;"
echo " dur_1st = the first durable pass, with no warm-up (as the dump runs);"
echo " direct = O_DIRECT write + fsync, no page cache."
echo " criu-lite, from its timing lines: dump_rd = page read (zero pages"
echo " included), dump_wr = page write, dump_ws = page write + fsync)"
echo
echo "dump page throughput as a ratio to the ceilings of the same run"
awk -F'\t' '
	function ok(x) { return x ~ /^[0-9.]+$/ && x > 0 }
	function pr(name, a, b) { return name " " (ok(a) ? a : "-") \
		(ok(a) && ok(b) ? sprintf(" = %d%%", 100 * a / b + 0.5) : "") }
	NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
	{
		w = $c["write_ceil_gbps"]; d = $c["durable_ceil_gbps"]; rv = $c["readv_ceil_gbps"]
		k = $c["criu_write_gbps"]
		printf "%s: page write / buffered-write ceiling %s GB/s: %s, %s%s;\n", $1, w,
			pr("criu-lite", $c["cl_write_gbps"], w),
			pr("criu-lite --no-sync", $c["nosync_write_gbps"], w),
			ok(k) ? ", " pr("CRIU", k, w) : ""
		printf "%*s  page write + fsync / durable ceiling %s GB/s: %s;" \
			" page read / process_vm_readv ceiling %s GB/s: %s\n", length($1), "",
			d, pr("criu-lite", $c["cl_write_fsync_gbps"], d),
			rv, pr("criu-lite", $c["cl_read_gbps"], rv)
	}' "$ctsv"
echo "(criu-lite: its timing line 'pages: read, write, fsync' over the MiB it"
echo " wrote; CRIU: pages written over its own memwrite_time (stats-dump),"
echo " which counts the splice of its page pipes into pages-*.img)"

# The issue's test, per configuration, plainly: is criu-lite's dump no
# slower than CRIU's in this run (--no-sync against CRIU, durable against
# CRIU + the fsync of its images), and does the whole dump's page write
# reach 70 % of the buffered-write ceiling measured after the same move?
# Times: the medians over the runs (and in how many runs criu-lite won);
# rates: the median of the per-run ratios.
if [ -n "$CRIU" ]; then
	echo
	echo "verdicts (criu-lite against CRIU in this run; page write against the ceilings)"
	awk -F'\t' -v tsv="$tsv" -v ctsv="$ctsv" '
		function ok(x) { return x ~ /^[0-9.]+$/ && x > 0 }
		function yn(b) { return b ? "yes" : "NO" }
		FILENAME == ARGV[1] {	# compare-runs: who won each run
			if (FNR == 1) { for (i = 1; i <= NF; i++) r[$i] = i; next }
			k = $1 SUBSEP $NF
			if ($4 == "cl-nosync") ns[k] = $r["save_ms"]
			if ($4 == "criu-lite") du[k] = $r["durable_save_ms"]
			if ($4 == "criu") { ks[k] = $r["save_ms"]; kd[k] = $r["durable_save_ms"] }
			next }
		FILENAME == ARGV[2] {	# compare.tsv: the medians
			if (FNR == 1) { for (i = 1; i <= NF; i++) t[$i] = i; next }
			if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
			m[$1, $4, "save"] = $t["save_ms"]; m[$1, $4, "dsave"] = $t["durable_save_ms"]
			next }
		{	# compare-ceilings.tsv: medians of the per-run rates and ratios
			if (FNR == 1) { for (i = 1; i <= NF; i++) c[$i] = i; next }
			for (x in c) cv[$1, x] = $c[x] }
		END {
			for (j in ns) { split(j, q, SUBSEP)
				if (ok(ns[j]) && ok(ks[j])) { nr[q[1]]++; nw[q[1]] += ns[j] <= ks[j] }
				if (ok(du[j]) && ok(kd[j])) { dr[q[1]]++; dw[q[1]] += du[j] <= kd[j] } }
			for (i = 1; i <= n; i++) {
				f = order[i]; pad = sprintf("%*s", length(f), "")
				a = m[f, "cl-nosync", "save"]; b = m[f, "criu", "save"]
				if (ok(a) && ok(b))
					printf "%s: dump --no-sync %s ms, CRIU %s ms (ratio %.2f): no slower: %s (won %d of %d runs)\n",
						f, a, b, a / b, yn(a <= b), nw[f], nr[f]
				a = m[f, "criu-lite", "dsave"]; b = m[f, "criu", "dsave"]
				if (ok(a) && ok(b))
					printf "%s  durable dump %s ms, CRIU + fsync of its images %s ms (ratio %.2f): no slower: %s (won %d of %d runs)\n",
						pad, a, b, a / b, yn(a <= b), dw[f], dr[f]
				w = cv[f, "nosync_all_gbps"]; pc = cv[f, "nosync_all_pct"]
				if (ok(w) && ok(pc))
					printf "%s  whole-dump page write --no-sync %s GB/s = %s%% of the buffered-write ceiling (%s%% of its cold first pass): >= 70%%: %s\n",
						pad, w, pc, cv[f, "nosync_all_first_pct"], yn(pc >= 70)
				w = cv[f, "cl_all_gbps"]
				if (ok(w))
					printf "%s  whole-dump page write durable %s GB/s = %s%% of the buffered-write ceiling, %s%% of the durable one\n",
						pad, w, cv[f, "cl_all_pct"], cv[f, "cl_all_durable_pct"]
				w = cv[f, "criu_all_gbps"]
				if (ok(w))
					printf "%s  CRIU whole-dump page write %s GB/s = %s%% of the buffered-write ceiling (%s%% of its cold first pass)\n",
						pad, w, cv[f, "criu_all_pct"], cv[f, "criu_all_first_pct"]
			}
		}' "$rows" "$tsv" "$ctsv"
	echo "(no slower: the median of the runs' times, criu-lite <= CRIU; a run is"
	echo " won when criu-lite's time in it is <= CRIU's. whole-dump page write:"
	echo " the bytes written over the page phase's wall time (criu-lite: read,"
	echo " write and fsync overlapped, its 'phase'; CRIU: memdump_time), against"
	echo " the ceilings measured on the restored QEMU right after the same move;"
	echo " median of the runs' ratios)"
fi

# The page paths side by side: each dump's median time against CRIU's,
# the runs it won, and its page phase's rate against the ceilings
# (medians of the per-run ratios), in one table.
echo
echo "dump by page path: medians of $reps interleaved run(s), page write against the ceilings"
pfmt='%-16s %-10s %7s %6s %5s %8s %6s %6s %6s\n'
# shellcheck disable=SC2059
printf "$pfmt" config dump ms /criu won phase_ms GB/s %ceil %cold
awk -F'\t' -v fmt="$pfmt" '
	function ok(x) { return x ~ /^[0-9.]+$/ && x > 0 }
	function r(a, b) { return ok(a) && ok(b) ? sprintf("%.2f", a / b) : "-" }
	function p(x) { return ok(x) ? x "%" : "-" }
	FILENAME == ARGV[1] {	# compare-runs: each run, who won against CRIU
		if (FNR == 1) { for (i = 1; i <= NF; i++) rc[$i] = i; next }
		t[$1, $4, $NF] = $rc["save_ms"]; runs[$1, $NF] = 1; next }
	FILENAME == ARGV[2] {	# compare.tsv: medians
		if (FNR == 1) { for (i = 1; i <= NF; i++) tc[$i] = i; next }
		if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
		m[$1, $4] = $tc["save_ms"]; next }
	{	# compare-ceilings.tsv
		if (FNR == 1) { for (i = 1; i <= NF; i++) c[$i] = i; next }
		for (x in c) cv[$1, x] = $c[x] }
	END {
		nt = split("cl-nosync:nosync:no-sync criu-lite:cl:durable cl-splice:splice:splice cl-copy:copy:copy cl-write:write:write criu:criu:criu", tools, " ")
		for (i = 1; i <= n; i++) {
			f = order[i]
			printf "%s: buffered-write ceiling %s GB/s, its source in memory (cold) %s GB/s\n",
				f, cv[f, "write_ceil_gbps"], cv[f, "write_cold_ceil_gbps"]
			for (j = 1; j <= nt; j++) {
				split(tools[j], q, ":"); tool = q[1]; k = q[2]
				if (!((f, tool) in m)) continue
				won = 0; nr = 0
				for (x in runs) { split(x, y, SUBSEP); if (y[1] != f) continue
					a = t[f, tool, y[2]]; b = t[f, "criu", y[2]]
					if (ok(a) && ok(b)) { nr++; won += a <= b } }
				ph = k == "criu" ? cv[f, "criu_memdump_ms"] : cv[f, k "_phase_ms"]
				printf fmt, "", q[3],
					m[f, tool], tool == "criu" ? "-" : r(m[f, tool], m[f, "criu"]),
					tool == "criu" || !nr ? "-" : won "/" nr, ok(ph) ? ph : "-",
					ok(cv[f, k "_all_gbps"]) ? cv[f, k "_all_gbps"] : "-",
					p(cv[f, k "_all_pct"]), p(cv[f, k "_all_cold_pct"])
			}
		}
	}' "$rows" "$tsv" "$ctsv"
echo "(no-sync: criu-lite dump --no-sync by the default page path (splice"
echo " with a pipe of 8 MiB or more, else copy; or CRIU_LITE_PAGE_PATH's);"
echo " durable: criu-lite's default dump, images"
echo " fsync'ed; splice, copy, write: --no-sync by CRIU_LITE_PAGE_PATH=...;"
echo " criu: CRIU's dump. ms: the dump's wall time"
echo " (QMP stop included), /criu: against CRIU's, won: runs in which it was"
echo " no slower than CRIU's. phase_ms: the page phase (criu-lite: its"
echo " timing line's 'phase'; CRIU: memdump_time); GB/s: bytes written over"
echo " it; %ceil: against the buffered-write ceiling measured right after the"
echo " same move (source in the CPU cache: no dump can have that), %cold:"
echo " against the same write from 64 MiB of guest data in memory)"

# Pre-copy: the pages each round copies against what the final dump stores
if [ "$(wc -l <"$prows")" -gt 1 ]; then
	echo
	echo "pre-copy (cl-precopy-lazy): pages copied per round against the pages the final dump stores"
	pfmt='%-16s %3s %7s %7s %7s %7s %7s %7s %7s %7s %8s %7s %7s %7s %7s %6s\n'
	# shellcheck disable=SC2059
	printf "$pfmt" config run r0 r1 r2 r3 r4 r5 r6 r7 copied stored zero reused \
		frz_rd r0/st
	awk -F'\t' -v fmt="$pfmt" '
		NR == 1 { next }
		{ printf fmt, $1, $19, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
			$16, $17, ($14 > 0 && $5 ~ /^[0-9]+$/ ? sprintf("%.2f", $5 / $14) : "-") }' "$prows"
	echo "(pages of 4 KiB. rN: pages copied by pre-copy round N while the guest"
	echo " runs; copied: all rounds; stored: pages in the final images, zero: zero"
	echo " pages recorded, not stored; reused: pages of the final dump taken from"
	echo " the pre-copy; frz_rd: stored + zero - reused, read during the final"
	echo " freeze; r0/st: round 0 against stored, ~1 when round 0 reads only"
	echo " present pages)"
fi

# SVG bar plots: one group per configuration, one bar per tool.
plot() { # METRIC-COLUMN FILE TITLE
	awk -F'\t' -v col="$1" -v title="$3" '
		NR == 1 { for (i = 1; i <= NF; i++) { if ($i == col) c = i
			if ($i == "guest") cg = i; if ($i == "verify") cv = i }
			next }
		$4 !~ /^(criu-lite|cl-nosync|cl-splice|cl-copy|cl-write|criu|qemu-stop|qemu-live|cl-precopy-lazy)$/ { next }
		{
			if (!($1 in seen)) { seen[$1] = 1; cfg[++ng] = $1 }
			val[$1, $4] = $c; fate[$1, $4] = $cg != "ok" ? $cg : $cv
			present[$4] = 1
			if ($c ~ /^[0-9.]+$/ && $c + 0 > max) max = $c + 0
		}
		END {
			na = split("criu-lite cl-nosync cl-splice cl-copy cl-write criu qemu-stop qemu-live cl-precopy-lazy", all, " ")
			split("#1f77b4 #17becf #bcbd22 #8c564b #e377c2 #d62728 #ff7f0e #2ca02c #9467bd", acolor, " ")
			for (t = 1; t <= na; t++)
				if (all[t] in present) { tool[++nt] = all[t]; color[nt] = acolor[t] }
			W = 1080; H = 420; L = 70; R = 20; T = 60; B = 60
			pw = W - L - R; ph = H - T - B
			if (max <= 0) max = 1
			raw = max / 5; mag = 10 ^ int(log(raw) / log(10))
			if (mag > raw) mag /= 10
			nr = raw / mag; st = (nr <= 1 ? 1 : nr <= 2 ? 2 : nr <= 5 ? 5 : 10) * mag
			top = st * (int(max / st) + 1)
			printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H
			printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
			printf "<text x=\"%d\" y=\"22\" font-size=\"16\" text-anchor=\"middle\">%s</text>\n", W / 2, title
			for (y = 0; y <= top + st / 2; y += st) {
				py = T + ph - ph * y / top
				printf "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", L, py, L + pw, py
				printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", L - 6, py + 4, y
			}
			printf "<text x=\"16\" y=\"%d\" transform=\"rotate(-90 16 %d)\" text-anchor=\"middle\">ms (lower is better)</text>\n", T + ph / 2, T + ph / 2
			gw = pw / ng; bw = gw * 0.8 / nt
			for (g = 1; g <= ng; g++) {
				x0 = L + (g - 1) * gw + gw * 0.1
				for (t = 1; t <= nt; t++) {
					v = val[cfg[g], tool[t]]; x = x0 + (t - 1) * bw
					if (v ~ /^[0-9.]+$/) {
						h = ph * v / top
						printf "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", x + 1, T + ph - h, bw - 2, h, color[t]
						printf "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\">%d</text>\n", x + bw / 2, T + ph - h - 3, v + 0.5
					} else {
						f = fate[cfg[g], tool[t]]
						printf "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\" fill=\"%s\">%s</text>\n", x + bw / 2, T + ph - 4, color[t], (f == "" || f == "ok") ? "n/a" : f
					}
				}
				printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x0 + gw * 0.4, T + ph + 18, cfg[g]
			}
			printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", L, T + ph, L + pw, T + ph
			for (t = 1; t <= nt; t++) {
				lx = L + (t - 1) * 110
				printf "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>\n", lx, H - 22, color[t]
				printf "<text x=\"%d\" y=\"%d\">%s</text>\n", lx + 16, H - 12, tool[t]
			}
			print "</svg>"
		}' "$tsv" >"$2"
}
plot save_ms "$out/compare-save.svg" "Save: wall time to a complete image / stream"
plot durable_save_ms "$out/compare-save-durable.svg" "Save + fsync of the image / stream"
plot restore_hb_ms "$out/compare-restore-hb.svg" "Restore start to first guest heartbeat"
plot outage_ms "$out/compare-pause.svg" "Guest-observed pause (host time between heartbeats)"
echo
echo "compare-bench: $tsv $ctsv $out/compare-precopy.tsv $out/compare-{save,save-durable,restore-hb,pause}.svg"

# CRIU is measured, not judged: a failed CRIU move is reported, not fatal.
tsv_cols "$tsv" config tool guest verify |
	awk -F'\t' 'NR > 1 && $2 == "criu" && ($3 != "ok" || $4 != "ok") {
		printf "compare-bench: %s: CRIU'"'"'s move: guest %s, verify %s (see %s/%s/run*/criu)\n",
			$1, $3, $4, w, $1 }' w="$work"

# Failed if any move failed or any criu-lite guest came back wrong.
tsv_cols "$tsv" tool guest verify |
	awk -F'\t' 'NR > 1 && $1 ~ /^(criu-lite|cl-nosync|cl-splice|cl-copy|cl-write|cl-precopy-lazy)$/ &&
		($2 != "ok" || $3 != "ok") { bad = 1 }
		END { exit bad }'

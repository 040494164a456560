# shellcheck shell=bash disable=SC2034,SC2153,SC2015
# criu-lite's modes (sourced by run-experiments.sh after exp-lib.sh). One
# line per mode:
#
#   NAME | DUMP (or MIGRATE) OPTIONS | RESTORE OPTIONS | KIND
#
# KIND:
#   dir      dump the chain's QEMU into a directory (--qmp: the VM is stopped
#            first, so the guest sees no time jump), then restore it, same
#            PID, same host (wherever the chain is); durable (the images
#            fsync'ed before the tree is killed) unless --no-sync
#   migrate  `criu-lite migrate` of the chain's QEMU to the other host (pre-
#            copy rounds until the rest fits the downtime limit, QMP stop,
#            the rest, restored there), with --qmp; cl-migrate-128M caps it
#            at QEMU's default max-bandwidth, 128 MiB/s, to compare with
#            precopy-default; cl-migrate-postcopy moves the guest's RAM
#            after the switch (n/a while criu-lite's --help says its
#            --postcopy is not implemented)
#   snap     dump --leave-running (criu-lite's snapshot, question 4): the
#            VM stopped by QMP, the tree frozen and dumped, the VM
#            continued; the source runs on for 1 s (its heartbeats after
#            the dump recorded), is ended, and the image restored on the
#            same host: the guest must resume at the state of the dump's
#            end (its freeze), not the source's last; the serial log is
#            cut back to the image's position of it first (the restored
#            QEMU writes from there; what the source wrote after is kept
#            in the row's directory, source-serial.log); the disk is not
#            in the image (as with background-snapshot): newer than the
#            memory on restore
#   mismatch the destination's QEMU binary, then one of its libraries,
#            differs from what the dumped QEMU mapped: each restore must
#            be refused naming the file; then the real restore (question 8)
CL_MODES='
cl-dump          |                                          |              | dir
cl-dump-nosync   | --no-sync                                |              | dir
cl-precopy       | --precopy-rounds 8 --precopy-until 64    |              | dir
cl-precopy-lazy  | --precopy-rounds 8 --precopy-until 64    | --lazy-pages | dir
cl-migrate       |                                          |              | migrate
cl-migrate-128M  | --max-bandwidth 128M                     |              | migrate
cl-migrate-postcopy | --postcopy                            |              | migrate
cl-mismatch      |                                          |              | mismatch
cl-dump-leave-running | --leave-running                     |              | snap
'
CL=${CL:-build/criu-lite}

cl_mode_names() {
	awk -F'|' 'NF >= 4 { gsub(/ /, "", $1); print $1 }' <<<"$CL_MODES"
}

cl_mode_field() {
	awk -F'|' -v n="$1" -v f="$2" '{ k = $1; gsub(/ /, "", k) }
		k == n { v = $f; gsub(/^ +| +$/, "", v); print v }' <<<"$CL_MODES"
}


# cl_timing FILE...: criu-lite's timing lines (dumped, pages, pre-copy,
# restored, lazy-pages) as a JSON array of strings
cl_timing() {
	grep -hE '^criu-lite: (dumped|restored)|^[a-z-]+: (read|write|fsync|all in|rounds)|pages:|pre-copy:|lazy-pages:|restored' \
		"$@" 2>/dev/null | jq -Rsc 'split("\n") | map(select(length > 0))'
}

# cl_number KEY FILE: one number of criu-lite's timing lines: frozen (ms the
# tree was frozen), rounds (pre-copy rounds), lazy (ms to all pages in)
cl_number() {
	awk -v key="$1" '{ for (i = 1; i <= NF; i++) { w = $i; sub(/,$/, "", w)
		if (key == "frozen" && $2 == "dumped" && w == "frozen") v = $(i + 1)
		if (key == "rounds" && $2 == "pre-copy:" && w == "rounds") v = $(i - 1)
		if (key == "lazy" && $2 == "lazy-pages:" && $3 == "all" && w == "after") v = $(i + 1)
	} } END { print v == "" ? "-" : v + 0 }' "$2"
}

# chain_inner_pid: the chain's QEMU's PID on its side; "" only when it has
# ended: while it lives, an empty answer is asked again for 1 s (seen once
# at load ~14: a QEMU that criu-lite migrate had just moved there, checked
# intact, had no PID there for the next move; a torn read of its /proc
# status there would do that)
chain_inner_pid() {
	local i p
	for ((i = 0; i < 20; i++)); do
		p=$(side_inner_pid "$CH_SIDE" "$CH_PID") && [ -n "$p" ] && { echo "$p"; return 0; }
		gl_alive "$CH_PID" || break
		sleep 0.05
	done
	return 1
}

# chain_gone: the chain's QEMU ended after the previous move's check and
# before this move (its PID there cannot be read): the row says so, not
# what criu-lite makes of an empty PID
chain_gone() {
	[ -n "$1" ] && return 1
	R_VERDICT=chain-qemu-gone
	R_NOTE="the chain's QEMU (PID $CH_PID here) ended after the previous move's check, before this move started"
	gl_alive "$CH_PID" &&
		R_NOTE="the chain's QEMU's PID $CH_SIDE (PID $CH_PID here) could not be read"
}

# cl_begin DUMP-OPTS: the start of a dump-and-restore row, in the
# caller's locals (bash's dynamic scope): ipid (the chain's QEMU's PID on
# its side), dopt, d (the row's directory, R_DIR), img (d/img); R_DURABLE
# (a durable dump's fsync is timed: others' dirty pages flushed first).
# 1 when the chain's QEMU is gone.
cl_begin() {
	ipid=$(chain_inner_pid)
	chain_gone "$ipid" && return 1
	read -ra dopt <<<"$1"
	R_DURABLE=true
	[[ " ${dopt[*]} " == *" --no-sync "* ]] && R_DURABLE=false
	chain_next_dir
	d=$NEXT_DIR
	mkdir -p "$d"
	R_DIR=$d
	img=$d/img
	[ "$R_DURABLE" = true ] && sync
	return 0
}

# cl_dump MARK: criu-lite dump of $ipid into $img with QMP and $dopt, its
# log $d/dump.log; MARK (a function) runs right before each try to note
# where it starts (t0...). A dump refused with the VM left running is
# tried once more (user-net opens a host TCP socket while the guest's NET
# ping is in flight, which criu-lite cannot dump yet), the note naming
# what was refused; 1 with R_VERDICT=dump-failed.
cl_dump() {
	"$1"
	side_run "$CH_SIDE" "$CL" dump -t "$ipid" -D "$img" --qmp "$CH_SOCK" \
		"${dopt[@]}" >"$d/dump.log" 2>&1 && return 0
	R_NOTE="dump retried, first: $(grep -m1 -A1 "not supported" "$d/dump.log" | tr '\n' ' ')"
	mv "$d/dump.log" "$d/dump-1.log"
	rm -rf "$img"
	grep -q "it was left running" "$d/dump-1.log" &&
		gl_qmp "$CH_SOCK" cont >/dev/null 2>&1 && sleep 0.5 && "$1" &&
		side_run "$CH_SIDE" "$CL" dump -t "$ipid" -D "$img" \
			--qmp "$CH_SOCK" "${dopt[@]}" >"$d/dump.log" 2>&1 && return 0
	R_VERDICT=dump-failed
	R_NOTE=$(tail -n 3 "$d/dump.log" 2>/dev/null || tail -n 3 "$d/dump-1.log")
	R_NOTE=$(tr '\n' ' ' <<<"$R_NOTE")
	grep -q "it was left running" "$d/dump.log" 2>/dev/null && R_SRC_RESUMABLE=1
	return 1
}

# cl_restore T0 [OPTIONS]: criu-lite restore -d of $img on the chain's
# side (log $d/restore.log), once more after 0.3 s if refused (the dumped
# or ended source's PID may still be held for a moment: the note says
# so); sets t2 (its start), CH_PID (the restored QEMU's PID here),
# R_RESTORE and R_HOST (from T0); 1 with R_VERDICT set.
cl_restore() {
	local t0=$1 t3
	shift
	t2=$(gl_now_ms)
	if ! side_run "$CH_SIDE" "$CL" restore -D "$img" -d "$@" \
		>"$d/restore.log" 2>&1; then
		sleep 0.3
		side_run "$CH_SIDE" "$CL" restore -D "$img" -d "$@" \
			>"$d/restore.log" 2>&1 || {
			R_VERDICT=restore-failed
			R_NOTE=$(tail -n 3 "$d/restore.log" | tr '\n' ' ')
			return 1
		}
		R_NOTE="${R_NOTE:+$R_NOTE; }restore retried"
	fi
	t3=$(gl_now_ms)
	CH_PID=$(side_outer_pid "$CH_SIDE" "$ipid") ||
		{ R_VERDICT=restored-not-found; return 1; }
	R_RESTORE=$((t3 - t2))
	R_HOST=$((t3 - t0))
}

# cl_dir_mark: where cl_dir's dump starts (the serial log's size, t0)
cl_dir_mark() {
	off=$(log_size "$CH_DIR/serial.log")
	t0=$(gl_now_ms)
}

# cl_dir NAME DUMP-OPTS RESTORE-OPTS: dump to a directory, restore from it,
# on the chain's side (there: under another PID here afterwards)
cl_dir() {
	local dopt=() ropt=() d img off offr t0 t1 t2 i ipid
	cl_begin "$2" || return 1
	read -ra ropt <<<"$3"
	cl_dump cl_dir_mark || return 1
	t1=$(gl_now_ms)
	G_FRESH_OFF=$(log_size "$CH_DIR/serial.log")	# the tree is gone: the move's boundary
	R_SAVE=$((t1 - t0))
	guest_progress "$CH_DIR/stamped.log" "$t0" "$t1"
	R_BYTES=$(du -sb "$img" | cut -f1)
	# after the move: the log from here (a pre-copy dump lets the guest
	# beat and verify while it copies)
	offr=$off
	[ ${#dopt[@]} -gt 0 ] && offr=$(log_size "$CH_DIR/serial.log")
	cl_restore "$t0" "${ropt[@]}" || return 1
	R_TOTAL=$R_HOST
	R_DOWN=$(cl_number frozen "$d/dump.log")
	R_ROUNDS=$(cl_number rounds "$d/dump.log")
	guest_check "$CH_DIR/serial.log" "$CH_DIR/stamped.log" "$CH_PID" "$offr" \
		"$t0" "$CH_DIR/stamped.log"
	R_VERDICT=$(guest_verdict)
	if [[ " ${ropt[*]} " == *" --lazy-pages "* ]]; then
		for ((i = 0; i < 300; i++)); do
			grep -q "lazy-pages: all in\|lazy-pages: failed" "$d/restore.log" && break
			sleep 0.1
		done
	fi
	R_RAW=$(jq -c --argjson dump "$(cl_timing "$d/dump.log")" \
		--argjson restore "$(cl_timing "$d/restore.log")" \
		--argjson lazy "$(num "$(cl_number lazy "$d/restore.log")")" -n \
		'{dump: $dump, restore: $restore, "lazy-all-in-ms": $lazy}')
	[ "${EXP_KEEP:-0}" = 1 ] || rm -rf "$img" &	# (a GiB's removal: not waited for)
}

# cl_incoming D SIDE ADDR PORT: `criu-lite migrate --incoming` on SIDE, in
# the background, images in D/img; sets CL_INC (the PID of the background
# job here: criu-lite is below it, under nsenter when SIDE is there).
# Returns once it listens.
cl_incoming() {
	local d=$1 i trace=()
	[ "${EXP_CL_TRACE:-0}" = 1 ] && trace=("-v${EXP_CL_TRACE_V:-3}" -o "$(realpath -m "$d/in-trace.log")")
	side_run "$2" ${EXP_CL_WRAP_IN:-} "$CL" migrate --incoming "$3:$4" -D "$d/img" \
		--stats-file "$d/in.json" "${trace[@]}" >"$d/in.log" 2>&1 &
	CL_INC=$!
	for ((i = 0; i < 200; i++)); do
		grep -q "waiting on" "$d/in.log" "$d/in-trace.log" 2>/dev/null &&
			return 0
		gl_alive "$CL_INC" || return 1
		sleep 0.05
	done
	return 1
}

# pid_tree PID: PID and every process below it, the leaves first
pid_tree() {
	local c
	for c in $(pgrep -P "$1"); do pid_tree "$c"; done
	echo "$1"
}

# cl_incoming_end SEC: waits up to SEC s for the incoming side to end,
# then ends it, criu-lite first (nsenter passes no signal on); its status
cl_incoming_end() {
	local i p
	for ((i = 0; i < $1 * 20; i++)); do
		gl_alive "$CL_INC" || break
		sleep 0.05
	done
	if gl_alive "$CL_INC"; then
		for p in $(pid_tree "$CL_INC"); do gl_stop_pid "$p"; done
	fi
	wait "$CL_INC" 2>/dev/null
}

# cl_find_there SIDE PID: sets npid, the PID here of the live process PID
# of SIDE ("" if none within 2 s)
cl_find_there() {
	local i
	npid=
	[ -n "$2" ] || return 1
	for ((i = 0; i < 40; i++)); do
		npid=$(side_outer_pid "$1" "$2") && gl_alive "$npid" && return 0
		npid=
		sleep 0.05
	done
	return 1
}

# cl_migrate NAME MIGRATE-OPTS: `criu-lite migrate` of the chain's QEMU to
# the other host: migrate --incoming there, then migrate -t PID --to there
# --qmp SOCK here. The QEMU restored there keeps its serial log, QMP socket
# and disk (shared file system: the stamper and the chain go on with them)
# and becomes the chain's head there, under its PID there (another PID
# here). A migration that fails leaves the source running (VM stopped by
# QMP: continued by chain_resume_source).
cl_migrate() {
	local opt=() d ipid dside daddr port off offr t0 t1 try npid rpid i
	read -ra opt <<<"$2"
	chain_next_dir
	d=$NEXT_DIR
	# EXP_CL_TRACE=1: both sides log each stage, stamped, into
	# out-trace.log / in-trace.log (where the downtime goes)
	[ "${EXP_CL_TRACE:-0}" = 1 ] && opt+=("-v${EXP_CL_TRACE_V:-3}" -o "$(realpath -m "$d/out-trace.log")")
	mkdir -p "$d"
	R_DIR=$d
	ipid=$(chain_inner_pid)
	chain_gone "$ipid" && return 1
	dside=$(side_other "$CH_SIDE")
	daddr=$(side_addr "$dside")
	for try in 1 2 3 4; do
		port=$((20000 + (EXP_CHAIN * 100 + CH_N * 4 + try) % 20000))
		rm -rf "$d/img" "$d/in.json" "$d/out.json"
		cl_incoming "$d" "$dside" "$daddr" "$port" || {
			R_VERDICT=incoming-failed R_NOTE=$(tail -n 2 "$d/in.log" | tr '\n' ' ')
			cl_incoming_end 0
			return 1
		}
		off=$(log_size "$CH_DIR/serial.log")
		t0=$(gl_now_ms)
		# its scratch directory in a TMPDIR of this run's own: a
		# criu-lite migrate in another PID namespace (another
		# session's tests) takes a scratch directory in /tmp named by
		# a PID it cannot see for a dead one's and removes it
		mkdir -p "$EXP_WORK/tmp"
		side_run "$CH_SIDE" env TMPDIR="$EXP_WORK/tmp" \
			timeout "$EXP_MOVE_TIMEOUT" ${EXP_CL_WRAP:-} "$CL" migrate -t "$ipid" \
			--to "$daddr:$port" --qmp "$CH_SOCK" --stats-file "$d/out.json" \
			"${opt[@]}" >"$d/out.log" 2>&1 && break
		t1=$(gl_now_ms)
		cl_incoming_end 5
		R_VERDICT=migrate-failed R_SRC_RESUMABLE=1
		R_NOTE=$(grep -m1 "Error\|error\|refused\|failed" "$d/out.log")
		# user-net holds a host TCP socket while the guest's NET ping is
		# in flight, which criu-lite cannot move yet: once more
		# (the guest pings every second and each ping's connection
		# lives a while: up to 4 tries)
		[ $try -lt 4 ] && grep -q "not supported" "$d/out.log" &&
			grep -q "runs on here" "$d/out.log" || return 1
		mv "$d/out.log" "$d/out-$try.log"
		mv "$d/in.log" "$d/in-$try.log"
		R_NOTE="migrate tried $((try + 1)) times, first: $(grep -m1 -A1 "not supported" "$d/out-1.log" | tr '\n' ' ')"
		gl_qmp "$CH_SOCK" cont >/dev/null 2>&1
		sleep 0.5
	done
	t1=$(gl_now_ms)
	R_SRC_RESUMABLE=0
	guest_progress "$CH_DIR/stamped.log" "$t0" "$t1"
	R_HOST=$((t1 - t0))
	# total: migrate -t's start to the tree running there (its own
	# figure, as QEMU's total-time); save: to the last byte sent (the
	# rest is the hand-over: the restore there and its answer)
	read -r R_TOTAL R_DOWN R_ROUNDS R_BYTES R_SAVE < <(jq -r \
		'[.total_ms, .downtime_ms, .precopy_rounds, .bytes_sent,
		  (.total_ms - .handover_ms | round)] | map(. // "-") | @tsv' \
		"$d/out.json" 2>/dev/null)
	# the QEMU there, restored under its PID; the destination's stats
	# file (written once it has ended: after every page is in) says
	# which, should it differ. The guest is checked meanwhile.
	cl_find_there "$dside" "$ipid" ||
		{ cl_incoming_end 10; cl_find_there "$dside" "$(jq -r '.pid // empty' "$d/in.json" 2>/dev/null)"; }
	if [ -z "$npid" ]; then
		cl_incoming_end 10
		side_run "$dside" ps -eo pid,ppid,stat,etime,args >"$d/ps-there.txt" 2>&1
		guest_gone "$CH_DIR/serial.log" "$off"
		R_VERDICT="no-qemu-there,$R_VERDICT"
		R_NOTE="no process $ipid $dside (ps-there.txt)"
		return 1
	fi
	CH_PID=$npid CH_SIDE=$dside
	# the log from the end of the move on: the pre-copy rounds let the
	# guest beat and verify on the source meanwhile
	offr=$(log_size "$CH_DIR/serial.log")
	guest_check "$CH_DIR/serial.log" "$CH_DIR/stamped.log" "$CH_PID" "$offr" \
		"$t0" "$CH_DIR/stamped.log"
	R_VERDICT=$(guest_verdict)
	cl_incoming_end 10
	R_RESTORE=$(jq -r '.restore_ms // "-"' "$d/in.json" 2>/dev/null)
	R_RAW=$(jq -c -n --slurpfile out "$d/out.json" --slurpfile in "$d/in.json" \
		--argjson lines "$(cl_timing "$d/out.log" "$d/in.log")" \
		'{source: $out[0], destination: $in[0], log: $lines}' 2>/dev/null || echo null)
	[ "${EXP_KEEP:-0}" = 1 ] || rm -rf "$d/img" &
}

# cl_lacks CMD OPTS: why this criu-lite cannot run CMD with OPTS ("" when
# it can): an option its CMD --help does not list, or says is not
# implemented
cl_lacks() {
	local o help
	help=$($CL "$1" --help 2>&1)
	for o in $2; do
		[[ $o == --* ]] || continue
		grep -q -- "$o\b" <<<"$help" || { echo "criu-lite $1 has no $o"; return; }
		grep -- "$o\b" <<<"$help" | grep -q "not implemented" &&
			{ echo "criu-lite ${o#--}: not on main yet (criu-lite $1 --help: $o not implemented)"; return; }
	done
}

# flip_byte FILE OFFSET: FILE's byte at OFFSET replaced by its complement
flip_byte() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	# shellcheck disable=SC2059	# the byte as an octal escape
	printf "\\$(printf %03o $((255 - b)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# cl_restore_with SIDE IMG LOG REAL FAKE: criu-lite restore of IMG on SIDE
# in a mount namespace of its own where FAKE is bind-mounted over REAL (the
# destination has another file at that path; nothing changes for anyone
# else); succeeds when the restore is refused naming REAL
cl_restore_with() {
	# shellcheck disable=SC2016	# expanded by that sh
	side_run "$1" unshare --mount --propagation private sh -c \
		'mount --bind "$1" "$2" && exec "$3" restore -D "$4" -d' sh \
		"$5" "$4" "$CL" "$2" >"$3" 2>&1 && return 1
	grep -q "$4 is not the file that was mapped" "$3"
}

# cl_mismatch NAME: question 8. The chain's QEMU is dumped; its restore is
# tried where the QEMU binary is the other version's, then where one of
# its libraries (libglib) differs by one byte of its first page (same size:
# the sample sum must see it). Both must be refused, naming the file,
# leaving nothing behind; the restore with the real files then continues
# the guest, checked as every move.
# where cl_mismatch's dump (each try) starts
mismatch_mark() {
	off=$(log_size "$CH_DIR/serial.log")
	t0=$(gl_now_ms)
}

cl_mismatch() {
	local d img ipid exe lib other off t0 t1 t2 i why=() left dopt=()
	ipid=$(chain_inner_pid)
	chain_gone "$ipid" && return 1
	chain_next_dir
	d=$NEXT_DIR
	mkdir -p "$d"
	R_DIR=$d R_DURABLE=true
	img=$d/img
	exe=$(readlink "/proc/$CH_PID/exe")
	lib=$(awk '$6 ~ /\/libglib-2\.0\.so/ { print $6; exit }' "/proc/$CH_PID/maps")
	other=${QEMU72:-$(command -v qemu-system-x86_64)}
	# shellcheck disable=SC1090
	[ "$exe" = "$(readlink -f "$other")" ] && other=$(. "$EXP_QEMU10_ENV" && echo "$QEMU10")
	[ -n "$exe" ] && [ -n "$lib" ] && [ -f "$other" ] ||
		{ R_VERDICT=setup-failed R_NOTE="exe '$exe', libglib '$lib', other QEMU '$other'"; return 1; }
	cp "$lib" "$d/libglib-changed.so" && flip_byte "$d/libglib-changed.so" 1000 ||
		{ R_VERDICT=setup-failed; return 1; }
	sync
	# cl_dump: retried once when refused with the VM left running (a
	# user-net socket of a NET ping in flight), as every criu-lite dump
	cl_dump mismatch_mark || return 1
	t1=$(gl_now_ms)
	G_FRESH_OFF=$(log_size "$CH_DIR/serial.log")
	R_SAVE=$((t1 - t0))
	R_BYTES=$(du -sb "$img" | cut -f1)
	cl_restore_with "$CH_SIDE" "$img" "$d/restore-binary.log" "$exe" "$other" ||
		why+=(binary-not-refused)
	cl_restore_with "$CH_SIDE" "$img" "$d/restore-library.log" "$lib" "$d/libglib-changed.so" ||
		why+=(library-not-refused)
	# a refused restore leaves nothing: no QEMU of that PID there
	left=$(side_outer_pid "$CH_SIDE" "$ipid") && gl_alive "$left" &&
		[ "$(readlink "/proc/$left/exe")" = "$exe" ] && why+=("process-left:$left")
	t2=$(gl_now_ms)
	side_run "$CH_SIDE" "$CL" restore -D "$img" -d >"$d/restore.log" 2>&1 || {
		R_VERDICT=restore-failed R_NOTE=$(tail -n 3 "$d/restore.log" | tr '\n' ' ')
		return 1
	}
	R_RESTORE=$(($(gl_now_ms) - t2))
	for ((i = 0; i < 40; i++)); do
		CH_PID=$(side_outer_pid "$CH_SIDE" "$ipid") && gl_alive "$CH_PID" && break
		CH_PID=
		sleep 0.05
	done
	[ -n "$CH_PID" ] || { R_VERDICT=restored-not-found; return 1; }
	R_HOST=$(($(gl_now_ms) - t0)) R_TOTAL=$R_HOST
	R_DOWN=$(cl_number frozen "$d/dump.log")
	guest_check "$CH_DIR/serial.log" "$CH_DIR/stamped.log" "$CH_PID" "$off" \
		"$t0" "$CH_DIR/stamped.log"
	R_VERDICT=$(guest_verdict)
	if [ ${#why[@]} -gt 0 ]; then
		if [ "$R_VERDICT" = ok ]; then R_VERDICT=$(IFS=,; echo "${why[*]}")
		else R_VERDICT="$R_VERDICT,$(IFS=,; echo "${why[*]}")"; fi
	fi
	R_NOTE="${R_NOTE:+$R_NOTE; }binary: $(grep -m1 -o "[^:]*is not the file.*(.*)" "$d/restore-binary.log" || tail -n 1 "$d/restore-binary.log"); library: $(grep -m1 -o "[^:]*is not the file.*(.*)" "$d/restore-library.log" || tail -n 1 "$d/restore-library.log")"
	R_NOTE=${R_NOTE//$PWD\//}	# the build directory's path says nothing
	R_RAW=$(jq -nc --arg exe "$exe" --arg other "$other" --arg lib "$lib" \
		--rawfile rb "$d/restore-binary.log" --rawfile rl "$d/restore-library.log" \
		'{binary: $exe, "other-binary": $other, library: $lib,
		  "library-change": "byte 1000 complemented, same size",
		  "restore-binary-log": $rb, "restore-library-log": $rl}')
	[ "${EXP_KEEP:-0}" = 1 ] || rm -rf "$img" &	# (a GiB's removal: not waited for)
	rm -f "$d/libglib-changed.so"
}

# cl_snap_mark: where cl_snap's dump starts (t0, the heartbeat seq then)
cl_snap_mark() {
	t0=$(gl_now_ms)
	s0=$(last_seq "$CH_DIR/stamped.log" "$t0")
}

# cl_snap NAME DUMP_OPTIONS: dump --leave-running, the source on for 1 s,
# ended, the image restored here: the guest must come back at the dump's
# state (the heartbeat seq of its freeze), with the source's pause during
# the dump as the row's pause (the source's guest is what ran on).
cl_snap() {
	local dopt=() d img ipid t0 t1 t2 s0 s1 s2 pos src_status src_pause
	cl_begin "$2" || return 1
	cl_dump cl_snap_mark || return 1
	t1=$(gl_now_ms)
	R_SAVE=$((t1 - t0))
	R_TOTAL=$R_SAVE
	R_BYTES=$(du -sb "$img" | cut -f1)
	R_DOWN=$(cl_number frozen "$d/dump.log")
	R_ROUNDS=$(cl_number rounds "$d/dump.log")
	# the source runs on
	sleep 1
	src_status=$(gl_qmp "$CH_SOCK" query-status -g status)
	stamped_upto "$CH_DIR/stamped.log" "$CH_DIR/serial.log"
	s1=$(last_seq "$CH_DIR/stamped.log" "$t1")
	s2=$(last_seq "$CH_DIR/stamped.log")
	gl_hb_gap "$CH_DIR/stamped.log" -- "$t0" >"$d/src-gap.out"
	src_pause=$(gl_kv outage_ms <"$d/src-gap.out")
	pos=$("$CL" show "$img" --json 2>/dev/null |
		jq -r '[.. | objects | select(.path? // "" | endswith("/serial.log")) | .pos] | first // empty')
	[ -n "$pos" ] || { R_VERDICT=no-serial-fd
		R_NOTE="the image holds no fd of serial.log"; return 1; }
	# ended as a dump without --leave-running would: SIGKILL (QMP quit
	# would remove QEMU's pid file, which the image holds open)
	kill -9 "$CH_PID" 2>/dev/null
	gl_wait_exit "$CH_PID" 10
	kill "$CH_STAMPER" 2>/dev/null
	# the same file (the image names its inode's path), cut back
	cp "$CH_DIR/serial.log" "$d/source-serial.log"
	mv "$CH_DIR/stamped.log" "$d/source-stamped.log"
	truncate -s "$pos" "$CH_DIR/serial.log"
	"$GL_GUEST/serial-watch" --stamp -o "$pos" "$CH_DIR/serial.log" \
		>"$CH_DIR/stamped.log" &
	CH_STAMPER=$!
	exp_track "$CH_STAMPER"
	cl_restore "$t0" || return 1
	exp_track "$CH_PID"
	guest_check "$CH_DIR/serial.log" "$CH_DIR/stamped.log" "$CH_PID" "$pos" \
		"$t2" "$CH_DIR/stamped.log"
	R_VERDICT=$(guest_verdict noseq)
	# the restored guest resumes where the dump froze it: after the seq
	# at the dump's start, not after the one at its end (+1: a beat may
	# land between the freeze and the stamp of t1), well before the
	# source's last
	if [ "$G_FIRST_SEQ" = - ] || [ "$s0" = - ] || [ "$s1" = - ] ||
		[ "$G_FIRST_SEQ" -lt "$s0" ] || [ "$G_FIRST_SEQ" -gt $((s1 + 2)) ]; then
		if [ "$R_VERDICT" = ok ]; then R_VERDICT=not-dump-state
		else R_VERDICT="$R_VERDICT,not-dump-state"; fi
	fi
	G_PAUSE=$src_pause
	R_NOTE="${R_NOTE:+$R_NOTE; }source ran on ($src_status) to hb $s2; dump started at hb $s0, ended at $s1; restored guest resumed at hb $G_FIRST_SEQ"
	R_RAW=$(jq -c --argjson dump "$(cl_timing "$d/dump.log")" \
		--argjson restore "$(cl_timing "$d/restore.log")" \
		--arg s "$src_status" --argjson s0 "$(num "$s0")" \
		--argjson s1 "$(num "$s1")" --argjson s2 "$(num "$s2")" \
		--argjson f "$(num "$G_FIRST_SEQ")" -n \
		'{dump: $dump, restore: $restore, "source-status-after": $s,
		  "hb-at-start": $s0, "hb-at-end": $s1, "hb-source-last": $s2,
		  "hb-first-restored": $f}')
	[ "${EXP_KEEP:-0}" = 1 ] || rm -rf "$img" &
}

# cl_run_mode NAME: one run of a criu-lite mode on the chain's QEMU
cl_run_mode() {
	local name=$1 kind why
	kind=$(cl_mode_field "$name" 4)
	row_reset criu-lite "$name"
	R_TOOL_VERSION=$($CL --version 2>&1 | head -n 1)
	why=$(cl_lacks "$([ "$kind" = migrate ] && echo migrate || echo dump)" \
		"$(cl_mode_field "$name" 2)")
	if [ -n "$why" ]; then
		R_VERDICT=n/a R_NOTE=$why
		emit_row
		return
	fi
	if [ "$kind" = migrate ] && [ "$EXP_ONE_HOST" = 1 ]; then
		R_VERDICT=n/a R_NOTE="needs two hosts (EXP_ONE_HOST=1)"
		emit_row
		return
	fi
	# criu-lite migrate restores the tree under its PID: a QEMU that a
	# QEMU move started there has a PID of that host's numbering, which
	# may be taken here. It goes from here to there: a chain that is
	# there is ended, and a fresh guest boots here.
	[ "$kind" = migrate ] && [ "${CH_SIDE:-here}" != here ] && chain_end
	chain_ready "$CH_VER" "$CH_MEM" "$CH_RATE" || {
		R_VERDICT=boot-failed; emit_row; chain_end; return; }
	case $kind in
	dir) cl_dir "$name" "$(cl_mode_field "$name" 2)" "$(cl_mode_field "$name" 3)" ;;
	migrate) cl_migrate "$name" "$(cl_mode_field "$name" 2)" ;;
	mismatch) cl_mismatch "$name" ;;
	snap) cl_snap "$name" "$(cl_mode_field "$name" 2)" ;;
	esac
	row_end
}

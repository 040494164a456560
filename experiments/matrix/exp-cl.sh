# shellcheck shell=bash disable=SC2034,SC2153,SC2015
# criu-lite's modes (sourced by run-experiments.sh after exp-lib.sh). One
# line per mode:
#
#   NAME | DUMP OPTIONS | RESTORE OPTIONS | KIND
#
# KIND:
#   dir      dump the chain's QEMU into a directory (--qmp: the VM is stopped
#            first, so the guest sees no time jump), then restore it, same
#            PID, same host
#   migrate  `criu-lite migrate` (not implemented yet: an "n/a" row until
#            it is; its driver goes in cl_migrate below, the one place to
#            fill in)
CL_MODES='
cl-dump          |                                          |              | dir
cl-precopy       | --precopy-rounds 8 --precopy-until 64    |              | dir
cl-precopy-lazy  | --precopy-rounds 8 --precopy-until 64    | --lazy-pages | dir
cl-migrate       |                                          |              | migrate
'
CL=${CL:-build/criu-lite}

cl_mode_names() {
	awk -F'|' 'NF >= 4 { gsub(/ /, "", $1); print $1 }' <<<"$CL_MODES"
}

cl_mode_field() {
	awk -F'|' -v n="$1" -v f="$2" '{ k = $1; gsub(/ /, "", k) }
		k == n { v = $f; gsub(/^ +| +$/, "", v); print v }' <<<"$CL_MODES"
}

log_size() { stat -c %s "$1" 2>/dev/null || echo 0; }

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

# cl_dir NAME DUMP-OPTS RESTORE-OPTS: dump to a directory, restore from it,
# on the chain's side (there: under another PID here afterwards)
cl_dir() {
	local dopt=() ropt=() d img off offr t0 t1 t2 t3 i ipid
	ipid=$(side_inner_pid "$CH_SIDE" "$CH_PID")
	read -ra dopt <<<"$2"
	read -ra ropt <<<"$3"
	chain_next_dir
	d=$NEXT_DIR
	mkdir -p "$d"
	R_DIR=$d
	img=$d/img
	sync
	off=$(log_size "$CH_DIR/serial.log")
	t0=$(gl_now_ms)
	if ! side_run "$CH_SIDE" "$CL" dump -t "$ipid" -D "$img" --qmp "$CH_SOCK" \
		"${dopt[@]}" >"$d/dump.log" 2>&1; then
		# user-net opens a host TCP socket while the guest's NET ping
		# is in flight, which criu-lite cannot dump yet: once more
		R_NOTE="dump retried, first: $(grep -m1 "not supported" "$d/dump.log")"
		mv "$d/dump.log" "$d/dump-1.log"
		rm -rf "$img"
		grep -q "it was left running" "$d/dump-1.log" &&
			gl_qmp "$CH_SOCK" cont >/dev/null 2>&1 && sleep 0.5 &&
			off=$(log_size "$CH_DIR/serial.log") && t0=$(gl_now_ms) &&
			side_run "$CH_SIDE" "$CL" dump -t "$ipid" -D "$img" \
				--qmp "$CH_SOCK" "${dopt[@]}" >"$d/dump.log" 2>&1 || {
			R_VERDICT=dump-failed
			R_NOTE=$(tail -n 3 "$d/dump.log" 2>/dev/null | tr '\n' ' ')
			grep -q "it was left running" "$d/dump.log" && R_SRC_RESUMABLE=1
			return 1
		}
	fi
	t1=$(gl_now_ms)
	R_SAVE=$((t1 - t0))
	guest_progress "$CH_DIR/stamped.log" "$t0" "$t1"
	R_BYTES=$(du -sb "$img" | cut -f1)
	# after the move: the log from here (a pre-copy dump lets the guest
	# beat and verify while it copies)
	offr=$off
	[ ${#dopt[@]} -gt 0 ] && offr=$(log_size "$CH_DIR/serial.log")
	t2=$(gl_now_ms)
	if ! side_run "$CH_SIDE" "$CL" restore -D "$img" -d "${ropt[@]}" \
		>"$d/restore.log" 2>&1; then
		# a dumped PID may still be taken right after the dump: once more
		sleep 0.3
		side_run "$CH_SIDE" "$CL" restore -D "$img" -d "${ropt[@]}" \
			>"$d/restore.log" 2>&1 || {
			R_VERDICT=restore-failed
			R_NOTE=$(tail -n 3 "$d/restore.log" | tr '\n' ' ')
			return 1
		}
		R_NOTE="restore retried"
	fi
	t3=$(gl_now_ms)
	CH_PID=$(side_outer_pid "$CH_SIDE" "$ipid") ||
		{ R_VERDICT=restored-not-found; return 1; }
	R_RESTORE=$((t3 - t2))
	R_HOST=$((t3 - t0))
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
	[ "${EXP_KEEP:-0}" = 1 ] || rm -rf "$img"
}

# cl_migrate NAME: `criu-lite migrate -t PID --to ADDR:PORT` with the
# receiving side (under EXP_DST_WRAP) at EXP_DST_HOST; to be written with
# that command. Until then: n/a.
cl_migrate() {
	R_VERDICT=n/a
	R_NOTE="criu-lite migrate is not implemented yet"
}

# cl_run_mode NAME: one run of a criu-lite mode on the chain's QEMU
cl_run_mode() {
	local name=$1 kind
	kind=$(cl_mode_field "$name" 4)
	row_reset criu-lite "$name"
	R_TOOL_VERSION=$($CL --version 2>&1 | head -n 1)
	if [ "$kind" = migrate ] && $CL migrate --help 2>&1 | grep -q "not implemented"; then
		cl_migrate "$name"
		emit_row
		return
	fi
	chain_ready "$CH_VER" "$CH_MEM" "$CH_RATE" || {
		R_VERDICT=boot-failed; emit_row; chain_end; return; }
	case $kind in
	dir) cl_dir "$name" "$(cl_mode_field "$name" 2)" "$(cl_mode_field "$name" 3)" ;;
	migrate) cl_migrate "$name" ;;
	esac
	emit_row
	case $R_VERDICT in ok|n/a) return ;; esac
	[ "$R_SRC_RESUMABLE" = 1 ] && chain_resume_source && return
	chain_end
}

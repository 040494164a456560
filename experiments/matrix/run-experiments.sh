#!/bin/bash
# make experiments / make experiments-quick: every migration mode of QEMU
# 7.2 and 10.0 and criu-lite's moves of the same guests, each followed by a
# check of the guest (VERIFY of its memory, heartbeat continuity, kernel
# complaints, its disk and network).
#
# Usage: experiments/matrix/run-experiments.sh [--quick]
#   --quick   one run of every mode at 512 MiB, busy (20000 pages/s)
#   default   the full matrix, in two parts:
#             the axes: the modes that answer the questions asked along
#               RAM size and dirty rate, per QEMU version, at idle, 5000
#               and 20000 pages/s, 3 runs: at 512 MiB EXP_AXIS_MODES (QEMU
#               precopy at the default and unlimited bandwidth, multifd-4,
#               postcopy, the save to a file, criu-lite migrate precopy
#               and postcopy, criu-lite dump), at 2 GiB EXP_AXIS_MODES_BIG
#               (the same but precopy at the default bandwidth and the
#               save to a file: at 128 MiB/s a busy 2 GiB guest never
#               converges, and the save's rate is that of unlimited
#               precopy)
#             the single points: every other mode (mismatch, recover,
#               background-snapshot, mapped-ram, calc-dirty-rate,
#               auto-converge, ...) once per QEMU version, at 512 MiB busy
#               (20000 pages/s), in run 1's block of that configuration
#   The runs are interleaved within each RAM size: run 1 of every rate and
#   version, then run 2, ...; a block's modes are ordered (pick_mode) so
#   that the guest is on this host whenever a criu-lite migrate is next (it
#   goes from here to there only), a QEMU live move bringing it back
#   between two, and every criu-lite mode runs before the block's QEMU
#   postcopy moves (their destination keeps a userfaultfd open, which
#   criu-lite refuses to dump).
# Environment (overrides): EXP_VERSIONS ("7.2 10.0"), EXP_MEMS, EXP_RATES
#   (pages/s), EXP_REPS (runs), both for every RAM size, or EXP_RATES_<MIB>
#   and EXP_REPS_<MIB> for one, EXP_MODES (an extended regex: only the modes
#   it matches), EXP_AXIS_MODES and EXP_AXIS_MODES_BIG (extended regexes,
#   the full run's axes at 512 MiB and below, and above 512 MiB),
#   EXP_POINT ("MEM RATE": the single points' configuration, "512 20000";
#   "none": no single points), EXP_OUT (build/experiments),
#   EXP_PLAN_ONLY=1 prints the plan (rows, estimate, every block's modes in
#   the order they run when every move succeeds) and runs nothing,
#   EXP_MOVE_TIMEOUT (s, default 90), EXP_KEEP=1 keeps streams and images,
#   EXP_CL_TRACE=1 has criu-lite migrate log each stage, stamped, on both
#   sides (out-trace.log, in-trace.log; at -v3, EXP_CL_TRACE_V=4: each
#   injected call too), EXP_CL_WRAP / EXP_CL_WRAP_IN a
#   command put before the source's / destination's criu-lite migrate (a
#   profile: EXP_CL_WRAP_IN="perf record -g -o FILE --"),
#   EXP_ONE_HOST=1 keeps both sides of live moves on this host (loopback),
#   EXP_TEMPLATES=0 boots every fresh guest (exp-lib.sh's chain_boot),
#   EXP_VERIFY ("7.2:word 10.0:sse2": the guest's verify loop per QEMU
#   version, exp-lib.sh's ver_verify),
#   EXP_PARALLEL=0 runs the quick run's QEMU versions one after the other,
#   EXP_APPEND=1 adds this run's rows to EXP_OUT's results of an earlier run
#   (meta.json lists it under "added"; the doc names its command too).
#
# Live moves cross two hosts: the other host (experiments/guest/two-hosts.sh:
# network, PID and mount namespaces behind a veth pair, with its own TCP
# echo server for the guest's NET check) is made once per run and removed
# on exit, Ctrl-C included.
#
# Output: EXP_OUT/results.jsonl, one JSON line per run of a mode (fields in
# exp-lib.sh's emit_row; "raw" holds QEMU's whole query-migrate return or
# criu-lite's timing lines), EXP_OUT/meta.json (the machine, the command,
# start and end, the matrix), every QEMU process's logs in EXP_OUT/work/.
# An estimate at the start, a progress line after every row.
set -u
cd "$(dirname "$0")/../.." || exit 1

# the EXP_* settings the caller gave (meta.json's env: the doc's command
# line), kept across the re-executions below
if [ -z "${EXP_USER_ENV+x}" ]; then
	EXP_USER_ENV=$(env | grep -E '^EXP_[A-Z0-9_]*=' | grep -v '^EXP_PLAN_ONLY=' |
		sort | sed "s/=\(.*\)/='\1'/" | xargs -r -d '\n' echo)
	export EXP_USER_ENV
fi

# Killed QEMUs must be reaped at once (restore reuses their PIDs).
if [ -z "${EXP_SUBREAPED:-}" ] && [ "${EXP_PLAN_ONLY:-0}" != 1 ]; then
	[ -x build/tests/subreaper ] || make -s build/tests/subreaper || exit 1
	EXP_SUBREAPED=1 exec build/tests/subreaper "$0" "$@"
fi

GL_GUEST=build/guest
. experiments/guest/guest-lib.sh
. experiments/guest/two-hosts.sh
. experiments/matrix/exp-lib.sh
. experiments/matrix/exp-qemu.sh
. experiments/matrix/exp-cl.sh

# EXP_TRACE=FILE: every command of the harness, timed, to FILE (where a
# row's time goes)
if [ -n "${EXP_TRACE:-}" ]; then
	exec 7>>"$EXP_TRACE"
	BASH_XTRACEFD=7 PS4='+${EPOCHREALTIME} ${FUNCNAME[0]:-main}: '
	set -x
fi

quick=0
[ "${1:-}" = --quick ] && quick=1
axis=${EXP_AXIS_MODES:-precopy-default|precopy|multifd-4|postcopy|exec-save|cl-migrate|cl-migrate-postcopy|cl-dump}
axis_big=${EXP_AXIS_MODES_BIG:-precopy|multifd-4|postcopy|cl-migrate|cl-migrate-postcopy|cl-dump}
if [ $quick = 1 ]; then
	mems=${EXP_MEMS:-512} rates=${EXP_RATES:-20000} reps=${EXP_REPS:-1}
	point=${EXP_POINT:-"$mems $rates"}
else
	mems=${EXP_MEMS:-512 2048} rates=${EXP_RATES:-} reps=${EXP_REPS:-}
	point=${EXP_POINT:-"512 20000"}
fi

# mem_rates MEM, mem_reps MEM, mem_axis MEM: the dirty rates, runs and
# axis modes at that RAM size: EXP_RATES / EXP_REPS for every size when
# set, else EXP_RATES_<MEM> / EXP_REPS_<MEM>, else the full run's: idle,
# 5000 and 20000 pages/s, 3 runs; the axis modes of EXP_AXIS_MODES up to
# 512 MiB, of EXP_AXIS_MODES_BIG above
mem_rates() {
	local v
	v=EXP_RATES_$1
	if [ -n "$rates" ]; then echo "$rates"
	elif [ -n "${!v:-}" ]; then echo "${!v}"
	else echo "0 5000 20000"; fi
}
mem_reps() {
	local v
	v=EXP_REPS_$1
	if [ -n "$reps" ]; then echo "$reps"
	elif [ -n "${!v:-}" ]; then echo "${!v}"
	else echo 3; fi
}
mem_axis() { if [ "$1" -le 512 ]; then echo "$axis"; else echo "$axis_big"; fi; }
plan='' maxreps=0
for mem in $mems; do
	plan="$plan${plan:+; }$mem MiB: $(mem_rates "$mem") pages/s, $(mem_reps "$mem") run(s)"
	[ "$(mem_reps "$mem")" -gt "$maxreps" ] && maxreps=$(mem_reps "$mem")
done
versions=${EXP_VERSIONS:-7.2 10.0}
EXP_OUT=${EXP_OUT:-build/experiments}
EXP_QEMU10_ENV=${EXP_QEMU10_ENV:-build/qemu10/env}
EXP_WORK=$EXP_OUT/work
EXP_RESULTS=$EXP_OUT/results.jsonl
EXP_PIDS=() EXP_CHAIN=0 EXP_RUN=0
CH_PID='' CH_STAMPER=

selected() { [ -z "${EXP_MODES:-}" ] || [[ $1 =~ ^(${EXP_MODES})$ ]]; }

# block_modes MEM RATE RUN: the modes of one block, "qemu:NAME" or
# "cl:NAME", one a line: every mode at the single point (run 1), the axes'
# modes elsewhere (the quick run: every mode)
block_modes() {
	local m all=0 ax
	[ "$quick" = 1 ] && all=1
	[ "$3" = 1 ] && [ "$1 $2" = "$point" ] && all=1
	ax=$(mem_axis "$1")
	for m in $(qemu_mode_names); do
		selected "$m" && { [ $all = 1 ] || [[ $m =~ ^(${ax})$ ]]; } && echo "qemu:$m"
	done
	for m in $(cl_mode_names); do
		selected "$m" && { [ $all = 1 ] || [[ $m =~ ^(${ax})$ ]]; } && echo "cl:$m"
	done
}

# mode_kind TOOL:NAME: "clmigrate" (criu-lite migrate: here to there only),
# "cl" (criu-lite's other modes: on the guest's side), "flip" (a QEMU live
# move: to the other side), "uffd" (a QEMU postcopy move: to the other
# side, whose QEMU then keeps a userfaultfd open: QEMU 10 keeps
# /dev/userfaultfd, which criu-lite refuses to dump), "stay"
mode_kind() {
	case ${1%%:*} in
	cl) [ "$(cl_mode_field "${1#cl:}" 4)" = migrate ] && echo clmigrate || echo cl ;;
	qemu) case $(qemu_mode_field "${1#qemu:}" 4) in
		live) echo flip ;;
		postcopy|postcopy-recover) echo uffd ;;
		*) echo stay ;;
		esac ;;
	esac
}
declare -A MODE_KIND
for m in $(qemu_mode_names); do MODE_KIND[qemu:$m]=$(mode_kind "qemu:$m"); done
for m in $(cl_mode_names); do MODE_KIND[cl:$m]=$(mode_kind "cl:$m"); done

# pick_mode MODE...: sets PICK, the index of the mode to run next: a
# criu-lite migrate when the guest is here (or none runs: the next boots
# here); else criu-lite's other modes (on the guest's side); when the guest
# is there and a criu-lite migrate is still to come, a QEMU live move (it
# comes back); else the next in order, but no QEMU postcopy while a
# criu-lite mode is left (its destination is the next move's source)
pick_mode() {
	local i here=0 cl_left=0 k
	{ [ -z "${CH_PID:-}" ] || [ "${CH_SIDE:-here}" = here ]; } && here=1
	for ((i = 1; i <= $#; i++)); do
		case ${MODE_KIND[${!i}]} in
		clmigrate) [ $here = 1 ] && { PICK=$((i - 1)); return; }
			cl_left=1 ;;
		cl) cl_left=1 ;;
		esac
	done
	for k in cl flip any; do
		# (at the flip pass, a criu-lite mode left is a migrate)
		[ $k = flip ] && [ $cl_left = 0 ] && continue
		for ((i = 1; i <= $#; i++)); do
			case $k:${MODE_KIND[${!i}]} in
			cl:cl|flip:flip|any:flip|any:stay|any:clmigrate) PICK=$((i - 1)); return ;;
			any:uffd) [ $cl_left = 0 ] && { PICK=$((i - 1)); return; } ;;
			esac
		done
	done
	PICK=0
}

# plan_order MODE...: the modes in the order run_block runs them when every
# move succeeds (EXP_PLAN_ONLY=1): the guest's side followed as the moves
# take it
plan_order() {
	local todo=("$@") k m CH_PID=plan CH_SIDE=here out=()
	while [ ${#todo[@]} -gt 0 ]; do
		pick_mode "${todo[@]}"
		k=$PICK m=${todo[$PICK]}
		todo=("${todo[@]:0:$k}" "${todo[@]:$((k + 1))}")
		out+=("$m")
		case ${MODE_KIND[$m]} in
		flip|uffd) CH_SIDE=$([ "$CH_SIDE" = here ] && echo there || echo here) ;;
		clmigrate) CH_SIDE=there ;;
		esac
	done
	echo "${out[*]}"
}

# run_block MODE...: runs the modes of one block in pick_mode's order
run_block() {
	local todo=("$@") k m
	while [ ${#todo[@]} -gt 0 ]; do
		pick_mode "${todo[@]}"
		k=$PICK m=${todo[$PICK]}
		todo=("${todo[@]:0:$k}" "${todo[@]:$((k + 1))}")
		case $m in
		qemu:*) qemu_run_mode "${m#qemu:}" ;;
		cl:*) cl_run_mode "${m#cl:}" ;;
		esac
	done
}

# the plan: rows and an estimate (EXP_EST_S_<MEM>: s per row: 5 at 512
# MiB, a quick run's rows one version after the other at load ~7; 17 at 2
# GiB, scaled from 512 MiB by the pages moved and verified, not measured
# by a full run since the verify got faster (30-70 s a row before, at load
# ~12); EXP_EST_BOOT_<MEM>: s per configuration's first boot)
EXP_ROWS_PLANNED=0 est=0
for mem in $mems; do
	per_row=$(eval echo "\${EXP_EST_S_$mem:-$((mem <= 512 ? 5 : mem * 17 / 2048))}")
	per_boot=$(eval echo "\${EXP_EST_BOOT_$mem:-$((mem <= 512 ? 25 : 35))}")
	for ((EXP_RUN = 1; EXP_RUN <= $(mem_reps "$mem"); EXP_RUN++)); do
		for rate in $(mem_rates "$mem"); do
			for ver in $versions; do
				mapfile -t modes < <(block_modes "$mem" "$rate" "$EXP_RUN")
				n=${#modes[@]}
				EXP_ROWS_PLANNED=$((EXP_ROWS_PLANNED + n))
				est=$((est + n * per_row + (EXP_RUN == 1 ? per_boot : 0) + 3))
				[ "${EXP_PLAN_ONLY:-0}" = 1 ] && [ "$n" -gt 0 ] &&
					echo "run $EXP_RUN: QEMU $ver, $mem MiB, $rate pages/s: $(plan_order "${modes[@]}")"
			done
		done
	done
done
[ $quick = 1 ] && [ "${EXP_PARALLEL:-1}" = 1 ] && [ "$(wc -w <<<"$versions")" -gt 1 ] &&
	est=$((est * 6 / 10))	# the versions side by side: 170 s against 328
# the per-row times are of load ~7: a busier machine (other sessions' TCG
# guests) stretches them about in proportion (a quick run: 404 s at load
# 8-19 against 170 s at ~7)
load=$(cut -d' ' -f1 /proc/loadavg)
est=$(awk -v e="$est" -v l="$load" 'BEGIN { printf "%d", (l > 7 ? e * l / 7 : e) }')
echo "experiments: $EXP_ROWS_PLANNED rows planned ($([ $quick = 1 ] && echo quick || echo full) run: $plan; QEMU $versions; axes at 512 MiB and below: $axis; above: $axis_big; single points at $point); estimate ~$((est / 60)) min at the load now, $load" >&2
[ "${EXP_PLAN_ONLY:-0}" = 1 ] && exit 0

for f in build/criu-lite "$GL_GUEST/qmp-client" "$GL_GUEST/serial-watch" \
	"$GL_GUEST/tcp-echo" "$GL_GUEST/link-ceiling" "$GL_GUEST/vmlinuz"; do
	[ -e "$f" ] || { echo "experiments: $f missing (make all guest)" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "experiments: jq missing (scripts/install-deps.sh --experiments)" >&2; exit 1; }
case " $versions " in *" 10.0 "*)
	[ -f "$EXP_QEMU10_ENV" ] || { echo "experiments: $EXP_QEMU10_ENV missing (make qemu10)" >&2; exit 1; } ;;
esac

rm -rf "$EXP_WORK" && mkdir -p "$EXP_WORK"
# EXP_APPEND=1: this run's rows go after the rows there (meta.json keeps the
# first run's description and lists this one under "added")
if [ "${EXP_APPEND:-0}" = 1 ]; then
	[ "$quick" = 1 ] && { echo "experiments: EXP_APPEND=1 is for the full run's script, not --quick" >&2; exit 1; }
	[ -s "$EXP_RESULTS" ] && [ -s "$EXP_OUT/meta.json" ] ||
		{ echo "experiments: EXP_APPEND=1: no earlier run in $EXP_OUT (results.jsonl, meta.json)" >&2; exit 1; }
	cp "$EXP_OUT/meta.json" "$EXP_OUT/meta-before.json"
	EXP_ROWS_BEFORE=$(wc -l <"$EXP_RESULTS")
else
	: >"$EXP_RESULTS"
fi

# The quick run's QEMU versions side by side (EXP_PARALLEL=0: one after
# the other): each version's block is this script for that version alone,
# with its own other host, echo server and work directory
# (EXP_OUT/part-VERSION); their rows are put together in version order.
# Each block's moves then share the 2 cores with the other's (the machine
# is shared anyway: every row records the load); the full run, whose
# numbers the doc reads, runs one block at a time.
if [ $quick = 1 ] && [ "${EXP_PARALLEL:-1}" = 1 ] && [ "$(wc -w <<<"$versions")" -gt 1 ]; then
	t_start=$(gl_now_ms) start_iso=$(date -u +%FT%TZ)
	load_start=$(cut -d' ' -f1-3 /proc/loadavg)
	parts=()
	for ver in $versions; do
		rm -rf "$EXP_OUT/part-$ver"
		EXP_VERSIONS=$ver EXP_PARALLEL=0 EXP_OUT=$EXP_OUT/part-$ver \
			EXP_TRACE=${EXP_TRACE:+$EXP_TRACE-$ver} "$0" --quick \
			2> >(sed -u "s/^experiments:/experiments [$ver]:/" >&2) &
		parts+=($!)
	done
	rc=0
	for p in "${parts[@]}"; do wait "$p" || rc=1; done
	for ver in $versions; do cat "$EXP_OUT/part-$ver/results.jsonl"; done >"$EXP_RESULTS"
	t_end=$(gl_now_ms)
	for ver in $versions; do cat "$EXP_OUT/part-$ver/meta.json"; done | jq -s \
		--arg start "$start_iso" --arg finish "$(date -u +%FT%TZ)" \
		--argjson seconds $(((t_end - t_start) / 1000)) --arg versions "$versions" \
		--arg load0 "$load_start" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
		'.[0] + {start: $start, "end": $finish, seconds: $seconds, versions: $versions,
		  loadavg_at_start: $load0, loadavg_at_end: $load,
		  rows_planned: (map(.rows_planned) | add),
		  fresh_guests: (map(.fresh_guests) | add),
		  fresh_guest_seconds: (map(.fresh_guest_seconds) | add),
		  parallel: "the versions side by side"}' >"$EXP_OUT/meta.json"
	echo "experiments: $(wc -l <"$EXP_RESULTS") rows in $EXP_RESULTS ($(((t_end - t_start) / 1000)) s, the versions side by side)" >&2
	exit $rc
fi
trap 'chain_end; exp_cleanup; th_down; gl_stop_pid "${GL_ECHO_PID:-}"; rm -rf "$EXP_WORK"/template-*' EXIT
trap 'exit 130' INT TERM HUP
gl_start_echo "$EXP_WORK" || exit 1
# the other host answers the guest's NET pings on the same port
if [ "${EXP_ONE_HOST:-0}" != 1 ]; then
	th_up "$GL_GUEST/tcp-echo" -p "$GL_ECHO_PORT" || exit 1
	echo "experiments: the other host: $TH_THERE (this one: $TH_HERE)" >&2
fi

t_start=$(gl_now_ms)
EXP_T0=$t_start EXP_ROW_T0=$t_start
start_iso=$(date -u +%FT%TZ)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for mem in $mems; do
	nreps=$(mem_reps "$mem")
	for ((EXP_RUN = 1; EXP_RUN <= nreps; EXP_RUN++)); do
		for rate in $(mem_rates "$mem"); do
			for ver in $versions; do
				CH_VER=$ver CH_MEM=$mem CH_RATE=$rate
				echo "experiments: run $EXP_RUN/$nreps: QEMU $ver, $mem MiB, $rate pages/s" >&2
				mapfile -t modes < <(block_modes "$mem" "$rate" "$EXP_RUN")
				[ ${#modes[@]} -gt 0 ] || continue
				link_measure
				run_block "${modes[@]}"
				chain_end
				exp_cleanup
			done
		done
	done
	# this RAM size's templates are done with (GiBs on disk)
	rm -rf "$EXP_WORK"/template-*
done
t_end=$(gl_now_ms)

jq -n --arg kernel "$(uname -r)" --argjson cpus "$(nproc)" \
	--argjson mem_gib "$(awk '/^MemTotal:/ { print int($2 / 1048576 + 0.5) }' /proc/meminfo)" \
	--arg start "$start_iso" --arg finish "$(date -u +%FT%TZ)" \
	--argjson seconds $(((t_end - t_start) / 1000)) \
	--arg command "make $([ $quick = 1 ] && echo experiments-quick || echo experiments)" \
	--arg mems "$mems" --arg rates "$(for m in $mems; do mem_rates "$m"; done | tr ' ' '\n' | sort -nu | xargs)" \
	--argjson reps "$maxreps" --arg plan "$plan" \
	--arg versions "$versions" --arg commit "$(git rev-parse --short HEAD 2>/dev/null)" \
	--arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --arg load0 "$load_start" \
	--arg axis "$axis" --arg axis_big "$axis_big" --arg env "$EXP_USER_ENV" \
	--arg point "$point" --argjson planned "$EXP_ROWS_PLANNED" \
	--argjson boots "$EXP_BOOTS" --argjson boot_s $((EXP_BOOT_MS / 1000)) \
	'{axis_modes: $axis, axis_modes_big: $axis_big, env: $env, single_point: $point, plan: $plan, rows_planned: $planned,
	  fresh_guests: $boots, fresh_guest_seconds: $boot_s,
	  kernel: $kernel, cpus: $cpus, mem_gib: $mem_gib, start: $start, "end": $finish,
	  seconds: $seconds, command: $command, mems: $mems, rates: $rates,
	  reps: $reps, versions: $versions, commit: $commit,
	  loadavg_at_start: $load0, loadavg_at_end: $load}' >"$EXP_OUT/meta.json"
if [ "${EXP_APPEND:-0}" = 1 ]; then
	jq --slurpfile new "$EXP_OUT/meta.json" \
		--argjson rows $(($(wc -l <"$EXP_RESULTS") - EXP_ROWS_BEFORE)) \
		'.added = ((.added // []) + [$new[0] + {rows: $rows}])' \
		"$EXP_OUT/meta-before.json" >"$EXP_OUT/meta.json.new" &&
		mv "$EXP_OUT/meta.json.new" "$EXP_OUT/meta.json" &&
		rm -f "$EXP_OUT/meta-before.json"
fi
echo "experiments: $(wc -l <"$EXP_RESULTS") rows in $EXP_RESULTS ($(((t_end - t_start) / 1000)) s)" >&2

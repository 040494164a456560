#!/bin/bash
# make experiments / make experiments-quick: every migration mode of QEMU
# 7.2 and 10.0 and criu-lite's moves of the same guests, each followed by a
# check of the guest (VERIFY of its memory, heartbeat continuity, kernel
# complaints, its disk and network).
#
# Usage: experiments/matrix/run-experiments.sh [--quick]
#   --quick   one run of every mode at 512 MiB, one dirty rate (~11 min
#             here at load 5-10)
#   default   512 and 2048 MiB, idle and two dirty rates, EXP_REPS runs
# Environment (overrides): EXP_VERSIONS ("7.2 10.0"), EXP_MEMS, EXP_RATES
#   (pages/s), EXP_REPS (runs; a run does the whole matrix once, so the runs
#   of one configuration are spread over the whole time), EXP_MODES (an
#   extended regex: only the modes it matches), EXP_OUT (build/experiments),
#   EXP_MOVE_TIMEOUT (s, default 90), EXP_KEEP=1 keeps streams and images,
#   EXP_CL_TRACE=1 has criu-lite migrate log each stage, stamped, on both
#   sides (out-trace.log, in-trace.log),
#   EXP_ONE_HOST=1 keeps both sides of live moves on this host (loopback).
#
# Live moves cross two hosts: the other host (experiments/guest/two-hosts.sh:
# network, PID and mount namespaces behind a veth pair, with its own TCP
# echo server for the guest's NET check) is made once per run and removed
# on exit, Ctrl-C included.
#
# Output: EXP_OUT/results.jsonl, one JSON line per run of a mode (fields in
# exp-lib.sh's emit_row; "raw" holds QEMU's whole query-migrate return or
# criu-lite's timing lines), EXP_OUT/meta.json (the machine, the command,
# start and end), every QEMU process's logs in EXP_OUT/work/.
set -u
cd "$(dirname "$0")/../.." || exit 1

# Killed QEMUs must be reaped at once (restore reuses their PIDs).
if [ -z "${EXP_SUBREAPED:-}" ]; then
	[ -x build/tests/subreaper ] || make -s build/tests/subreaper || exit 1
	EXP_SUBREAPED=1 exec build/tests/subreaper "$0" "$@"
fi

GL_GUEST=build/guest
. experiments/guest/guest-lib.sh
. experiments/guest/two-hosts.sh
. experiments/matrix/exp-lib.sh
. experiments/matrix/exp-qemu.sh
. experiments/matrix/exp-cl.sh

quick=0
[ "${1:-}" = --quick ] && quick=1
if [ $quick = 1 ]; then
	mems=${EXP_MEMS:-512} rates=${EXP_RATES:-20000} reps=${EXP_REPS:-1}
else
	mems=${EXP_MEMS:-512 2048} rates=${EXP_RATES:-0 5000 20000} reps=${EXP_REPS:-3}
fi
versions=${EXP_VERSIONS:-7.2 10.0}
EXP_OUT=${EXP_OUT:-build/experiments}
EXP_QEMU10_ENV=${EXP_QEMU10_ENV:-build/qemu10/env}
EXP_WORK=$EXP_OUT/work
EXP_RESULTS=$EXP_OUT/results.jsonl
EXP_PIDS=() EXP_CHAIN=0 EXP_RUN=0
CH_PID='' CH_STAMPER=

for f in build/criu-lite "$GL_GUEST/qmp-client" "$GL_GUEST/serial-watch" \
	"$GL_GUEST/tcp-echo" "$GL_GUEST/link-ceiling" "$GL_GUEST/vmlinuz"; do
	[ -e "$f" ] || { echo "experiments: $f missing (make all guest)" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "experiments: jq missing (scripts/install-deps.sh --experiments)" >&2; exit 1; }
case " $versions " in *" 10.0 "*)
	[ -f "$EXP_QEMU10_ENV" ] || { echo "experiments: $EXP_QEMU10_ENV missing (make qemu10)" >&2; exit 1; } ;;
esac

rm -rf "$EXP_WORK" && mkdir -p "$EXP_WORK"
: >"$EXP_RESULTS"
trap 'chain_end; exp_cleanup; th_down; gl_stop_pid "${GL_ECHO_PID:-}"' EXIT
trap 'exit 130' INT TERM HUP
gl_start_echo "$EXP_WORK" || exit 1
# the other host answers the guest's NET pings on the same port
if [ "${EXP_ONE_HOST:-0}" != 1 ]; then
	th_up "$GL_GUEST/tcp-echo" -p "$GL_ECHO_PORT" || exit 1
	echo "experiments: the other host: $TH_THERE (this one: $TH_HERE)" >&2
fi

selected() { [ -z "${EXP_MODES:-}" ] || [[ $1 =~ ^(${EXP_MODES})$ ]]; }

t_start=$(gl_now_ms)
start_iso=$(date -u +%FT%TZ)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for ((EXP_RUN = 1; EXP_RUN <= reps; EXP_RUN++)); do
	for mem in $mems; do
		for rate in $rates; do
			for ver in $versions; do
				CH_VER=$ver CH_MEM=$mem CH_RATE=$rate
				echo "experiments: run $EXP_RUN/$reps: QEMU $ver, $mem MiB, $rate pages/s" >&2
				link_measure
				for m in $(qemu_mode_names); do
					selected "$m" && qemu_run_mode "$m"
				done
				for m in $(cl_mode_names); do
					selected "$m" && cl_run_mode "$m"
				done
				chain_end
				exp_cleanup
			done
		done
	done
done
t_end=$(gl_now_ms)

jq -n --arg kernel "$(uname -r)" --argjson cpus "$(nproc)" \
	--argjson mem_gib "$(awk '/^MemTotal:/ { print int($2 / 1048576 + 0.5) }' /proc/meminfo)" \
	--arg start "$start_iso" --arg finish "$(date -u +%FT%TZ)" \
	--argjson seconds $(((t_end - t_start) / 1000)) \
	--arg command "make $([ $quick = 1 ] && echo experiments-quick || echo experiments)" \
	--arg mems "$mems" --arg rates "$rates" --argjson reps "$reps" \
	--arg versions "$versions" --arg commit "$(git rev-parse --short HEAD 2>/dev/null)" \
	--arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --arg load0 "$load_start" \
	'{kernel: $kernel, cpus: $cpus, mem_gib: $mem_gib, start: $start, "end": $finish,
	  seconds: $seconds, command: $command, mems: $mems, rates: $rates,
	  reps: $reps, versions: $versions, commit: $commit,
	  loadavg_at_start: $load0, loadavg_at_end: $load}' >"$EXP_OUT/meta.json"
echo "experiments: $(wc -l <"$EXP_RESULTS") rows in $EXP_RESULTS ($(((t_end - t_start) / 1000)) s)" >&2

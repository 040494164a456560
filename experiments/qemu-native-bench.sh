#!/bin/bash
# QEMU's own save/restore of the test guest, measured as the baseline for
# criu-lite: `migrate "exec:cat > FILE"` (QEMU 7.2 has exec:, not file:),
# quit, then a new QEMU with `-S -incoming "exec:cat FILE"` and `cont`.
#
# Usage: experiments/qemu-native-bench.sh [CONFIG...]
#   CONFIG is RAM_MIB:RATE:MODE, MODE "stop" (stop the VM, then migrate: what
#   `virsh save` does) or "live" (precopy while the guest runs). Default:
#   512 and 2048 MiB, idle and dirtying ($BENCH_RATE pages/s), both modes.
# Environment: BENCH_RATE (default 20000), BENCH_DISK=0 / BENCH_NET=0 to
# drop virtio-blk / virtio-net, BENCH_SMP (default 1), BENCH_KEEP=1 keeps
# the streams, BENCH_OUT (default build/bench).
#
# Output: a table on stdout, $BENCH_OUT/qemu-native.tsv (one row per
# configuration), and per configuration $BENCH_OUT/qemu-native/<cfg>/ with
# both serial logs (raw and host-stamped). Columns:
#   save_ms        host wall time from stop/migrate to status "completed"
#   q_total_ms, q_downtime_ms, q_ram_bytes, q_syncs: from query-migrate
#   stream_bytes   size of the migration stream file
#   load_ms        new QEMU started -> incoming done (status paused)
#   restore_hb_ms  new QEMU started -> first heartbeat seen on the host
#   outage_ms      host time between the last heartbeat before and the
#                  first after the move (what a client of the guest sees)
#   guest_gap_ms   the guest's CLOCK_MONOTONIC across those two heartbeats
#                  (100 = the guest saw no pause); seq_step 1 = none lost
#   complaints     kernel complaint lines on the console after READY
#   guest          after the move: ok, crash (oops/panic), reboot, nohb (no
#                  heartbeat came back), hang (heartbeats stopped again)
#   verify/disk/net  the workload's verdict after the move: ok, BAD:n/m, none
#   sync_ms        fsync of the stream file once the move is over: what the
#                  save had left in the page cache (a lower bound: write-back
#                  may have started meanwhile)
set -u

cd "$(dirname "$0")/.." || exit 1
GL_GUEST=build/guest
. experiments/guest/guest-lib.sh

rate=${BENCH_RATE:-20000}
out=${BENCH_OUT:-build/bench}
smp=${BENCH_SMP:-1}
configs=("$@")
if [ ${#configs[@]} = 0 ]; then
	for ram in 512 2048; do
		for r in 0 "$rate"; do
			for mode in stop live; do
				configs+=("$ram:$r:$mode")
			done
		done
	done
fi

mkdir -p "$out/qemu-native"
tsv=$out/qemu-native.tsv
cols="config ram_mib wl_mib rate mode save_ms q_total_ms q_downtime_ms"
cols="$cols q_ram_bytes q_syncs stream_bytes load_ms restore_hb_ms outage_ms"
cols="$cols guest_gap_ms seq_step complaints guest verify disk net sync_ms"
echo "$cols" | tr ' ' '\t' >"$tsv"

pids=()
cleanup() {
	for p in "${pids[@]}"; do gl_stop_pid "$p"; done
	pids=()
}
trap 'cleanup; gl_stop_pid "${GL_ECHO_PID:-}"' EXIT
trap 'exit 130' INT TERM

netopt=()
if [ "${BENCH_NET:-1}" = 1 ]; then
	gl_start_echo "$out/qemu-native" || exit 1
	netopt=(-n "$GL_ECHO_PORT")
fi
diskopt=()
[ "${BENCH_DISK:-1}" = 1 ] && diskopt=(-D)

# Sets the variables of one result row; returns non-zero if the move failed.
run_config() {
	local ram=$1 r=$2 mode=$3 d wlmem sock pid pid2 t0 t1 t2 t3 mig
	local name="${ram}M-rate${r}-${mode}"

	d=$out/qemu-native/$name
	rm -rf "$d" && mkdir -p "$d"
	d=$(cd "$d" && pwd)
	sock=$d/qmp.sock
	wlmem=$((ram * 3 / 4 < ram - 160 ? ram * 3 / 4 : ram - 160))
	row_wl=$wlmem
	mig=$d/state.mig
	local opts=(-d "$d" -m "$ram" -s "$smp" -w "$wlmem" -r "$r"
		"${diskopt[@]}" "${netopt[@]}")

	pid=$(experiments/guest/run-guest.sh "${opts[@]}" -l src.log -W 300) ||
		return 1
	pids+=("$pid")
	"$GL_GUEST/serial-watch" --stamp "$d/src.log" >"$d/src.stamped" &
	pids+=("$!")
	# One full verify pass with the dirtier running: steady state.
	"$GL_GUEST/serial-watch" -t 120 -p "$pid" "$d/src.log" "VERIFY " \
		>/dev/null || return 1
	gl_qmp "$sock" migrate-set-parameters \
		'{"max-bandwidth": 109951162777600}' >/dev/null || return 1

	# Earlier runs' dirty pages must not be written back during this one.
	sync
	t0=$(gl_now_ms)
	if [ "$mode" = stop ]; then
		gl_qmp "$sock" stop >/dev/null || return 1
	fi
	gl_qmp "$sock" migrate "{\"uri\": \"exec:cat > '$mig'\"}" >/dev/null ||
		return 1
	gl_qmp -t 900 -i 10 -u completed,failed,cancelled \
		-g status -g total-time -g downtime -g ram.transferred \
		-g ram.dirty-sync-count "$sock" query-migrate >"$d/migrate.out" ||
		return 1
	t1=$(gl_now_ms)
	{ read -r st; read -r row_qtotal; read -r row_qdown; read -r row_qram
	  read -r row_qsyncs; } <"$d/migrate.out"
	[ "$st" = completed ] || { echo "migrate: $st" >&2; return 1; }
	row_save=$((t1 - t0))
	row_stream=$(stat -c %s "$mig")
	gl_quit_qemu "$sock" "$pid"

	t2=$(gl_now_ms)
	echo "t_save_start=$t0 t_save_done=$t1 t_src_gone=$t2" >"$d/times.out"
	pid2=$(experiments/guest/run-guest.sh "${opts[@]}" -l dst.log -i "$mig") ||
		return 1
	pids+=("$pid2")
	"$GL_GUEST/serial-watch" --stamp "$d/dst.log" >"$d/dst.stamped" &
	pids+=("$!")
	gl_qmp -t 900 -i 10 -u paused,running -g status "$sock" query-status \
		>/dev/null || return 1
	t3=$(gl_now_ms)
	row_load=$((t3 - t2))
	gl_qmp "$sock" cont >/dev/null || return 1
	# The guest may crash instead (QEMU then exits: -no-reboot): the row
	# is still filled in, with guest=crash.
	t4=$("$GL_GUEST/serial-watch" -t 60 -p "$pid2" "$d/dst.log" "HB seq=")
	t4=${t4%% *}
	if [ -n "$t4" ]; then
		row_hb=$((t4 - t2))
		# Two passes: the second one started after the move for sure.
		"$GL_GUEST/serial-watch" -t 60 -c 2 -p "$pid2" "$d/dst.log" \
			" pass_ms=" >/dev/null
		sleep 0.3
	fi
	echo "t_loaded=$t3 t_first_hb=${t4:--}" >>"$d/times.out"
	row_guest=$(gl_fate "$d/dst.log")
	[ -z "$t4" ] && [ "$row_guest" = ok ] && row_guest=nohb
	[ "$row_guest" = ok ] && [ "$(gl_hb_silent_ms "$d/dst.stamped")" -gt 2000 ] &&
		row_guest=hang
	if [ -n "$t4" ]; then
		gl_hb_gap "$d/src.stamped" "$d/dst.stamped" -- "$t0" >"$d/gap.out"
		row_outage=$(gl_kv outage_ms <"$d/gap.out")
		row_ggap=$(gl_kv guest_gap_ms <"$d/gap.out")
		row_seq=$(gl_kv seq_step <"$d/gap.out")
	fi
	{ gl_complaints "$d/src.log" "WORKLOAD READY"; gl_complaints "$d/dst.log"; } \
		>"$d/complaints.txt"
	row_compl=$(wc -l <"$d/complaints.txt")
	row_verify=$(gl_verdict "$d/dst.log" VERIFY)
	row_disk=$(gl_verdict "$d/dst.log" DISK)
	row_net=$(gl_verdict "$d/dst.log" NET)
	gl_quit_qemu "$sock" "$pid2"
	cleanup
	# What the save left unwritten: QEMU does not fsync its stream.
	t0=$(gl_now_ms)
	sync "$mig"
	row_sync=$(($(gl_now_ms) - t0))
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -f "$mig"
	return 0
}

fmt='%-22s %8s %8s %9s %9s %5s %8s %8s %8s %7s %5s %5s %-6s %-8s %-6s %-6s\n'
# shellcheck disable=SC2059
printf "$fmt" config save_ms q_down stream_MB ram_MB syncs load_ms rest_hb \
	outage gst_gap seq cmpl guest verify disk net
failed=0
for c in "${configs[@]}"; do
	IFS=: read -r ram r mode <<<"$c"
	row_wl=- row_save=- row_qtotal=- row_qdown=- row_qram=- row_qsyncs=-
	row_stream=- row_load=- row_hb=- row_outage=- row_ggap=- row_seq=-
	row_compl=- row_guest=- row_verify=- row_disk=- row_net=- row_sync=-
	if ! run_config "$ram" "$r" "$mode"; then
		echo "qemu-native-bench: $c failed (see $out/qemu-native/)" >&2
		row_verify=FAILED
		failed=1
		cleanup
	fi
	printf '%s\n' "${ram}M-rate${r}-${mode}" "$ram" "$row_wl" "$r" "$mode" \
		"$row_save" "$row_qtotal" "$row_qdown" "$row_qram" "$row_qsyncs" \
		"$row_stream" "$row_load" "$row_hb" "$row_outage" "$row_ggap" \
		"$row_seq" "$row_compl" "$row_guest" "$row_verify" "$row_disk" \
		"$row_net" "$row_sync" |
		paste -sd '\t' >>"$tsv"
	mb() { [ "$1" = - ] && echo - || echo $(($1 / 1048576)); }
	# shellcheck disable=SC2059
	printf "$fmt" "${ram}M-rate${r}-${mode}" "$row_save" "$row_qdown" \
		"$(mb "$row_stream")" "$(mb "$row_qram")" "$row_qsyncs" "$row_load" \
		"$row_hb" "$row_outage" "$row_ggap" "$row_seq" "$row_compl" \
		"$row_guest" "$row_verify" "$row_disk" "$row_net"
done
echo "qemu-native-bench: $tsv"
exit $failed

#!/bin/bash
# make check-guest: the test guest and its tools work, end to end.
#  1. boot with virtio-blk + virtio-net: heartbeats advance, VERIFY, DISK and
#     NET report ok, no kernel complaint; qmp-client returns, fails and
#     waits for events as documented
#  2. the checker catches corruption (wl.corrupt=1 must give VERIFY BAD),
#     with either verify loop (wl.verify=word, sse2)
#  3. QEMU-native save/restore (stop mode): the guest continues, heartbeat
#     seq without a hole, VERIFY/DISK/NET ok after the move
set -u
cd "$(dirname "$0")/../.." || exit 1
GL_GUEST=build/guest
. experiments/guest/guest-lib.sh

out=build/check-guest
rm -rf "$out" && mkdir -p "$out"
qpid=
trap 'gl_stop_pid "$qpid"; gl_stop_pid "${GL_ECHO_PID:-}"' EXIT

fail() { echo "check-guest: FAIL: $*" >&2; exit 1; }
pass() { echo "check-guest: ok: $*"; }

gl_start_echo "$out" || fail "tcp-echo"
d=$(mkdir -p "$out/boot" && cd "$out/boot" && pwd)
qpid=$(experiments/guest/run-guest.sh -d "$d" -m 256 -w 128 -r 2000 -V 1000 \
	-D -n "$GL_ECHO_PORT" -W 120) || fail "guest did not boot (see $d)"
pass "boot to WORKLOAD READY"
for k in "VERIFY " "DISK " "NET "; do
	"$GL_GUEST/serial-watch" -t 60 -c 2 -p "$qpid" "$d/serial.log" "$k" \
		>/dev/null || fail "no '$k' reports in $d/serial.log"
done
for k in VERIFY DISK NET; do
	v=$(gl_verdict "$d/serial.log" $k)
	[ "$v" = ok ] || fail "$k $v"
done
pass "VERIFY, DISK and NET ok"
awk '$1 == "HB" { s = substr($2, 5) + 0; if (n++ && s != p + 1) bad++; p = s }
     END { exit !(n >= 20 && !bad) }' "$d/serial.log" ||
	fail "heartbeats missing or out of sequence"
pass "heartbeats in sequence"
[ -z "$(gl_complaints "$d/serial.log")" ] || fail "kernel complaints: $(gl_complaints "$d/serial.log")"
pass "no kernel complaint"

s=$(gl_qmp "$d/qmp.sock" -g status query-status)
[ "$s" = running ] || fail "qmp-client -g status query-status: '$s'"
gl_qmp "$d/qmp.sock" no-such-command 2>/dev/null
[ $? = 1 ] || fail "qmp-client: error reply must exit 1"
e=$(gl_qmp -t 10 -g event "$d/qmp.sock" --wait-event STOP stop)
[ "$e" = STOP ] || fail "qmp-client --wait-event STOP stop: '$e'"
gl_qmp -t 10 -u paused -g status "$d/qmp.sock" query-status >/dev/null ||
	fail "qmp-client --until-status"
pass "qmp-client return, error, --wait-event, --until-status"
gl_quit_qemu "$d/qmp.sock" "$qpid"

# both verify loops (wl.verify: word, SSE2); the page and word reported
for impl in word sse2; do
	d=$(mkdir -p "$out/corrupt-$impl" && cd "$out/corrupt-$impl" && pwd)
	qpid=$(experiments/guest/run-guest.sh -d "$d" -m 256 -w 64 -V 500 \
		-a "wl.corrupt=1 wl.verify=$impl" -W 120) || fail "guest did not boot (see $d)"
	"$GL_GUEST/serial-watch" -t 60 "$d/serial.log" "VERIFY BAD pages=" >/dev/null ||
		fail "a corrupted page went unnoticed by the $impl loop (see $d/serial.log)"
	grep -q "WORKLOAD START .* verify=$impl" "$d/serial.log" ||
		fail "the guest did not take wl.verify=$impl"
	page=$(sed -n 's/^WORKLOAD corrupted page=\([0-9]*\).*/\1/p' "$d/serial.log" | tr -d '\r')
	grep -q "^VERIFY BAD page=$page gen=0 word=7 " "$d/serial.log" ||
		fail "the $impl loop did not name page $page word 7"
	pass "corruption caught by the $impl loop: $(grep -m1 'VERIFY BAD page=' "$d/serial.log")"
	gl_quit_qemu "$d/qmp.sock" "$qpid"
	qpid=
done

BENCH_OUT=$out experiments/qemu-native-bench.sh 256:2000:stop >"$out/move.txt" ||
	fail "QEMU save/restore: $(cat "$out/move.txt")"
t=$out/qemu-native.tsv
for kv in seq_step=1 complaints=0 guest=ok verify=ok disk=ok net=ok; do
	v=$(gl_tsv_get "$t" "${kv%=*}")
	[ "$v" = "${kv#*=}" ] ||
		fail "after QEMU save/restore ${kv%=*}=$v: $(cat "$out/move.txt")"
done
pass "QEMU save/restore: guest ok, seq_step=1, no complaint," \
	"VERIFY/DISK/NET ok (outage $(gl_tsv_get "$t" outage_ms) ms," \
	"guest saw $(gl_tsv_get "$t" guest_gap_ms) ms)"
echo "check-guest: all passed"

#!/bin/bash
# End-to-end: criu-lite moves whole TCG QEMU guests, and the guest must not
# notice. Each case boots the test guest (experiments/guest), dumps the
# QEMU process, restores it, and checks from the guest's serial console:
#   - heartbeats go on with the next seq (no gap, no reboot),
#   - the workload's memory check (VERIFY) stays ok after the move,
#   - no clocksource-watchdog / soft-lockup / RCU-stall / hung-task message,
#   - what the case is about (disk, network, QMP client, ...).
# hostfwd: a guest with -vnc 127.0.0.1:N and a user-net hostfwd port to
# its busybox httpd, dumped and restored with --tcp-established while a
# VNC client is half-way through its handshake and an HTTP client half-way
# through its request (both outside): both finish on their connection,
# and a new connection through the forwarded port gets the guest's page.
# Run it under build/tests/subreaper (make does), so killed and restored
# QEMUs are reaped at once.
#
# Usage: tests/qemu/qemu-cr.sh [CASE...]   (default: all but mem2g)
# Cases: minimal smp2 disk net qmp-client mem2g cycles3 leave-running plain
#        precopy lazy killed migrate migrate-lazy migrate-postcopy hostfwd
set -u
cd "$(dirname "$0")/../.." || exit 1
GL_GUEST=build/guest
. experiments/guest/guest-lib.sh
CL=${CL:-build/criu-lite}
out=build/qemu-cr
mkdir -p "$out"

cases=${*:-minimal smp2 disk net qmp-client cycles3 leave-running plain precopy lazy killed migrate migrate-lazy migrate-postcopy hostfwd}
pass=0 failed=0 failures=
qpid= stamper= extra_pids=

cleanup() {
	[ -n "$stamper" ] && kill "$stamper" 2>/dev/null
	for p in $qpid $extra_pids; do gl_stop_pid "$p"; done
	# migrate's other host: its init takes its PID namespace along
	[ -n "${mig_host:-}" ] && kill -9 "$mig_host" "${mig_init:-}" 2>/dev/null
	[ -n "${mig_ns:-}" ] && { ip netns del "$mig_ns"; ip link del "v$mig_ns"; } 2>/dev/null
	mig_host= mig_init= mig_ns=
	gl_stop_pid "${GL_ECHO_PID:-}"
	qpid= stamper= extra_pids=
}
trap cleanup EXIT

# log_size FILE: byte offset of the end of FILE
log_size() { stat -c %s "$1" 2>/dev/null || echo 0; }

# hb_seq_ok LOG: heartbeats strictly consecutive, one boot only
hb_seq_ok() {
	awk '$1 == "HB" { s = substr($2, 5) + 0; if (n++ && s != p + 1) { bad++; print "seq " p " -> " s > "/dev/stderr" } p = s }
	     /WORKLOAD READY/ { boots++ }
	     END { exit !(n >= 10 && !bad && boots == 1) }' "$1"
}

# wait_after LOG OFFSET PATTERN COUNT SEC
wait_after() {
	"$GL_GUEST/serial-watch" -t "$5" -o "$2" -c "$4" "$1" "$3" >/dev/null
}

# One dump/restore cycle of the guest in $d; sets cyc_* for the summary.
# $1: cycle number, $2: "qmp" or "plain", $3: extra restore options
cycle() {
	local n=$1 mode=$2 ropts=${3:-} img=$d/img.$1 off t0 t1 t2 qmp_opt=
	[ "$mode" = qmp ] && qmp_opt="--qmp ${QMP_SOCK:-$d/qmp.sock}"
	off=$(log_size "$d/serial.log")
	t0=$(gl_now_ms)
	# shellcheck disable=SC2086
	if ! $CL dump -t "$qpid" -D "$img" $qmp_opt $DUMP_EXTRA >"$d/dump.$n.log" 2>&1; then
		echo "dump failed:"; cat "$d/dump.$n.log"; return 1
	fi
	t1=$(gl_now_ms)
	# shellcheck disable=SC2086
	if ! $CL restore -D "$img" -d --verify $ropts >"$d/restore.$n.log" 2>&1; then
		echo "restore failed:"; cat "$d/restore.$n.log"; return 1
	fi
	t2=$(gl_now_ms)
	cyc_dump_ms=$((t1 - t0)) cyc_restore_ms=$((t2 - t1))
	cyc_img=$(du -sm "$img" | cut -f1)
	if ! wait_after "$d/serial.log" "$off" "HB " 3 60; then
		echo "no heartbeat after restore"; return 1
	fi
	if ! wait_after "$d/serial.log" "$off" "VERIFY " 1 60; then
		echo "no VERIFY after restore"; return 1
	fi
	cyc_off=$off
	return 0
}

# boot NAME RUN-GUEST-OPTS... [-- QEMU-ARGS...]
boot() {
	d=$out/$1
	shift
	rm -rf "$d" && mkdir -p "$d"
	d=$(cd "$d" && pwd)
	: >"$d/serial.log"
	"$GL_GUEST/serial-watch" --stamp "$d/serial.log" >"$d/stamped.log" &
	stamper=$!
	qpid=$(experiments/guest/run-guest.sh -d "$d" -W 180 "$@") || {
		echo "guest did not boot"; return 1; }
	wait_after "$d/serial.log" 0 "VERIFY " 1 120 || {
		echo "no VERIFY before the dump"; return 1; }
}

# common checks after the last cycle; $1 = the offset where moves began
check_guest() {
	local from=$1 v c
	hb_seq_ok "$d/serial.log" || { echo "heartbeats broken (gap or reboot)"; return 1; }
	v=$(tail -c +"$((from + 1))" "$d/serial.log" | gl_verdict /dev/stdin VERIFY)
	[ "$v" = ok ] || { echo "VERIFY after restore: $v"; return 1; }
	c=$(tail -c +"$((from + 1))" "$d/serial.log" | gl_complaints /dev/stdin)
	if [ -n "$c" ] && [ "${ALLOW_COMPLAINTS:-0}" = 0 ]; then
		echo "guest kernel complained: $c"; return 1
	fi
	gap=$(gl_hb_gap "$d/stamped.log")
	echo "  moved: dump ${cyc_dump_ms} ms, restore ${cyc_restore_ms} ms, image ${cyc_img} MiB, guest-observed pause $(echo "$gap" | gl_kv outage_ms) ms, seq step $(echo "$gap" | gl_kv seq_step)${c:+, complaints: $(echo "$c" | head -3 | tr '\n' ';')}"
}

case_minimal()  { boot minimal -m 512 && cycle 1 qmp && check_guest "$cyc_off"; }
case_smp2()     { boot smp2 -m 512 -s 2 -r 500 && cycle 1 qmp && check_guest "$cyc_off"; }
case_mem2g()    { boot mem2g -m 2048 -w 1536 -r 2000 && cycle 1 qmp && check_guest "$cyc_off"; }

# pre-copy: memory copied while the guest runs and dirties it, the final
# freeze copies only what changed; the guest's own check proves no write
# was missed (a stale page would fail VERIFY)
case_precopy() {
	boot precopy -m 512 -r 5000 || return 1
	DUMP_EXTRA="--precopy-rounds 8 --precopy-until 64" cycle 1 qmp || return 1
	check_guest "$cyc_off" || return 1
	grep -h "pre-copy:" "$d/dump.1.log" | tail -1 | sed 's/^criu-lite: /  /'
	grep -h "dumped" "$d/dump.1.log" | sed 's/^criu-lite: /  /'
}

# lazy restore: QEMU resumes before guest RAM is back; the lazy-pages daemon
# fills it on fault and in the background (dirtying guest, VERIFY must hold)
case_lazy() {
	boot lazy -m 512 -r 2000 || return 1
	cycle 1 qmp --lazy-pages || return 1
	check_guest "$cyc_off" || return 1
	sleep 1
	grep -h "lazy-pages" "$d/restore.1.log" | sed 's/^criu-lite: /  /'
}

case_disk() {
	boot disk -m 512 -D || return 1
	wait_after "$d/serial.log" 0 "DISK " 1 60 || { echo "no DISK before"; return 1; }
	cycle 1 qmp && check_guest "$cyc_off" || return 1
	wait_after "$d/serial.log" "$cyc_off" "DISK " 2 60 || { echo "no DISK after restore"; return 1; }
	v=$(tail -c +"$((cyc_off + 1))" "$d/serial.log" | gl_verdict /dev/stdin DISK)
	[ "$v" = ok ] || { echo "DISK after restore: $v"; return 1; }
}

case_net() {
	gl_start_echo "$out" || return 1
	boot net -m 512 -n "$GL_ECHO_PORT" || return 1
	wait_after "$d/serial.log" 0 "NET " 1 60 || { echo "no NET before"; return 1; }
	cycle 1 qmp && check_guest "$cyc_off" || return 1
	wait_after "$d/serial.log" "$cyc_off" "NET " 2 60 || { echo "no NET after restore"; return 1; }
	v=$(tail -c +"$((cyc_off + 1))" "$d/serial.log" | gl_verdict /dev/stdin NET)
	[ "$v" = ok ] || { echo "NET after restore: $v"; return 1; }
}

case_qmp_client() {
	local client st
	# QEMU's QMP serves one client per socket: the client holds qmp.sock,
	# criu-lite gets a monitor of its own (as a management tool would)
	boot qmp-client -m 512 -- -qmp "unix:$out/qmp-client/cl.sock,server=on,wait=off" ||
		return 1
	"$GL_GUEST/qmp-client" -t 600 "$d/qmp.sock" --wait-event NEVER_HAPPENS \
		>"$d/client.out" 2>&1 &
	client=$!
	extra_pids=$client
	sleep 0.5
	QMP_SOCK=$d/cl.sock cycle 1 qmp && check_guest "$cyc_off" || return 1
	for _ in $(seq 1 100); do kill -0 $client 2>/dev/null || break; sleep 0.1; done
	if kill -0 $client 2>/dev/null; then echo "old QMP client did not see EOF"; return 1; fi
	wait $client; st=$?
	[ $st != 0 ] || { echo "old QMP client exited 0, expected EOF error"; return 1; }
	s=$("$GL_GUEST/qmp-client" -t 10 "$d/qmp.sock" query-status) || {
		echo "a new QMP client can't connect"; return 1; }
	case "$s" in *'"running"'*) ;; *) echo "query-status: $s"; return 1 ;; esac
	echo "  old client saw: $(tail -1 "$d/client.out"); new client: $s"
}

case_cycles3() {
	boot cycles3 -m 512 -r 500 || return 1
	local first=
	for n in 1 2 3; do
		cycle $n qmp || return 1
		[ -n "$first" ] || first=$cyc_off
	done
	check_guest "$first"
}

case_leave_running() {
	local copy before after
	boot leave-running -m 512 || return 1
	DUMP_EXTRA=--leave-running cycle_leave || return 1
}

# --leave-running: the original goes on, and the images come back as a
# second copy in a new PID namespace. Both guests write the same serial log
# file, each at its own offset, so each is watched by its file position.
serial_pos() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$fd")" = "$d/serial.log" ] || continue
		awk '/^pos:/ { print $2 }' /proc/"$1"/fdinfo/"${fd##*/}"
		return
	done
	echo -1
}

cycle_leave() {
	local img=$d/img.1 init copy p1 p2 c1 c2 s
	$CL dump -t "$qpid" -D "$img" --qmp "$d/qmp.sock" --leave-running >"$d/dump.1.log" 2>&1 ||
		{ cat "$d/dump.1.log"; return 1; }
	gl_alive "$qpid" || { echo "original gone after --leave-running"; return 1; }
	$CL restore -D "$img" -d --pidns --no-cont >"$d/restore.1.log" 2>&1 ||
		{ cat "$d/restore.1.log"; return 1; }
	init=$(sed -n 's/.*restored \([0-9]*\):.*/\1/p' "$d/restore.1.log")
	copy=$init
	[ -n "$copy" ] && [ "$copy" != "$qpid" ] || { echo "no copy pid in restore log"; return 1; }
	extra_pids="$copy $(awk '{ print $4 }' /proc/"$copy"/stat)"
	# the copy re-bound the QMP path; it was stopped by the dump: cont
	s=$("$GL_GUEST/qmp-client" -t 10 "$d/qmp.sock" cont) || { echo "cont of the copy failed"; return 1; }
	s=$("$GL_GUEST/qmp-client" -t 10 "$d/qmp.sock" query-status)
	case "$s" in *'"running"'*) ;; *) echo "copy: query-status $s"; return 1 ;; esac
	p1=$(serial_pos "$qpid") c1=$(serial_pos "$copy")
	sleep 2
	p2=$(serial_pos "$qpid") c2=$(serial_pos "$copy")
	[ "$p2" -gt "$p1" ] || { echo "the original's guest stopped printing ($p1 -> $p2)"; return 1; }
	[ "$c2" -gt "$c1" ] || { echo "the copy's guest is not printing ($c1 -> $c2)"; return 1; }
	echo "  original $qpid and copy $copy (new pid ns, NSpid $(awk '/^NSpid/ { print $2 "/" $3 }' /proc/"$copy"/status)) both run: serial offsets $p1->$p2 and $c1->$c2"
}

# criu-lite SIGKILLed during dumps of the guest (mid-injection, and at
# random moments of --leave-running dumps): QEMU runs on, the VM it had
# stopped through QMP is continued by the guard, the guest notices nothing
# (consecutive heartbeats, VERIFY ok), and a normal move works afterwards
case_killed() {
	local n s d0 ms=300
	boot killed -m 512 -r 500 || return 1
	off0=$(log_size "$d/serial.log")
	CRIU_LITE_FAULT=kill-inject-set $CL dump -t "$qpid" -D "$d/k0" \
		--qmp "$d/qmp.sock" >"$d/kill.0.log" 2>&1
	for n in 1 2 3 4 5 6; do
		d0=$(( RANDOM * ms / 32768 ))
		$CL dump -t "$qpid" -D "$d/k$n" --qmp "$d/qmp.sock" --leave-running \
			>"$d/kill.$n.log" 2>&1 &
		sleep "$(printf '0.%03d' "$d0")"
		kill -KILL $! 2>/dev/null
		wait $! 2>/dev/null
		sleep 0.5
		[ -e /proc/$qpid ] || { echo "QEMU died (try $n, ${d0} ms)"; return 1; }
		s=$("$GL_GUEST/qmp-client" -t 20 -u running "$d/qmp.sock" query-status) || {
			echo "VM not running again after try $n (${d0} ms): $s"; return 1; }
	done
	# the guard waits from the start of the dump, idle until "stop": a
	# fresh exec of criu-lite (not a fork sharing its memory), and
	# criu-lite killed before the stop (held at the point after its
	# pre-copy: the kill lands there, whatever the machine's speed) it
	# leaves alone a VM the user had paused
	"$GL_GUEST/qmp-client" -t 10 "$d/qmp.sock" stop >/dev/null || {
		echo "QMP stop failed"; return 1; }
	CRIU_LITE_PAUSE=before-freeze $CL dump -t "$qpid" -D "$d/kp" \
		--qmp "$d/qmp.sock" --leave-running --precopy-rounds 2 \
		>"$d/kill.p.log" 2>&1 &
	local cl=$! g="" i
	for i in $(seq 100); do
		g=$(pgrep -P $cl -f -- "__qmp-guard [0-9]+ .* idle")
		[ -n "$g" ] && break
		sleep 0.05
	done
	[ -n "$g" ] || { kill -KILL $cl; wait $cl 2>/dev/null
		echo "no idle guard (exec'd criu-lite __qmp-guard) while the dump runs: $(pgrep -a criu-lite)"
		return 1; }
	for i in $(seq 300); do
		grep -q "paused at before-freeze" "$d/kill.p.log" && break
		sleep 0.1
	done
	grep -q "paused at before-freeze" "$d/kill.p.log" || {
		kill -KILL $cl; wait $cl 2>/dev/null
		echo "the dump never reached the point before the stop: $(tail -2 "$d/kill.p.log")"
		return 1; }
	kill -KILL $cl 2>/dev/null
	wait $cl 2>/dev/null
	for i in $(seq 50); do [ -e /proc/$g ] || break; sleep 0.1; done
	[ -e /proc/$g ] && { echo "the idle guard $g outlived criu-lite"; return 1; }
	s=$("$GL_GUEST/qmp-client" -t 10 -g status "$d/qmp.sock" query-status)
	[ "$s" = paused ] || { echo "a VM paused by the user was '$s' after the kill"; return 1; }
	"$GL_GUEST/qmp-client" -t 10 "$d/qmp.sock" cont >/dev/null || {
		echo "QMP cont failed"; return 1; }
	wait_after "$d/serial.log" "$off0" "VERIFY " 2 60 || {
		echo "no VERIFY after the killed dumps"; return 1; }
	cycle 1 qmp && check_guest "$off0"
}

# criu-lite migrate to another host (a network + PID + mount namespace
# over a veth pair): pre-copy rounds while the guest dirties memory, QMP
# stop, the rest, restore there, QMP cont there; the source QEMU is gone,
# the guest's heartbeats go on with the next seq from the other host,
# VERIFY ok, the QMP socket answers "running"
case_migrate() {
	local port=$((20000 + $$ % 20000)) s n=$(( $$ % 200 + 20 ))
	boot "migrate${MIG_NAME:-${MIG_IN_EXTRA:+-lazy}}" -m 512 -r 5000 || return 1
	mig_ns=clqm$$ mig_there=10.$n.2.2
	ip netns add "$mig_ns" && ip link add "v$mig_ns" type veth peer name "w$mig_ns" &&
		ip link set "w$mig_ns" netns "$mig_ns" &&
		ip addr add "10.$n.2.1/24" dev "v$mig_ns" && ip link set "v$mig_ns" up &&
		ip -n "$mig_ns" addr add "$mig_there/24" dev "w$mig_ns" &&
		ip -n "$mig_ns" link set "w$mig_ns" up || { echo "no veth"; return 1; }
	unshare --pid --mount --fork --mount-proc --propagation private \
		ip netns exec "$mig_ns" sleep 100000 </dev/null >/dev/null 2>&1 &
	mig_host=$!
	for _ in $(seq 1 100); do
		mig_init=$(pgrep -P "$mig_host" -x sleep) && break
		sleep 0.05
	done
	[ -n "${mig_init:-}" ] || { echo "no destination host"; return 1; }
	nsenter -t "$mig_init" -p -m -n -- "$(readlink -f $CL)" migrate --incoming "$mig_there:$port" \
		-D "$d/dst" --stats-file "$d/in.json" ${MIG_IN_EXTRA:-} >"$d/in.log" 2>&1 &
	local inc=$!
	sleep 0.5
	off=$(log_size "$d/serial.log")
	local t0 t1
	t0=$(gl_now_ms)
	# shellcheck disable=SC2086
	$CL migrate -t "$qpid" --to "$mig_there:$port" --qmp "$d/qmp.sock" \
		--stats-file "$d/out.json" ${MIG_OUT_EXTRA:-} >"$d/out.log" 2>&1 || {
		echo "migrate failed:"; cat "$d/out.log" "$d/in.log"; return 1; }
	t1=$(gl_now_ms)
	local moved_off
	moved_off=$(log_size "$d/serial.log")
	wait "$inc" || { echo "migrate --incoming failed:"; cat "$d/in.log"; return 1; }
	! gl_alive "$qpid" || { echo "the source QEMU still runs"; return 1; }
	qpid=$(pgrep -P "$mig_init" | head -1)
	[ -n "$qpid" ] || { echo "no QEMU on the other host"; cat "$d/in.log"; return 1; }
	cyc_dump_ms=$((t1 - t0)) cyc_restore_ms=0 cyc_img=$(du -sm "$d/dst" | cut -f1)
	# counted from where the log was when the source exited: heartbeats
	# and VERIFYs printed during the pre-copy rounds do not count
	wait_after "$d/serial.log" "$moved_off" "HB " 3 60 || { echo "no heartbeat after"; return 1; }
	wait_after "$d/serial.log" "$moved_off" "VERIFY " 1 60 || { echo "no VERIFY after"; return 1; }
	s=$("$GL_GUEST/qmp-client" -t 10 "$d/qmp.sock" query-status)
	case "$s" in *'"running"'*) ;; *) echo "query-status there: $s"; return 1 ;; esac
	check_guest "$off" || return 1
	grep -h "pre-copy:\|migrated\|downtime:" "$d/out.log" | sed 's/^criu-lite: /  /'
	echo "  $(tr -d '\n ' <"$d/out.json" | grep -o '"downtime_ms":[0-9.]*,"setup_ms"' | sed 's/,"setup_ms"//'), QEMU pid $qpid on the other host (NSpid $(awk '/^NSpid/ { print $2 "/" $3 }' /proc/"$qpid"/status))"
	[ -n "${MIG_BACK:-}" ] || return 0
	migrate_back "$n" "$((port + 1))"
}

# the guest of case_migrate brought back to this host, the same way
# (MIG_OUT_EXTRA), QEMU's pid there taken from its NSpid
migrate_back() {
	local here=10.$1.2.1 port=$2 inner off s inc moved_off
	inner=$(awk '/^NSpid/ { print $3 }' /proc/"$qpid"/status)
	$CL migrate --incoming "$here:$port" -D "$d/back" >"$d/back-in.log" 2>&1 &
	inc=$!
	for _ in $(seq 1 100); do ss -ltn | grep -q ":$port " && break; sleep 0.05; done
	off=$(log_size "$d/serial.log")
	# shellcheck disable=SC2086
	nsenter -t "$mig_init" -p -m -n -- "$(readlink -f $CL)" migrate -t "$inner" \
		--to "$here:$port" --qmp "$d/qmp.sock" ${MIG_OUT_EXTRA:-} \
		>"$d/back-out.log" 2>&1 || {
		echo "migrate back failed:"; cat "$d/back-out.log" "$d/back-in.log"; return 1; }
	moved_off=$(log_size "$d/serial.log")
	wait "$inc" || { echo "migrate --incoming back failed:"; cat "$d/back-in.log"; return 1; }
	! gl_alive "$qpid" || { echo "the QEMU on the other host still runs"; return 1; }
	qpid=$inner
	gl_alive "$qpid" || { echo "no QEMU back here (pid $qpid)"; return 1; }
	wait_after "$d/serial.log" "$moved_off" "HB " 3 60 || { echo "no heartbeat back"; return 1; }
	wait_after "$d/serial.log" "$moved_off" "VERIFY " 1 60 || { echo "no VERIFY back"; return 1; }
	s=$("$GL_GUEST/qmp-client" -t 10 "$d/qmp.sock" query-status)
	case "$s" in *'"running"'*) ;; *) echo "query-status back: $s"; return 1 ;; esac
	check_guest "$off" || return 1
	grep -h "migrated\|lazy pages: all in" "$d/back-out.log" | sed 's/^criu-lite: /  back: /'
}

# the same, the destination resuming the guest before its RAM is in
# (migrate --incoming --lazy-pages: filled from the received images)
case_migrate_lazy() { MIG_IN_EXTRA=--lazy-pages case_migrate; }

# migrate --postcopy after pre-copy rounds: the guest runs on the other
# host before its RAM is there, pulled on fault and pushed; the source
# QEMU goes once every page is in; then back again the same way
case_migrate_postcopy() {
	MIG_NAME=-postcopy MIG_OUT_EXTRA="--postcopy --max-rounds 2" MIG_BACK=1 \
		case_migrate || return 1
	grep -h "postcopy: .*pulled" "$d/out.log" | tail -1 | sed 's/^criu-lite: /  /'
}

# hostfwd_get PORT OUT: the guest's page through the forwarded port, retried
# while the guest's httpd comes up (60 s)
hostfwd_get() {
	for _ in $(seq 1 120); do
		/usr/bin/python3 -c '
import sys, urllib.request
page = urllib.request.urlopen("http://127.0.0.1:%s/" % sys.argv[1], timeout=10).read()
if not page.startswith(b"guest httpd "):
    sys.exit(1)
open(sys.argv[2], "wb").write(page)' "$1" "$2" 2>/dev/null && return 0
		sleep 0.5
	done
	return 1
}

# hold NAME MODE PORT: a tcp-client.py outside, connected, waiting for go
hold() {
	mkdir -p "$d/$1"
	/usr/bin/python3 tests/tools/tcp-client.py "$2" 127.0.0.1 "$3" index.html \
		"$d/page.want" "$d/$1" >"$d/$1.log" 2>&1 &
	extra_pids="$extra_pids $!"
	for _ in $(seq 1 400); do
		[ -e "$d/$1/ready" ] || [ -e "$d/$1/result" ] && break
		sleep 0.05
	done
	[ -e "$d/$1/ready" ] || { echo "$1: client not connected: $(cat "$d/$1/result" 2>/dev/null)"; return 1; }
}

# release NAME: the client goes on; its result must be ok
release() {
	touch "$d/$1/go"
	for _ in $(seq 1 600); do [ -e "$d/$1/result" ] && break; sleep 0.05; done
	grep -q '^ok' "$d/$1/result" 2>/dev/null || {
		echo "$1: $(cat "$d/$1/result" 2>/dev/null || echo no result)"; return 1; }
	echo "  $1: $(cat "$d/$1/result")"
}

case_hostfwd() {
	local hp=$((30000 + $$ % 20000)) vnc=$((60 + $$ % 30))
	boot hostfwd -m 512 -a wl.httpd=80 -- \
		-netdev "user,id=net0,hostfwd=tcp:127.0.0.1:$hp-:80" \
		-device virtio-net-pci,netdev=net0,romfile= \
		-vnc "127.0.0.1:$vnc" || return 1
	hostfwd_get $hp "$d/page.want" || { echo "no page through hostfwd port $hp"; return 1; }
	hold vnc rfb $((5900 + vnc)) && hold http partial $hp || return 1
	DUMP_EXTRA=--tcp-established cycle 1 qmp --tcp-established || return 1
	release vnc && release http || return 1
	hostfwd_get $hp "$d/page.after" && cmp -s "$d/page.want" "$d/page.after" || {
		echo "a new connection through hostfwd port $hp: no page, or another"; return 1; }
	check_guest "$cyc_off"
}

case_plain() {
	# no QMP stop: the guest sees its clocks jump; what it says is shown
	boot plain -m 512 || return 1
	cycle 1 plain || return 1
	sleep 5
	ALLOW_COMPLAINTS=1 check_guest "$cyc_off"
}

DUMP_EXTRA=
for c in $cases; do
	echo "--- qemu $c"
	if "case_${c//-/_}"; then
		echo "PASS qemu-$c"
		pass=$((pass + 1))
	else
		echo "FAIL qemu-$c (logs in $out/$c)"
		failed=$((failed + 1))
		failures="$failures $c"
	fi
	cleanup
done
echo "qemu: $pass passed, $failed failed${failures:+ (}${failures# }${failures:+)}"
[ $failed = 0 ]

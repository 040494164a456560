#!/bin/bash
# shellcheck disable=SC2015
# migrate --postcopy across two hosts (experiments/guest/two-hosts.sh: the
# destination is a network, PID and mount namespace over a veth pair):
#   postcopy-dirty   zdtm's dirty_pages (its writer thread rewriting random
#                    pages) moved with --postcopy after pre-copy rounds:
#                    pre-copied pages, pages dirtied since and pages pulled
#                    on fault all meet; it PASSes on the other host, the
#                    stats say >= 1 round, postcopy bytes and fault
#                    requests
#   precopy-held     dirty_pages writing zeros over every 4th page it
#                    rewrites (ZDTM_DIRTY_ZERO=4: pages copied with data
#                    become zero) moved by a plain (precopy) migrate: the
#                    destination held its memory and resumes it in place
#                    ("prefill: N VMA(s)", pages zeroed); it PASSes there
#   precopy-held-refused  the same, the root's clone with the held memory
#                    refused for memory (CRIU_LITE_FAULT=restore-clone-enomem
#                    there, as strict overcommit refuses it): cloned again
#                    without, its memory the lazy way: it PASSes there
#   lazy-daemon      dump --lazy-pages here, and there the standalone
#                    criu-lite lazy-pages --page-server daemon with
#                    restore --lazy-pages, which hands it the userfaultfds
#                    through DIR/lazy-pages.sock: dirty_pages PASSes
#                    there, the dump and the daemon exit 0, the socket is
#                    gone, the source tree too
#   lazy-daemon-tls  the same over TLS: a daemon with another CA's
#                    certificate refused (the tree handed to it killed,
#                    the source serving on), then one with the right one
#                    completes the move
#   link-cut         the veth taken down inside the destination host after
#                    the switchover, for longer than the daemon's 5 s
#                    without an answer, up again within --lazy-timeout: the
#                    daemon reconnects, the move completes, the target
#                    PASSes there, the source printed its progress line
#                    while serving (a second at least) and is gone
#   link-cut-long    the same link down for longer than --lazy-timeout:
#                    the destination kills its copy (never a process on
#                    missing pages) and exits 1, the source exits 1 saying
#                    "kill -CONT", its tree kept stopped and whole: once
#                    continued, it PASSes here
#   dest-stopped     the destination (migrate --incoming and its lazy-pages
#                    daemon) SIGSTOPped after the switchover: a silent
#                    destination is a lost one: after --lazy-timeout 3
#                    without a request the source exits 1 saying
#                    "kill -CONT", its tree kept stopped, its memory whole
#                    (never dropped): once continued, it PASSes here
# A token bucket on the source's end of the link (tc tbf, 160 Mbit/s)
# keeps the link-cut moves running long enough to cut them.
# Run under build/tests/subreaper, as root. Usage: tests/postcopy.sh B
set -u
B=$(readlink -f "${1:-build}")
. "$(dirname "$0")/proc-lib.sh"
CL=$B/criu-lite
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-postcopy.XXXXXX")
TH_REAPER=$B/tests/subreaper
. "$(dirname "$0")/../experiments/guest/two-hosts.sh"
port=$((20000 + ($$ + 11) % 20000))
pass=0 fail=0 pid= srv= mpid=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	[ -n "$mpid" ] && kill -9 "$mpid" 2>/dev/null
	th_down
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

th_up || exit 1
link_there() { nsenter -t "$TH_INIT" -n ip link set "w$TH_VETH" "$1"; }

# start TEST ENV...: a zdtm test here, READY; its output in $work/t.out
start() {
	local t=$1
	shift
	: >"$work/t.out"
	env "$@" "$B/zdtm/$t" </dev/null >>"$work/t.out" 2>&1 &
	pid=$!
	for _ in $(seq 1 200); do grep -q READY "$work/t.out" && return 0; sleep 0.05; done
	echo "$t did not start"; return 1
}

# verdict [there]: the target checks itself (SIGTERM) and says PASS
verdict() {
	if [ "${1:-}" = there ]; then th_run kill -TERM "$pid"; else kill -TERM "$pid"; fi
	for _ in $(seq 1 300); do grep -q "^PASS\|^FAIL" "$work/t.out" && break; sleep 0.05; done
	grep -q "^PASS" "$work/t.out"
	local r=$?
	[ "${1:-}" = there ] || wait "$pid" 2>/dev/null
	pid=
	return $r
}

runs_there() {
	local st
	st=$(th_run awk '{ print $3 }' /proc/"$pid"/stat 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ]
}

# incoming DIR [OPTIONS]: migrate --incoming on the other host
incoming() {
	local d=$1
	shift
	port=$((port + 1))
	# IN_ENV: VAR=VALUE for the destination's criu-lite
	th_run env ${IN_ENV:-} "$CL" migrate --incoming "$TH_THERE:$port" -D "$d" \
		--stats-file "$work/in.json" "$@" >"$work/in.log" 2>&1 &
	srv=$!
	for _ in $(seq 1 100); do
		th_run ss -ltn 2>/dev/null | grep -q ":$port " && return 0
		sleep 0.05
	done
	echo "migrate --incoming did not listen"; return 1
}

wait_srv() {
	local r
	wait "$srv" 2>/dev/null
	r=$?
	srv=
	return $r
}

# postcopy-dirty
start transition/dirty_pages ZDTM_DIRTY_MB=64 || exit 1
incoming "$work/d1" || exit 1
if "$CL" migrate -t "$pid" --to "$TH_THERE:$port" --postcopy --max-rounds 2 \
	--stats-file "$work/out.json" >"$work/out.log" 2>&1 && wait_srv; then
	wait "$pid" 2>/dev/null
	if kill -0 "$pid" 2>/dev/null; then
		bad "postcopy-dirty: the source still runs"
	elif ! python3 -c "import json,sys; d=json.load(open(sys.argv[1])); r=d['ram']; \
	     assert d['status']=='completed' and d['postcopy'] and \
	     d['precopy_rounds']>=1 and r['precopy-bytes']>0 and \
	     r['postcopy-bytes']>0 and r['postcopy-requests']>0" "$work/out.json"; then
		bad "postcopy-dirty: stats file"; cat "$work/out.json"
	elif ! verdict there; then
		bad "postcopy-dirty: the target on the other host says: $(tail -2 "$work/t.out")"
	else
		ok "postcopy-dirty: $(grep -o 'lazy pages: all in.*' "$work/out.log")"
	fi
else
	bad "postcopy-dirty: migrate failed: $(errors_of "$work/in.log" "$work/out.log")"; cat "$work/out.log" "$work/in.log"
fi
[ -n "$pid" ] && { th_run kill -9 "$pid" 2>/dev/null; kill -9 "$pid" 2>/dev/null; }; pid=

# held_move NAME DIR SAID WHY: dirty_pages writing zeros over every 4th
# page it rewrites moved by a plain migrate (3 rounds) to migrate
# --incoming DIR (IN_ENV for it): the source is gone, the destination's
# log says SAID (a grep pattern; else bad NAME: WHY), the target PASSes
# there; ok shows what SAID matched
held_move() {
	start transition/dirty_pages ZDTM_DIRTY_MB=64 ZDTM_DIRTY_ZERO=4 || exit 1
	incoming "$2" || exit 1
	if "$CL" migrate -t "$pid" --to "$TH_THERE:$port" --max-rounds 3 \
		>"$work/out.log" 2>&1 && wait_srv; then
		wait "$pid" 2>/dev/null
		if kill -0 "$pid" 2>/dev/null; then
			bad "$1: the source still runs"
		elif ! grep -q "$3" "$work/in.log"; then
			bad "$1: $4: $(grep -o 'prefill: .*' "$work/in.log")"; cat "$work/in.log"
		elif ! verdict there; then
			bad "$1: the target on the other host says: $(tail -2 "$work/t.out")"
		else
			ok "$1: $(grep -o "$3.*" "$work/in.log" | head -1)"
		fi
	else
		bad "$1: migrate failed: $(errors_of "$work/in.log" "$work/out.log")"; cat "$work/out.log" "$work/in.log"
	fi
	[ -n "$pid" ] && { th_run kill -9 "$pid" 2>/dev/null; kill -9 "$pid" 2>/dev/null; }; pid=
}

held_move precopy-held "$work/dh" 'prefill: [1-9][0-9]* VMA.* [1-9][0-9]* zeroed' \
	"no memory held there, or none zeroed"
IN_ENV=CRIU_LITE_FAULT=restore-clone-enomem held_move precopy-held-refused \
	"$work/dhr" "its memory held: .*again without" \
	"no clone refused with the memory held"

# moved_there NAME DUMP_LOG PREFIX [DIR]: the end of a move by dump
# --lazy-pages ($mpid) and a daemon there: the dump exits 0, the source is
# gone, the target PASSes on the other host; DIR's stats-dump counts the
# pages it left lazy (pages_lazy = the PE_LAZY runs, more than none)
moved_there() {
	local lazy runs
	if ! wait "$mpid"; then
		mpid=
		bad "$1: the dump failed"; cat "$2"
	elif mpid=; wait "$pid" 2>/dev/null; kill -0 "$pid" 2>/dev/null; then
		bad "$1: the source still runs"
	elif [ -n "${4:-}" ] &&
		lazy=$("$CL" show --json "$4/stats-dump" | jq '.entries[0].pages_lazy') &&
		runs=$("$CL" show --json "$4" | jq '[.[] | select(.type == "PagemapEntry") |
			.entries[] | select(.flags | split("|") | index("PE_LAZY")) |
			.nr_pages] | add // 0') &&
		{ [ "$lazy" != "$runs" ] || [ "$runs" = 0 ]; }; then
		bad "$1: stats-dump pages_lazy $lazy, PE_LAZY pages $runs"
	elif ! verdict there; then
		bad "$1: the target on the other host says: $(tail -2 "$work/t.out")"
	else
		ok "$1: $3$(grep -o 'lazy pages: all in.*' "$2")"
	fi
}

# lazy-daemon: dump --lazy-pages here; there the standalone daemon
# (criu-lite lazy-pages --page-server) and restore --lazy-pages, which
# hands it the userfaultfds over DIR/lazy-pages.sock
start transition/dirty_pages ZDTM_DIRTY_MB=64 || exit 1
port=$((port + 1))
"$CL" dump -t "$pid" -D "$work/lz" --lazy-pages --address "$TH_HERE" \
	--port "$port" --lazy-timeout 20 >"$work/lz-dump.log" 2>&1 &
mpid=$!
for _ in $(seq 1 200); do [ -f "$work/lz/inventory.img" ] && break; sleep 0.05; done
th_run "$CL" lazy-pages --page-server --address "$TH_HERE" --port "$port" \
	-D "$work/lz" --lazy-timeout 20 >"$work/lzd.log" 2>&1 &
srv=$!
for _ in $(seq 1 200); do [ -S "$work/lz/lazy-pages.sock" ] && break; sleep 0.05; done
if ! th_run "$CL" restore -D "$work/lz" -d --lazy-pages >"$work/lz-restore.log" 2>&1; then
	bad "lazy-daemon: restore failed"; cat "$work/lz-restore.log" "$work/lzd.log"
elif ! grep -q "lazy-pages daemon's server" "$work/lz-restore.log"; then
	bad "lazy-daemon: restore did not use the daemon"; cat "$work/lz-restore.log"
elif ! wait_srv; then
	bad "lazy-daemon: the daemon failed"; cat "$work/lzd.log"
elif [ -e "$work/lz/lazy-pages.sock" ]; then
	bad "lazy-daemon: its socket is left in DIR"
else
	moved_there lazy-daemon "$work/lz-dump.log" "" "$work/lz"
fi
[ -n "$mpid" ] && { kill -9 "$mpid"; wait "$mpid"; } 2>/dev/null; mpid=
[ -n "$srv" ] && { kill -9 "$srv"; wait_srv; } 2>/dev/null

# lazy-daemon-tls: the same with --tls on both ends. A daemon whose
# certificate another CA signed is refused by the source (the tree it was
# handed is killed there, never left on missing pages, the daemon exits
# 1); the source keeps serving, and a daemon with the right certificate
# then completes the move
if "$(dirname "$0")/tls-certs.sh" "$work/k" "$TH_HERE"; then
	K=$work/k
	TLS=(--tls --tls-cacert "$K/ca.pem" --tls-cert "$K/cert.pem" --tls-key "$K/key.pem")
	OTHER=(--tls --tls-cacert "$K/ca.pem" --tls-cert "$K/other-cert.pem"
	       --tls-key "$K/other-key.pem")
	start transition/dirty_pages ZDTM_DIRTY_MB=32 || exit 1
	port=$((port + 1))
	"$CL" dump -t "$pid" -D "$work/lt" --lazy-pages --address "$TH_HERE" \
		--port "$port" --lazy-timeout 30 "${TLS[@]}" >"$work/lt-dump.log" 2>&1 &
	mpid=$!
	for _ in $(seq 1 200); do [ -f "$work/lt/inventory.img" ] && break; sleep 0.05; done
	# lazy_daemon_try CERTS...: a daemon and a restore there; the
	# daemon's exit status
	lazy_daemon_try() {
		th_run "$CL" lazy-pages --page-server --address "$TH_HERE" \
			--port "$port" -D "$work/lt" --lazy-timeout 20 "$@" \
			>"$work/ltd.log" 2>&1 &
		srv=$!
		for _ in $(seq 1 200); do [ -S "$work/lt/lazy-pages.sock" ] && break; sleep 0.05; done
		th_run "$CL" restore -D "$work/lt" -d --lazy-pages >"$work/lt-restore.log" 2>&1
		wait_srv
	}
	if lazy_daemon_try "${OTHER[@]}"; then
		bad "lazy-daemon-tls: a daemon with another CA's certificate was served"
		cat "$work/ltd.log"
	elif ! grep -q "certificate" "$work/ltd.log"; then
		bad "lazy-daemon-tls: the refused daemon does not say why"; cat "$work/ltd.log"
	elif sleep 0.5; runs_there; then
		bad "lazy-daemon-tls: the tree handed to the refused daemon runs on"
	elif ! kill -0 "$mpid" 2>/dev/null; then
		bad "lazy-daemon-tls: the source gave up after a refused daemon"
		cat "$work/lt-dump.log"
	elif ! lazy_daemon_try "${TLS[@]}"; then
		bad "lazy-daemon-tls: the daemon with the right certificate failed"
		cat "$work/ltd.log" "$work/lt-restore.log"
	else
		moved_there lazy-daemon-tls "$work/lt-dump.log" \
			"refused without the CA's certificate, then "
	fi
	[ -n "$mpid" ] && { kill -9 "$mpid"; wait "$mpid"; } 2>/dev/null; mpid=
	[ -n "$srv" ] && { kill -9 "$srv"; wait_srv; } 2>/dev/null
else
	bad "lazy-daemon-tls: can't make certificates (openssl)"
fi
[ -n "$pid" ] && { th_run kill -9 "$pid" 2>/dev/null; kill -9 "$pid" 2>/dev/null; }; pid=

# the link-cut cases: a slow link, so that pages are still outstanding
tc qdisc add dev "$TH_VETH" root tbf rate 160mbit burst 64kb latency 500ms ||
	{ echo "postcopy: tc tbf on $TH_VETH failed"; exit 1; }

# switched_over: the source's log says the destination runs the tree
switched_over() {
	for _ in $(seq 1 400); do
		grep -q "the destination says" "$work/out.log" && return 0
		kill -0 "$mpid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# link-cut: down 7 s (the daemon's 5 s without an answer pass), then up
# within --lazy-timeout 20
start static/mem_1g ZDTM_MEM_MB=192 || exit 1
incoming "$work/d2" --lazy-timeout 20 || exit 1
"$CL" migrate -t "$pid" --to "$TH_THERE:$port" --postcopy --max-rounds 0 \
	--lazy-timeout 20 >"$work/out.log" 2>&1 &
mpid=$!
if ! switched_over; then
	bad "link-cut: no switchover"; cat "$work/out.log" "$work/in.log"
else
	sleep 0.5
	link_there down
	sleep 7
	link_there up
	wait "$mpid"
	r=$?
	mpid=
	if [ $r != 0 ]; then
		bad "link-cut: the source failed ($r)"; cat "$work/out.log" "$work/in.log"
	elif ! wait_srv; then
		bad "link-cut: the destination failed"; cat "$work/in.log"
	elif ! grep -q "reconnected" "$work/in.log"; then
		bad "link-cut: the daemon never reconnected (was the link cut?)"; cat "$work/in.log"
	elif ! grep -q "postcopy: .* pulled .* pushed .* left" "$work/out.log"; then
		# the serving phase lasted the 7 s cut at least: a line a second
		bad "link-cut: no postcopy progress line while serving"; cat "$work/out.log"
	elif wait "$pid" 2>/dev/null; kill -0 "$pid" 2>/dev/null; then
		bad "link-cut: the source still runs"
	elif ! verdict there; then
		bad "link-cut: the target on the other host says: $(tail -2 "$work/t.out")"
	else
		ok "link-cut: $(grep -o 'lazy pages: all in.*' "$work/out.log")"
	fi
fi
link_there up
[ -n "$mpid" ] && { kill -9 "$mpid"; wait "$mpid"; } 2>/dev/null; mpid=
[ -n "$srv" ] && wait_srv
[ -n "$pid" ] && { th_run kill -9 "$pid" 2>/dev/null; kill -9 "$pid" 2>/dev/null; }; pid=

# link-cut-long: down for longer than --lazy-timeout 3 (and the daemon's
# 5 s): both sides give up; the source keeps the tree stopped, whole
start static/mem_1g ZDTM_MEM_MB=192 || exit 1
incoming "$work/d3" --lazy-timeout 3 || exit 1
"$CL" migrate -t "$pid" --to "$TH_THERE:$port" --postcopy --max-rounds 0 \
	--lazy-timeout 3 >"$work/out.log" 2>&1 &
mpid=$!
if ! switched_over; then
	bad "link-cut-long: no switchover"; cat "$work/out.log" "$work/in.log"
else
	sleep 0.5
	link_there down
	wait "$mpid"
	r=$?
	mpid=
	wait_srv
	rd=$?
	link_there up
	if [ $r = 0 ]; then
		bad "link-cut-long: the source says the move succeeded"
	elif [ $rd = 0 ]; then
		bad "link-cut-long: the destination says the move succeeded"; cat "$work/in.log"
	elif runs_there; then
		bad "link-cut-long: the copy on the other host still runs"; cat "$work/in.log"
	elif ! grep -q "process was killed here" "$work/in.log"; then
		bad "link-cut-long: the destination does not say its copy was killed"; cat "$work/in.log"
	elif [ "$(awk '{ print $3 }' /proc/"$pid"/stat 2>/dev/null)" != T ]; then
		bad "link-cut-long: the source is not kept stopped"; cat "$work/out.log"
	elif ! grep -q "kill -CONT" "$work/out.log"; then
		bad "link-cut-long: no word on what to do"; cat "$work/out.log"
	elif kill -CONT "$pid"; ! verdict; then
		bad "link-cut-long: the source is harmed: $(tail -2 "$work/t.out")"
	else
		ok "link-cut-long: $(grep -o 'Error: lazy pages: no request.*' "$work/out.log" | head -1)"
	fi
fi
[ -n "$pid" ] && { th_run kill -9 "$pid" 2>/dev/null; kill -9 "$pid" 2>/dev/null; }; pid=

# dest-stopped
start static/mem_1g ZDTM_MEM_MB=192 || exit 1
incoming "$work/d4" --lazy-timeout 30 || exit 1
"$CL" migrate -t "$pid" --to "$TH_THERE:$port" --postcopy --max-rounds 0 \
	--lazy-timeout 3 >"$work/out.log" 2>&1 &
mpid=$!
stopped=
if ! switched_over; then
	bad "dest-stopped: no switchover"; cat "$work/out.log" "$work/in.log"
else
	sleep 0.5
	# the destination's criu-lite (not th_run's wrapper) and its daemon
	for p in $(pgrep -f "migrate --incoming $TH_THERE:$port -D $work/d4"); do
		[ "$(cat /proc/"$p"/comm 2>/dev/null)" = criu-lite ] &&
			stopped="$p $(pgrep -P "$p" | tr '\n' ' ')"
	done
	# shellcheck disable=SC2086
	[ -n "$stopped" ] && kill -STOP $stopped
	if ! gone_within "dest-stopped: the source (the destination stopped)" "$mpid"; then
		:
	elif wait "$mpid"; then
		bad "dest-stopped: the source says the move succeeded"
	elif [ "$(awk '{ print $3 }' /proc/"$pid"/stat 2>/dev/null)" != T ]; then
		bad "dest-stopped: the source is not kept stopped"; cat "$work/out.log"
	elif ! grep -q "kill -CONT" "$work/out.log"; then
		bad "dest-stopped: no word on what to do"; cat "$work/out.log"
	else
		# the destination's copy goes with its daemon
		# shellcheck disable=SC2086
		kill -9 $stopped 2>/dev/null
		for _ in $(seq 1 100); do runs_there || break; sleep 0.05; done
		th_run kill -9 "$pid" 2>/dev/null
		if kill -CONT "$pid"; ! verdict; then
			bad "dest-stopped: the source is harmed: $(tail -2 "$work/t.out")"
		else
			ok "dest-stopped: $(grep -o 'Error: lazy pages: no request.*' "$work/out.log" | head -1)"
		fi
	fi
fi
# shellcheck disable=SC2086
[ -n "$stopped" ] && { kill -9 $stopped; kill -CONT $stopped; } 2>/dev/null
# th_run's nsenter stopped itself with its child (util-linux does)
[ -n "$srv" ] && pkill -CONT -P "$srv" 2>/dev/null
[ -n "$mpid" ] && { kill -9 "$mpid"; wait "$mpid"; } 2>/dev/null; mpid=
[ -n "$srv" ] && wait_srv
[ -n "$pid" ] && { th_run kill -9 "$pid" 2>/dev/null; kill -9 "$pid" 2>/dev/null; }; pid=

echo "postcopy: $pass passed, $fail failed"
[ "$fail" = 0 ]

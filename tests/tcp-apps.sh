#!/bin/bash
# Real servers and clients with established TCP connections, checkpointed
# and restored with --tcp-established; the peers outside the dumped tree
# keep their connection.
#   refused     python3 -m http.server with a client connected: a dump
#               without --tcp-established fails naming the connection and
#               leaves the server serving (the client's next request works)
#   killed      the same, but criu-lite is SIGKILLed while the tree is
#               frozen and the connection in repair mode (CRIU_LITE_PAUSE=
#               after-pages): its guard turns repair off, the client's
#               next request on the connection is answered
#   http.server python3 -m http.server --protocol HTTP/1.1 with a
#               keep-alive client outside: dump, restore, the client's
#               second request on the same connection gets its answer; a
#               new client is served too
#   client      a client in the tree (keep-alive, tcp-client.py) connected
#               to an http.server outside: dump, restore, its second
#               request on the same connection gets its answer
#   httpd       busybox httpd (a process per connection) with two clients
#               outside that sent half a request: the tree (server and its
#               children) is dumped and restored, the clients finish their
#               requests and get their answers; a new client is served
#   netlock     a peer outside that keeps writing (a line every 2 ms) to a
#               server in the tree (tcp-sink.py) across dump and restore:
#               the network lock (nftables) drops its segments while the
#               tree is down (2 s), they are sent again to the restored socket,
#               not a line is lost; with --network-lock skip the peer gets
#               a reset (the case that shows the lock matters)
#   tcp-close   http.server with a keep-alive client outside, dumped and
#               restored with --tcp-close: its connection comes back closed
#               (the client's next request fails), a new client is served;
#               then dumped with --tcp-established (a lock made) and
#               restored with --tcp-close: the same, and the lock is gone
#   lock-killed criu-lite SIGKILLed with the lock in place, before the kill
#               of the tree (CRIU_LITE_PAUSE=after-commit): its guard
#               removes the lock, the peer's lines still arrive
# Run under build/tests/subreaper. Usage: tests/tcp-apps.sh BUILD_DIR
set -u
B=${1:-build}
CL=$(realpath "$B/criu-lite")
PY=/usr/bin/python3
BB=$(command -v busybox || true)
CLIENT=$(realpath "$(dirname "$0")/tools/tcp-client.py")
SINK=$(realpath "$(dirname "$0")/tools/tcp-sink.py")
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-tcp.XXXXXX")
port=$((20000 + $$ % 20000))
pass=0 fail=0 pids=""
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/proc-lib.sh"

[ -x "$PY" ] || { echo "tcp-apps: $PY is missing"; exit 1; }
[ -n "$BB" ] || { echo "tcp-apps: busybox is missing (make deps: busybox-static)"; exit 1; }
mkdir -p "$work/www"
head -c 3000 /dev/urandom | base64 >"$work/www/page.txt"

# wait_for FILE: up to 10 s
wait_for() {
	for _ in $(seq 1 200); do [ -e "$1" ] && return 0; sleep 0.05; done
	return 1
}

# wait_port PORT: something listens on 127.0.0.1:PORT (up to 10 s)
wait_port() {
	for _ in $(seq 1 200); do
		(exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# client NAME MODE PORT: a tcp-client.py outside the tree, in the
# background; its files in $work/NAME
client() {
	mkdir -p "$work/$1"
	"$PY" "$CLIENT" "$2" 127.0.0.1 "$3" page.txt "$work/www/page.txt" \
		"$work/$1" >"$work/$1/log" 2>&1 &
	pids="$pids $!"
	disown $!
	wait_for "$work/$1/ready" || { bad "$1: client not ready: $(cat "$work/$1/result" 2>/dev/null)"; return 1; }
}

# finish NAME: let the client go on; PASS/FAIL by its result
finish() {
	touch "$work/$1/go"
	wait_for "$work/$1/result"
	if grep -q '^ok' "$work/$1/result" 2>/dev/null; then ok "$1: $(cat "$work/$1/result")"
	else bad "$1: $(cat "$work/$1/result" 2>/dev/null || echo no result)"; fi
}

# fetch: a new connection gets the page from PORT
fetch() {
	"$PY" - "$1" "$work/www/page.txt" <<'EOF'
import sys, urllib.request
want = open(sys.argv[2], "rb").read()
got = urllib.request.urlopen("http://127.0.0.1:%s/page.txt" % sys.argv[1], timeout=20).read()
sys.exit(0 if got == want else 1)
EOF
}

# dump_restore NAME PID [DUMP_ARGS...]: dump with --tcp-established (tree
# killed), restore
dump_restore() {
	name=$1 tpid=$2
	shift 2
	set -- "$name" "$tpid" "$@"
	rm -rf "$work/img-$1"
	if ! "$CL" dump -t "$2" -D "$work/img-$1" --tcp-established "${@:3}" \
		>"$work/$1.dump.log" 2>&1; then
		bad "$1: dump failed: $(tail -3 "$work/$1.dump.log")"; return 1
	fi
	# a zombie until this shell reaps it (the dump waits for that state)
	alive "$2" && { bad "$1: the tree runs on after the dump"; return 1; }
	sleep "${down:-0}"	# the tree stays down that long
	if ! "$CL" restore -D "$work/img-$1" -d --tcp-established \
		>"$work/$1.restore.log" 2>&1; then
		bad "$1: restore failed: $(tail -3 "$work/$1.restore.log")"; return 1
	fi
	kill -0 "$2" 2>/dev/null || { bad "$1: not running after restore"; return 1; }
}

start_http_server() {
	(cd "$work/www" && exec "$PY" -m http.server --protocol HTTP/1.1 \
		--bind 127.0.0.1 "$1" </dev/null >"$work/http.$1.log" 2>&1) &
	srv=$!
	pids="$pids $srv"
	disown $srv
	wait_port "$1" || { bad "http.server on $1 did not start"; return 1; }
}

# --- refused without --tcp-established, the server serves on
p1=$port
start_http_server $p1 || exit 1
client refused hold $p1 || exit 1
if "$CL" dump -t $srv -D "$work/img-refused" >"$work/refused.dump.log" 2>&1; then
	bad "refused: dump without --tcp-established succeeded"
elif ! grep -q "established TCP connection (dump with --tcp-established" \
	"$work/refused.dump.log"; then
	bad "refused: message: $(cat "$work/refused.dump.log")"
else
	ok "refused: $(grep -m1 established "$work/refused.dump.log" | cut -c1-100)"
fi
finish refused

# --- criu-lite killed while the connection is in repair mode
client killed hold $p1 || exit 1
CRIU_LITE_PAUSE=after-pages "$CL" dump -t $srv -D "$work/img-killed" \
	--tcp-established >"$work/killed.dump.log" 2>&1 &
dpid=$!
for _ in $(seq 1 200); do
	grep -q "paused at after-pages" "$work/killed.dump.log" && break
	sleep 0.05
done
if grep -q "paused at after-pages" "$work/killed.dump.log"; then
	kill -9 $dpid
	wait $dpid 2>/dev/null
	finish killed
	kill -0 $srv 2>/dev/null || bad "killed: the server is gone"
else
	kill -9 $dpid 2>/dev/null
	bad "killed: the dump did not pause: $(tail -3 "$work/killed.dump.log")"
fi

# --- http.server in the tree, a keep-alive client outside
client http.server hold $p1 || exit 1
if dump_restore http.server $srv; then
	finish http.server
	if fetch $p1; then ok "http.server: a new client is served"
	else bad "http.server: a new client is not served"; fi
fi

# --- --tcp-close: the connection comes back closed, the server serves on
client tcp-close hold $p1 || exit 1
if "$CL" dump -t $srv -D "$work/img-tcp-close" --tcp-close >"$work/tcp-close.dump.log" 2>&1 &&
	"$CL" restore -D "$work/img-tcp-close" -d --tcp-close >"$work/tcp-close.restore.log" 2>&1; then
	touch "$work/tcp-close/go"
	wait_for "$work/tcp-close/result"
	if grep -q '^ok' "$work/tcp-close/result"; then
		bad "tcp-close: the old connection still answers"
	elif fetch $p1; then
		ok "tcp-close: old connection closed ($(cut -c1-50 "$work/tcp-close/result")), a new client is served"
	else
		bad "tcp-close: a new client is not served"
	fi
else
	bad "tcp-close: $(tail -2 "$work/tcp-close.dump.log" "$work/tcp-close.restore.log")"
fi
client tcp-close2 hold $p1 || exit 1
if "$CL" dump -t $srv -D "$work/img-tcp-close2" --tcp-established >"$work/tcp-close2.dump.log" 2>&1 &&
	"$CL" restore -D "$work/img-tcp-close2" -d --tcp-close >"$work/tcp-close2.restore.log" 2>&1; then
	touch "$work/tcp-close2/go"
	wait_for "$work/tcp-close2/result"
	table=$("$CL" show "$work/img-tcp-close2" --json | grep -o '"lock_table": *"[^"]*"' |
		head -1 | cut -d'"' -f4)
	if grep -q '^ok' "$work/tcp-close2/result"; then
		bad "tcp-close2: the old connection still answers"
	elif [ -z "$table" ] || nft list table inet "$table" >/dev/null 2>&1; then
		bad "tcp-close2: the lock ('$table') is not gone"
	elif fetch $p1; then
		ok "tcp-close2: restored closed, lock $table gone, a new client is served"
	else
		bad "tcp-close2: a new client is not served"
	fi
else
	bad "tcp-close2: $(tail -2 "$work/tcp-close2.dump.log" "$work/tcp-close2.restore.log")"
fi
kill -9 $srv 2>/dev/null

# --- a client in the tree, http.server outside
p2=$((port + 1))
start_http_server $p2 || exit 1
mkdir -p "$work/client"
"$PY" "$CLIENT" hold 127.0.0.1 $p2 page.txt "$work/www/page.txt" "$work/client" \
	</dev/null >"$work/client/log" 2>&1 &
cpid=$!
pids="$pids $cpid"
disown $cpid
if wait_for "$work/client/ready" && dump_restore client $cpid; then
	finish client
else
	bad "client: not ready or not restored: $(cat "$work/client/result" 2>/dev/null)"
fi
kill -9 $srv 2>/dev/null

# --- busybox httpd, a process per connection, two clients half-way
p3=$((port + 2))
(cd "$work/www" && exec "$BB" httpd -f -p 127.0.0.1:$p3 -h "$work/www" \
	</dev/null >"$work/httpd.log" 2>&1) &
hpid=$!
pids="$pids $hpid"
disown $hpid
wait_port $p3 || bad "httpd did not start"
client httpd-a partial $p3 && client httpd-b partial $p3
# both connections have their httpd child
for _ in $(seq 1 100); do
	[ "$(pgrep -c -P $hpid)" -ge 2 ] && break
	sleep 0.05
done
if dump_restore httpd $hpid; then
	finish httpd-a
	finish httpd-b
	if fetch $p3; then ok "httpd: a new client is served"
	else bad "httpd: a new client is not served"; fi
fi

# --- a peer that keeps writing across dump and restore: the network lock
# sink NAME PORT: tcp-sink.py in the tree, a stream client outside
sink() {
	"$PY" "$SINK" "$2" </dev/null >"$work/sink.$1.log" 2>&1 &
	spid=$!
	pids="$pids $spid"
	disown $spid
	wait_port_once "$2" || { bad "$1: the sink did not start"; return 1; }
	client "$1" stream "$2"
}
# wait_port_once PORT: a listener is there (no connection made: the sink
# takes one connection only)
wait_port_once() {
	for _ in $(seq 1 200); do
		ss -Htln "sport = :$1" 2>/dev/null | grep -q . && return 0
		sleep 0.05
	done
	return 1
}
if command -v nft >/dev/null; then
	p4=$((port + 3))
	# down 2 s: the peer's retransmissions (200 ms, 600 ms, 1.4 s after
	# the dump's socket lock) come while the tree is down
	if sink netlock $p4 && down=2 dump_restore netlock $spid; then
		sleep 0.5	# lines go on arriving at the restored sink
		finish netlock
		table=$("$CL" show "$work/img-netlock" --json | grep -o '"lock_table": *"[^"]*"' |
			head -1 | cut -d'"' -f4)
		if [ -z "$table" ]; then
			bad "netlock: the images name no lock table"
		elif nft list table inet "$table" >/dev/null 2>&1; then
			bad "netlock: restore left the lock (table inet $table)"
		else
			ok "netlock: the lock (table inet $table) was there and is gone"
		fi
	fi
	kill -9 $spid 2>/dev/null
	# the same without the lock: the peer is reset
	p5=$((port + 4))
	if sink netlock-skip $p5 &&
		down=2 dump_restore netlock-skip $spid --network-lock skip; then
		sleep 0.5
		touch "$work/netlock-skip/go"
		wait_for "$work/netlock-skip/result"
		if grep -q '^ok' "$work/netlock-skip/result"; then
			bad "netlock-skip: the peer was not reset without the lock: the netlock case proves nothing"
		else
			ok "netlock-skip: without the lock the peer fails: $(cut -c1-60 "$work/netlock-skip/result")"
		fi
	fi
	kill -9 $spid 2>/dev/null
	# criu-lite killed with the lock in place: the guard removes it
	p6=$((port + 5))
	if sink lock-killed $p6; then
		CRIU_LITE_PAUSE=after-commit "$CL" dump -t $spid -D "$work/img-lock-killed" \
			--tcp-established >"$work/lock-killed.dump.log" 2>&1 &
		dpid=$!
		for _ in $(seq 1 200); do
			grep -q "paused at after-commit" "$work/lock-killed.dump.log" && break
			sleep 0.05
		done
		if grep -q "paused at after-commit" "$work/lock-killed.dump.log" &&
			nft list tables | grep -q "criu_lite_${dpid}_"; then
			kill -9 $dpid
			wait $dpid 2>/dev/null
			for _ in $(seq 1 100); do
				nft list tables | grep -q "criu_lite_${dpid}_" || break
				sleep 0.05
			done
			if nft list tables | grep -q "criu_lite_${dpid}_"; then
				bad "lock-killed: the guard left the lock: $(nft list tables | grep "criu_lite_${dpid}_")"
			else
				sleep 0.3
				finish lock-killed
			fi
		else
			kill -9 $dpid 2>/dev/null
			bad "lock-killed: no pause with the lock in place: $(tail -3 "$work/lock-killed.dump.log")"
		fi
	fi
	kill -9 $spid 2>/dev/null
else
	bad "netlock: nft is missing (make deps: nftables)"
fi

echo "tcp-apps: $pass passed, $fail failed"
[ $fail = 0 ]

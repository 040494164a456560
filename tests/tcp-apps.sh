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
# Run under build/tests/subreaper. Usage: tests/tcp-apps.sh BUILD_DIR
set -u
B=${1:-build}
CL=$(realpath "$B/criu-lite")
PY=/usr/bin/python3
BB=$(command -v busybox || true)
CLIENT=$(realpath "$(dirname "$0")/tools/tcp-client.py")
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-tcp.XXXXXX")
port=$((20000 + $$ % 20000))
pass=0 fail=0 pids=""
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

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

# dump_restore NAME PID: dump with --tcp-established (tree killed), restore
dump_restore() {
	rm -rf "$work/img-$1"
	if ! "$CL" dump -t "$2" -D "$work/img-$1" --tcp-established \
		>"$work/$1.dump.log" 2>&1; then
		bad "$1: dump failed: $(tail -3 "$work/$1.dump.log")"; return 1
	fi
	kill -0 "$2" 2>/dev/null && { bad "$1: the tree runs on after the dump"; return 1; }
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

echo "tcp-apps: $pass passed, $fail failed"
[ $fail = 0 ]

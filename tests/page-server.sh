#!/bin/bash
# Pages over the network, CRIU's way: criu-lite page-server runs on
# "another host" (a network namespace joined to this one by a veth pair)
# and receives what dump --page-server --address --port sends; the dump
# writes no pages locally. Target: zdtm's mem_1g (patterned memory; told
# to check itself with SIGTERM, it prints PASS or FAIL).
#   veth-push      pages and pagemaps arrive on the other side, none here;
#                  the two directories together restore, the target PASSes
#   flipped        one byte changed on the way (CRIU_LITE_FAULT=xfer-flip):
#                  the server refuses it naming the page, keeps nothing,
#                  the dump fails, the target runs on unharmed, and the
#                  checkpoint already in the server's DIR is untouched
#   server-killed  the page server SIGKILLed during the transfer: the dump
#                  fails saying so, the target runs on unharmed
#   dump-killed    the dump SIGKILLed during the transfer: the server says
#                  the client went away and keeps nothing (DIR as it was,
#                  no staging directory left), the target runs on
#   stray          a connection that is not criu-lite's (garbage) is
#                  ignored; the next, real dump is served
#   lazy-pull      restore --lazy-pages --page-server from the other side
#                  (the PULL mode of the same server)
# Run under build/tests/subreaper, as root. Usage: tests/page-server.sh B
set -u
B=${1:-build}
CL=$(readlink -f "$B/criu-lite")
HOG=$(readlink -f "$B/zdtm/static/mem_1g")
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-ps.XXXXXX")
ns=clps$$
n=$(( $$ % 200 + 20 ))
HERE=10.$n.0.1 THERE=10.$n.0.2
port=$((20000 + $$ % 20000))
pass=0 fail=0 pid= srv=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	[ -n "$srv" ] && kill -9 "$srv" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	ip link del "v$ns" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

# the other host
ip netns add "$ns" && ip link add "v$ns" type veth peer name "w$ns" &&
	ip link set "w$ns" netns "$ns" &&
	ip addr add "$HERE/24" dev "v$ns" && ip link set "v$ns" up &&
	ip -n "$ns" addr add "$THERE/24" dev "w$ns" &&
	ip -n "$ns" link set "w$ns" up && ip -n "$ns" link set lo up ||
	{ echo "page-server: can't make the network namespace"; exit 1; }

start_hog() {
	: >"$work/hog.out"
	ZDTM_MEM_MB=${HOG_MB:-256} "$HOG" </dev/null >>"$work/hog.out" 2>&1 &
	pid=$!
	for _ in $(seq 1 200); do grep -q READY "$work/hog.out" && return 0; sleep 0.05; done
	echo "mem_1g did not start"; return 1
}

# hog_ok: the target checks itself and says PASS
hog_ok() {
	kill -TERM "$pid"
	for _ in $(seq 1 200); do grep -q "^PASS\|^FAIL" "$work/hog.out" && break; sleep 0.05; done
	grep -q "^PASS" "$work/hog.out"
	local r=$?
	wait "$pid" 2>/dev/null
	pid=
	return $r
}

# server DIR: the page server on the other host, in the background
server() {
	ip netns exec "$ns" "$CL" page-server -D "$1" --address "$THERE" \
		--port "$port" >"$work/server.log" 2>&1 &
	srv=$!
	for _ in $(seq 1 100); do
		ip netns exec "$ns" ss -ltn 2>/dev/null | grep -q ":$port " && return 0
		sleep 0.05
	done
	return 0
}

wait_server() {
	local t=0
	while kill -0 "$srv" 2>/dev/null && [ $t -lt 200 ]; do sleep 0.05; t=$((t + 1)); done
	wait "$srv" 2>/dev/null
	local r=$?
	srv=
	return $r
}

dump_ps() {
	"$CL" dump -t "$pid" -D "$1" --page-server --address "$THERE" --port "$port" "${@:2}"
}

# veth-push
start_hog || exit 1
server "$work/there"
if dump_ps "$work/here" >"$work/dump.log" 2>&1 && wait_server; then
	wait "$pid" 2>/dev/null
	if ls "$work/here" | grep -q "^pages-\|^pagemap-"; then
		bad "veth-push: pages written locally: $(ls "$work/here")"
	elif ! ls "$work/there" | grep -q "^pagemap-$pid.img$" ||
	     [ ! -s "$work/there/pages-1.img" ]; then
		bad "veth-push: no pages on the other side: $(ls "$work/there")"
	else
		cp "$work/here"/*.img "$work/there/"
		if "$CL" restore -D "$work/there" -d >"$work/restore.log" 2>&1 &&
		   hog_ok; then
			ok "veth-push: $(grep -o 'kept.*checked)' "$work/server.log")"
		else
			bad "veth-push: restore"; cat "$work/restore.log" "$work/hog.out"
		fi
	fi
else
	bad "veth-push: dump"; cat "$work/dump.log" "$work/server.log"
fi
[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; pid=

# a checkpoint already on the other side, that failures must not touch
mkdir -p "$work/keep" && cp "$work/there"/* "$work/keep/"
sum_keep=$(cd "$work/keep" && md5sum * | md5sum)

kept_intact() {
	[ "$(cd "$work/keep" && md5sum * | md5sum)" = "$sum_keep" ] &&
		! ls -A "$work/keep" | grep -q "^\.incoming"
}

# flipped
start_hog || exit 1
server "$work/keep"
if CRIU_LITE_FAULT=xfer-flip dump_ps "$work/f" >"$work/dump.log" 2>&1; then
	bad "flipped: the dump succeeded"
elif wait_server; then
	bad "flipped: the server kept it"; cat "$work/server.log"
elif ! grep -q "does not match its checksum" "$work/server.log" ||
     ! grep -q "refused: .*does not match its checksum" "$work/dump.log"; then
	bad "flipped: no checksum message"; cat "$work/dump.log" "$work/server.log"
elif ! kept_intact; then
	bad "flipped: the server's DIR changed: $(ls -A "$work/keep")"
elif [ -e "$work/f" ]; then
	bad "flipped: the failed dump left $work/f"
elif ! hog_ok; then
	bad "flipped: the target is harmed"
else
	ok "flipped: $(grep -o 'refused.*' "$work/dump.log" | head -1)"
fi
[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; pid=

# server-killed: 1 GiB, so that the kill lands during the transfer
HOG_MB=1024 start_hog || exit 1
server "$work/keep"
(exec "$CL" dump -t "$pid" -D "$work/sk" --page-server --address "$THERE" \
	--port "$port" --no-sync >"$work/dump.log" 2>&1) &
dpid=$!
sleep 0.3
kill -9 "$srv"; wait "$srv" 2>/dev/null; srv=
if wait "$dpid"; then
	bad "server-killed: the dump succeeded"
elif ! kill -0 "$pid" 2>/dev/null || ! hog_ok; then
	bad "server-killed: the target is harmed"
elif ! grep -q "page server" "$work/dump.log"; then
	bad "server-killed: the error does not name the page server"; cat "$work/dump.log"
else
	ok "server-killed: $(grep -o 'Error: .*' "$work/dump.log" | head -1)"
fi
[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; pid=
rm -rf "$work/keep"/.incoming-* 2>/dev/null	# the killed server's own

# dump-killed
HOG_MB=1024 start_hog || exit 1
server "$work/keep"
(exec "$CL" dump -t "$pid" -D "$work/dk" --page-server --address "$THERE" \
	--port "$port" --no-sync >"$work/dump.log" 2>&1) &
dpid=$!
sleep 0.3
kill -9 "$dpid"; wait "$dpid" 2>/dev/null
if wait_server; then
	bad "dump-killed: the server kept it"; cat "$work/server.log"
elif ! grep -q "went away\|stopped before" "$work/server.log"; then
	bad "dump-killed: the server does not say why"; cat "$work/server.log"
elif ! kept_intact; then
	bad "dump-killed: the server's DIR changed: $(ls -A "$work/keep")"
elif ! hog_ok; then
	bad "dump-killed: the target is harmed"
else
	ok "dump-killed: $(grep -o 'page-server: .*' "$work/server.log" | tail -1)"
fi
[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; pid=

# stray, then a real dump, pulled back lazily (lazy-pull)
start_hog || exit 1
server "$work/s"
ip netns exec "$ns" true
printf 'GET / HTTP/1.0\r\n\r\n' >"/dev/tcp/$THERE/$port" 2>/dev/null
sleep 0.2
if ! dump_ps "$work/s-here" >"$work/dump.log" 2>&1 || ! wait_server; then
	bad "stray: the real dump was not served"; cat "$work/dump.log" "$work/server.log"
else
	wait "$pid" 2>/dev/null
	ok "stray: $(grep -o 'not a criu-lite client.*' "$work/server.log")"
	server "$work/s"
	cp "$work/s"/pagemap-*.img "$work/s-here/"
	if "$CL" restore -D "$work/s-here" -d --lazy-pages \
		--page-server "$THERE:$port" >"$work/lazy.log" 2>&1 && hog_ok; then
		ok "lazy-pull"
	else
		bad "lazy-pull"; cat "$work/lazy.log" "$work/server.log" "$work/hog.out"
	fi
	wait_server
fi
[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; pid=

echo "page-server: $pass passed, $fail failed"
[ "$fail" = 0 ]

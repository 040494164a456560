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
#   run-sum        a run's checksum changed in the pagemap sent
#                  (CRIU_LITE_FAULT=xfer-run-sum; its pages' checksums are
#                  not sent again: the server folds those they arrived
#                  with): refused as flipped, DIR and the target intact
#   server-killed  the page server SIGKILLed during the transfer: the dump
#                  fails saying so, the target runs on unharmed
#   server-stopped the page server SIGSTOPped during the transfer, the
#                  dump SIGTERMed: it stops at once saying so (it waited
#                  for the server before), the target runs on unharmed,
#                  the server's DIR untouched
#   server-stopped-timeout  the same, no signal: dump --idle-timeout 2
#                  gives up by itself, naming the page server, the target
#                  runs on unharmed, the server's DIR untouched (it waited
#                  for the server for as long as it was stopped before)
#   silent-server  a page server that takes the connection and never
#                  greets (tests/tools/silent-peer.py): dump and pre-dump
#                  --idle-timeout 1 give up, naming HOST:PORT and the
#                  greeting, before the freeze; DIR not made, the target
#                  runs on unharmed (they waited for ever before)
#   connect-timeout  a page server whose accept queue is full (its SYNs
#                  dropped): the connect gives up after --idle-timeout 1
#                  (it waited ~2 min of SYN retries before)
#   pull-idle      page-server --idle-timeout 1 and a client that asks for
#                  pages (PULL hello) and then nothing: dropped, the server
#                  exits saying so (it waited for ever before)
#   dump-killed    the dump SIGKILLed during the transfer: the server says
#                  the client went away and keeps nothing (DIR as it was,
#                  no staging directory left), the target runs on
#   big-entry      a pagemap entry longer than the server's buffer (40
#                  MiB): refused naming its size, the server exits 1 (it
#                  overflowed its buffer before)
#   stray          a connection that is not criu-lite's (garbage) is
#                  ignored; the next, real dump is served
#   lazy-pull      restore --lazy-pages --page-server from the other side
#                  (the PULL mode of the same server)
#   loopback       page-server without --address listens on 127.0.0.1 only
# With TLS (throw-away certificates, tests/tls-certs.sh), one page server
# (--port 0: it says which; --idle-timeout 1) that refuses, each with a
# message on both sides, then serves the real dump:
#   tls-no-cert    a TLS peer without a certificate (openssl s_client)
#   tls-other-ca   a dump whose certificate another CA signed
#   tls-plain      a dump without --tls
#   tls-garbage    bytes that are not TLS
#   tls-idle       a connection that says nothing: dropped after 1 s
#   tls-too-many   ten idle connections at once: the oldest dropped, the
#                  real dump still served
#   tls-push       the dump over TLS; restored with --verify, PASSes
#   tls-server-ca  a page server whose certificate another CA signed: the
#                  dump refuses it, the target runs on
#   tls-layers     pre-dump, pre-dump --prev-images-dir, dump
#                  --prev-images-dir --track-mem, each to a page server
#                  over TLS: the other side holds the three layers linked
#                  by DIR/parent and restores them with --verify
# Run under build/tests/subreaper, as root. Usage: tests/page-server.sh B
set -u
B=${1:-build}
. "$(dirname "$0")/proc-lib.sh"
CL=$(readlink -f "$B/criu-lite")
HOG=$(readlink -f "$B/zdtm/static/mem_1g")
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-ps.XXXXXX")
ns=clps$$
PEER_RUN="ip netns exec $ns"	# silent_peer's listener: on the other host
n=$(( $$ % 200 + 20 ))
HERE=10.$n.0.1 THERE=10.$n.0.2
port=$((20000 + $$ % 20000))
pass=0 fail=0 pid= srv= cli=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	[ -n "$srv" ] && kill -9 "$srv" 2>/dev/null
	[ -n "$cli" ] && kill -9 "$cli" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	ip link del "v$ns" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

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
		--port "$port" "${@:2}" >"$work/server.log" 2>&1 &
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

# dump_to_stopped ARGS...: a 1 GiB target dumped --no-sync ARGS to a page
# server into keep, in the background ($dpid); the server SIGSTOPped once
# the dump's page phase began (the dump blocks on the connection)
dump_to_stopped() {
	HOG_MB=1024 start_hog || exit 1
	server "$work/keep"
	rm -f "$work/ss.fd"
	(exec "$CL" dump -t "$pid" -D "$work/ss" --page-server --address "$THERE" \
		--port "$port" --no-sync "$@" --progress-fd 3 3>"$work/ss.fd" \
		>"$work/dump.log" 2>&1) &
	dpid=$!
	for _ in $(seq 1 400); do grep -q "^phase=dump-pages" "$work/ss.fd" 2>/dev/null && break; sleep 0.02; done
	kill -STOP "$srv"
}

# stopped_end NAME WORDS: that dump ends by itself (gone_within), failing
# and saying WORDS; the stopped server is killed (its half transfer, in
# its DIR/.incoming-PID, is its own); the target runs on unharmed, the
# server's DIR is untouched
stopped_end() {
	local gone=0
	gone_within "$1: the dump" "$dpid" || gone=1
	kill -9 "$srv" 2>/dev/null; kill -CONT "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; srv=
	rm -rf "$work/keep"/.incoming-* 2>/dev/null
	if [ $gone = 1 ]; then
		wait "$dpid" 2>/dev/null
	elif wait "$dpid"; then
		echo "SKIP $1: the dump was complete before the server stopped"
	elif ! grep -q "$2" "$work/dump.log"; then
		bad "$1: the dump does not say why it stopped"; cat "$work/dump.log"
	elif ! kill -0 "$pid" 2>/dev/null || ! hog_ok; then
		bad "$1: the target is harmed"
	elif ! kept_intact; then
		bad "$1: the server's DIR changed: $(ls -A "$work/keep")"
	else
		ok "$1: $(grep -o "$2.*" "$work/dump.log" | head -1)"
	fi
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; pid=
}

# gives_up NAME LOG WORDS CMD...: CMD fails by itself (not held: 60 s at
# most), saying WORDS
gives_up() {
	local r
	timeout 60 "${@:4}" >"$2" 2>&1
	r=$?
	if [ $r = 124 ]; then
		bad "$1: still waits after 60 s"
	elif [ $r = 0 ]; then
		bad "$1: succeeded"
	elif ! grep -q "$3" "$2"; then
		bad "$1: does not say \"$3\""; cat "$2"
	else
		return 0
	fi
	return 1
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

# refused_on_the_way NAME FAULT SAID: a dump to the server with
# CRIU_LITE_FAULT=FAULT is refused, the server's log saying SAID (a grep
# pattern) and the dump "refused: ...SAID"; the server's DIR, the dump's
# own DIR and the target as they were
refused_on_the_way() {
	start_hog || exit 1
	server "$work/keep"
	if CRIU_LITE_FAULT=$2 dump_ps "$work/f" >"$work/dump.log" 2>&1; then
		bad "$1: the dump succeeded"
	elif wait_server; then
		bad "$1: the server kept it"; cat "$work/server.log"
	elif ! grep -q "$3" "$work/server.log" ||
	     ! grep -q "refused: .*$3" "$work/dump.log"; then
		bad "$1: no message saying \"$3\""; cat "$work/dump.log" "$work/server.log"
	elif ! kept_intact; then
		bad "$1: the server's DIR changed: $(ls -A "$work/keep")"
	elif [ -e "$work/f" ]; then
		bad "$1: the failed dump left $work/f"
	elif ! hog_ok; then
		bad "$1: the target is harmed"
	else
		ok "$1: $(grep -o 'refused.*' "$work/dump.log" | head -1)"
	fi
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; pid=
}

refused_on_the_way flipped xfer-flip "does not match its checksum"
# the pages arrive as sent, but a run's checksum in the pagemap (the fold
# of its pages' checksums, which are not sent again) differs
refused_on_the_way run-sum xfer-run-sum "not those the sender stored: corrupted on the way"

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

# server-stopped: the page server SIGSTOPped once the dump's page phase
# began (the dump blocks on the connection), then the dump SIGTERMed: it
# stops (not held until the server comes back), says so, the target runs
# on unharmed
dump_to_stopped
sleep 1
kill -TERM "$dpid"
stopped_end server-stopped "dump interrupted by signal 15"

# server-stopped-timeout: as above, the dump left to itself
dump_to_stopped --idle-timeout 2
stopped_end server-stopped-timeout "page server $THERE:$port.* for 2 s"

# silent-server: dump and pre-dump, before the freeze
start_hog || exit 1
silent_peer "$work/peer.out" listen "$THERE" "$port"
srv=$peer_pid
for cmd in dump pre-dump; do
	if gives_up "silent-server: $cmd" "$work/dump.log" \
		"page server $THERE:$port: no answer to the greeting for 1 s" \
		"$CL" $cmd -t "$pid" -D "$work/sil" --page-server --address "$THERE" \
		--port "$port" --idle-timeout 1; then
		if [ -e "$work/sil" ]; then
			bad "silent-server: $cmd left $work/sil"
		elif [ "$(awk '{ print $3 }' /proc/$pid/stat)" = t ]; then
			bad "silent-server: $cmd left the target stopped"
		else
			ok "silent-server: $cmd: $(grep -o 'no answer to the greeting.*' "$work/dump.log")"
		fi
	fi
done
hog_ok || bad "silent-server: the target is harmed"
kill -9 "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; srv=

# connect-timeout
start_hog || exit 1
silent_peer "$work/peer.out" full "$THERE" "$port"
srv=$peer_pid
gives_up connect-timeout "$work/dump.log" "page server $THERE:$port: connect: no answer for 1 s" \
	"$CL" dump -t "$pid" -D "$work/sil" --page-server --address "$THERE" \
	--port "$port" --idle-timeout 1 &&
	ok "connect-timeout: $(grep -o 'connect: no answer.*' "$work/dump.log")"
hog_ok || bad "connect-timeout: the target is harmed"
kill -9 "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; srv=

# pull-idle
server "$work/keep" --idle-timeout 1
silent_peer "$work/peer.out" connect "$THERE" "$port" 1
cli=$peer_pid
if ! gone_within "pull-idle: the server (a silent client)" "$srv"; then
	:
elif wait "$srv"; then
	bad "pull-idle: the server says it served the client"
elif ! grep -q "the client .* asked nothing (or took nothing) for 1 s" "$work/server.log"; then
	bad "pull-idle: the server does not say why"; cat "$work/server.log"
else
	ok "pull-idle: $(grep -o 'the client.*' "$work/server.log" | head -1)"
fi
kill -9 "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; srv=
kill -9 "$cli" 2>/dev/null; wait "$cli" 2>/dev/null; cli=

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
		--page-server --address "$THERE" --port "$port" >"$work/lazy.log" 2>&1 && hog_ok; then
		ok "lazy-pull"
	else
		bad "lazy-pull"; cat "$work/lazy.log" "$work/server.log" "$work/hog.out"
	fi
	wait_server
fi
[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; pid=


# big-entry: a pagemap entry longer than the server's message buffer
# (8 MiB; the header may say up to 64): refused with its size, no crash
server "$work/big"
if ! python3 - "$THERE" "$port" "$(sed -n 's/^#define XP_VERSION[[:space:]]*\([0-9]*\).*/\1/p' \
	"$(dirname "$0")/../criu-lite/xfer-proto.h")" >"$work/big.log" 2>&1 <<'PY'
import socket, struct, sys
sk = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
sk.sendall(struct.pack("<IHH", 0x58504C43, int(sys.argv[3]), 2))
st, n = struct.unpack("<II", sk.recv(8, socket.MSG_WAITALL))
sk.recv(n, socket.MSG_WAITALL)
size = 40 << 20
sk.sendall(struct.pack("<IIQQ", 2, 1, 0, 0))       # X_PM_BEGIN 1
sk.sendall(struct.pack("<IIQQ", 3, 0, 0, size))    # X_PM_ENTRY
try:
    sk.sendall(b"A" * size)
except OSError:
    pass
PY
then
	bad "big-entry: the client could not talk to the server"; cat "$work/big.log"
fi
wait_server; r=$?
if [ "$r" -ne 1 ] || ! grep -q "an entry of 41943040 bytes: too large" "$work/server.log"; then
	bad "big-entry: the server exited $r: $(tail -2 "$work/server.log")"
else
	ok "big-entry: $(grep -o 'an entry of.*' "$work/server.log" | head -1)"
fi

# loopback: no --address, no other interface
ip netns exec "$ns" "$CL" page-server -D "$work/lo" --port "$port" \
	>"$work/server.log" 2>&1 &
srv=$!
for _ in $(seq 1 100); do
	ip netns exec "$ns" ss -ltn 2>/dev/null | grep -q ":$port " && break
	sleep 0.05
done
listen=$(ip netns exec "$ns" ss -ltnH "sport = :$port" | awk '{ print $4 }')
if [ "$listen" = "127.0.0.1:$port" ]; then
	ok "loopback: listens on $listen"
else
	bad "loopback: listens on \"$listen\""
fi
kill -9 "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; srv=

K=$work/certs
"$(dirname "$0")/tls-certs.sh" "$K" "$THERE" ||
	{ bad "tls: can't make certificates (openssl)"; K=; }
TLS=(--tls --tls-cacert "$K/ca.pem" --tls-cert "$K/cert.pem" --tls-key "$K/key.pem")
OTHER=(--tls --tls-cacert "$K/ca.pem" --tls-cert "$K/other-cert.pem"
       --tls-key "$K/other-key.pem")

# tls_server DIR [ARGS]: a page server on the other host, port 0 ($tport)
tls_server() {
	: >"$work/server.log"	# not the last server's port
	ip netns exec "$ns" "$CL" page-server -D "$1" --address "$THERE" \
		--port 0 "${@:2}" >"$work/server.log" 2>&1 &
	srv=$!
	tport=
	for _ in $(seq 1 100); do
		tport=$(grep -o "on $THERE:[0-9]*" "$work/server.log" | cut -d: -f2)
		[ -n "$tport" ] && return 0
		sleep 0.05
	done
	echo "no port from the page server: $(cat "$work/server.log")"
}

dump_tls() {
	"$CL" dump -t "$pid" -D "$1" --page-server --address "$THERE" \
		--port "$tport" "${@:2}"
}

# say_both NAME CLIENT-LOG CLIENT-WORDS SERVER-WORDS: both sides said why
say_both() {
	if [ -n "$3" ] && ! grep -q "$3" "$2"; then
		bad "$1: the client does not say \"$3\""; cat "$2"
	elif ! grep -q "$4" "$work/server.log"; then
		bad "$1: the server does not say \"$4\""; cat "$work/server.log"
	else
		ok "$1: $(grep -o "$4.*" "$work/server.log" | tail -1)"
	fi
}

[ -n "$K" ] && HOG_MB=64 start_hog && tls_server "$work/t" "${TLS[@]}" --idle-timeout 1
if [ -n "$K" ] && [ -n "$tport" ]; then
	timeout 10 openssl s_client -ign_eof -connect "$THERE:$tport" -CAfile "$K/ca.pem" \
		</dev/null >"$work/c.log" 2>&1
	sleep 0.2
	say_both tls-no-cert "$work/c.log" "alert certificate required" "no certificate signed by our CA"
	dump_tls "$work/t-here" "${OTHER[@]}" -R >"$work/c.log" 2>&1
	say_both tls-other-ca "$work/c.log" "refused by the peer" "no certificate signed by our CA"
	dump_tls "$work/t-here" -R >"$work/c.log" 2>&1
	say_both tls-plain "$work/c.log" "requires TLS" "client without TLS"
	printf 'GET / HTTP/1.0\r\n\r\n' >"/dev/tcp/$THERE/$tport" 2>/dev/null
	sleep 0.3
	say_both tls-garbage /dev/null "" "does not speak TLS"
	exec 7<>"/dev/tcp/$THERE/$tport"
	sleep 1.6
	exec 7>&-
	say_both tls-idle /dev/null "" "said nothing for 1 s"
	for fd in 10 11 12 13 14 15 16 17 18 19; do
		eval "exec $fd<>/dev/tcp/$THERE/$tport"
	done
	sleep 0.1
	if dump_tls "$work/t-here" "${TLS[@]}" >"$work/dump.log" 2>&1 && wait_server; then
		say_both tls-too-many /dev/null "" "too many connections"
		wait "$pid" 2>/dev/null
		cp "$work/t-here"/*.img "$work/t/"
		if "$CL" restore -D "$work/t" -d --verify >"$work/restore.log" 2>&1 &&
		   hog_ok; then
			ok "tls-push: $(grep -o 'verify.*' "$work/restore.log")"
		else
			bad "tls-push: restore"; cat "$work/restore.log" "$work/hog.out"
		fi
	else
		bad "tls-push: the dump"; cat "$work/dump.log" "$work/server.log"
	fi
	for fd in 10 11 12 13 14 15 16 17 18 19; do eval "exec $fd>&-"; done
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; pid=
	[ -n "$srv" ] && kill -9 "$srv" 2>/dev/null; srv=

	# tls-server-ca
	HOG_MB=16 start_hog || exit 1
	tls_server "$work/t2" --tls --tls-cacert "$K/ca.pem" \
		--tls-cert "$K/other-cert.pem" --tls-key "$K/other-key.pem"
	if dump_tls "$work/t2-here" "${TLS[@]}" >"$work/c.log" 2>&1; then
		bad "tls-server-ca: the dump went to it"
	else
		sleep 0.2
		say_both tls-server-ca "$work/c.log" "issuer is unknown" "refused by the peer"
		hog_ok || bad "tls-server-ca: the target is harmed"
	fi
	kill -9 "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; srv=
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; pid=

	# tls-layers
	HOG_MB=64 start_hog || exit 1
	L=$work/layers-here R=$work/layers-there
	mkdir -p "$L" "$R"
	lerr=
	for n in 1 2 3; do
		tls_server "$R/$n" "${TLS[@]}"
		case $n in
		1) args=(pre-dump) ;;
		2) args=(pre-dump --prev-images-dir ../1) ;;
		3) args=(dump --prev-images-dir ../2 --track-mem) ;;
		esac
		"$CL" "${args[@]}" -t "$pid" -D "$L/$n" --page-server --address "$THERE" \
			--port "$tport" "${TLS[@]}" >"$work/l$n.log" 2>&1 && wait_server ||
			{ lerr="layer $n: $(cat "$work/l$n.log" "$work/server.log")"; break; }
	done
	if [ -n "$lerr" ]; then
		bad "tls-layers: $lerr"
	elif [ "$(readlink "$R/3/parent")" != ../2 ] || [ "$(readlink "$R/2/parent")" != ../1 ]; then
		bad "tls-layers: no parent links on the other side: $(ls -l "$R"/*)"
	elif ls "$L"/* | grep -q "^pages-"; then
		bad "tls-layers: pages written here"
	else
		wait "$pid" 2>/dev/null
		for f in "$L/3"/*.img; do
			[ -e "$R/3/${f##*/}" ] || cp "$f" "$R/3/"
		done
		if "$CL" restore -D "$R/3" -d --verify >"$work/restore.log" 2>&1 && hog_ok; then
			ok "tls-layers: $(grep -o 'verify.*' "$work/restore.log"); layer 3 $(grep -o 'kept.*checked)' "$work/server.log")"
		else
			bad "tls-layers: restore"; cat "$work/restore.log" "$work/hog.out"
		fi
	fi
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; pid=
fi

echo "page-server: $pass passed, $fail failed"
[ "$fail" = 0 ]

#!/bin/sh
# Lazy restore, from local images and from a page server: the target
# (zdtm's mem_1g with 256 MiB of patterned memory) resumes at once and,
# told to check itself (SIGTERM), prints PASS.
# The page-server case restores from a directory WITHOUT pages-1.img.
# The same two from compressed dumps (dump --compress zstd, lz4): the
# daemon and the page server decompress frame by frame as pages are asked.
# A copy into the process cut half way (partial-copy) is finished later.
# Then the same two with one flipped byte in the lazily restored memory:
# the page never reaches the process, which is killed by the lazy-pages
# daemon (a message names the page, its address and pid, or for a
# compressed dump the frame of the pages image), and nothing is left
# running.
# An unreachable page server, and a dump --lazy-pages with no lazy-pages
# daemon on DIR, are refused saying what to start. A silent one (takes
# the connection, never greets: tests/tools/silent-peer.py) is given up
# after the page source's 5 s, plain and with --tls (whose handshake
# waited for ever before), nothing created. That dump's progress
# lines stay a second apart after it was held (SIGSTOP) for 3 s; SIGTERM
# before any destination asked for a page ends its serving at once, the
# tree running on here.
# Run under build/tests/subreaper. Usage: tests/lazy-remote.sh BUILD_DIR
set -u
B=${1:-build}
CL=$B/criu-lite
HOG=$B/zdtm/static/mem_1g
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-lazy.XXXXXX")
pass=0 fail=0 pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$work"' EXIT

start_hog() {
	: >"$work/hog.out"
	ZDTM_MEM_MB=${HOG_MB:-256} "$HOG" </dev/null >>"$work/hog.out" 2>&1 &
	pid=$!
	for _ in $(seq 1 200); do grep -q READY "$work/hog.out" && return 0; sleep 0.05; done
	echo "memhog did not start"; return 1
}

# check_back NAME: the restored target checks itself and says PASS (it is
# not our child any more: its exit status goes to the subreaper)
check_back() {
	kill -TERM "$pid"
	for _ in $(seq 1 200); do grep -q "^PASS\|^FAIL" "$work/hog.out" && break; sleep 0.05; done
	if grep -q "^PASS" "$work/hog.out"; then
		echo "PASS $1: $(grep -h 'restored\|all in' "$work/$1.log" | sed 's/criu-lite: //' | tr '\n' ';')"
		pass=$((pass + 1))
	else
		echo "FAIL $1: the target says: $(tail -3 "$work/hog.out")"; cat "$work/$1.log"
		fail=$((fail + 1))
	fi
	pid=
}

# dump_hog [DUMP OPTIONS]: the target dumped into $work/img
dump_hog() {
	rm -rf "$work/img"
	"$CL" dump -t "$pid" -D "$work/img" "$@" >"$work/dump.log" 2>&1 ||
		{ cat "$work/dump.log"; exit 1; }
	wait "$pid" 2>/dev/null
}

# local NAME [DUMP OPTIONS]: lazy restore from local images
local_lazy() {
	name=$1; shift
	start_hog || exit 1
	dump_hog "$@"
	"$CL" restore -D "$work/img" -d --lazy-pages --verify >"$work/$name.log" 2>&1 ||
		{ cat "$work/$name.log"; exit 1; }
	sleep 1
	check_back "$name"
}

# page_server NAME [DUMP OPTIONS]: the pages stay where they were dumped
port=$((20000 + $$ % 20000))
page_server() {
	name=$1; shift
	start_hog || exit 1
	dump_hog "$@"
	rm -rf "$work/remote" && mkdir -p "$work/remote"
	cp "$work/img"/*.img "$work/remote/" && rm "$work/remote/pages-1.img"
	"$CL" page-server -D "$work/img" --port $port --address 127.0.0.1 >"$work/server.log" 2>&1 &
	srv=$!
	sleep 0.3
	"$CL" restore -D "$work/remote" -d --lazy-pages --page-server 127.0.0.1:$port \
		>"$work/$name.log" 2>&1 || { cat "$work/$name.log" "$work/server.log"; exit 1; }
	wait $srv
	cat "$work/server.log" >>"$work/$name.log"
	check_back "$name"
}

local_lazy local
page_server page-server
local_lazy local-zstd --compress zstd
page_server page-server-lz4 --compress lz4
# a copy into the process that stops half way (EAGAIN, as the kernel's
# when the process' layout changes meanwhile, CRIU_LITE_FAULT): only the
# half that got in counts as copied, the rest comes later (it was taken
# for in once the retry found its first page there: the process read
# zeros where its memory was)
export CRIU_LITE_FAULT=uffd-partial-copy
local_lazy partial-copy
unset CRIU_LITE_FAULT

# the lazy-pages daemon killed (SIGKILL) right after the restore: the
# process must never run on with zero pages where its memory was: it is
# killed with the daemon, or (the daemon had finished) it is whole; 1 GiB
# so that the kill lands while pages are still missing, even on a busy host
HOG_MB=1024 start_hog || exit 1
"$CL" dump -t "$pid" -D "$work/kimg" >"$work/dump.log" 2>&1 || { cat "$work/dump.log"; exit 1; }
wait "$pid" 2>/dev/null
hpid=$pid killed=0 whole=0 wrong=0
for try in $(seq 1 ${LAZY_KILL_TRIES:-10}); do
	: >"$work/hog.out"
	if ! "$CL" restore -D "$work/kimg" -d --lazy-pages >"$work/k.log" 2>&1; then
		echo "FAIL daemon-killed: restore failed"; cat "$work/k.log"; wrong=$((wrong + 1)); break
	fi
	d=$(sed -n 's/.*lazy-pages daemon \([0-9]*\) .*/\1/p' "$work/k.log" | head -1)
	[ -n "$d" ] && kill -9 "$d" 2>/dev/null
	sleep 0.3
	if [ -e /proc/$hpid ] && [ "$(awk '{print $3}' /proc/$hpid/stat)" != Z ]; then
		pid=$hpid
		kill -TERM "$pid"
		for _ in $(seq 1 200); do
			grep -q "^PASS\|^FAIL" "$work/hog.out" && break
			# killed for its lost daemon after the look above
			[ -e /proc/$hpid ] && [ "$(awk '{print $3}' /proc/$hpid/stat)" != Z ] || break
			sleep 0.05
		done
		if grep -q "^PASS" "$work/hog.out"; then whole=$((whole + 1))
		elif ! grep -q "^FAIL" "$work/hog.out" &&
		     ! { [ -e /proc/$hpid ] && [ "$(awk '{print $3}' /proc/$hpid/stat)" != Z ]; }; then
			killed=$((killed + 1))
		else
			echo "daemon-killed try $try: the process ran on with wrong memory:"
			tail -3 "$work/hog.out"; wrong=$((wrong + 1)); kill -9 "$pid"; fi
	else
		killed=$((killed + 1))
	fi
	for _ in $(seq 1 300); do [ -e /proc/$hpid ] || break; sleep 0.01; done
done
pid=
if [ $wrong = 0 ] && [ $killed -gt 0 ]; then
	echo "PASS daemon-killed: killed with its daemon $killed times, whole $whole times"
	pass=$((pass + 1))
else
	echo "FAIL daemon-killed: wrong $wrong, killed $killed, whole $whole"
	fail=$((fail + 1))
fi

# flip DIR: one byte in the middle of the pages image (lazy memory)
flip() {
	sz=$(stat -c %s "$1/pages-1.img")
	printf '\125' | dd of="$1/pages-1.img" bs=1 seek=$((sz / 2 + 123)) \
		conv=notrunc 2>/dev/null
}

# check_killed NAME [MESSAGE]: the target died without saying PASS, the
# daemon named the bad page (or MESSAGE), and no daemon is left
check_killed() {
	want=${2:-"page 0x[0-9a-f]* of process [0-9]* does not match"}
	for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	if kill -0 "$pid" 2>/dev/null; then
		echo "FAIL $1: the target still runs"; fail=$((fail + 1))
	elif grep -q "^PASS" "$work/hog.out"; then
		echo "FAIL $1: the target ran on"; fail=$((fail + 1))
	elif ! grep -q "$want" "$work/$1.log"; then
		echo "FAIL $1: no message naming the page:"; cat "$work/$1.log"
		fail=$((fail + 1))
	elif pgrep -x criu-lite-lazy >/dev/null && [ -n "$(pgrep -x -P 1 criu-lite-lazy)" ]; then
		echo "FAIL $1: a lazy-pages daemon is left"; fail=$((fail + 1))
	else
		echo "PASS $1: $(grep -m1 "$want" "$work/$1.log")"
		pass=$((pass + 1))
	fi
	pid=
}

start_hog || exit 1
dump_hog
flip "$work/img"
"$CL" restore -D "$work/img" -d --lazy-pages >"$work/local-corrupt.log" 2>&1
check_killed local-corrupt

# compressed: the frame holding the flipped byte fails its checksum
start_hog || exit 1
dump_hog --compress lz4
flip "$work/img"
"$CL" restore -D "$work/img" -d --lazy-pages >"$work/local-corrupt-lz4.log" 2>&1
check_killed local-corrupt-lz4 \
	"pages-1.img: frame [0-9]* (.*) does not match its checksum in pages-index-1.img"

start_hog || exit 1
dump_hog
rm -rf "$work/remote" && mkdir -p "$work/remote"
flip "$work/img"
cp "$work/img"/*.img "$work/remote/" && rm "$work/remote/pages-1.img"
"$CL" page-server -D "$work/img" --port $port --address 127.0.0.1 >"$work/server.log" 2>&1 &
srv=$!
sleep 0.3
"$CL" restore -D "$work/remote" -d --lazy-pages --page-server 127.0.0.1:$port \
	>"$work/page-server-corrupt.log" 2>&1
check_killed page-server-corrupt
kill $srv 2>/dev/null; wait $srv 2>/dev/null

# an unreachable page server is refused before anything is created
if "$CL" restore -D "$work/remote" -d --lazy-pages --page-server 127.0.0.1:1 \
	>"$work/refused.log" 2>&1; then
	echo "FAIL unreachable: restore succeeded"; fail=$((fail + 1))
elif grep -q "no page server answers at 127.0.0.1:1: start .*criu-lite page-server" \
	"$work/refused.log"; then
	echo "PASS unreachable: $(grep answers "$work/refused.log")"; pass=$((pass + 1))
else
	echo "FAIL unreachable:"; cat "$work/refused.log"; fail=$((fail + 1))
fi

# silent-server, silent-server-tls
sport=$((port + 3))
python3 "$(dirname "$0")/tools/silent-peer.py" listen 127.0.0.1 $sport \
	>"$work/peer.out" 2>&1 &
speer=$!
for _ in $(seq 1 200); do grep -q READY "$work/peer.out" && break; sleep 0.05; done
K=$work/certs
"$(dirname "$0")/tls-certs.sh" "$K" 127.0.0.1 >/dev/null 2>&1 ||
	echo "silent-server-tls: can't make certificates (openssl)"
for mode in plain tls; do
	name=silent-server
	set --
	if [ $mode = tls ]; then
		name=silent-server-tls
		set -- --tls --tls-cacert "$K/ca.pem" --tls-cert "$K/cert.pem" \
			--tls-key "$K/key.pem"
		words="TLS handshake: nothing for 5 s"
	else
		words="page server 127.0.0.1:$sport: no greeting for 5 s"
	fi
	timeout -s KILL 60 "$CL" restore -D "$work/remote" -d --lazy-pages \
		--page-server 127.0.0.1:$sport "$@" >"$work/silent.log" 2>&1
	r=$?
	if [ $r = 137 ]; then
		echo "FAIL $name: the restore still waits after 60 s"; fail=$((fail + 1))
	elif [ $r = 0 ]; then
		echo "FAIL $name: restore succeeded"; fail=$((fail + 1))
	elif grep -q "$words" "$work/silent.log"; then
		echo "PASS $name: $(grep -o "$words.*" "$work/silent.log")"; pass=$((pass + 1))
	else
		echo "FAIL $name:"; cat "$work/silent.log"; fail=$((fail + 1))
	fi
done
kill $speer 2>/dev/null; wait $speer 2>/dev/null
# daemon-failed-restore: the standalone lazy-pages daemon, whose restore
# fails (the source, kept frozen by dump --lazy-pages, still holds its PID
# on this host), exits 1 rather than 0 ("every page of 0 processes is in");
# the dump, stopped, lets its tree go: it runs on and PASSes
HOG_MB=32 start_hog || exit 1
port=$((port + 1))
"$CL" dump -t "$pid" -D "$work/fr" --lazy-pages --address 127.0.0.1 \
	--port $port --lazy-timeout 30 >"$work/fr-dump.log" 2>&1 &
dpid=$!
for _ in $(seq 1 200); do [ -f "$work/fr/inventory.img" ] && break; sleep 0.05; done
# no-daemon: restore --lazy-pages of it with no daemon and no page server
# says what is missing and what to start, before anything is created
if "$CL" restore -D "$work/fr" -d --lazy-pages >"$work/nd.log" 2>&1; then
	echo "FAIL no-daemon: the restore succeeded"; fail=$((fail + 1))
elif grep -q "no lazy-pages daemon on $work/fr/lazy-pages.sock.*Start the lazy-pages daemon first (criu-lite lazy-pages --page-server" \
	"$work/nd.log"; then
	echo "PASS no-daemon: $(grep -o 'no lazy-pages daemon.*' "$work/nd.log" | cut -c1-100)..."
	pass=$((pass + 1))
else
	echo "FAIL no-daemon:"; cat "$work/nd.log"; fail=$((fail + 1))
fi
# progress-burst: the dump held for 3 s (SIGSTOP) while it serves: its
# progress lines stay a second apart after, not three at once to catch up
for _ in $(seq 1 100); do grep -q "postcopy: " "$work/fr-dump.log" && break; sleep 0.05; done
kill -STOP $dpid; sleep 3; kill -CONT $dpid; sleep 1.5
gaps=$(sed -n 's/.*postcopy: \([0-9.]*\) s:.*/\1/p' "$work/fr-dump.log" |
	awk 'NR > 1 && $1 - p < 0.85 { printf " %s after %s", $1, p } { p = $1 }')
n=$(grep -c "postcopy: " "$work/fr-dump.log")
if [ "$n" -lt 2 ]; then
	echo "FAIL progress-burst: $n progress lines:"; cat "$work/fr-dump.log"; fail=$((fail + 1))
elif [ -n "$gaps" ]; then
	echo "FAIL progress-burst: lines less than a second apart:$gaps"; fail=$((fail + 1))
else
	echo "PASS progress-burst: $n lines, a second apart at least"; pass=$((pass + 1))
fi
"$CL" lazy-pages --page-server --address 127.0.0.1 --port $port -D "$work/fr" \
	--lazy-timeout 10 >"$work/frd.log" 2>&1 &
lpid=$!
for _ in $(seq 1 200); do [ -S "$work/fr/lazy-pages.sock" ] && break; sleep 0.05; done
"$CL" restore -D "$work/fr" -d --lazy-pages >"$work/fr-restore.log" 2>&1
rrc=$?
wait $lpid
lrc=$?
kill -TERM $dpid 2>/dev/null; wait $dpid 2>/dev/null
if [ $rrc = 0 ]; then
	echo "FAIL daemon-failed-restore: the restore succeeded under a taken PID"
	fail=$((fail + 1))
elif [ $lrc = 0 ]; then
	echo "FAIL daemon-failed-restore: the daemon exited 0:"; cat "$work/frd.log"
	fail=$((fail + 1))
elif ! grep -q "without handing over" "$work/frd.log"; then
	echo "FAIL daemon-failed-restore: the daemon does not say why:"; cat "$work/frd.log"
	fail=$((fail + 1))
else
	grep -h "without handing over" "$work/frd.log" >"$work/daemon-failed-restore.log"
	check_back daemon-failed-restore
fi
pid=

# sigterm: dump --lazy-pages stopped by SIGTERM before any destination
# asked for a page: serving ends at once (not after --lazy-timeout), the
# tree runs on here, whole
HOG_MB=32 start_hog || exit 1
port=$((port + 1))
"$CL" dump -t "$pid" -D "$work/st" --lazy-pages --address 127.0.0.1 \
	--port $port --lazy-timeout 60 >"$work/st-dump.log" 2>&1 &
dpid=$!
for _ in $(seq 1 200); do grep -q "lazy pages: serving" "$work/st-dump.log" && break; sleep 0.05; done
kill -TERM $dpid
wait $dpid
drc=$?
if [ $drc = 0 ]; then
	echo "FAIL sigterm: the dump exited 0"; fail=$((fail + 1))
elif ! grep -q "signal 15 before the destination asked for any page: serving ends" \
	"$work/st-dump.log" || ! grep -q "the tree of $pid runs on here" "$work/st-dump.log"; then
	echo "FAIL sigterm:"; cat "$work/st-dump.log"; fail=$((fail + 1))
else
	grep -h "signal 15\|runs on here" "$work/st-dump.log" >"$work/sigterm.log"
	check_back sigterm
fi
pid=

echo "lazy: $pass passed, $fail failed"
[ $fail = 0 ]

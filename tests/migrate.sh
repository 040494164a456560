#!/bin/bash
# criu-lite migrate between two hosts: the destination host is a network,
# PID and mount namespace joined to this one by a veth pair (its init is
# a sleep). Target: zdtm's mem_1g writing nothing (patterned memory) or
# busy (MEM_DIRTY: it rewrites its memory while it runs), told to check
# itself with SIGTERM (prints PASS or FAIL).
#   precopy        the tree moves: the source is gone, the same PID runs
#                  on the other host and PASSes, the stats file is JSON
#                  with query-migrate's names (total-time, setup-time,
#                  downtime, expected-downtime, ram.normal, duplicate,
#                  dirty-sync-count, dirty-pages-rate, mbps, transferred)
#                  with rounds and a downtime, nothing left in TMPDIR; the
#                  final dump's appended pages went into the part of the
#                  pages file prepared after round 0, which ends where its
#                  pagemaps end (what was prepared and not used cut off),
#                  and the first pagemap into the file prepared for it
#   late-flags     zdtm's vma_flags_late: a VMA's flags change (whole-VMA
#                  MADV_DONTFORK and mlock: no boundary moves) after the
#                  pre-copy began, just before the freeze
#                  (CRIU_LITE_PAUSE=before-freeze): on the other host it
#                  has them (smaps dc and lo; a child has no copy) and
#                  PASSes
#   grown          a 1 MiB VMA grown in place (mremap) after the pre-copy
#                  began, next to a 4 MiB one (tests/tools/vma-grow): its
#                  place in the pages file is 1 MiB, the next is the
#                  other's; on the other host both read as they were (the
#                  grown one goes the normal way, not taking the other's
#                  held pages) and it PASSes; its pages read in at
#                  restore, no lazy-pages daemon
#   grown-daemon   the same with CRIU_LITE_EAGER_MAX=0 there: a daemon
#                  serves them, the held memory written into DIR first
#   incoming-killed  the destination SIGKILLed during the transfer: the
#                  migration fails saying so, the source runs on, PASSes
#   flipped        a byte changed on the way: refused, the source runs on
#   resent         a page sent again after the pagemap entry storing it
#                  (CRIU_LITE_FAULT=xfer-resend): refused, the source runs
#                  on
#   restore-failed the destination's restore fails: the source, stopped
#                  for the hand-over, runs on (not left stopped)
#   source-killed  the source criu-lite SIGKILLed at random moments: the
#                  tree never runs on both hosts, and is whole where it runs
#   silent-destination  a destination that takes the connection and
#                  never greets (tests/tools/silent-peer.py): the source
#                  gives up after --idle-timeout 1, naming it and the
#                  greeting, and runs on (it waited for ever before)
#   destination-stopped  the destination SIGSTOPped during the pre-copy
#                  rounds: the source gives up after --idle-timeout 2, the
#                  tree runs on here and PASSes
#   silent-source  migrate --incoming --idle-timeout 1 and a source that
#                  greets and then says nothing: dropped, the destination
#                  exits 1 saying so, nothing left in its DIR
#   handover-silent  the destination had every image, then says nothing
#                  (held in its restore: CRIU_LITE_PAUSE=restore-loaded):
#                  after --idle-timeout 2 the source exits 1 keeping the
#                  tree stopped, whole (it may run there: never resumed
#                  here by itself, as QEMU's postmigrate), and says to
#                  kill -CONT it if the destination does not run it
#   wrong-peer     --to a page server, not a migrate --incoming: refused
#                  with that reason, the source runs on
#   postcopy       migrate --postcopy without pre-copy: the tree
#                  runs on the other host, PASSes there after every page
#                  came on fault or pushed; the stats file counts
#                  ram.postcopy-bytes; then back again with --postcopy
#                  after one pre-copy round
#   postcopy-dest-killed  the destination SIGKILLed after the switchover:
#                  its copy dies with it (never left on missing pages), the
#                  source exits 1 keeping the tree stopped, whole: once
#                  continued it PASSes
#   lazy-dump      dump --lazy-pages here, restore --lazy-pages
#                  --page-server there: PASSes there, the source is gone
#   tls            both sides with --tls (throw-away certificates),
#                  postcopy: the images, and the pages the destination
#                  pulls from the frozen source, over TLS; the tree PASSes
#                  on the other host
#   tls-other-ca   a source whose certificate another CA signed: both
#                  sides say so, the source runs on and PASSes
#   tcp            zdtm's tcp_established (connections between its own
#                  sockets over 127.0.0.1 and ::1, queues both ways, 2.8 MB
#                  unsent) moved with --tcp-established on both sides: it
#                  PASSes on the other host (loopback exists there too)
# Run under build/tests/subreaper, as root. Usage: tests/migrate.sh B
set -u
B=${1:-build}
. "$(dirname "$0")/proc-lib.sh"
CL=$(readlink -f "$B/criu-lite")
HOG=$(readlink -f "$B/zdtm/static/mem_1g")
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-mig.XXXXXX")
ns=clmg$$
PEER_RUN="ip netns exec $ns"	# silent_peer's listener: on the other host
n=$(( ($$ + 100) % 200 + 20 ))
HERE=10.$n.1.1 THERE=10.$n.1.2
port=$((20000 + ($$ + 7) % 20000))
pass=0 fail=0 pid= host= srv= cli=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	[ -n "$srv" ] && kill -9 "$srv" 2>/dev/null
	[ -n "$cli" ] && kill -9 "$cli" 2>/dev/null
	# its init takes the whole PID namespace along
	[ -n "${h:-}" ] && kill -9 "$h" 2>/dev/null
	[ -n "$host" ] && kill -9 "$host" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	ip link del "v$ns" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$ns" && ip link add "v$ns" type veth peer name "w$ns" &&
	ip link set "w$ns" netns "$ns" &&
	ip addr add "$HERE/24" dev "v$ns" && ip link set "v$ns" up &&
	ip -n "$ns" addr add "$THERE/24" dev "w$ns" &&
	ip -n "$ns" link set "w$ns" up && ip -n "$ns" link set lo up ||
	{ echo "migrate: can't make the network namespace"; exit 1; }
# the other host: its own PID and mount namespaces (and /proc), in $ns
unshare --pid --mount --fork --mount-proc --propagation private \
	ip netns exec "$ns" sleep 100000 </dev/null >/dev/null 2>&1 &
host=$!
disown "$host" 2>/dev/null	# its end is ours to make, not to report
for _ in $(seq 1 100); do
	h=$(pgrep -P "$host" -x sleep) && break
	sleep 0.05
done
[ -n "${h:-}" ] || { echo "migrate: no destination host"; exit 1; }
there() { nsenter -t "$h" -p -m -n -- "$@"; }
# runs_there: $pid is alive on the other host (its init reaps no zombie)
runs_there() {
	local st
	st=$(there awk '{ print $3 }' /proc/$pid/stat 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ]
}

start_hog() {
	: >"$work/hog.out"
	ZDTM_MEM_MB=${HOG_MB:-256} "$HOG" </dev/null >>"$work/hog.out" 2>&1 &
	pid=$!
	for _ in $(seq 1 200); do grep -q READY "$work/hog.out" && return 0; sleep 0.05; done
	echo "mem_1g did not start"; return 1
}

# start_zdtm OUT TEST [ENV...]: zdtm's TEST ($B/zdtm/TEST) here with ENV,
# its output in OUT; $pid once it said READY (10 s at most)
start_zdtm() {
	: >"$1"
	env "${@:3}" "$(readlink -f "$B/zdtm/$2")" </dev/null >>"$1" 2>&1 &
	pid=$!
	wait_line "$1" READY 100
}

# passes_there OUT: the zdtm test $pid on the other host checks itself
# (SIGTERM) and says PASS in OUT (10 s at most)
passes_there() {
	there kill -TERM "$pid"
	wait_line "$1" "PASS\|^FAIL" 100
	grep -q "^PASS" "$1"
}

# hog_ok [there]: the target checks itself and says PASS
hog_ok() {
	if [ "${1:-}" = there ]; then there kill -TERM "$pid"; else kill -TERM "$pid"; fi
	for _ in $(seq 1 200); do grep -q "^PASS\|^FAIL" "$work/hog.out" && break; sleep 0.05; done
	grep -q "^PASS" "$work/hog.out"
	local r=$?
	[ "${1:-}" = there ] || wait "$pid" 2>/dev/null
	pid=
	return $r
}

# listening: something listens on $THERE:$port (5 s at most)
listening() {
	for _ in $(seq 1 100); do
		there ss -ltn 2>/dev/null | grep -q ":$port " && return 0
		sleep 0.05
	done
}

incoming() {
	there "$CL" migrate --incoming "$THERE:$port" -D "$1" \
		--stats-file "$work/in.json" "${@:2}" >"$work/in.log" 2>&1 &
	srv=$!
	listening
}

wait_srv() {
	local t=0
	while kill -0 "$srv" 2>/dev/null && [ $t -lt 400 ]; do sleep 0.05; t=$((t + 1)); done
	wait "$srv" 2>/dev/null
	local r=$?
	srv=
	return $r
}

# precopy
start_hog || exit 1
incoming "$work/dst"
if TMPDIR=$work/tmp-src; mkdir -p "$TMPDIR"; TMPDIR=$TMPDIR "$CL" migrate -t "$pid" \
	--to "$THERE:$port" --stats-file "$work/out.json" >"$work/out.log" 2>&1 &&
   wait_srv; then
	wait "$pid" 2>/dev/null		# the source: killed
	if kill -0 "$pid" 2>/dev/null; then
		bad "precopy: the source still runs"
	elif ! there kill -0 "$pid" 2>/dev/null; then
		bad "precopy: $pid does not run on the other host"; cat "$work/in.log"
	elif cp "$work/out.json" "$work/keep-out.json"; ! python3 -c "import json,sys; d=json.load(open(sys.argv[1])); \
	     assert d['status']=='completed' and d['precopy_rounds']>=1 and \
	     d['downtime_ms']>0 and d['rounds'][0]['pages']>0; \
	     r=d['ram']; assert d['total-time']>=d['downtime']>0 and \
	     d['setup-time']>=0 and d['expected-downtime']>=0 and \
	     r['normal']>=d['rounds'][0]['pages'] and r['duplicate']>=0 and \
	     r['dirty-sync-count']==d['precopy_rounds']+1 and \
	     r['dirty-pages-rate']>=0 and r['mbps']>0 and \
	     r['transferred']>0" "$work/out.json"; then
		bad "precopy: stats file"; cat "$work/out.json"
	elif [ -n "$(ls -A "$work/tmp-src")" ]; then
		bad "precopy: left in TMPDIR: $(ls -A "$work/tmp-src")"
	elif ! hog_ok there; then
		bad "precopy: the target on the other host says: $(tail -2 "$work/hog.out")"
	elif r0=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rounds'][0]['pages'] * 4096)" \
			"$work/keep-out.json") &&
	     kept=$(( $(stat -c '%b * %B' "$work/dst/pages-1.img") )) &&
	     [ "$kept" -gt $((r0 / 4)) ]; then
		# the memory held in place is not also in the pages file
		bad "precopy: the destination's pages file has $kept bytes for the $r0 of round 0: the held memory written there too"
	elif ! grep -q 'after the last round: [1-9][0-9]* pages written .*(\([1-9][0-9]*\) into the part prepared).*(the first into the file prepared)' "$work/in.log"; then
		bad "precopy: the final dump's appended pages not written into the part prepared for them: $(grep -o 'the part after.*' "$work/in.log")"
	elif size=$(stat -c %s "$work/dst/pages-1.img") &&
	     end=$("$CL" show --json "$work/dst" | jq '[.[] | select(.type == "PagemapEntry") |
			.entries[] | select(.flags | split("|") | index("PE_PRESENT")) |
			.offset + .nr_pages * 4096] | max') &&
	     [ "$size" != "$end" ]; then
		# the prepared tail cut back to what was appended
		bad "precopy: the pages file has $size bytes, its pagemaps end at $end"
	else
		ok "precopy: $(grep -o 'migrated.*' "$work/out.log"); pages file $((kept >> 20)) MiB on disk for $((r0 >> 20)) MiB in round 0; stats: $(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); r=d['ram']; print(' '.join('%s=%s' % (k, v) for k, v in [('total-time', d['total-time']), ('downtime', d['downtime']), ('setup-time', d['setup-time']), ('expected-downtime', d['expected-downtime'])] + [('ram.' + k, r[k]) for k in ('normal', 'duplicate', 'dirty-sync-count', 'dirty-pages-rate', 'mbps', 'transferred')]))" "$work/keep-out.json")"
	fi
else
	bad "precopy: migrate failed: $(errors_of "$work/in.log" "$work/out.log")"; cat "$work/out.log" "$work/in.log"
fi
[ -n "$pid" ] && { there kill -9 "$pid" 2>/dev/null; kill -9 "$pid" 2>/dev/null; }; pid=

# late-flags: the VmFlags recorded are the frozen ones, not those of the
# VMAs read when pre-copy began (migrate guesses them from there while
# the frozen smaps read goes on beside the dump)
start_zdtm "$work/late.out" static/vma_flags_late ZDTM_LATE=1
incoming "$work/dst-late"
CRIU_LITE_PAUSE=before-freeze "$CL" migrate -t "$pid" --to "$THERE:$port" \
	>"$work/out.log" 2>&1 &
mpid=$!
for _ in $(seq 1 600); do grep -q "paused at" "$work/out.log" && break; sleep 0.05; done
kill -USR1 "$pid"
for _ in $(seq 1 200); do grep -q "late flags set" "$work/late.out" && break; sleep 0.05; done
kill -CONT "$mpid"
if wait "$mpid" && wait_srv; then
	wait "$pid" 2>/dev/null
	if passes_there "$work/late.out"; then
		ok "late-flags: dc and lo as at the freeze on the other host"
	else
		bad "late-flags: $(grep -v READY "$work/late.out" | head -3)"
	fi
else
	bad "late-flags: migrate failed: $(errors_of "$work/in.log" "$work/out.log")"; cat "$work/out.log" "$work/in.log"
fi
[ -n "$pid" ] && { there kill -9 "$pid" 2>/dev/null; kill -9 "$pid" 2>/dev/null; }; pid=

# grown_case NAME SAID [VAR=VALUE]: the VMA grows between the pre-copy and
# the freeze; the destination (its environment VAR=VALUE) says SAID (a
# grep pattern) of how the grown VMA's pages came in
grown_case() {
	: >"$work/grow.out"
	"$B/tests/vma-grow" </dev/null >>"$work/grow.out" 2>&1 &
	pid=$!
	wait_line "$work/grow.out" READY 100
	there env ${3:-} "$CL" migrate --incoming "$THERE:$port" \
		-D "$work/dst-$1" >"$work/in.log" 2>&1 &
	srv=$!
	listening
	CRIU_LITE_PAUSE=before-freeze "$CL" migrate -t "$pid" --to "$THERE:$port" \
		>"$work/out.log" 2>&1 &
	mpid=$!
	for _ in $(seq 1 600); do grep -q "paused at" "$work/out.log" && break; sleep 0.05; done
	kill -USR1 "$pid"
	wait_line "$work/grow.out" grown 100
	kill -CONT "$mpid"
	if wait "$mpid" && wait_srv; then
		wait "$pid" 2>/dev/null
		if ! passes_there "$work/grow.out"; then
			bad "$1: $(grep -v 'READY\|grown' "$work/grow.out" | head -3)"
		elif ! grep -q "$2" "$work/in.log"; then
			bad "$1: not said: $2: $(grep -m1 'lazy-pages daemon\|no lazy' "$work/in.log")"
		else
			ok "$1: $(grep -m1 -o "$2.*" "$work/in.log" | cut -c1-90)"
		fi
	else
		bad "$1: migrate failed: $(errors_of "$work/in.log" "$work/out.log")"; cat "$work/out.log" "$work/in.log"
	fi
	[ -n "$pid" ] && { there kill -9 "$pid" 2>/dev/null; kill -9 "$pid" 2>/dev/null; }; pid=
}
# its few pages read in at restore: no daemon, no spill of the held
# memory into DIR in the downtime
grown_case grown "read in now: no lazy-pages daemon"
# past the limit (0 here): a daemon, the held memory into DIR first
grown_case grown-daemon "held memory written into DIR first" CRIU_LITE_EAGER_MAX=0

# incoming-killed: 1 GiB at 128 MiB/s (--max-bandwidth: 8 s, on any
# machine), so that the kill lands during the transfer: once round 0 is
# under way (a faster machine moved it whole within the 0.4 s this test
# once slept, CI)
HOG_MB=1024 start_hog || exit 1
incoming "$work/dst2"
"$CL" migrate -t "$pid" --to "$THERE:$port" --max-bandwidth 128M \
	>"$work/out.log" 2>&1 &
mpid=$!
began=
for _ in $(seq 1 200); do grep -q "copying while" "$work/out.log" && began=1 && break; sleep 0.05; done
[ -n "$began" ] && sleep 0.4
# the criu-lite inside (nsenter forked it)
pkill -9 -f "migrate --incoming $THERE:$port -D $work/dst2"
wait "$srv" 2>/dev/null; srv=
if [ -z "$began" ]; then
	wait "$mpid"
	bad "incoming-killed: pre-copy never began"; cat "$work/out.log"
elif wait "$mpid"; then
	bad "incoming-killed: the migration succeeded"
elif ! grep -q "runs on here" "$work/out.log"; then
	bad "incoming-killed: no word that the source runs on"; cat "$work/out.log"
elif ! hog_ok; then
	bad "incoming-killed: the source is harmed"
else
	ok "incoming-killed: $(grep -o 'Error: .*' "$work/out.log" | head -1)"
fi
[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; pid=

# refused_on_the_way NAME FAULT SAID DIR: a migration with
# CRIU_LITE_FAULT=FAULT on the source is refused, the source saying SAID
# (a grep pattern); nothing left in the destination's DIR, the source
# unharmed
refused_on_the_way() {
	start_hog || exit 1
	incoming "$4"
	if CRIU_LITE_FAULT=$2 "$CL" migrate -t "$pid" --to "$THERE:$port" \
		>"$work/out.log" 2>&1; then
		bad "$1: the migration succeeded"
	elif ! grep -q "$3" "$work/out.log"; then
		bad "$1: no message saying \"$3\""; cat "$work/out.log" "$work/in.log"
	elif wait_srv; then
		bad "$1: the destination says it succeeded"
	elif [ -n "$(ls -A "$4")" ]; then
		bad "$1: left in the destination's DIR: $(ls -A "$4")"
	elif ! hog_ok; then
		bad "$1: the source is harmed"
	else
		ok "$1: $(grep -o 'refused: .*' "$work/out.log" | head -1)"
	fi
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; pid=
}

# flipped (into the directory the killed destination left its half
# transfer in: swept, as nothing of a failed transfer is kept)
refused_on_the_way flipped xfer-flip "does not match its checksum" "$work/dst2"
# resent: a page sent again after the pagemap entry that stores it (the
# entry would no longer match the page it names)
refused_on_the_way resent xfer-resend "sent again after a pagemap stored it" "$work/dst2"

# restore-failed: the destination has it all but its restore fails (fault
# point): the source, stopped for the hand-over, runs on (not left
# job-control stopped) and PASSes
start_hog || exit 1
there env CRIU_LITE_FAULT=restore-before-resume "$CL" migrate \
	--incoming "$THERE:$port" -D "$work/dst4" >"$work/in.log" 2>&1 &
srv=$!
listening
if "$CL" migrate -t "$pid" --to "$THERE:$port" >"$work/out.log" 2>&1; then
	bad "restore-failed: the migration succeeded"
elif ! grep -q "did not take over: the tree runs on here" "$work/out.log"; then
	bad "restore-failed: no word that the source runs on"; cat "$work/out.log" "$work/in.log"
elif sleep 0.3; [ "$(awk '{ print $3 }' /proc/$pid/stat)" = T ]; then
	bad "restore-failed: the source is left stopped"
elif ! hog_ok; then
	bad "restore-failed: the source is harmed"
else
	ok "restore-failed: $(grep -o 'refused: .*' "$work/out.log" | head -1)"
fi
wait_srv
[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; pid=

# source-killed: the source criu-lite SIGKILLed at random moments: the tree
# never runs on both hosts; where it runs it PASSes; a source left stopped
# (killed during the hand-over) is whole once continued
for try in 1 2 3 4; do
	start_hog || exit 1
	incoming "$work/dst5.$try"
	TMPDIR=$work/tmp-src "$CL" migrate -t "$pid" --to "$THERE:$port" \
		>"$work/out.log" 2>&1 &
	mpid=$!
	sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", r / 32768 * 1.2 }')"
	kill -9 $mpid 2>/dev/null; wait $mpid 2>/dev/null
	# killed before it connected: the destination waits on; end it
	for _ in $(seq 1 100); do kill -0 "$srv" 2>/dev/null || break; sleep 0.05; done
	pkill -9 -f "migrate --incoming $THERE:$port -D $work/dst5.$try"
	wait_srv
	sleep 0.3
	src=none dst=none
	if kill -0 "$pid" 2>/dev/null && [ -d /proc/$pid ]; then
		src=$(awk '{ print $3 }' /proc/$pid/stat)
		[ "$src" = Z ] && src=none
	fi
	there kill -0 "$pid" 2>/dev/null && dst=run
	if [ "$src" != none ] && [ "$src" != T ] && [ "$dst" = run ]; then
		bad "source-killed $try: runs on both hosts"
	elif [ "$dst" = run ]; then
		p=$pid	# hog_ok empties pid: the stopped source was left behind
		if hog_ok there; then ok "source-killed $try: moved (source $src)"
		else bad "source-killed $try: harmed on the other host"; fi
		[ "$src" = T ] && kill -9 "$p" 2>/dev/null
	elif [ "$src" != none ]; then
		[ "$src" = T ] && kill -CONT "$pid"
		if hog_ok; then ok "source-killed $try: stayed (state $src)"
		else bad "source-killed $try: the source is harmed"; fi
	else
		bad "source-killed $try: runs nowhere"
	fi
	[ -n "$pid" ] && { there kill -9 "$pid" 2>/dev/null; kill -9 "$pid" 2>/dev/null; }
	wait "$pid" 2>/dev/null; pid=
done

# gave_up_here NAME WORDS: the source's migrate ($mpid) ends by itself
# (gone_within), fails saying WORDS (a grep pattern) and that the tree
# runs on here, and the tree PASSes here
gave_up_here() {
	gone_within "$1" "$mpid" || return
	if wait "$mpid"; then
		bad "$1: the migration succeeded"
	elif ! grep -q "$2" "$work/out.log"; then
		bad "$1: does not say \"$2\""; cat "$work/out.log"
	elif ! grep -q "runs on here" "$work/out.log"; then
		bad "$1: no word that the source runs on"; cat "$work/out.log"
	elif ! hog_ok; then
		bad "$1: the source is harmed"
	else
		ok "$1: $(grep -o "$2.*" "$work/out.log" | head -1)"
	fi
}

# state_is S: the source tree's root is in state S (within 2 s)
state_is() {
	for _ in $(seq 1 40); do
		[ "$(awk '{ print $3 }' /proc/$pid/stat 2>/dev/null)" = "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# silent-destination
start_hog || exit 1
silent_peer "$work/peer.out" listen "$THERE" "$port"
srv=$peer_pid
"$CL" migrate -t "$pid" --to "$THERE:$port" --idle-timeout 1 >"$work/out.log" 2>&1 &
mpid=$!
gave_up_here silent-destination \
	"migration destination $THERE:$port: no answer to the greeting for 1 s"
kill -9 "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; srv=
[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; pid=

# destination-stopped (--max-bandwidth: the first round lasts seconds)
start_hog || exit 1
incoming "$work/dst8"
"$CL" migrate -t "$pid" --to "$THERE:$port" --max-bandwidth 32M --idle-timeout 2 \
	>"$work/out.log" 2>&1 &
mpid=$!
sleep 1
pkill -STOP -f "migrate --incoming $THERE:$port -D $work/dst8"
gave_up_here destination-stopped "migration destination $THERE:$port.* for 2 s"
pkill -9 -f "migrate --incoming $THERE:$port -D $work/dst8"
pkill -CONT -f "migrate --incoming $THERE:$port -D $work/dst8"
wait_srv
[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; pid=

# silent-source
incoming "$work/dst9" --idle-timeout 1
silent_peer "$work/peer.out" connect "$THERE" "$port" 3
cli=$peer_pid
if gone_within silent-source "$srv"; then
	if wait "$srv"; then
		bad "silent-source: the destination says it succeeded"
	elif ! grep -q "no data from the client .* for 1 s" "$work/in.log"; then
		bad "silent-source: the destination does not say why"; cat "$work/in.log"
	elif [ -n "$(ls -A "$work/dst9")" ]; then
		bad "silent-source: left in the destination's DIR: $(ls -A "$work/dst9")"
	else
		ok "silent-source: $(grep -o 'no data from the client.*' "$work/in.log" | head -1)"
	fi
fi
srv=
kill -9 "$cli" 2>/dev/null; wait "$cli" 2>/dev/null; cli=

# handover-silent
HOG_MB=64 start_hog || exit 1
there env CRIU_LITE_PAUSE=restore-loaded "$CL" migrate --incoming "$THERE:$port" \
	-D "$work/dst10" >"$work/in.log" 2>&1 &
srv=$!
listening
"$CL" migrate -t "$pid" --to "$THERE:$port" --idle-timeout 2 >"$work/out.log" 2>&1 &
mpid=$!
if gone_within handover-silent "$mpid"; then
	if wait "$mpid"; then
		bad "handover-silent: the migration succeeded"
	elif ! grep -q "had every image but did not answer for 2 s.*kill -CONT" "$work/out.log"; then
		bad "handover-silent: no word of what happened"; cat "$work/out.log"
	elif ! state_is T; then
		bad "handover-silent: the source tree is not kept stopped"; cat "$work/out.log"
	elif grep -q "runs on here" "$work/out.log"; then
		bad "handover-silent: the source says the tree runs on here"; cat "$work/out.log"
	elif pkill -9 -f "migrate --incoming $THERE:$port -D $work/dst10"; runs_there; then
		bad "handover-silent: the tree runs on the other host"
	elif kill -CONT "$pid"; ! hog_ok; then
		bad "handover-silent: the source is harmed"
	else
		ok "handover-silent: $(grep -o 'had every image.*' "$work/out.log" | head -1)"
	fi
fi
pkill -9 -f "migrate --incoming $THERE:$port -D $work/dst10"
wait_srv
[ -n "$pid" ] && { there kill -9 "$pid" 2>/dev/null; kill -9 "$pid" 2>/dev/null; }; pid=

# wrong-peer
start_hog || exit 1
there "$CL" page-server -D "$work/ps" --address "$THERE" --port "$port" \
	>"$work/ps.log" 2>&1 &
srv=$!
listening
if TMPDIR=$work/tmp-src "$CL" migrate -t "$pid" --to "$THERE:$port" \
	>"$work/out.log" 2>&1; then
	bad "wrong-peer: the migration succeeded"
elif ! grep -q "not a migrate --incoming" "$work/out.log"; then
	bad "wrong-peer: no reason"; cat "$work/out.log"
elif [ -n "$(ls -A "$work/tmp-src")" ]; then
	bad "wrong-peer: the killed sources' scratch left in TMPDIR: $(ls -A "$work/tmp-src")"
elif ! hog_ok; then
	bad "wrong-peer: the source is harmed"
else
	ok "wrong-peer: $(grep -o 'refused: .*' "$work/out.log" | head -1)"
fi
kill -9 "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; srv=
[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; pid=


# postcopy, there and back (a port of their own: wrong-peer's page server
# may still hold the last one)
pkill -9 -f "page-server -D $work/ps" 2>/dev/null
port=$((port + 2))
start_hog || exit 1
incoming "$work/dst6"
if "$CL" migrate -t "$pid" --to "$THERE:$port" --postcopy --max-rounds 0 \
	--stats-file "$work/out.json" >"$work/out.log" 2>&1 && wait_srv; then
	wait "$pid" 2>/dev/null
	if kill -0 "$pid" 2>/dev/null; then
		bad "postcopy: the source still runs"
	elif ! python3 -c "import json,sys; d=json.load(open(sys.argv[1])); \
	     assert d['status']=='completed' and d['postcopy'] and \
	     d['ram']['postcopy-bytes']>0 and d['ram']['postcopy-requests']>0" \
	     "$work/out.json"; then
		bad "postcopy: stats file"; cat "$work/out.json"
	else
		# back again, postcopy too
		port2=$((port + 1))
		"$CL" migrate --incoming "$HERE:$port2" -D "$work/back" \
			>"$work/back-in.log" 2>&1 &
		srv=$!
		for _ in $(seq 1 100); do ss -ltn | grep -q ":$port2 " && break; sleep 0.05; done
		if there "$CL" migrate -t "$pid" --to "$HERE:$port2" --postcopy \
			--max-rounds 1 >"$work/back-out.log" 2>&1 && wait_srv &&
		   ! runs_there && hog_ok; then
			ok "postcopy: there and back: $(grep -o 'lazy pages: all in.*' "$work/out.log")"
		else
			bad "postcopy: back again"; cat "$work/back-out.log" "$work/back-in.log"
		fi
	fi
else
	bad "postcopy: migrate failed: $(errors_of "$work/in.log" "$work/out.log")"; cat "$work/out.log" "$work/in.log"
fi
[ -n "$pid" ] && { there kill -9 "$pid" 2>/dev/null; kill -9 "$pid" 2>/dev/null; }; pid=

# postcopy-dest-killed: the destination (and its lazy-pages daemons) killed
# once the tree runs there; a slow link keeps pages outstanding
HOG_MB=512 start_hog || exit 1
incoming "$work/dst7"
"$CL" migrate -t "$pid" --to "$THERE:$port" --postcopy --max-rounds 0 \
	--max-bandwidth 20M --lazy-timeout 3 >"$work/out.log" 2>&1 &
mpid=$!
for _ in $(seq 1 200); do grep -q "the destination says" "$work/out.log" && break; sleep 0.05; done
there pkill -9 -f "criu-lite migrate --incoming $THERE:$port"
there pkill -9 -x criu-lite-lazy
wait "$srv" 2>/dev/null; srv=
if wait "$mpid"; then
	bad "postcopy-dest-killed: the migration succeeded"
elif runs_there; then
	bad "postcopy-dest-killed: the copy on the other host still runs"; cat "$work/out.log" "$work/in.log"
elif [ "$(awk '{ print $3 }' /proc/$pid/stat 2>/dev/null)" != T ]; then
	bad "postcopy-dest-killed: the source is not kept stopped"; cat "$work/out.log"
elif ! grep -q "kill -CONT" "$work/out.log"; then
	bad "postcopy-dest-killed: no word on what to do"; cat "$work/out.log"
elif kill -CONT "$pid"; ! hog_ok; then
	bad "postcopy-dest-killed: the source is harmed"
else
	ok "postcopy-dest-killed: $(grep -o 'Error: lazy pages: no request.*' "$work/out.log" | head -1)"
fi
[ -n "$pid" ] && { there kill -9 "$pid" 2>/dev/null; kill -9 "$pid" 2>/dev/null; }; pid=

# lazy-dump: dump --lazy-pages here, restore --lazy-pages --page-server there
start_hog || exit 1
"$CL" dump -t "$pid" -D "$work/lz" --lazy-pages --address "$HERE" \
	--port "$port" --lazy-timeout 20 >"$work/lz-dump.log" 2>&1 &
dpid=$!
for _ in $(seq 1 200); do [ -f "$work/lz/inventory.img" ] && break; sleep 0.05; done
if there "$CL" restore -D "$work/lz" -d --lazy-pages \
	--page-server "$HERE:$port" >"$work/lz-restore.log" 2>&1 && wait "$dpid" &&
   ! kill -0 "$pid" 2>/dev/null && there kill -0 "$pid" 2>/dev/null &&
   sleep 0.5 && hog_ok there; then
	ok "lazy-dump: $(grep -o 'lazy pages: all in.*' "$work/lz-dump.log")"
else
	bad "lazy-dump"; cat "$work/lz-dump.log" "$work/lz-restore.log"
fi
[ -n "$pid" ] && { there kill -9 "$pid" 2>/dev/null; kill -9 "$pid" 2>/dev/null; }; pid=

# tls, tls-other-ca
K=$work/certs
# each host's certificate names it (the destination checks the source's
# when it pulls postcopy pages)
if "$(dirname "$0")/tls-certs.sh" "$K" "$THERE" "$HERE"; then
	TLS=(--tls --tls-cacert "$K/ca.pem" --tls-cert "$K/cert.pem" --tls-key "$K/key.pem")
	HOG_MB=64 start_hog || exit 1
	incoming "$work/dst-tls" "${TLS[@]}"
	if TMPDIR=$work/tmp-src "$CL" migrate -t "$pid" --to "$THERE:$port" \
		--postcopy --max-rounds 0 "${TLS[@]}" >"$work/out.log" 2>&1 &&
	   wait_srv; then
		wait "$pid" 2>/dev/null
		if ! grep -q "(TLS)" "$work/in.log"; then
			bad "tls: the destination did not use TLS"; cat "$work/in.log"
		elif ! grep -q "lazy pages: all in.* [1-9][0-9.]* MiB served" "$work/out.log"; then
			bad "tls: no pages pulled (postcopy)"; cat "$work/out.log"
		elif hog_ok there; then
			ok "tls: $(grep -o 'migrated.*' "$work/out.log")"
		else
			bad "tls: the target on the other host says: $(tail -2 "$work/hog.out")"
		fi
	else
		bad "tls: migrate failed: $(errors_of "$work/in.log" "$work/out.log")"; cat "$work/out.log" "$work/in.log"
	fi
	[ -n "$pid" ] && { there kill -9 "$pid" 2>/dev/null; kill -9 "$pid" 2>/dev/null; }; pid=
	pkill -9 -f "migrate --incoming $THERE:$port -D $work/dst-tls "
	[ -n "$srv" ] && kill -9 "$srv" 2>/dev/null; srv=

	HOG_MB=16 start_hog || exit 1
	incoming "$work/dst-tls2" "${TLS[@]}"
	if TMPDIR=$work/tmp-src "$CL" migrate -t "$pid" --to "$THERE:$port" --tls \
		--tls-cacert "$K/ca.pem" --tls-cert "$K/other-cert.pem" \
		--tls-key "$K/other-key.pem" >"$work/out.log" 2>&1; then
		bad "tls-other-ca: the migration succeeded"
	elif ! grep -q "refused by the peer" "$work/out.log"; then
		bad "tls-other-ca: the source does not say it was refused"; cat "$work/out.log"
	elif ! grep -q "no certificate signed by our CA" "$work/in.log"; then
		bad "tls-other-ca: the destination does not say why"; cat "$work/in.log"
	elif ! hog_ok; then
		bad "tls-other-ca: the source is harmed"
	else
		ok "tls-other-ca: $(grep -o 'refused by the peer.*' "$work/out.log" | head -1)"
	fi
	pkill -9 -f "migrate --incoming $THERE:$port -D $work/dst-tls2 "
	kill -9 "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; srv=
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; pid=
else
	bad "tls: can't make certificates (openssl)"
fi

# tcp: connections inside the tree move along
start_zdtm "$work/tcp.out" static/tcp_established
incoming "$work/dst-tcp" --tcp-established
if "$CL" migrate -t "$pid" --to "$THERE:$port" --tcp-established \
	>"$work/out.log" 2>&1 && wait_srv; then
	wait "$pid" 2>/dev/null
	if ! runs_there; then
		bad "tcp: $pid does not run on the other host"; cat "$work/in.log"
	elif passes_there "$work/tcp.out"; then
		ok "tcp: tcp_established moved with its connections, PASSes there"
	else
		bad "tcp: on the other host: $(grep FAIL "$work/tcp.out" | head -3)"
	fi
else
	bad "tcp: migrate failed"; tail -5 "$work/out.log" "$work/in.log"
	kill -9 "$srv" 2>/dev/null; wait_srv
fi
there kill -9 "$pid" 2>/dev/null; kill -9 "$pid" 2>/dev/null; pid=

[ -n "${MIGRATE_SHOW:-}" ] && cat "$work/keep-out.json" "$work/in.json"
echo "migrate: $pass passed, $fail failed"
[ "$fail" = 0 ]

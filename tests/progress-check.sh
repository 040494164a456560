#!/bin/sh
# Progress: a 1 GiB target (zdtm mem_1g: patterned, zero and untouched
# pages) dumped, restored and lazily restored with --progress-fd 3. Each
# phase's lines on fd 3 (phase=P done=N total=N bytes=N elapsed_ms=N) must
# start at done=0, never go back, never pass their total, come at most ten
# a second, and end with done = total, that total being the figure of the
# stats file (pages_scanned, pages_restored, pages_lazy). On stderr (a
# file here): plain progress lines, at most one a second, after the first
# second only, their MiB that of the pages stored (not the zero pages gone
# through); on a terminal (script(1)), one line rewritten with \r.
# A bad --progress-fd is refused before the target is touched; a reader
# that goes away does not stop the dump. The target checks its memory
# after each restore.
# Run under build/tests/subreaper. Usage: tests/progress-check.sh BUILD_DIR
set -u
B=${1:-build}
CL=$(realpath "$B/criu-lite")
HOG=$B/zdtm/static/mem_1g
MB=${PROGRESS_MB:-1024}
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-progress.XXXXXX")
pass=0 fail=0 pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$work"' EXIT
ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

start_hog() {
	: >"$work/hog.out"
	ZDTM_MEM_MB=$MB "$HOG" </dev/null >>"$work/hog.out" 2>&1 &
	pid=$!
	for _ in $(seq 1 600); do grep -q READY "$work/hog.out" && return 0; sleep 0.05; done
	echo "progress-check: mem_1g did not start"; exit 1
}

check_back() {
	: >"$work/hog.out"
	kill -TERM "$pid"
	for _ in $(seq 1 400); do grep -q "^PASS\|^FAIL" "$work/hog.out" && break; sleep 0.05; done
	grep -q "^PASS" "$work/hog.out" && ok "$1: the restored target is whole" ||
		bad "$1: the target says: $(tail -3 "$work/hog.out")"
	# gone, PID free again (not our child: the subreaper reaps it)
	for _ in $(seq 1 400); do [ -e "/proc/$pid" ] || break; sleep 0.02; done
}

stat_() {
	"$CL" show --json "$1" | jq -r ".entries[0].$2"
}

# phase FILE PHASE WANT-TOTAL: the lines of PHASE in FILE are well formed
# and go from done=0 up to done = total = WANT-TOTAL
phase() {
	grep "^phase=$2 " "$1" >"$work/phase" || { bad "$2: no lines"; return; }
	verdict=$(awk -v want="$3" '
		{
			for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			if (NF != 5 || v["done"] !~ /^[0-9]+$/ || v["total"] !~ /^[0-9]+$/) {
				print "bad line: " $0; exit
			}
			if (NR == 1 && v["done"] != 0) { print "first line done=" v["done"]; exit }
			if (v["done"] + 0 < last + 0 || v["bytes"] + 0 < lastb + 0 ||
			    v["elapsed_ms"] + 0 < lastt + 0) { print "goes back: " $0; exit }
			if (v["total"] + 0 && v["done"] + 0 > v["total"] + 0) {
				print "done past total: " $0; exit
			}
			last = v["done"]; lastb = v["bytes"]; lastt = v["elapsed_ms"]
			lastline = $0; done = v["done"]; total = v["total"]
		}
		END {
			if (NR < 2) { print "only " NR " line(s)"; exit }
			if (done != total) { print "ends at " lastline; exit }
			if (want != "" && total != want) { print "ends at total " total ", stats say " want; exit }
			if (NR > lastt / 100 + 3) { print NR " lines in " lastt " ms: more than ten a second"; exit }
			print "ok " NR " lines, " total " pages in " lastt " ms"
		}' "$work/phase")
	case $verdict in
	ok*) ok "$2: ${verdict#ok }" ;;
	*) bad "$2: $verdict" ;;
	esac
}

# ---- dump ----
start_hog
"$CL" dump -t "$pid" -D "$work/img" --progress-fd 3 3>"$work/dump.fd" \
	2>"$work/dump.err" || { cat "$work/dump.err"; exit 1; }
wait "$pid" 2>/dev/null
phase "$work/dump.fd" dump-pages "$(stat_ "$work/img/stats-dump" pages_scanned)"
# dump-pages, then (durable) sync-pages: a dump longer than a second shows
# one of them at least, the last line of each shown says done
n=$(grep -c "\(dump\|sync\)-pages: .* pages" "$work/dump.err")
ms=$(( $(stat_ "$work/img/stats-dump" total_time) / 1000 ))
if [ "$ms" -lt 1000 ]; then
	[ "$n" = 0 ] && ok "stderr: a dump under a second ($ms ms) shows no progress" ||
		bad "stderr: $n progress lines in a $ms ms dump"
elif [ "$n" -ge 1 ] && [ "$n" -le $((ms / 1000 + 3)) ] &&
	grep -q "\(dump\|sync\)-pages: [0-9]* of [0-9]* pages (100%), .* MB/s, done" "$work/dump.err"; then
	ok "stderr: $n plain lines in $ms ms, the last one says done"
else
	bad "stderr: $n lines in $ms ms: $(grep -- -pages "$work/dump.err")"
fi
# the line's MiB is the page data stored, not the pages gone through
# (those include the zero pages, which take no room)
last=$(grep "dump-pages: .*, done" "$work/dump.err" | tail -1)
if [ -z "$last" ]; then
	echo "SKIP stderr MiB: the dump's page phase took under a second"
else
	stored=$(stat_ "$work/img/stats-dump" pages_written)
	want=$(awk -v p="$stored" 'BEGIN { printf "%.1f", p * 4096 / 1048576 }')
	case $last in
	*", $want MiB at "*) ok "stderr: MiB = pages stored ($want MiB)" ;;
	*) bad "stderr: '$last', stored $want MiB" ;;
	esac
fi
grep -q "$(printf '\r')" "$work/dump.err" && bad "stderr: a CR in a file" ||
	ok "stderr: no CR when it is not a terminal"

# ---- restore ----
"$CL" restore -D "$work/img" -d --progress-fd 3 3>"$work/restore.fd" \
	>"$work/restore.log" 2>&1 || { cat "$work/restore.log"; exit 1; }
restored=$(stat_ "$work/img/stats-restore" pages_restored)
phase "$work/restore.fd" check-pages "$restored"
phase "$work/restore.fd" restore-pages "$restored"
check_back restore

# ---- lazy restore: the daemon's fill, after criu-lite has returned ----
"$CL" restore -D "$work/img" -d --lazy-pages --progress-fd 3 \
	3>"$work/lazy.fd" >"$work/lazy.log" 2>&1 || { cat "$work/lazy.log"; exit 1; }
for _ in $(seq 1 200); do grep -q "all in" "$work/lazy.log" && break; sleep 0.05; done
phase "$work/lazy.fd" lazy-fill "$(stat_ "$work/img/stats-restore" pages_lazy)"
check_back lazy

# ---- on a terminal: one line, rewritten ----
start_hog
PROGRESS_CL=$CL PROGRESS_PID=$pid PROGRESS_DIR=$work/tty \
	script -qec '"$PROGRESS_CL" dump -t "$PROGRESS_PID" -D "$PROGRESS_DIR"' \
	/dev/null >"$work/tty.out" 2>&1 </dev/null
wait "$pid" 2>/dev/null
cr=$(tr -cd '\r' <"$work/tty.out" | wc -c)
lines=$(grep -c "dump-pages" "$work/tty.out")
if [ -f "$work/tty/inventory.img" ] && [ "$cr" -ge 2 ] && [ "$lines" -le 2 ]; then
	ok "terminal: $cr rewrites of one line"
else
	bad "terminal: $cr \\r, $lines lines: $(tr '\r' '|' <"$work/tty.out" | head -c 600)"
fi

# ---- a bad fd is refused, a reader that goes away is survived ----
start_hog
if "$CL" dump -t "$pid" -D "$work/badfd" --progress-fd 77 2>"$work/badfd.err"; then
	bad "--progress-fd 77 (not open) was accepted"
elif grep -q "^criu-lite: Error: --progress-fd 77" "$work/badfd.err" &&
	kill -0 "$pid" && [ ! -e "$work/badfd/inventory.img" ]; then
	ok "--progress-fd 77 refused: $(head -1 "$work/badfd.err")"
else
	bad "--progress-fd 77: $(cat "$work/badfd.err")"
fi
mkfifo "$work/fifo"
head -n 1 <"$work/fifo" >/dev/null &
if "$CL" dump -t "$pid" -D "$work/gone" --progress-fd 3 3>"$work/fifo" \
	2>"$work/gone.err"; then
	grep -q "no more progress lines" "$work/gone.err" &&
		ok "reader gone: the dump went on ($(grep -c . "$work/gone.err") lines)" ||
		ok "reader gone: the dump went on (it read every line)"
else
	bad "reader gone: the dump failed: $(cat "$work/gone.err")"
fi
wait "$pid" 2>/dev/null
pid=

echo "progress: $pass passed, $fail failed"
[ $fail = 0 ]

#!/bin/sh
# Logs: -o FILE (relative to the images directory, absolute, or '-' for
# stderr) gets every message of the level, each line stamped with the
# seconds since it opened; errors also reach stderr; -v0..-v4 (and -v,
# -vv) set the level, and the debug levels say more: -v3 each stage, VMA
# and fd, -v4 each injected syscall too. A restore's log file is not left
# open in the restored process.
# Run under build/tests/subreaper. Usage: tests/log-check.sh BUILD_DIR
set -u
B=${1:-build}
CL=$B/criu-lite
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-log.XXXXXX")
pass=0 fail=0 pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$work"' EXIT
ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
STAMP='^( *[0-9]*\.[0-9]\{6\}) criu-lite: '

sleep 1000 </dev/null >/dev/null 2>&1 &
pid=$!
d=$work/img

# dump -R into DIR with a log file of the given level; echoes its lines
dump_v() {
	"$CL" dump -t $pid -D "$d" -R -o dump.log "$@" 2>"$work/err" ||
		{ echo "dump $*: $(cat "$work/err")" >&2; echo 0; return; }
	grep -c . "$d/dump.log"
}

# ---- levels: each gives more ----
n2=$(dump_v -v2)
[ -f "$d/dump.log" ] && ok "-o dump.log is DIR/dump.log" || bad "no DIR/dump.log"
unstamped=$(grep -vc "$STAMP" "$d/dump.log")
[ "$unstamped" = 0 ] && ok "every line of the log file is stamped" ||
	bad "$unstamped unstamped lines: $(grep -v "$STAMP" "$d/dump.log" | head -3)"
grep -q "dumped $pid: frozen" "$d/dump.log" && [ ! -s "$work/err" ] &&
	ok "notes go to the file, not to stderr" ||
	bad "notes: file $(tail -2 "$d/dump.log"), stderr $(cat "$work/err")"
n3=$(dump_v -v3)
grep -q "pid $pid: vma [0-9a-f]*-[0-9a-f]* r" "$d/dump.log" &&
	grep -q "pid $pid: fd 0: FD_" "$d/dump.log" &&
	grep -q "freezing the tree of $pid" "$d/dump.log" &&
	! grep -q "thread $pid: injected [a-z_0-9]*#" "$d/dump.log" &&
	ok "-v3: stages, each VMA and fd" || bad "-v3: $(head -20 "$d/dump.log")"
n4=$(dump_v -v4)
grep -q "thread $pid: injected [a-z_0-9]*#[0-9]*(.*) = " "$d/dump.log" &&
	ok "-v4: each injected syscall" || bad "-v4: no injected syscalls"
[ "$n2" -lt "$n3" ] && [ "$n3" -lt "$n4" ] && ok "lines: -v2 $n2 < -v3 $n3 < -v4 $n4" ||
	bad "lines: -v2 $n2, -v3 $n3, -v4 $n4"
nvv=$(dump_v -vv)
[ "$nvv" -gt "$n3" ] && grep -q injected "$d/dump.log" &&
	ok "-vv is -v4 ($nvv lines)" || bad "-vv: $nvv lines"
n0=$(dump_v -v0)
[ "$n0" = 1 ] && ok "-v0: only the file's first line" || bad "-v0: $n0 lines"

# ---- without a file: stderr ----
"$CL" dump -t $pid -D "$d" -R 2>"$work/err"
grep -q "^criu-lite: dumped $pid" "$work/err" && ok "no -o: notes on stderr" ||
	bad "no -o: $(cat "$work/err")"
"$CL" dump -t $pid -D "$d" -R -o - 2>"$work/err"
grep -q "^criu-lite: dumped $pid" "$work/err" && ok "-o -: stderr" ||
	bad "-o -: $(cat "$work/err")"
"$CL" dump -t $pid -D "$d" -R -v0 2>"$work/err"
[ ! -s "$work/err" ] && ok "-v0: nothing on stderr" || bad "-v0: $(cat "$work/err")"
"$CL" dump -t $pid -D "$d" -R -o "$work/abs.log" 2>/dev/null
grep -q "$STAMP.*dumped $pid" "$work/abs.log" && ok "-o /absolute/path" ||
	bad "-o /absolute: $(cat "$work/abs.log" 2>&1)"

# ---- errors: in the file and on stderr ----
"$CL" dump -t 999999 -D "$work/none" -o dump.log 2>"$work/err"
if grep -q "^criu-lite: Error: .*999999" "$work/err" &&
	grep -q "$STAMP""Error: .*999999" "$work/none/dump.log"; then
	ok "an error goes to stderr and to the file"
else
	bad "error: stderr $(cat "$work/err"), file $(cat "$work/none/dump.log" 2>&1)"
fi
"$CL" dump -t $pid -D "$d" -vx 2>"$work/err"
grep -q '^criu-lite: Error: bad verbosity "x"' "$work/err" && ok "-vx refused" ||
	bad "-vx: $(cat "$work/err")"
"$CL" restore -D "$d" -o "$work/no/such/dir/x.log" 2>"$work/err"
[ $? = 1 ] && grep -q "^criu-lite: Error: can't open log file" "$work/err" &&
	ok "an unwritable log file is refused" || bad "unwritable log: $(cat "$work/err")"

# ---- restore: its log, and none of it in the restored process ----
kill $pid; wait $pid 2>/dev/null
sleep 1000 </dev/null >/dev/null 2>&1 &
pid=$!
"$CL" dump -t $pid -D "$d" 2>"$work/err" || { bad "dump: $(cat "$work/err")"; pid=; }
wait $pid 2>/dev/null
if "$CL" restore -D "$d" -d -o restore.log -v3 2>"$work/err"; then
	grep -q "restore $pid: vma " "$d/restore.log" &&
		grep -q "restore $pid: fd 0: " "$d/restore.log" &&
		[ "$(grep -vc "$STAMP" "$d/restore.log")" = 0 ] &&
		ok "restore -o restore.log -v3: VMAs and fds, stamped" ||
		bad "restore log: $(head -5 "$d/restore.log")"
	held=$(ls -l /proc/$pid/fd 2>/dev/null | grep -c "restore.log")
	[ "$held" = 0 ] && ok "the restored process does not hold the log file" ||
		bad "the restored process holds restore.log"
	kill -9 $pid
else
	bad "restore -o: $(cat "$work/err")"
fi
pid=

echo "log: $pass passed, $fail failed"
[ $fail = 0 ]

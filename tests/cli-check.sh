#!/bin/sh
# The command line as a user meets it: each command's --help is its own;
# every message of a refused command line starts with "criu-lite:" and
# exits non-zero; every long option of every --help is in the man page and
# in the bash completion; SIGINT, SIGTERM and SIGHUP during a restore stop
# it and say what was cleaned up (before anything exists, with puppets
# half built), and after the tree was let go they are reported and
# ignored. Restores are paused at named points (CRIU_LITE_PAUSE). A dump
# of a zombie says what it is, not that it "was left running".
# Run under build/tests/subreaper. Usage: tests/cli-check.sh BUILD_DIR
set -u
B=${1:-build}
CL=$B/criu-lite
MAN=docs/criu-lite.8
COMP=scripts/criu-lite.bash-completion
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-cli.XXXXXX")
pass=0 fail=0 pid= cl=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; [ -n "$cl" ] && kill -9 $cl 2>/dev/null; rm -rf "$work"' EXIT
ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

# refused NAME SECONDS WORDS CMD...: CMD exits 1 by itself within SECONDS
# (not left waiting), WORDS (a grep pattern) in its stderr
refused() {
	r_name=$1 r_secs=$2 r_words=$3
	shift 3
	timeout "$r_secs" "$@" >/dev/null 2>"$work/err"
	rc=$?
	if [ $rc = 124 ]; then
		bad "$r_name: still waiting after $r_secs s"
	elif [ $rc != 1 ] || ! grep -q -- "$r_words" "$work/err"; then
		bad "$r_name: exit $rc, $(cat "$work/err")"
	else
		ok "$r_name: $(head -1 "$work/err")"
	fi
}

# ---- --help: one per command, each its own ----
for cmd in check dump pre-dump restore show page-server migrate lazy-pages; do
	if "$CL" $cmd --help >"$work/help.$cmd" 2>"$work/err" &&
		head -1 "$work/help.$cmd" | grep -q "^usage: criu-lite $cmd" &&
		[ ! -s "$work/err" ]; then
		ok "$cmd --help"
	else
		bad "$cmd --help: $(head -2 "$work/help.$cmd") $(cat "$work/err")"
	fi
done
"$CL" --help >"$work/help.main" && grep -q "^usage: criu-lite COMMAND" "$work/help.main" &&
	ok "--help" || bad "--help"
dups=$(md5sum "$work"/help.* | awk '{ print $1 }' | sort | uniq -d | wc -l)
[ "$dups" = 0 ] && ok "every --help differs" || bad "$dups --help texts are the same"

# ---- --tls certificate files: refused when the command starts ----
# (a page-server or lazy-pages daemon used to wait, then fail every peer)
for args in "page-server -D $work --port 0" \
	    "lazy-pages --page-server --address 127.0.0.1 --port 1 -D $work"; do
	# shellcheck disable=SC2086
	refused "${args%% *} --tls with a missing CA file" 20 /nonexistent/ca.pem \
		"$CL" $args --tls --tls-cacert /nonexistent/ca.pem
done

# ---- refused command lines: criu-lite: messages, non-zero exit ----
while IFS='|' read -r args want; do
	# shellcheck disable=SC2086
	"$CL" $args >/dev/null 2>"$work/err"
	rc=$?
	if [ $rc = 0 ] || [ ! -s "$work/err" ]; then
		bad "criu-lite $args: exit $rc, stderr: $(cat "$work/err")"
	elif grep -qv "^criu-lite: " "$work/err"; then
		bad "criu-lite $args: a line without criu-lite: $(cat "$work/err")"
	elif ! grep -q -- "$want" "$work/err"; then
		bad "criu-lite $args: no \"$want\" in $(cat "$work/err")"
	else
		ok "criu-lite $args: $(head -1 "$work/err")"
	fi
done <<'EOF'
|no command
bogus|unknown command "bogus"
dump|needs -t PID and -D DIR
dump -t 5 -D x -Z|unknown option -Z
dump -t 5 -D x --bogus|unknown option --bogus
dump -t x -D x|bad PID "x"
dump -t 5 -D x stray|unexpected argument "stray"
dump -t 5 -D x --precopy-rounds many|bad number "many" for --precopy-rounds
dump -t 5 -D x --progress-fd x|bad number "x" for --progress-fd
dump -t 5 -D x -v9|bad verbosity "9"
dump -t 5 -D|option -D needs a value
restore|needs -D DIR
restore -D x --zombie-wait soon|bad --zombie-wait "soon"
restore -D x --leave-running|unknown option --leave-running
restore -D x --page-server h:1|--page-server needs --lazy-pages
show|needs a DIR or FILE
show a b|unexpected argument "b"
show --ps --fds x|one at a time
check --bogus|unknown option or argument "--bogus"
page-server -D x --port http|bad number "http" for --port
page-server -D x|needs -D DIR and --port N
page-server -D x --port 1 --tls-cert c|go with --tls
page-server -D x --port 1 --idle-timeout 0|for --idle-timeout (1 to 86400
dump -t 5 -D x --tls|--tls is for the connection to a page server
restore -D x --tls|--tls is for the connection to a page server
migrate -t 5 --to h:1 --tls-key k|go with --tls
migrate|needs either -t PID --to HOST:PORT
migrate -t 5 --to h|expected HOST:PORT
migrate --incoming h:1 -D x --postcopy|--postcopy goes with the source
dump -t 5 -D x --lazy-pages|dump --lazy-pages needs --port N
migrate -t 5 --to h:1 --lazy-timeout x|bad number "x" for --lazy-timeout
migrate --incoming h:1|needs -D DIR
migrate -t 5 --to h:1 --downtime-limit x|bad number "x" for --downtime-limit
migrate -t 5 --to h:1 --max-bandwidth lots|bad size "lots" for --max-bandwidth
migrate -t 5 --to h:1 --bogus|unknown option --bogus
migrate -t 5 --to h:1 --max-rounds lots|bad number "lots" for --max-rounds
lazy-pages|lazy-pages needs --page-server --address HOST --port N -D DIR
lazy-pages --page-server --address h --port x -D d|bad number "x" for --port
lazy-pages --page-server h:1 --port 2 -D d|--page-server h:1 and --address/--port: one or the other
lazy-pages --page-server h -D d|expected HOST:PORT
restore -D x --lazy-pages --page-server|--page-server needs --address HOST and --port N
restore -D x --lazy-pages --address h --port 1|--address and --port go with --page-server
restore -D x --lazy-pages --page-server h:1 --address h|one or the other
dump -t 5 -D x --page-server --port 1|--page-server needs --address HOST and --port N
pre-dump|pre-dump needs -t PID and -D DIR
pre-dump -t 5 -D x --compress lz4|--compress is not supported yet for a pre-dump
dump -t 5 -D x --prev-images-dir p --compress zstd|--compress with --prev-images-dir is not supported yet
EOF

# ---- every option of every --help: in the man page, in the completion ----
# (in the command's own OPTIONS section of the man page or in COMMON
# OPTIONS, and in the command's own list of the completion; check has
# only its synopsis)
MANWIDTH=200 man -l -P cat "$MAN" >"$work/man.txt" 2>/dev/null
section() {
	awk -v s="$1" '/^[A-Z]/ { on = ($0 == s) } on' "$work/man.txt"
}
for cmd in dump pre-dump restore show page-server migrate lazy-pages check; do
	missing_man= missing_comp=
	up=$(echo "$cmd" | tr a-z A-Z)
	[ $cmd = pre-dump ] && up=DUMP	# pre-dump's are among dump's
	if [ $cmd = check ]; then
		grep -A3 "^SYNOPSIS" "$work/man.txt" >"$work/sect"
	else
		{ section "$up OPTIONS"; section "COMMON OPTIONS"; } >"$work/sect"
	fi
	awk -v c="$cmd" '$1 == c ")" { on = 1 } on; on && /;;/ { exit }' \
		"$COMP" >"$work/comp"
	# the options of the help: its option column (29 wide) on the lines
	# that start with -x or --x
	for opt in $(grep -E '^ +--?[a-zA-Z]' "$work/help.$cmd" | cut -c1-29 |
		     grep -o -- '--[a-z][a-z-]*' | sort -u); do
		grep -q -- "$opt" "$work/sect" || missing_man="$missing_man $opt"
		grep -q -- "$opt" "$work/comp" || missing_comp="$missing_comp $opt"
	done
	[ -z "$missing_man" ] && ok "$cmd: every option in criu-lite(8)" ||
		bad "$cmd: not in criu-lite(8):$missing_man"
	[ -z "$missing_comp" ] && ok "$cmd: every option in the completion" ||
		bad "$cmd: not in the bash completion:$missing_comp"
done

# ---- --qmp naming no socket: refused before anything (a pre-copy's
# rounds were done first, the socket only tried at the stop) ----
sleep 1000 </dev/null >/dev/null 2>&1 &
pid=$!
refused "dump --qmp with no socket there" 20 "qmp $work/none.sock: No such file" \
	"$CL" dump -t $pid -D "$work/noqmp" --qmp "$work/none.sock" --precopy-rounds 2
refused "dump --qmp naming a file" 20 "qmp $work/help.main: not a socket" \
	"$CL" dump -t $pid -D "$work/noqmp" --qmp "$work/help.main"
if ! kill -0 $pid 2>/dev/null || [ "$(awk '{ print $3 }' /proc/$pid/stat)" != S ] ||
	[ -e "$work/noqmp" ]; then
	bad "dump --qmp refused: the target or DIR changed"
else
	ok "dump --qmp refused: the target runs on, no DIR"
fi
kill $pid; wait $pid 2>/dev/null

# ---- signals during restore ----
sleep 1000 </dev/null >/dev/null 2>&1 &
pid=$!
"$CL" dump -t $pid -D "$work/img" >"$work/dump.log" 2>&1 || { cat "$work/dump.log"; exit 1; }
wait $pid 2>/dev/null

# interrupt POINT SIGNAL: a restore paused at POINT gets SIGNAL; its
# stderr is in $work/int.err, its exit status in $rc
interrupt() {
	: >"$work/int.err"
	CRIU_LITE_PAUSE=$1 "$CL" restore -D "$work/img" -d 2>"$work/int.err" &
	cl=$!
	for _ in $(seq 1 200); do grep -q "paused at" "$work/int.err" && break; sleep 0.05; done
	kill -"$2" $cl
	wait $cl
	rc=$?
	cl=
}

gone() {
	for _ in $(seq 1 100); do [ -e /proc/$pid ] || return 0; sleep 0.02; done
	return 1
}

interrupt restore-loaded TERM
if [ $rc = 1 ] && grep -q "^criu-lite: Error: restore interrupted by SIGTERM" "$work/int.err" &&
	grep -q "restore cleanup: no process had been created yet" "$work/int.err" && gone; then
	ok "SIGTERM before anything exists: $(tail -1 "$work/int.err")"
else
	bad "SIGTERM at restore-loaded: exit $rc, $(cat "$work/int.err")"
fi
interrupt restore-before-resume INT
if [ $rc = 1 ] && grep -q "^criu-lite: Error: restore interrupted by SIGINT" "$work/int.err" &&
	grep -q "restore cleanup: 1 process(es) killed and reaped ($pid), nothing of this restore is left" \
		"$work/int.err" && gone; then
	ok "SIGINT with the tree built: $(tail -1 "$work/int.err")"
else
	bad "SIGINT at restore-before-resume: exit $rc, $(cat "$work/int.err")"
fi
interrupt restore-after-resume HUP
if [ $rc = 0 ] && grep -q "SIGHUP came after the tree was let go: ignored" "$work/int.err" &&
	kill -0 $pid 2>/dev/null; then
	ok "SIGHUP after the tree runs: reported, ignored, exit 0"
else
	bad "SIGHUP at restore-after-resume: exit $rc, $(cat "$work/int.err")"
fi
kill -9 $pid 2>/dev/null
gone
pid=

# ---- page servers: a bad -D refused at once, an absent one named ----
# the QMP guard's internal command: not for users, refused plainly; a
# pipe it cannot read is no sign of criu-lite's death (no "cont")
refused "__qmp-guard (no args)" 5 "criu-lite's own: not a command" \
	"$CL" __qmp-guard
refused "__qmp-guard (a bad fd)" 5 "QMP guard: read its pipe" \
	"$CL" __qmp-guard 99 "$work/none.sock" armed
refused "page-server -D (parent missing)" 20 "page-server: can't make -D $work/none/x" \
	"$CL" page-server --port 0 -D "$work/none/x"
sleep 30 </dev/null >/dev/null 2>&1 &
pid=$!
"$CL" dump -t $pid -D "$work/ps" -R --page-server --address 127.0.0.1 --port 1 \
	>/dev/null 2>"$work/err"
rc=$?
if [ $rc != 0 ] && grep -q "can't write pages to page server 127.0.0.1:1$" "$work/err" &&
	kill -0 $pid 2>/dev/null; then
	ok "dump to a page server not there: $(grep "write pages" "$work/err")"
else
	bad "dump to a page server not there: exit $rc, $(cat "$work/err")"
fi
kill -9 $pid 2>/dev/null
pid=

# ---- exit status 2: check's usage error only (criu-lite(8) EXIT STATUS) ----
"$CL" check --bogus >/dev/null 2>"$work/err"
rc=$?
"$CL" dump -t 5 -D "$work/x" --bogus >/dev/null 2>&1
rc2=$?
[ $rc = 2 ] && [ $rc2 = 1 ] && grep -q '^2 only for a usage error of$' "$MAN" &&
	ok "exit 2: check's usage error ($rc), 1 for dump's ($rc2), as the man page says" ||
	bad "exit status: check --bogus $rc, dump --bogus $rc2, man: $(grep -n '^2 ' "$MAN")"

# ---- a zombie: the dump says what it is, not that it "was left running" ----
sh -c 'sleep 0.1 & exec sleep 30' &
pid=$!
z=
for _ in $(seq 1 100); do
	z=$(pgrep -P $pid)
	[ -n "$z" ] && [ "$(cut -d' ' -f3 /proc/$z/stat 2>/dev/null)" = Z ] && break
	sleep 0.05
done
if [ -z "$z" ]; then
	bad "zombie: none made"
elif "$CL" dump -t "$z" -D "$work/zd" >/dev/null 2>"$work/z.err"; then
	bad "zombie: the dump of zombie $z succeeded"
elif grep -q "left running" "$work/z.err" ||
	! grep -q "failed; it is a zombie, left as it was: its exit status waits for its parent $pid" \
		"$work/z.err"; then
	bad "zombie: $(cat "$work/z.err")"
else
	ok "zombie: $(tail -1 "$work/z.err")"
fi
kill -9 $pid 2>/dev/null
pid=

# ---- a page server: CRIU's --page-server --address --port, HOST:PORT alias ----
# (restore --lazy-pages took only --page-server HOST:PORT, lazy-pages only
# CRIU's form.) Each form reaches the same address: nothing listens there,
# so each names it in its error.
for args in "--page-server --address 127.0.0.1 --port 1" \
	    "--port 1 --page-server --address 127.0.0.1" \
	    "--page-server 127.0.0.1:1" "--page-server=127.0.0.1:1"; do
	# shellcheck disable=SC2086
	refused "restore --lazy-pages $args" 60 "page server 127.0.0.1:1: connect" \
		"$CL" restore -D "$work/img" -d --lazy-pages $args --lazy-timeout 1
done
mkdir "$work/lp"
for args in "--page-server --address 127.0.0.1 --port 5" "--page-server 127.0.0.1:5"; do
	# shellcheck disable=SC2086
	refused "lazy-pages $args" 60 "pages from 127.0.0.1:5)" \
		"$CL" lazy-pages $args -D "$work/lp" --lazy-timeout 1
done

echo "cli: $pass passed, $fail failed"
[ $fail = 0 ]

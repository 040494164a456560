#!/bin/sh
# A failed dump never destroys a good checkpoint: with a good checkpoint
# in DIR, dumps into DIR that fail (no such PID, CRIU_LITE_FAULT at each
# point, SIGINT in the middle) leave every file of DIR byte-identical and
# no staging directory behind; the checkpoint still restores. Also: a
# good dump replaces DIR and keeps DIR's other files, and DIR may be a
# mount point (the staging directory is then inside it).
# Run under build/tests/subreaper. Usage: tests/dumpdir.sh BUILD_DIR
set -u
B=${1:-build}
CL=$(realpath "$B/criu-lite")
T=$(realpath "$B/zdtm/static/counter")
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-dumpdir.XXXXXX")
pass=0 fail=0 pid= mnt=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; [ -n "$mnt" ] && umount "$mnt";
      rm -rf "$work"' EXIT

ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

start_target() {
	: >"$work/t.out"
	(cd "$work" && exec "$T" </dev/null >>"$work/t.out" 2>&1) &
	pid=$!
	for _ in $(seq 1 200); do grep -q READY "$work/t.out" && return 0; sleep 0.05; done
	echo "target did not start"; exit 1
}

# fingerprint DIR: every entry below it, hidden ones too, with contents
fingerprint() {
	(cd "$1" && find . -mindepth 1 | sort && find . -type f | sort |
		xargs -r sha256sum)
}

# leftovers DIR: staging directories next to DIR or inside it
leftovers() {
	ls -a "$(dirname "$1")" | grep -F "$(basename "$1").tmp-"
	ls -a "$1" | grep -F ".criu-lite-new"
}

# still_good NAME DIR: DIR is as fingerprinted, nothing left behind, the
# target runs on untraced
still_good() {
	fingerprint "$2" >"$work/after"
	if ! cmp -s "$work/before" "$work/after"; then
		bad "$1: $2 changed:"; diff "$work/before" "$work/after" | head; return
	fi
	left=$(leftovers "$2")
	[ -z "$left" ] || { bad "$1: left behind: $left"; return; }
	st=$(awk '/^State:/ { print $2 } /^TracerPid:/ { print $2 }' /proc/$pid/status |
		tr '\n' ' ')
	case "$st" in
	[RS]" 0 ") ok "$1: $(grep Error "$work/$1.log" | grep -v paused | head -1)" ;;
	*) bad "$1: target State/TracerPid now: $st" ;;
	esac
}

# failing_dumps DIR: every way of failing, each must leave DIR alone
failing_dumps() {
	d=$1
	fingerprint "$d" >"$work/before"
	"$CL" dump -t 3999999 -D "$d" >"$work/no-pid.log" 2>&1 &&
		bad "no-pid: dump succeeded"
	still_good no-pid "$d"
	"$CL" dump -t 2 -D "$d" >"$work/kthread.log" 2>&1 &&
		bad "kthread: dump of PID 2 succeeded"
	still_good kthread "$d"
	for f in after-seize after-inject after-pages before-inventory before-commit; do
		CRIU_LITE_FAULT=$f "$CL" dump -t "$pid" -D "$d" -R \
			>"$work/$f.log" 2>&1 && bad "$f: dump succeeded"
		still_good "$f" "$d"
	done
	CRIU_LITE_PAUSE=after-pages "$CL" dump -t "$pid" -D "$d" -R \
		>"$work/sigint.log" 2>&1 &
	dp=$!
	for _ in $(seq 1 200); do grep -q "paused at" "$work/sigint.log" && break; sleep 0.05; done
	kill -INT $dp
	wait $dp && bad "sigint: dump succeeded"
	grep -q "interrupted by signal" "$work/sigint.log" ||
		bad "sigint: the dump was not interrupted by the signal"
	still_good sigint "$d"
	# a signal once the new checkpoint is committed: the dump succeeded,
	# criu-lite says so and exits 0 (it used to die silently with 130)
	CRIU_LITE_PAUSE=after-commit "$CL" dump -t "$pid" -D "$d" -R \
		>"$work/late.log" 2>&1 &
	dp=$!
	for _ in $(seq 1 200); do grep -q "paused at" "$work/late.log" && break; sleep 0.05; done
	kill -INT $dp
	if wait $dp && grep -q "came after the dump was complete" "$work/late.log"; then
		ok "late-sigint: exit 0, the new checkpoint stands"
	else
		bad "late-sigint: $(tail -2 "$work/late.log")"
	fi
	fingerprint "$d" >"$work/before"
	# a dump SIGKILLed mid-way leaves its staging directory; the next dump
	# into the same place removes it
	CRIU_LITE_PAUSE=after-pages "$CL" dump -t "$pid" -D "$d" -R \
		>"$work/killed.log" 2>&1 &
	dp=$!
	for _ in $(seq 1 200); do grep -q "paused at" "$work/killed.log" && break; sleep 0.05; done
	kill -KILL $dp; wait $dp 2>/dev/null
	left=$(ls -d "$d".tmp-* "$d"/.criu-lite-new.tmp-* 2>/dev/null | wc -l)
	"$CL" dump -t "$pid" -D "$d" -R >"$work/after-kill.log" 2>&1 ||
		bad "after-kill: dump failed: $(tail -1 "$work/after-kill.log")"
	now=$(ls -d "$d".tmp-* "$d"/.criu-lite-new.tmp-* 2>/dev/null | wc -l)
	if [ "$left" = 1 ] && [ "$now" = 0 ]; then
		ok "after-kill: the killed dump's staging directory is removed by the next"
	else
		bad "after-kill: staging directories left: $left after the kill, $now after the next dump"
	fi
	# a staging directory whose PID is dead here but which was made in
	# another PID namespace (another tag) may belong to a live dump
	# there: left alone; ours with a dead PID: removed (DIR beside its
	# stage; a mount point stages inside itself: checked once, here)
	[ "$d" = "$mnt" ] && { fingerprint "$d" >"$work/before"; return; }
	tag=$(python3 -c "import os; print('n%x' % os.stat('/proc/self/ns/pid').st_ino)")
	mkdir "$d.tmp-999999-n1-abcdef" "$d.tmp-999999-$tag-abcdef"
	"$CL" dump -t "$pid" -D "$d" -R >"$work/other-ns.log" 2>&1 ||
		bad "other-ns: dump failed: $(tail -1 "$work/other-ns.log")"
	if [ -d "$d.tmp-999999-n1-abcdef" ] && [ ! -e "$d.tmp-999999-$tag-abcdef" ]; then
		ok "other-ns: another PID namespace's staging directory is kept, a dead one of ours removed"
	else
		bad "other-ns: $(ls -d "$d".tmp-* 2>/dev/null | tr '\n' ' ')"
	fi
	rmdir "$d.tmp-999999-n1-abcdef" 2>/dev/null
	fingerprint "$d" >"$work/before"
}

# restores DIR: the target comes back from DIR and its state checks out
restores() {
	kill -9 "$pid"; wait "$pid" 2>/dev/null
	: >"$work/t.out"
	if ! "$CL" restore -D "$1" -d >"$work/restore.log" 2>&1; then
		bad "restore of $1 failed:"; cat "$work/restore.log"; pid=; return
	fi
	kill -TERM "$pid"
	for _ in $(seq 1 200); do grep -q "^PASS\|^FAIL" "$work/t.out" && break; sleep 0.05; done
	if grep -q "^PASS" "$work/t.out"; then ok "restore: $1 restores"
	else bad "restore: the target says: $(tail -3 "$work/t.out")"; fi
	pid=
}

start_target
"$CL" dump -t "$pid" -D "$work/img" -R >"$work/good.log" 2>&1 ||
	{ bad "good dump:"; cat "$work/good.log"; exit 1; }
failing_dumps "$work/img"
restores "$work/img"

# a good dump replaces DIR, keeps its foreign files, drops stale images
start_target
echo note >"$work/img/notes.txt"
echo stale >"$work/img/core-3999999.img"
if "$CL" dump -t "$pid" -D "$work/img" -R >"$work/again.log" 2>&1 &&
   [ -f "$work/img/notes.txt" ] && [ ! -e "$work/img/core-3999999.img" ] &&
   [ -f "$work/img/inventory.img" ] && [ -z "$(leftovers "$work/img")" ]; then
	ok "replace: new images in place, notes.txt kept, stale image gone"
else
	bad "replace: $(ls -a "$work/img" | tr '\n' ' ')"; cat "$work/again.log"
fi

# DIR is a mount point: it can't be swapped, its files are replaced
mnt=$work/mnt
mkdir -p "$mnt" && mount -t tmpfs -o size=64m cl-dumpdir "$mnt" || exit 1
if "$CL" dump -t "$pid" -D "$mnt" -R >"$work/mnt-good.log" 2>&1; then
	failing_dumps "$mnt"
	restores "$mnt"
else
	bad "mount point: good dump failed:"; cat "$work/mnt-good.log"
fi

echo "dumpdir: $pass passed, $fail failed"
[ $fail = 0 ]

#!/bin/sh
# show --json prints valid JSON whatever the images hold: a good dump,
# strings with quotes, control bytes and invalid UTF-8, 64-bit values past
# 2^53 (written as strings, exact), a file name with a quote, flipped and
# cut files, a missing path. Each output goes through tests/tools/jsoncheck.
# Run under build/tests/subreaper. Usage: tests/fuzz/show-json.sh BUILD_DIR
set -u
B=${1:-build}
CL=$B/criu-lite
JC=$B/tests/jsoncheck
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-json.XXXXXX")
pass=0 fail=0 pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$work"' EXIT

# check NAME PATH [GREP-PATTERN]: show --json PATH is JSON (and has PATTERN)
check() {
	"$CL" show --json "$2" >"$work/out.json" 2>/dev/null
	if ! "$JC" <"$work/out.json" 2>"$work/jc.err"; then
		echo "FAIL $1: $(cat "$work/jc.err")"; fail=$((fail + 1))
	elif [ -n "${3:-}" ] && ! grep -q -- "$3" "$work/out.json"; then
		echo "FAIL $1: no \"$3\" in $(head -c 300 "$work/out.json")"
		fail=$((fail + 1))
	else
		echo "PASS $1"; pass=$((pass + 1))
	fi
}

: >"$work/t.out"
"$B/tests/corrupt-target" </dev/null >"$work/t.out" 2>&1 &
pid=$!
for _ in $(seq 1 200); do grep -q READY "$work/t.out" && break; sleep 0.05; done
"$CL" dump -t $pid -D "$work/good" >/dev/null 2>&1 || { echo "show-json: dump failed"; exit 1; }
wait $pid 2>/dev/null
pid=

check good-dump "$work/good" '"checksum":"[0-9]*"'
cp -a "$work/good" "$work/odd"
"$B/tests/imgedit" "$work/odd" kernel "$(printf 'q"b\\s\001\177\377\300\200\355\240\200 ok \303\251')"
check odd-string "$work/odd/inventory.img" '\\u00ff'
cp "$work/good/inventory.img" "$work/odd/a\"b.img"
check quoted-name "$work/odd/a\"b.img"
mkdir "$work/bad"
for f in "$work/good"/*.img; do
	n=${f##*/}
	cp "$f" "$work/bad/$n"
	size=$(stat -c %s "$f")
	[ "$n" = pages-1.img ] && continue
	# cut the first (sorted) half, flip a byte in the others
	case $n in
	[a-l]*) truncate -s $((size / 2)) "$work/bad/$n" ;;
	*) printf '\377' | dd of="$work/bad/$n" bs=1 seek=$((size / 2)) \
		conv=notrunc 2>/dev/null ;;
	esac
done
check corrupt-dir "$work/bad" '"error"'
check missing-path "$work/nothing-here" '"error"'
echo "show-json: $pass passed, $fail failed"
[ $fail = 0 ]

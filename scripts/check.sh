#!/bin/sh
# make check: runs each test suite (make targets given as arguments), keeps
# each one's output in build/check/, goes on after a failure, and ends with
# every runner's own summary lines, so a run that executed no test shows.
set -u
B=${B:-build}
mkdir -p "$B/check"
failed=
for t in "$@"; do
	echo "=== $t"
	if ${MAKE:-make} --no-print-directory "$t" >"$B/check/$t.log" 2>&1; then
		tail -n 3 "$B/check/$t.log"
	else
		failed="$failed $t"
		tail -n 40 "$B/check/$t.log"
	fi
done
echo
echo "=== summary (full logs in $B/check/)"
for t in "$@"; do
	# cmocka's lines get the name of their test binary ("== path" above)
	awk -v t="$t" '
		/^== / { n = $2; sub(/.*\//, "", n) }
		/^\[ +(PASSED|FAILED|SKIPPED) +\] [0-9]+ test/ ||
		/^[a-z0-9 -]+: [0-9]+ passed, [0-9]+ failed/ ||
		/^check-guest: all passed/ {
			print t ": " (n != "" && /^\[/ ? n " " : "") $0
		}' "$B/check/$t.log"
done
if [ -n "$failed" ]; then
	echo "make check: FAILED:$failed"
	exit 1
fi
echo "make check: all test suites passed"

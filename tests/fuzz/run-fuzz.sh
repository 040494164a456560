#!/bin/sh
# Runs the image fuzzer over the committed seeds, then for SECONDS more.
# New inputs are kept in FUZZ_DIR/corpus (not in the repository); a crash
# leaves its input in FUZZ_DIR and fails the run.
# Usage: tests/fuzz/run-fuzz.sh FUZZ_DIR SECONDS
set -u
F=$1 secs=$2
mkdir -p "$F/corpus" "$F/artifacts"
"$F/fuzz_image" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-artifact_prefix="$F/artifacts/" -print_final_stats=1 \
	"$F/corpus" tests/fuzz/corpus >"$F/fuzz.log" 2>&1
rc=$?
grep -E "^stat::number_of_executed_units|^stat::new_units_added|Done [0-9]+ runs" \
	"$F/fuzz.log"
if [ $rc = 0 ]; then
	echo "fuzz: 1 passed, 0 failed"
else
	grep -A30 "ERROR\|==ERROR\|runtime error\|deadly signal" "$F/fuzz.log" | head -40
	echo "fuzz: crash input in $F/artifacts/: $(ls "$F/artifacts" | head -3)"
	echo "fuzz: 0 passed, 1 failed"
fi
exit $rc

#!/bin/bash
# Checks a results.jsonl of the experiments: every line is JSON and has
# every field of exp-stats.jq's required_fields, of the right type. Prints
# each row that does not (line number, mode, what is wrong); exits 1 then.
#
# Usage: experiments/matrix/check-results.sh RESULTS.jsonl
set -u
cd "$(dirname "$0")/../.." || exit 1
res=$1
[ -s "$res" ] || { echo "check-results: $res is empty" >&2; exit 1; }
bad=$(jq -L experiments/matrix -rc 'import "exp-stats" as s;
	[input_line_number, (.mode // "?"), (s::schema_errors | join(", "))] |
	select(.[2] != "") | "\(.[0]): \(.[1]): \(.[2])"' "$res" 2>&1) ||
	{ echo "check-results: $res: not JSON lines: $bad" >&2; exit 1; }
[ -z "$bad" ] || { echo "check-results: $res: rows with missing or bad fields:" >&2
	echo "$bad" >&2; exit 1; }
echo "check-results: $res: $(wc -l <"$res") rows, every field there"

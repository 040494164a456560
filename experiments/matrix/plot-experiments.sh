#!/bin/bash
# Plots of the experiment results, with gnuplot, as PNG and SVG:
#   pause-vs-rate      downtime (QEMU's / criu-lite's own figure) and pause
#                      (heartbeat gap, host clock) against the dirty rate
#   total-vs-ram       total time of the move against guest RAM
#   bytes-per-mode     bytes moved, per mode and QEMU version
# Every run is a point (an open circle when the move broke the guest: the
# tool's own figures exist even then); medians (of the ok runs, where there
# are any) are joined by lines (pause, total) or drawn as bars (bytes). Series: a few representative modes, one panel per QEMU
# version.
#
# Usage: experiments/matrix/plot-experiments.sh RESULTS.jsonl OUTDIR
# shellcheck disable=SC2016
set -eu
cd "$(dirname "$0")/../.." || exit 1
res=$1 out=$2
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
JQ=(jq -L experiments/matrix -r)
# the modes drawn in the line plots (all modes are in the tables)
PLOT_MODES='["precopy-default","precopy","multifd-4","postcopy","auto-converge","exec-save","cl-dump","cl-precopy-lazy","cl-migrate"]'
versions=$(jq -r '.qemu' "$res" | sort -uV | tr '\n' ' ')

# xy_data VERSION XFIELD YFIELD FILE: gnuplot data blocks, one per mode
# ("index" i), rows "x y" of every run; FILE.med the medians per x;
# prints the modes' names in block order
xy_data() {
	"${JQ[@]}" --arg v "$1" --arg x "$2" --arg y "$3" --argjson modes "$PLOT_MODES" \
		--arg med "$4.med" --argjson mem "${PLOT_MEM:-null}" '
		import "exp-stats" as s;
		[inputs | s::moved | select(.qemu == $v and (.mode | IN($modes[]))
			and ($mem == null or .mem_mib == $mem)
			and .[$y] != null and .verdict != "n/a")] as $rows |
		[$modes[] as $m | $rows | map(select(.mode == $m)) |
			select(length > 0)] as $blocks |
		($blocks | map(.[0].mode) | join(" ")),
		($blocks | map(map("\(.[$x]) \(.[$y]) \(if .verdict == "ok" then 7 else 6 end)") |
			join("\n")) | join("\n\n\n"))
		' -n "$res" >"$tmp/xy"
	head -n 1 "$tmp/xy" >"$tmp/names"
	tail -n +2 "$tmp/xy" >"$4"
	"${JQ[@]}" --arg v "$1" --arg x "$2" --arg y "$3" --argjson modes "$PLOT_MODES" \
		--argjson mem "${PLOT_MEM:-null}" '
		import "exp-stats" as s;
		[inputs | s::moved | select(.qemu == $v and (.mode | IN($modes[]))
			and ($mem == null or .mem_mib == $mem)
			and .[$y] != null)] as $rows |
		[$modes[] as $m | $rows | map(select(.mode == $m)) | select(length > 0) |
			group_by(.[$x]) | map((map(select(.verdict == "ok")) as $ok |
				if ($ok | length) > 0 then $ok else . end) |
				"\(.[0][$x]) \(map(.[$y]) | s::median)") |
			join("\n")] | join("\n\n\n")' -n "$res" >"$4.med"
	cat "$tmp/names"
}

# render NAME GNUPLOT-BODY: the plot as NAME.png and NAME.svg
render() {
	local term
	for term in "pngcairo size 1100,460 font 'sans,10'|png" \
		"svg size 1100,460 font 'sans,10' dynamic|svg"; do
		gnuplot <<EOF
set terminal ${term%|*}
set output '$out/$1.${term#*|}'
# a ninth color: the default eight come round again
set linetype 9 lc rgb '#8c564b'
$2
EOF
	done
}

# mode_colors NAMES: each mode's color number: its place in PLOT_MODES, so
# that a mode has the same color in every panel
mode_colors() {
	local n
	for n in $1; do
		jq -r --arg n "$n" 'index($n) + 1' <<<"$PLOT_MODES"
	done | tr '\n' ' '
}

# xtics_of MEDFILE: a tic at each x the runs have (the offsets and the
# sideways shifts would otherwise show tics below 0 pages/s)
xtics_of() {
	awk 'NF { print $1 }' "$1" | sort -un |
		awk '{ printf "%s\"%s\" %s", (NR > 1 ? ", " : ""), $1, $1 }'
}

# gq TEXT: TEXT for a single-quoted gnuplot string
gq() { printf '%s' "${1//\'/\'\'}"; }

# line_plot NAME XFIELD YFIELD XLABEL YLABEL TITLE LOGY JITTER: JITTER
# shifts each mode's points and line sideways by that much x (legibility)
line_plot() {
	local body v names i=0 f
	body="set multiplot layout 1,$(wc -w <<<"$versions") title '$(gq "$6")'"
	for v in $versions; do
		i=$((i + 1))
		f=$tmp/$1-$i.dat
		names=$(xy_data "$v" "$2" "$3" "$f")
		[ -s "$f" ] || { body="$body
set title 'QEMU $v: no data'; unset key; plot [0:1][0:1] NaN notitle"; continue; }
		body="$body
set title 'QEMU $v (criu-lite rows: criu-lite moving QEMU $v)'
set xlabel '$(gq "$4")'; set ylabel '$(gq "$5")'; set grid
set key outside bottom center horizontal maxrows 3 font 'sans,9'
$([ "$7" = logy ] && echo "set logscale y" || echo "unset logscale y")
set offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05
set xtics ($(xtics_of "$f.med"))
names = '$names'
cols = '$(mode_colors "$names")'
dx(k) = (k - (words(names) + 1) / 2.0) * $8
plot for [k=1:words(names)] '$f.med' index k-1 using (\$1 + dx(k)):2 with linespoints pt 2 ps 1.4 lw 1.5 lc word(cols, k) + 0 title word(names, k), \\
     for [k=1:words(names)] '$f' index k-1 using (\$1 + dx(k)):2:3 with points pt variable ps 1.3 lc word(cols, k) + 0 notitle"
	done
	render "$1" "$body
unset multiplot"
}

# the rate plots: one RAM size (the smallest, where every axis mode
# runs), not medians of sizes mixed
PLOT_MEM=$(jq -s 'map(.mem_mib) | min' "$res")
line_plot pause-vs-rate dirty_rate pause_ms "guest dirty rate (pages/s)" \
	"pause seen by clients of the guest (ms, log)" \
	"Pause (heartbeat gap on the host clock), $PLOT_MEM MiB guest: dots = runs, crosses and lines = medians; modes shifted sideways" logy 300
line_plot downtime-vs-rate dirty_rate downtime_ms "guest dirty rate (pages/s)" \
	"downtime, the tool's own figure (ms, log)" \
	"Downtime as reported by QEMU (query-migrate) / criu-lite (frozen), $PLOT_MEM MiB guest: dots = runs (open: the guest broke), crosses = medians" logy 300
PLOT_MEM=
line_plot total-vs-ram mem_mib total_ms "guest RAM (MiB)" "total time (ms, log)" \
	"Total time of the move against guest RAM: dots = runs (open: the guest broke), crosses and lines = medians; modes shifted sideways" logy 25

# bytes per mode: one x position per mode, a bar per version's median and
# a point per run, of the busiest 512 MiB configuration only (the one every
# mode runs in; sizes of other RAM sizes would mix into the medians)
"${JQ[@]}" '
	import "exp-stats" as s;
	[inputs | s::moved | select(.bytes != null and .mem_mib == 512)] as $all |
	($all | map(.dirty_rate) | max) as $rate |
	[$all[] | select(.dirty_rate == $rate)] as $r |
	(reduce ($r[].mode) as $m ([]; if any(.[]; . == $m) then . else . + [$m] end)) as $modes |
	($r | map(.qemu) | unique) as $vers |
	($modes | to_entries | map("\"\(.value)\" \(.key)") | join(", ")) as $tics |
	"TICS \($tics)", "RATE \($rate)",
	($vers[] as $v |
		"BLOCK \($v)",
		($modes | to_entries[] | .key as $mi |
			[$r[] | select(.qemu == $v and .mode == $modes[$mi])] |
			select(length > 0) | (map(select(.verdict == "ok")) as $ok |
				if ($ok | length) > 0 then $ok else . end) |
			"\($mi) \(map(.bytes) | s::median | s::mib)"),
		"POINTS",
		($modes | to_entries[] | .key as $mi |
			$r[] | select(.qemu == $v and .mode == $modes[$mi]) |
			"\($mi) \(.bytes | s::mib)"))
	' -n "$res" >"$tmp/bytes"
tics=$(sed -n 's/^TICS //p' "$tmp/bytes")
brate=$(sed -n 's/^RATE //p' "$tmp/bytes")
# blocks: version k's bars at index 2(k-1), its runs at 2(k-1)+1
awk '/^(BLOCK|POINTS)/ { if (n++) printf "\n\n"; next } /^(TICS|RATE)/ { next } { print }' \
	"$tmp/bytes" >"$tmp/bytes.dat"
bvers=$(sed -n 's/^BLOCK //p' "$tmp/bytes" | tr '\n' ' ')
render bytes-per-mode "set title 'Bytes moved per mode, 512 MiB guest at $brate pages/s (QEMU: ram transferred or the stream file; criu-lite: images or bytes sent): bars = medians, points = runs' font 'sans,9'
set ylabel 'MiB'; set grid y; set yrange [0:*]
set xtics ($tics) rotate by 40 right font 'sans,8'
set rmargin 4; set bmargin 8
set style fill solid 0.35
set boxwidth 0.35
set key tmargin center horizontal
vers = '$bvers'
nv = words(vers)
plot for [k=1:nv] '$tmp/bytes.dat' index 2*(k-1) using (\$1 - 0.2 + 0.4 * (k - 1)):2 with boxes lc k title 'QEMU '.word(vers, k), \\
     for [k=1:nv] '$tmp/bytes.dat' index 2*(k-1)+1 using (\$1 - 0.2 + 0.4 * (k - 1)):2 with points pt 7 ps 0.6 lc k notitle"
ls "$out"

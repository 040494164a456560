#!/bin/bash
# make demo: the main job. Boots the TCG test guest, shows its heartbeats,
# dumps the whole QEMU process with criu-lite, restores it, shows the guest
# going on (next heartbeat, memory check ok) and prints a summary.
# Runs under build/tests/subreaper (make demo does that).
set -u
cd "$(dirname "$0")/.." || exit 1
GL_GUEST=build/guest
. experiments/guest/guest-lib.sh
CL=build/criu-lite
MEM=${DEMO_MEM:-512}
RATE=${DEMO_RATE:-1000}
d=$(mkdir -p build/demo && cd build/demo && pwd)
img=$d/images
qpid= stamper=
trap '[ -n "$stamper" ] && kill $stamper 2>/dev/null; [ -n "$qpid" ] && gl_quit_qemu "$d/qmp.sock" "$qpid"' EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# stat_of DIR NAME: a figure of DIR/stats-dump (show's text: "  NAME  N ...")
stat_of() {
	"$CL" show "$1/stats-dump" 2>/dev/null |
		awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k || $i == k ":") { print $(i + 1) + 0; exit } }'
}
die() { echo "demo: $*" >&2; exit 1; }

rm -rf "$img" "$d/serial.log"
: >"$d/serial.log"
"$GL_GUEST/serial-watch" --stamp "$d/serial.log" >"$d/stamped.log" &
stamper=$!

say "booting a ${MEM} MiB TCG guest (workload dirties $RATE pages/s)"
qpid=$(experiments/guest/run-guest.sh -d "$d" -m "$MEM" -r "$RATE" -W 180) ||
	die "the guest did not boot (see $d)"
"$GL_GUEST/serial-watch" -t 120 "$d/serial.log" "VERIFY " >/dev/null ||
	die "no VERIFY from the guest"
echo "QEMU pid $qpid, $(ls /proc/$qpid/task | wc -l) threads, $(wc -l </proc/$qpid/maps) mappings"
grep -E '^(HB|VERIFY)' "$d/serial.log" | tail -4

say "criu-lite dump -t $qpid -D $img --qmp $d/qmp.sock"
off=$(stat -c %s "$d/serial.log")
t0=$(gl_now_ms)
$CL dump -t "$qpid" -D "$img" --qmp "$d/qmp.sock" 2>&1 | tee "$d/dump.log" ||
	die "dump failed"
t1=$(gl_now_ms)
gl_alive "$qpid" && die "QEMU still runs after the dump"
echo "QEMU $qpid is gone; images: $(du -sh "$img" | cut -f1)"

say "criu-lite restore -D $img -d --verify"
$CL restore -D "$img" -d --verify 2>&1 | tee "$d/restore.log" ||
	die "restore failed"
t2=$(gl_now_ms)
"$GL_GUEST/serial-watch" -t 60 -o "$off" -c 3 "$d/serial.log" "HB " >/dev/null ||
	die "no heartbeat after restore"
"$GL_GUEST/serial-watch" -t 60 -o "$off" -c 1 "$d/serial.log" "VERIFY " >/dev/null ||
	die "no memory check after restore"
echo "the guest after restore (same PID $qpid):"
tail -c +"$((off + 1))" "$d/serial.log" | grep -E '^(HB|VERIFY)' | head -4

gap=$(gl_hb_gap "$d/stamped.log")
verify=$(tail -c +"$((off + 1))" "$d/serial.log" | gl_verdict /dev/stdin VERIFY)
complaints=$(tail -c +"$((off + 1))" "$d/serial.log" | gl_complaints /dev/stdin)
seq_ok=$(awk '$1 == "HB" { s = substr($2, 5) + 0; if (n++ && s != p + 1) bad++; p = s }
	END { print bad ? "GAP" : "continuous" }' "$d/serial.log")
# the dump's own figures, as its stats-dump holds them (the "dumped"
# line's wording is for people)
st=$(stat_of "$img" pages_written)
zp=$(stat_of "$img" pages_zero)
freeze=$(sed -n 's/.*(freeze \([0-9.]*\) ms).*/\1/p' "$d/dump.log")

say "summary"
printf '%-34s %s\n' \
	"guest RAM" "$MEM MiB (workload dirtying $RATE pages/s)" \
	"freeze (all threads stopped)" "${freeze:-?} ms" \
	"dump (QMP stop to QEMU gone)" "$((t1 - t0)) ms" \
	"image size" "$(du -sh "$img" | cut -f1) ($st pages stored, $zp zero pages not stored: $(( zp * 100 / (st + zp + 1) ))% of the dumped pages were zero)" \
	"restore (to QEMU running again)" "$((t2 - t1)) ms" \
	"guest-observed pause" "$(echo "$gap" | gl_kv outage_ms) ms of host time between heartbeats (guest clock advanced $(echo "$gap" | gl_kv guest_gap_ms) ms)" \
	"heartbeat sequence" "$seq_ok (seq step $(echo "$gap" | gl_kv seq_step) across the move)" \
	"guest memory check after restore" "$verify" \
	"guest kernel complaints" "${complaints:-none}"
ok1=0
[ "$verify" = ok ] && [ "$seq_ok" = continuous ] && [ -z "$complaints" ] &&
	[ "${st:-0}" -gt 0 ] && ok1=1
[ "${st:-0}" -gt 0 ] || echo "demo: the summary found no stored pages in $img/stats-dump" >&2

# The same guest moved again, the other way criu-lite can: memory copied
# while the guest runs (pre-copy), and a restore that resumes before the
# memory is back (lazy pages).
say "again: criu-lite dump --precopy-rounds 8, restore --lazy-pages"
img2=$d/images-precopy
rm -rf "$img2"
off2=$(stat -c %s "$d/serial.log")
t3=$(gl_now_ms)
$CL dump -t "$qpid" -D "$img2" --qmp "$d/qmp.sock" --precopy-rounds 8 \
	--precopy-until 64 2>&1 | tee "$d/dump2.log" || die "pre-copy dump failed"
$CL restore -D "$img2" -d --lazy-pages 2>&1 | tee "$d/restore2.log" ||
	die "lazy restore failed"
t4=$(gl_now_ms)
"$GL_GUEST/serial-watch" -t 60 -o "$off2" -c 1 "$d/serial.log" "VERIFY " >/dev/null ||
	die "no memory check after the second move"
gap2=$(gl_hb_gap "$d/stamped.log" -- "$t3")
verify2=$(tail -c +"$((off2 + 1))" "$d/serial.log" | gl_verdict /dev/stdin VERIFY)
frozen1=$(sed -n 's/.*frozen \([0-9.]*\) ms.*/\1/p' "$d/dump.log")
frozen2=$(sed -n 's/.*frozen \([0-9.]*\) ms.*/\1/p' "$d/dump2.log")
printf '%-34s %s\n' \
	"process frozen" "${frozen2:-?} ms (plain dump: ${frozen1:-?} ms)" \
	"dump + restore" "$((t4 - t3)) ms, most of it while the guest runs" \
	"guest-observed pause" "$(echo "$gap2" | gl_kv outage_ms) ms (plain: $(echo "$gap" | gl_kv outage_ms) ms)" \
	"guest memory check after restore" "$verify2"
[ $ok1 = 1 ] && [ "$verify2" = ok ]

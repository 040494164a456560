#!/bin/sh
# Remakes the fuzzer's seed corpus from a real dump of corrupt-target (run
# from a temporary directory, its output to a temporary file, so that the
# images hold no path of the machine they were made on; the inventory's
# kernel release is replaced by a neutral one). Each seed is the body of an
# image (header and trailer stripped) after one byte giving its type, as
# tests/fuzz/fuzz_image.c reads it, plus two whole files (mode byte 0x80).
# Run under build/tests/subreaper. Usage: tests/fuzz/make-seeds.sh BUILD_DIR OUT_DIR
set -eu
B=$1 out=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-seed.XXXXXX")
trap 'kill -9 $pid 2>/dev/null || :; rm -rf "$work"' EXIT
cp "$B/tests/corrupt-target" "$work/t"
(cd "$work" && exec ./t </dev/null >"$work/out" 2>&1) &
pid=
for _ in $(seq 1 200); do grep -q READY "$work/out" 2>/dev/null && break; sleep 0.05; done
read -r _ pid _ <"$work/out"
"$B/criu-lite" dump -t "$pid" -D "$work/zimg" -R --compress lz4 >/dev/null
"$B/criu-lite" dump -t "$pid" -D "$work/img" >/dev/null
cp "$work/zimg/pages-index-1.img" "$work/img/"
"$B/tests/imgedit" "$work/img" kernel 6.1.0-generic
mkdir -p "$out"
rm -f "$out"/seed-*
for f in "$work/img"/*.img; do
	n=${f##*/}
	case $n in
	inventory*) t=0 ;; pstree*) t=1 ;; core-*) t=2 ;; mm-*) t=3 ;;
	pagemap-*) t=4 ;; fdinfo-*) t=5 ;; task-*) t=6 ;;
	pages-index-*) t=9 ;; *) continue ;;
	esac
	kind=${n%-*}; kind=${kind%.img}
	[ -e "$out/seed-$kind" ] && continue	# one of each kind
	size=$(stat -c %s "$f")
	{ printf "\\$(printf %o $t)"; tail -c +13 "$f" | head -c $((size - 20)); } \
		>"$out/seed-$kind"
done
{ printf '\200'; cat "$work/img/pstree.img"; } >"$out/seed-raw-pstree"
{ printf '\200'; cat "$work/img/inventory.img"; } >"$out/seed-raw-inventory"
ls -l "$out"

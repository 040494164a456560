#!/bin/sh
# Restore must refuse broken or mismatched images before it creates
# anything, with a message naming the file and the problem. Each case takes
# a good dump of a sleeping process, breaks one thing, and checks: restore
# fails, its message names the file, and no process came back.
# Usage: tests/bad-images.sh BUILD_DIR
set -u
B=${1:-build}
CL=$B/criu-lite
EDIT=$B/tests/imgedit
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-bad.XXXXXX")
pass=0 fail=0
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT

sleep 1000 &
pid=$!
if ! "$CL" dump -t $pid -D "$work/good" -R 2>"$work/dump.log"; then
	cat "$work/dump.log"; echo "bad-images: can't make a good dump"; exit 1
fi
# the same with its pages image compressed (frames and their index)
if ! "$CL" dump -t $pid -D "$work/zgood" -R --compress zstd 2>"$work/dump.log"; then
	cat "$work/dump.log"; echo "bad-images: can't make a good compressed dump"; exit 1
fi

# case NAME EXPECTED-TEXT SETUP-COMMANDS: $d is the broken copy (of
# $work/$GOOD, default good)
case_() {
	name=$1 want=$2 setup=$3
	d=$work/$name
	cp -a "$work/${GOOD:-good}" "$d"
	eval "$setup"
	# shellcheck disable=SC2086
	if "$CL" restore -D "$d" -d --zombie-wait 0 ${EXTRA:-} >"$work/$name.log" 2>&1; then
		echo "FAIL $name: restore succeeded"; fail=$((fail + 1)); return
	fi
	if ! grep -q -- "$want" "$work/$name.log"; then
		echo "FAIL $name: message lacks \"$want\":"; cat "$work/$name.log"
		fail=$((fail + 1)); return
	fi
	echo "PASS $name: $(grep -m1 Error "$work/$name.log")"
	pass=$((pass + 1))
}

# the PID is taken by the still-running original
case_ pid-taken "PID $pid is taken" ":"
kill $pid; wait $pid 2>/dev/null
case_ empty-dir "inventory.img" 'rm -f "$d"/*'
case_ no-inventory "no inventory.img" 'rm -f "$d/inventory.img"'
case_ truncated-pages "pages-1.img: too short" \
	'truncate -s 4096 "$d/pages-1.img"'
case_ truncated-core "core-$pid.img: no checksum trailer" \
	'sz=$(stat -c %s "$d/core-$pid.img"); truncate -s $((sz - 100)) "$d/core-$pid.img"'
case_ bad-magic "bad magic" \
	'printf "XXXX" | dd of="$d/mm-$pid.img" conv=notrunc 2>/dev/null'
case_ corrupt-entry "mm-$pid.img" \
	'printf "\377\377\377\177" | dd of="$d/mm-$pid.img" bs=1 seek=8 conv=notrunc 2>/dev/null'
case_ other-kernel "dumped on kernel 5.10.0-bogus" \
	'"$EDIT" "$d" kernel 5.10.0-bogus'
case_ other-cpu "missing 0x4000000000000000" \
	'"$EDIT" "$d" xsave-add 0x4000000000000000'
case_ old-format "mm-$pid.img: image format 1" \
	'printf "CRCL" | dd of="$d/mm-$pid.img" conv=notrunc 2>/dev/null'
case_ no-format "inventory.img: image format 1" '"$EDIT" "$d" format 0'
case_ other-format "inventory.img: image format 3" '"$EDIT" "$d" format 3'
# well-formed images (valid checksums) that say the wrong thing
case_ pstree-dup "pstree.img: thread $pid is listed twice" '"$EDIT" "$d" pstree-dup'
case_ core-tid "core-$pid.img: holds thread 1" '"$EDIT" "$d" core-tid $pid 1'
# a thread's image that pstree.img does not list
case_ stray-core "core-1.img: thread 1 is not in pstree.img" \
	'cp "$d/core-$pid.img" "$d/core-1.img"'
# a flipped byte in the page data is refused by default, before anything
# is created (with --verify too)
case_ corrupt-page "pages-1.img: page 0x[0-9a-f]* of process $pid does not match" \
	'printf "\125" | dd of="$d/pages-1.img" bs=1 seek=100 conv=notrunc 2>/dev/null'
EXTRA=--verify case_ corrupt-page-verify "pages-1.img: page 0x[0-9a-f]* of process" \
	'printf "\125" | dd of="$d/pages-1.img" bs=1 seek=100 conv=notrunc 2>/dev/null'
# compressed: a frame's stored bytes, the index, the codec
GOOD=zgood case_ z-corrupt-frame \
	"pages-1.img: frame 0 (.*) does not match its checksum in pages-index-1.img" \
	'printf "\125" | dd of="$d/pages-1.img" bs=1 seek=100 conv=notrunc 2>/dev/null'
GOOD=zgood EXTRA=--no-verify case_ z-corrupt-frame-no-verify \
	"pages-1.img: frame 0 (.*) does not match its checksum" \
	'printf "\125" | dd of="$d/pages-1.img" bs=1 seek=100 conv=notrunc 2>/dev/null'
GOOD=zgood case_ z-truncated-pages \
	"pages-1.img: [0-9]* bytes, its frames in pages-index-1.img [0-9]*: truncated" \
	'truncate -s 4096 "$d/pages-1.img"'
GOOD=zgood case_ z-no-index "pages-index-1.img: No such file" \
	'rm "$d/pages-index-1.img"'
GOOD=zgood case_ z-corrupt-index "pages-index-1.img" \
	'printf "\125" | dd of="$d/pages-index-1.img" bs=1 seek=20 conv=notrunc 2>/dev/null'
GOOD=zgood case_ z-frame-grown "pages-1.img: frame 0 (zstd, .*) does not decompress" \
	'"$EDIT" "$d" frame-grow 0'
GOOD=zgood case_ z-codec-unknown "codec 9, which this criu-lite does not know" \
	'"$EDIT" "$d" codec 9'
GOOD=zgood case_ z-codec-other "pages-index-1.img: frame 0 at 0 is malformed" \
	'"$EDIT" "$d" codec 1'
# the codec lost: the frames read as pages are refused all the same
GOOD=zgood case_ z-codec-dropped "pages-1.img: too short\\|pages-1.img: page .* does not match" \
	'"$EDIT" "$d" codec 0'

# nothing may have been created by any of the refused restores
if kill -0 $pid 2>/dev/null; then
	echo "FAIL: a process $pid exists after refused restores"; fail=$((fail + 1))
fi
# a file entry without its path: refused before anything is created,
# naming the image and the fd (it used to reach open(NULL))
echo data >"$work/file"
sleep 1000 3<"$work/file" &
fpid=$!
# the shell opens fd 3 in the child before it runs sleep: wait for both
for _ in $(seq 1 100); do
	[ "$(cat /proc/$fpid/comm 2>/dev/null)" = sleep ] && [ -e /proc/$fpid/fd/3 ] && break
	sleep 0.01
done
if "$CL" dump -t $fpid -D "$work/fgood" 2>"$work/fdump.log" && wait $fpid;
   "$EDIT" "$work/fgood" fd-drop-path $fpid 3 &&
   ! "$CL" restore -D "$work/fgood" -d >"$work/nopath.log" 2>&1 &&
   grep -q "fdinfo-$fpid.img: fd 3 (file) has no path" "$work/nopath.log" &&
   ! kill -0 $fpid 2>/dev/null; then
	echo "PASS fd-no-path: $(grep -m1 Error "$work/nopath.log")"
	pass=$((pass + 1))
else
	echo "FAIL fd-no-path:"; cat "$work/fdump.log" "$work/nopath.log"
	kill -9 $fpid 2>/dev/null
	fail=$((fail + 1))
fi

# a mapped file that is not the one dumped (another QEMU or library on the
# destination of a migration): refused naming the file, whether its size
# or only its contents differ; the same file restores
cp "$(command -v sleep)" "$work/mysleep"
"$work/mysleep" 1000 &
mpid=$!
sleep 0.2
if "$CL" dump -t $mpid -D "$work/mgood" 2>"$work/mdump.log"; then
	wait $mpid 2>/dev/null
	cp "$work/mysleep" "$work/mysleep.orig"
	for how in size contents; do
		cp "$work/mysleep.orig" "$work/mysleep"
		if [ $how = size ]; then
			echo >>"$work/mysleep"
		else	# one byte in the middle block, same size
			sz=$(stat -c %s "$work/mysleep")
			printf 'X' | dd of="$work/mysleep" bs=1 seek=$(( sz / 2 / 4096 * 4096 + 17 )) \
				conv=notrunc 2>/dev/null
		fi
		if ! "$CL" restore -D "$work/mgood" -d >"$work/mfile.log" 2>&1 &&
		   grep -q "$work/mysleep is not the file that was mapped.*$how differ" \
			"$work/mfile.log" && ! kill -0 $mpid 2>/dev/null; then
			echo "PASS mapped-file-$how: $(grep -m1 Error "$work/mfile.log")"
			pass=$((pass + 1))
		else
			echo "FAIL mapped-file-$how:"; cat "$work/mfile.log"
			kill -9 $mpid 2>/dev/null
			fail=$((fail + 1))
		fi
	done
	cp "$work/mysleep.orig" "$work/mysleep"
	if "$CL" restore -D "$work/mgood" -d >"$work/mfile.log" 2>&1 &&
	   kill -0 $mpid 2>/dev/null; then
		echo "PASS mapped-file-same: restored"
		pass=$((pass + 1))
	else
		echo "FAIL mapped-file-same:"; cat "$work/mfile.log"
		fail=$((fail + 1))
	fi
	kill -9 $mpid 2>/dev/null
else
	echo "FAIL mapped-file: dump"; cat "$work/mdump.log"; fail=$((fail + 1))
fi

# --no-verify: the same corrupt page is not checked, the restore goes on
if "$CL" restore -D "$work/corrupt-page" -d --zombie-wait 0 --no-verify \
	>"$work/no-verify.log" 2>&1; then
	echo "PASS no-verify: the corrupt page was not checked"; pass=$((pass + 1))
else
	echo "FAIL no-verify: restore refused:"; cat "$work/no-verify.log"
	fail=$((fail + 1))
fi
kill -9 $pid 2>/dev/null
# the restored process is not our child: wait until it is gone
for _ in $(seq 1 500); do [ -e /proc/$pid ] || break; sleep 0.01; done

# the good compressed dump restores
if "$CL" restore -D "$work/zgood" -d --zombie-wait 2000 >"$work/zgood.log" 2>&1 &&
   kill -0 $pid 2>/dev/null; then
	echo "PASS compressed: the good compressed dump restores"; pass=$((pass + 1))
else
	echo "FAIL compressed: restore refused:"; cat "$work/zgood.log"
	fail=$((fail + 1))
fi
kill -9 $pid 2>/dev/null
echo "bad-images: $pass passed, $fail failed"
[ $fail = 0 ]

#!/bin/sh
# Boots the test guest (make guest) under TCG QEMU with one configuration.
#
# Usage: run-guest.sh -d WORKDIR [options] [-- EXTRA-QEMU-ARGS]
#   -d DIR        work dir: serial log, qmp.sock, qemu.pid, disk.qcow2 (made)
#   -m MIB        guest RAM (default 512)
#   -s N          vCPUs (default 1)
#   -w MIB        workload memory, wl.mem (default min(3/4 RAM, RAM - 160))
#   -r N          pages dirtied per second, wl.rate (default 0: idle)
#   -V MS         verify period, wl.verify_ms (default 2000)
#   -D            attach DIR/disk.qcow2 (64 MiB, created if missing) as virtio-blk
#   -b FILE       with -D: the disk image is FILE instead (shared by the two
#                 QEMUs of a live migration on one host)
#   -n PORT       virtio-net on user-net; the guest pings 10.0.2.2:PORT
#                 (run build/guest/tcp-echo on the host to answer)
#   -l NAME       serial log file name in DIR (default serial.log)
#   -i FILE       restore: -S -incoming "exec:cat FILE" (same options as the
#                 saved guest!); then `qmp-client SOCK cont`
#   -I URI        incoming migration: -incoming URI ("defer": set the
#                 capabilities by QMP, then migrate-incoming); no -S, so the
#                 guest runs when the migration completes
#   -a ARGS       extra kernel command line
#   -q BIN        the QEMU binary (default $QEMU or qemu-system-x86_64)
#   -L DIR        firmware / data directory, passed as -L (repeatable; for a
#                 QEMU unpacked outside /usr, e.g. make qemu10)
#   -f            run QEMU in the foreground (exec); default: background,
#                 print its pid (also in DIR/qemu.pid)
#   -W SEC        after starting, wait up to SEC s for WORKLOAD READY
# The guest RAM is one private anonymous mapping; QMP is at DIR/qmp.sock.
# A guest kernel panic (panic=-1) or poweroff ends QEMU (-no-reboot), so a
# crashed guest is never mistaken for a live one.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
guest=${GUEST_DIR:-$repo/build/guest}
qemu=${QEMU:-qemu-system-x86_64}

dir='' mem=512 smp=1 wlmem='' rate=0 verify=2000 disk=0 netport='' log=serial.log
incoming='' extra_append='' fg=0 wait_ready='' disk_file='' incoming_uri=''
ldirs=''

while getopts "d:m:s:w:r:V:Db:n:l:i:I:a:q:L:fW:" opt; do
	case $opt in
	d) dir=$OPTARG ;;
	m) mem=$OPTARG ;;
	s) smp=$OPTARG ;;
	w) wlmem=$OPTARG ;;
	r) rate=$OPTARG ;;
	V) verify=$OPTARG ;;
	D) disk=1 ;;
	b) disk_file=$OPTARG ;;
	n) netport=$OPTARG ;;
	l) log=$OPTARG ;;
	i) incoming=$OPTARG ;;
	I) incoming_uri=$OPTARG ;;
	q) qemu=$OPTARG ;;
	L) ldirs="$ldirs $OPTARG" ;;
	a) extra_append=$OPTARG ;;
	f) fg=1 ;;
	W) wait_ready=$OPTARG ;;
	*) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2
	   exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$dir" ] || { echo "run-guest: -d DIR is required" >&2; exit 2; }
for f in vmlinuz initramfs.gz; do
	[ -f "$guest/$f" ] || { echo "run-guest: $guest/$f missing: make guest" >&2; exit 1; }
done
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
sock=$dir/qmp.sock
# sun_path holds 108 bytes; QEMU would fail later with a vaguer message.
[ ${#sock} -lt 108 ] || { echo "run-guest: $sock: path too long for a socket" >&2; exit 1; }
# The kernel and the initramfs take ~100 MiB; give the workload the rest
# but a margin (page tables, page cache of the disk).
[ -n "$wlmem" ] || wlmem=$((mem * 3 / 4 < mem - 160 ? mem * 3 / 4 : mem - 160))

append="console=ttyS0 loglevel=5 panic=-1 mitigations=off"
append="$append wl.mem=$wlmem wl.rate=$rate wl.verify_ms=$verify"
set -- -name criu-lite-guest,debug-threads=on \
	-machine q35,accel=tcg -nodefaults -display none -no-reboot \
	-m "$mem" -smp "$smp" \
	-kernel "$guest/vmlinuz" -initrd "$guest/initramfs.gz" \
	-chardev "file,id=ser0,path=$dir/$log" -serial chardev:ser0 \
	-qmp "unix:$sock,server=on,wait=off" \
	-pidfile "$dir/qemu.pid" "$@"
for l in $ldirs; do
	set -- "$@" -L "$l"
done
if [ "$disk" = 1 ]; then
	[ -n "$disk_file" ] || disk_file=$dir/disk.qcow2
	[ -f "$disk_file" ] || qemu-img create -q -f qcow2 "$disk_file" 64M
	set -- "$@" -drive "file=$disk_file,if=none,id=disk0,format=qcow2" \
		-device virtio-blk-pci,drive=disk0
else
	append="$append wl.disk=none"
fi
if [ -n "$netport" ]; then
	set -- "$@" -netdev user,id=net0 \
		-device virtio-net-pci,netdev=net0,romfile=
	append="$append wl.net=10.0.2.2:$netport"
fi
if [ -n "$incoming" ]; then
	set -- "$@" -S -incoming "exec:cat '$incoming'"
elif [ -n "$incoming_uri" ]; then
	set -- "$@" -incoming "$incoming_uri"
fi
set -- "$@" -append "$append${extra_append:+ $extra_append}"

rm -f "$sock" "$dir/qemu.pid"
if [ "$fg" = 1 ]; then
	exec "$qemu" "$@"
fi
"$qemu" "$@" </dev/null >"$dir/qemu.out" 2>&1 &
pid=$!
echo "$pid"
if [ -n "$wait_ready" ]; then
	"$guest/serial-watch" -t "$wait_ready" -p "$pid" "$dir/$log" \
		"WORKLOAD READY" >/dev/null || {
		echo "run-guest: no WORKLOAD READY in $dir/$log" >&2
		cat "$dir/qemu.out" >&2
		exit 1
	}
fi

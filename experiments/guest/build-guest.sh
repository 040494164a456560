#!/bin/sh
# Builds the test guest from Debian packages only:
#   OUT/vmlinuz         Debian's kernel (cloud flavour: boots fastest under TCG)
#   OUT/initramfs.gz    busybox-static + the workload + virtio modules + init
#   OUT/kernel-release  the kernel's release string
# The kernel package is downloaded once and cached in OUT/kernel/; set
# GUEST_KERNEL_PKG=linux-image-<ver>-<flavour> to pick another one (delete
# OUT/kernel/ to switch).
#
# Usage: build-guest.sh OUT WORKLOAD_BINARY
set -eu

out=$1
workload=$2
here=$(cd "$(dirname "$0")" && pwd)
kdir=$out/kernel
meta=${GUEST_KERNEL_META:-linux-image-cloud-amd64}
mkdir -p "$out"

die() { echo "build-guest: $*" >&2; exit 1; }

# The newest concrete kernel package the meta package points at.
resolve_kernel_pkg() {
	apt-cache depends "$meta" 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}

fetch_kernel() {
	pkg=${GUEST_KERNEL_PKG:-$(resolve_kernel_pkg)}
	if [ -z "$pkg" ] && [ "$(id -u)" = 0 ]; then
		apt-get update -qq >/dev/null
		pkg=$(resolve_kernel_pkg)
	fi
	[ -n "$pkg" ] || die "no kernel package found for $meta (apt-get update?)"
	echo "build-guest: fetching $pkg"
	rm -rf "$kdir"
	mkdir -p "$kdir/deb"
	(cd "$kdir/deb" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >/dev/null)
	dpkg-deb -x "$kdir"/deb/*.deb "$kdir/root"
	rm -rf "$kdir/deb"
	set -- "$kdir"/root/boot/vmlinuz-*
	vmlinuz=$1
	[ -f "$vmlinuz" ] || die "$pkg has no boot/vmlinuz-*"
	kver=${vmlinuz##*/vmlinuz-}
	depmod -b "$kdir/root" "$kver"
	echo "$kver" >"$kdir/release"
}

[ -f "$kdir/release" ] || fetch_kernel
kver=$(cat "$kdir/release")
kroot=$kdir/root

busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "busybox not found (install busybox-static)"
if readelf -l "$busybox" | grep -q 'program interpreter'; then
	die "$busybox is dynamically linked (install busybox-static)"
fi
readelf -l "$workload" | grep -q 'program interpreter' &&
	die "$workload must be linked statically"

stage=$out/initramfs.d
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/etc" "$stage/lib/modules" "$stage/proc" \
	"$stage/sys" "$stage/dev" "$stage/tmp"
cp "$busybox" "$stage/bin/busybox"
cp "$workload" "$stage/bin/workload"
cp "$here/init" "$stage/init"
chmod 755 "$stage/init" "$stage/bin/busybox" "$stage/bin/workload"

# Drivers and their dependencies, in load order; built-in ones need nothing.
: >"$stage/etc/modules.load"
for m in virtio_pci virtio_blk virtio_net; do
	modprobe -d "$kroot" -S "$kver" --show-depends "$m"
done |
	awk '$1 == "insmod" { print $2 }' |
	while read -r ko; do
		name=${ko##*/}
		grep -qx "$name" "$stage/etc/modules.load" && continue
		cp "$ko" "$stage/lib/modules/$name"
		echo "$name" >>"$stage/etc/modules.load"
	done

(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -6 >"$out/initramfs.gz.tmp"
mv "$out/initramfs.gz.tmp" "$out/initramfs.gz"
cp "$kroot/boot/vmlinuz-$kver" "$out/vmlinuz"
echo "$kver" >"$out/kernel-release"
echo "build-guest: $out/vmlinuz ($kver), $out/initramfs.gz" \
	"($(wc -c <"$out/initramfs.gz") bytes, modules: $(tr '\n' ' ' <"$stage/etc/modules.load"))"

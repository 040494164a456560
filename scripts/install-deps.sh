#!/bin/sh
# Installs, from Debian's archive, whatever criu-lite needs and this machine
# lacks. Safe to run again: it only calls apt-get when a package is missing.
# Usage: scripts/install-deps.sh [--qemu | --experiments]
#   --qemu         adds what the test guest needs
#   --experiments  adds that and what `make experiments` needs (plots, JSON)
#        scripts/install-deps.sh --check [...]  only say what is missing (exit 1)
set -eu

check_only=
if [ "${1:-}" = "--check" ]; then
	check_only=1
	shift
fi

pkgs="gcc libc6-dev make pkg-config protobuf-c-compiler libprotobuf-c-dev libnl-3-dev
libcap-dev libzstd-dev liblz4-dev libgnutls28-dev libcmocka-dev man-db clang libclang-rt-14-dev jq
openssl nftables"
case "${1:-}" in
--qemu) pkgs="$pkgs qemu-system-x86 qemu-utils busybox-static cpio kmod" ;;
--experiments)
	pkgs="$pkgs qemu-system-x86 qemu-utils busybox-static cpio kmod"
	pkgs="$pkgs gnuplot-nox" ;;
esac

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ -n "$check_only" ]; then
	echo "criu-lite: missing Debian packages:$missing" >&2
	echo "criu-lite: run 'make deps' as root to install them" >&2
	exit 1
fi

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing:$missing (run as root to install)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null

#!/bin/bash
# make qemu10: QEMU 10.0 from Debian's bookworm-backports, unpacked beside
# the system's QEMU 7.2 (which stays installed and in use).
#
# Usage: experiments/qemu10/fetch-qemu10.sh [OUTDIR]   (default build/qemu10)
#
# The backports suite is added with the same URIs (and signing key) as this
# machine's own Debian source, read at run time from
# /etc/apt/sources.list.d/*.sources (deb822) or /etc/apt/sources.list, into a
# private apt configuration under OUTDIR/apt: the system's sources, lists
# and cache are not touched. Then
#   apt-get download qemu-system-x86 qemu-system-common qemu-system-data
#                    seabios
# from bookworm-backports and `dpkg-deb -x` of each into OUTDIR/root.
# qemu-system-x86 10.0 declares seabios >> 1.16.3 (bookworm has 1.16.2):
# the newer BIOS images are unpacked too and passed first with -L.
#
# The binary runs with bookworm's libraries (those of qemu-system-x86 7.2,
# installed by scripts/install-deps.sh --qemu). Writes OUTDIR/env:
#   QEMU10=<binary>  QEMU10_L="<-L dirs, space-separated>"
# and checks that the binary starts (`--version`).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-$repo/build/qemu10}
pkgs="qemu-system-x86 qemu-system-common qemu-system-data seabios"
suite=bookworm-backports

die() { echo "fetch-qemu10: $*" >&2; exit 1; }

# debian_source: prints "URI SIGNED-BY" of the first Debian source whose
# suites include "bookworm" (the main archive, not -security).
debian_source() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
			function flush() {
				if (uri != "" && suites ~ /(^| )bookworm( |$)/ && !done) {
					print uri, (key == "" ? "-" : key); done = 1
				}
				uri = ""; suites = ""; key = ""; en = 1
			}
			BEGIN { en = 1 }
			/^[ \t]*$/ { flush(); next }
			/^#/ { next }
			tolower($1) == "uris:" && en { uri = $2 }
			tolower($1) == "suites:" { $1 = ""; suites = $0 " "; sub(/^ /, "", suites) }
			tolower($1) == "signed-by:" { key = $2 }
			tolower($1) == "enabled:" && tolower($2) == "no" { en = 0 }
			END { flush() }' "$f"
	done
	[ -f /etc/apt/sources.list ] &&
		awk '$1 == "deb" {
			key = "-"; i = 2
			if ($2 ~ /^\[/) {
				for (; i <= NF; i++) {
					if ($i ~ /signed-by=/) { key = $i; sub(/.*signed-by=/, "", key); sub(/\]$/, "", key) }
					if ($i ~ /\]$/) { i++; break }
				}
			}
			if ($(i + 1) == "bookworm") { print $i, key; exit }
		}' /etc/apt/sources.list
	return 0
}

command -v dpkg-deb >/dev/null || die "dpkg-deb missing (a Debian system is needed)"
command -v apt-get >/dev/null || die "apt-get missing (a Debian system is needed)"
dpkg-query -W -f='${Status}\n' qemu-system-x86 2>/dev/null | grep -q "install ok installed" ||
	die "qemu-system-x86 (7.2) is not installed: its libraries run 10.0 (scripts/install-deps.sh --qemu)"

read -r uri key < <(debian_source | head -n 1) ||
	die "no Debian bookworm source in /etc/apt/sources.list{,.d/*.sources}"
[ -n "$uri" ] || die "no Debian bookworm source found"

# apt reads relative Dir:: paths from /etc/apt: make OUTDIR absolute
out=$(mkdir -p "$out" && cd "$out" && pwd)
apt=$out/apt
rm -rf "$apt" "$out/root" "$out/debs"
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$out/debs" "$out/root"
opt=""
[ "$key" != - ] && opt="[signed-by=$key] "
echo "deb ${opt}$uri $suite main" >"$apt/sources.list"
aptopts=(-o "Dir::Etc::SourceList=$apt/sources.list"
	-o "Dir::Etc::SourceParts=$apt/no-parts.d"
	-o "Dir::State::Lists=$apt/lists"
	-o "Dir::Cache=$apt/cache"
	-o "APT::Sandbox::User=root")
mkdir -p "$apt/no-parts.d"

echo "fetch-qemu10: $suite from the machine's own Debian source"
apt-get -q "${aptopts[@]}" update >"$apt/update.log" 2>&1 ||
	{ cat "$apt/update.log" >&2; die "apt-get update of $suite failed"; }
targets=()
for p in $pkgs; do targets+=("$p/$suite"); done
(cd "$out/debs" && apt-get -q "${aptopts[@]}" download "${targets[@]}") \
	>"$apt/download.log" 2>&1 ||
	{ cat "$apt/download.log" >&2; die "apt-get download failed"; }
for deb in "$out"/debs/*.deb; do
	dpkg-deb -x "$deb" "$out/root"
done

bin=$out/root/usr/bin/qemu-system-x86_64
[ -x "$bin" ] || die "$bin missing after unpacking"
ldir="$out/root/usr/share/seabios $out/root/usr/share/qemu"
ver=$("$bin" --version | head -n 1) || die "$bin does not start (libraries?)"
printf 'QEMU10=%s\nQEMU10_L="%s"\n' "$bin" "$ldir" >"$out/env"
echo "fetch-qemu10: $ver"
echo "fetch-qemu10: $bin (firmware: -L ${ldir// / -L })"

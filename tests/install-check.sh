#!/bin/bash
# make install into a scratch DESTDIR: every file where it belongs, the
# man page renders without warnings, bash completion completes, a program
# built with the installed header, library and pkg-config file dumps and
# restores its child; make uninstall removes it all.
# Usage: tests/install-check.sh BUILD_DIR
set -u
B=${1:-build}
root=$(mktemp -d "${TMPDIR:-/tmp}/cl-install.XXXXXX")
pass=0 fail=0
trap 'rm -rf "$root"' EXIT
ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

make --no-print-directory install DESTDIR="$root" PREFIX=/usr >"$root.log" 2>&1 ||
	{ cat "$root.log"; bad "make install"; }
rm -f "$root.log"
files="usr/sbin/criu-lite usr/share/man/man8/criu-lite.8
usr/share/bash-completion/completions/criu-lite usr/lib/libcriu-lite.a
usr/include/criu-lite.h usr/lib/pkgconfig/criu-lite.pc"
missing=
for f in $files; do [ -f "$root/$f" ] || missing="$missing $f"; done
[ -z "$missing" ] && ok "install tree" || bad "install tree: missing$missing"
[ -x "$root/usr/sbin/criu-lite" ] && "$root/usr/sbin/criu-lite" --help >/dev/null &&
	ok "installed binary runs" || bad "installed binary runs"

# the man page: renders, no groff warnings, has the sections a reader expects
warn=$(groff -man -Tutf8 -ww -z "$root/usr/share/man/man8/criu-lite.8" 2>&1)
text=$(MANWIDTH=80 man -l -P cat "$root/usr/share/man/man8/criu-lite.8" 2>/dev/null)
if [ -z "$warn" ] && echo "$text" | grep -q "^NAME" &&
	echo "$text" | grep -q "^RESTORE OPTIONS" && echo "$text" | grep -q -- "--lazy-pages"; then
	ok "man page renders ($(echo "$text" | wc -l) lines)"
else
	bad "man page: $warn"
fi

# bash completion (a word that has one completion: --lazy-p, as
# --laz is also --lazy-timeout)
c=$(bash -c '. "$1"; COMP_WORDS=(criu-lite re); COMP_CWORD=1; _criu_lite;
	echo "${COMPREPLY[*]}"; COMP_WORDS=(criu-lite restore --lazy-p); COMP_CWORD=2;
	_criu_lite; echo "${COMPREPLY[*]}"' _ "$root/usr/share/bash-completion/completions/criu-lite")
[ "$c" = "restore
--lazy-pages" ] && ok "bash completion" || bad "bash completion: $c"

# a program against the installed library, found through pkg-config
export PKG_CONFIG_PATH=$root/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root
flags=$(pkg-config --cflags --libs criu-lite 2>&1)
if cc -O2 -Wall -Werror -o "$root/api-demo" tests/tools/api-demo.c $flags \
	2>"$root/cc.log"; then
	if out=$("$root/api-demo" "$root/img" 2>&1); then
		ok "libcriu-lite: $(echo "$out" | tail -1)"
	else
		bad "libcriu-lite program: $out"
	fi
else
	bad "build against libcriu-lite ($flags): $(cat "$root/cc.log")"
fi

make --no-print-directory uninstall DESTDIR="$root" PREFIX=/usr >/dev/null 2>&1
left=
for f in $files; do [ -e "$root/$f" ] && left="$left $f"; done
[ -z "$left" ] && ok "uninstall" || bad "uninstall left$left"

echo "install: $pass passed, $fail failed"
[ $fail = 0 ]

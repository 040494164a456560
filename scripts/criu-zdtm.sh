#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# criu-zdtm.sh CRIU_SRC [OPTIONS]: runs CRIU's own zdtm static tests
# through criu-lite's CLI, one dump/restore cycle each, as CRIU's
# test/zdtm.py does for the host flavour ('h'), and counts the results.
#
# A measurement tool, not a CI test: CRIU's source is not part of this
# repository. CRIU_SRC is a CRIU source tree (or its test/zdtm directory);
# its lib/ and static/ are copied to BUILD/criu-zdtm/src and built there,
# the source tree itself is never written to.
#
# For each test of static/Makefile's TST list, in order:
#   skip   if its .desc (a Python literal, read with python3) asks for
#          another arch, only the ns/uns flavours, 'noauto', 'crfail' or
#          'crlib' (a CRIU plugin);
#          if a 'feature' it names is missing ('criu check --feature',
#          only when --criu gives a CRIU binary) or its .checkskip fails;
#          if it did not build, or does not start here at all (no huge
#          pages...: 'make NAME.pid' fails). Each skip names its reason.
#   start  'make NAME.pid' in the copy, as zdtm.py (the test daemonizes
#          once ready and writes its pid file); ZDTM_UID/GID/GROUPS unless
#          the test is 'suid', ZDTM_THREAD_BOMB=5 as zdtm.py without a
#          freezer cgroup.
#   dump   criu-lite dump -t PID -D DIR, with the .desc's opts/dopts that
#          criu-lite's --help lists; an opt it does not list fails the
#          test ("criu-lite has no OPT").
#   restore  criu-lite restore -D DIR -d (with opts/ropts likewise).
#   check  SIGTERM, wait for the test to exit, PASS in its .out file.
# The .hook of a test runs at the points zdtm.py runs it. Every step has
# a timeout (--timeout S, or the .desc's): a hang is a failure.
#
# Results: BUILD/criu-zdtm/results.txt, one line per test:
#   NAME PASS | NAME FAIL opts|dump|restore|check: WHY | NAME SKIP: WHY
# ([suid] after a test run as root, without ZDTM_UID, as zdtm.py does)
# and a last line 'N passed, N failed, N skipped'. Per-test logs and the
# images of failed tests stay in BUILD/criu-zdtm/{logs,img}/NAME.
#
# The run must be the tests' reaper (they daemonize, the restored tree is
# orphaned by 'restore -d'): it re-runs itself under BUILD/tests/subreaper,
# in a mount namespace of its own.

set -u

usage()
{
	cat <<EOF
usage: $0 CRIU_SRC [OPTIONS]
  -b, --build DIR      criu-lite's build directory (default: build)
  -t, --test NAME      run only this test (repeatable)
      --from NAME      start at this test (in list order)
      --timeout S      per-step timeout unless the .desc sets one (30)
      --criu PATH      a CRIU binary: 'criu check --feature' decides
                       which tests need a feature this kernel lacks
      --engine criu    run the same cycle with CRIU (--criu) instead of
                       criu-lite, for a like-for-like count
      --skip-suid      also skip the tests flagged 'suid' (run as root)
      --no-build       use the tests already built
      --summarize      only group the failures of results.txt again
EOF
	exit 2
}

[ $# -ge 1 ] || usage
SRC=$1
shift
B=build
ONLY=()
FROM=
TMO=30
CRIU_BIN=
ENGINE=criu-lite
SKIP_SUID=0
BUILD=1
SUMMARIZE=0
while [ $# -gt 0 ]; do
	case $1 in
	-b|--build) B=$2; shift ;;
	-t|--test) ONLY+=("$2"); shift ;;
	--from) FROM=$2; shift ;;
	--timeout) TMO=$2; shift ;;
	--criu) CRIU_BIN=$(realpath "$2"); shift ;;
	--engine) ENGINE=$2; shift ;;
	--skip-suid) SKIP_SUID=1 ;;
	--no-build) BUILD=0 ;;
	--summarize) SUMMARIZE=1; BUILD=0 ;;
	*) usage ;;
	esac
	shift
done

die() { echo "criu-zdtm: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (criu-lite needs ptrace and clone3 set_tid)"
B=$(realpath "$B")
CL=$B/criu-lite
[ -x "$CL" ] || die "$CL is missing: run make first"
if [ -d "$SRC/test/zdtm/static" ]; then
	ZSRC=$(realpath "$SRC/test/zdtm")
elif [ -d "$SRC/static" ] && [ -d "$SRC/lib" ]; then
	ZSRC=$(realpath "$SRC")
else
	die "$SRC is not a CRIU source tree (no test/zdtm/static in it)"
fi
case $ENGINE in
criu-lite) ;;
criu) [ -n "$CRIU_BIN" ] || die "--engine criu needs --criu PATH" ;;
*) die "--engine is criu-lite or criu" ;;
esac
command -v python3 >/dev/null || die "python3 is needed to read the tests' .desc files"

if [ -z "${CRIU_ZDTM_REAPER:-}" ]; then
	[ -x "$B/tests/subreaper" ] || die "$B/tests/subreaper is missing: make $B/tests/subreaper"
	export CRIU_ZDTM_REAPER=1
	# A private mount namespace: tests that mount (tmpfs, bind mounts)
	# and fail before their cleanup leave nothing in the host's table.
	command -v unshare >/dev/null || die "unshare (util-linux) is needed"
	exec unshare -m --propagation private "$B/tests/subreaper" "$0" "$SRC" -b "$B" --timeout "$TMO" \
		${CRIU_BIN:+--criu "$CRIU_BIN"} --engine "$ENGINE" \
		$( [ $SKIP_SUID = 1 ] && echo --skip-suid ) \
		$( [ $BUILD = 0 ] && echo --no-build ) \
		$( [ $SUMMARIZE = 1 ] && echo --summarize ) \
		$(for t in "${ONLY[@]}"; do echo "-t $t"; done) \
		${FROM:+--from "$FROM"}
fi

OUT=$B/criu-zdtm
[ "$ENGINE" = criu ] && OUT=$B/criu-zdtm-criu
Z=$B/criu-zdtm/src/zdtm
ST=$Z/static
RES=$OUT/results.txt
mkdir -p "$OUT/logs" "$OUT/img"

# --- build CRIU's zdtm lib and static tests out of tree ----------------

LISTMK=$B/criu-zdtm/src/list.mk
copy_sources()
{
	mkdir -p "$Z"
	cp -a "$ZSRC/Makefile.inc" "$ZSRC/lib" "$ZSRC/static" "$Z/" ||
		die "cannot copy $ZSRC to $Z"
	cat >"$LISTMK" <<'EOF'
# added by criu-lite's scripts/criu-zdtm.sh: the test list, and the tests
criu-zdtm-list:
	@for t in $(TST); do echo $$t; done
criu-zdtm-build: $(TST)
EOF
	echo "$ZSRC" >"$B/criu-zdtm/src/.from"
}

if [ $BUILD = 1 ]; then
	if [ "$(cat "$B/criu-zdtm/src/.from" 2>/dev/null)" != "$ZSRC" ]; then
		rm -rf "$B/criu-zdtm/src"
		copy_sources
	fi
	echo "criu-zdtm: building CRIU's zdtm lib and static tests in $Z"
	make -s -C "$Z/lib" >"$OUT/build.log" 2>&1 ||
		die "CRIU's zdtm lib did not build: $OUT/build.log"
	# -k: a test that does not build is skipped, not the run
	make -s -k -j"$(nproc)" -C "$ST" -f Makefile -f "$LISTMK" \
		criu-zdtm-build >>"$OUT/build.log" 2>&1
fi
[ -f "$LISTMK" ] || die "no built copy in $Z: run without --no-build"
mapfile -t TESTS < <(make -s -C "$ST" -f Makefile -f "$LISTMK" criu-zdtm-list |
	LC_ALL=C sort -u)
[ ${#TESTS[@]} -gt 0 ] || die "no tests listed by $ST/Makefile"

# --- the .desc files, as zdtm.py reads them: Python expressions (some
# look at the environment), evaluated with 'os' at hand as zdtm.py does

# prints: arch<TAB>flavor<TAB>flags<TAB>feature<TAB>opts<TAB>dopts<TAB>ropts<TAB>timeout
read_desc()
{
	python3 - "$ST/$1.desc" <<'EOF'
import os, sys
d = {}
if os.path.exists(sys.argv[1]) and os.path.getsize(sys.argv[1]) > 0:
    d = eval(open(sys.argv[1]).read(), {"os": os})
print("\t".join(str(d.get(k, dflt)).strip() or "-" for k, dflt in
      (("arch", "x86_64"), ("flavor", "h ns uns"), ("flags", ""),
       ("feature", ""), ("opts", ""), ("dopts", ""), ("ropts", ""),
       ("timeout", ""))))
EOF
}

has_word() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; }

# 'criu check --feature F', asked once per feature per run (the answers
# are kept in FEATURES: skip_reason runs in a subshell). A check that does
# not answer (aio_remap's hangs with CRIU 4.2 on 6.18) counts as present.
FEATURES=$OUT/features.txt
[ $SUMMARIZE = 1 ] || : >"$FEATURES"
feature_missing()
{
	local f a rc
	[ -n "$CRIU_BIN" ] || return 1
	for f in $1; do
		a=$(awk -v f="$f" '$1 == f { print $2 }' "$FEATURES")
		if [ -z "$a" ]; then
			timeout -k 5 20 "$CRIU_BIN" check --feature "$f" \
				</dev/null >/dev/null 2>&1
			rc=$?
			case $rc in
			0) a=yes ;;
			124) a=unanswered ;;
			*) a=no ;;
			esac
			echo "$f $a" >>"$FEATURES"
		fi
		if [ "$a" = no ]; then
			echo "$f"
			return 0
		fi
	done
	return 1
}

# why a test is not run (empty: it is run)
skip_reason()
{
	local t=$1 arch=$2 flavor=$3 flags=$4 feature=$5 f

	[ -x "$ST/$t" ] || { echo "did not build (see logs/build.log)"; return; }
	[ -n "$arch" ] || { echo "its .desc does not read as zdtm.py's"; return; }
	has_word "$arch" "$(uname -m)" || { echo "arch $arch"; return; }
	has_word "$flavor" h || { echo "flavor '$flavor' only (no host flavour)"; return; }
	has_word "$flags" noauto && { echo "noauto (manual run only)"; return; }
	has_word "$flags" crfail && { echo "crfail (CRIU expects its dump to fail)"; return; }
	has_word "$flags" crlib && { echo "crlib (needs a CRIU plugin library)"; return; }
	[ $SKIP_SUID = 1 ] && has_word "$flags" suid && { echo "suid"; return; }
	[ "$feature" != - ] && f=$(feature_missing "$feature") &&
		{ echo "no $f feature (criu check)"; return; }
	if [ -x "$ST/$t.checkskip" ] &&
	   ! (cd "$ST" && timeout -k 5 "$TMO" "./$t.checkskip") >/dev/null 2>&1; then
		echo "checkskip failed"
		return
	fi
}

# --- options: CRIU's names that criu-lite's --help lists ---------------

HELP_DUMP=$("$CL" dump --help 2>&1)
HELP_RESTORE=$("$CL" restore --help 2>&1)
[ "$ENGINE" = criu ] && { HELP_DUMP=$("$CRIU_BIN" --help 2>&1); HELP_RESTORE=$HELP_DUMP; }

knows() # HELP OPTION (CRIU knows its own options, not all in its --help)
{
	[ "$ENGINE" = criu ] && return 0
	grep -qE -- "(^|[ ,])${2}([ =,[]|$)" <<<"$1"
}

# split_opts KIND WORDS: appends to DOPTS/ROPTS; prints the first option
# neither command knows. KIND: both (opts), dump (dopts), restore (ropts)
DOPTS=()
ROPTS=()
MISSING=
split_opts()
{
	local kind=$1 w name val i
	local -a words
	read -r -a words <<<"$2"
	for ((i = 0; i < ${#words[@]}; i++)); do
		w=${words[i]}
		[ "$w" = - ] && continue
		name=${w%%=*}
		val=()
		if [ "$name" = "$w" ] && [ $((i + 1)) -lt ${#words[@]} ] &&
		   [ "${words[i + 1]#-}" = "${words[i + 1]}" ]; then
			val=("${words[i + 1]}")
			i=$((i + 1))
		fi
		local in_d=0 in_r=0
		knows "$HELP_DUMP" "$name" && in_d=1
		knows "$HELP_RESTORE" "$name" && in_r=1
		case $kind in
		dump) in_r=0 ;;
		restore) in_d=0 ;;
		esac
		if [ $in_d = 0 ] && [ $in_r = 0 ]; then
			[ -z "$MISSING" ] && MISSING=$name
			continue
		fi
		[ $in_d = 1 ] && DOPTS+=("$w" "${val[@]}")
		[ $in_r = 1 ] && ROPTS+=("$w" "${val[@]}")
	done
}

# --- one test ------------------------------------------------------------

# the processes of a test: its session (zdtm tests setsid() once
# started) and every descendant of PID (some, tty03, make sessions of their
# own), all listed before any is killed (a child of a killed process
# would be reparented out of sight)
test_pids()
{
	local root=$1
	for p in /proc/[0-9]*/stat; do
		awk '{ s = $0; sub(/.*\) /, "", s); split(s, f, " ");
		       print substr(FILENAME, 7, index(substr(FILENAME, 7), "/") - 1),
			     f[2], f[4] }' "$p" 2>/dev/null
	done | awk -v r="$root" '
		{ ppid[$1] = $2; sid[$1] = $3 }
		END {
			keep[r] = 1
			do {
				n = 0
				for (p in ppid)
					if (!(p in keep) && (ppid[p] in keep || sid[p] == r)) {
						keep[p] = 1; n++
					}
			} while (n)
			for (p in keep) if (p in ppid) print p
		}'
}

kill_session()
{
	local pid=$1 p
	[ -n "$pid" ] && [ "$pid" -gt 1 ] || return
	for p in $(test_pids "$pid"); do
		kill -KILL "$p" 2>/dev/null
	done
}

# wait_gone PID SECONDS: the process has exited (and been reaped)
wait_gone()
{
	local pid=$1 n=$(($2 * 10))
	while [ $n -gt 0 ]; do
		[ -d "/proc/$pid" ] || return 0
		# a zombie whose reaper is this run's subreaper: it goes soon
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

hook()
{
	local t=$1 h=$2
	[ -x "$ST/$t.hook" ] || return 0
	(cd "$ST" && timeout -k 5 "$T" "./$t.hook" "$h") >>"$L/hook.log" 2>&1
}

# the first line criu-lite (or CRIU) gave as its error; a line that ends
# in ':' (a list of objects follows) gets the first item of the list.
# CRIU says it only in its log (LOG, the third argument).
first_error()
{
	local l
	if [ "$ENGINE" = criu ] && [ -f "${3:-}" ]; then
		# (CRIU logs its own RLIMIT_NOFILE raise failing and goes on)
		l=$(grep 'Error' "$3" | grep -v 'RLIMIT_NOFILE for self' |
			head -n1 | sed 's/^([0-9. ]*) //')
		[ -n "$l" ] && { echo "$l" | cut -c1-300; return; }
	fi
	l=$(awk '/Error|error|refus|cannot|can.t|not supported/ {
			if (!l) { l = $0; if ($0 !~ /:[ \t]*$/) exit; next }
		}
		l && NF { sub(/^[ \t]+/, ""); l = l " " $0; exit }
		END { print l }' "$1")
	[ -n "$l" ] || l=$(grep -m1 -v '^\s*$' "$1")
	[ -n "$l" ] || l="exit status $2, no message"
	echo "$l" | cut -c1-300
}

# the dump and restore commands of the engine under test
dump_cmd() # PID DIR
{
	if [ "$ENGINE" = criu ]; then
		CMD=("$CRIU_BIN" dump -t "$1" -D "$2" -o dump.log -v4)
	else
		CMD=("$CL" dump -t "$1" -D "$2" -o dump.log -v3)
	fi
	CMD+=("${DOPTS[@]}")
}

restore_cmd() # DIR
{
	if [ "$ENGINE" = criu ]; then
		CMD=("$CRIU_BIN" restore -D "$1" -d -o restore.log -v4)
	else
		CMD=("$CL" restore -D "$1" -d -o restore.log -v3)
	fi
	CMD+=("${ROPTS[@]}")
}

# run_test NAME DESC-FIELDS...: prints 'PASS' or 'FAIL step: why'
run_test()
{
	local t=$1 flags=$2 opts=$3 dopts=$4 ropts=$5 pid rc why
	local I=$OUT/img/$t
	L=$OUT/logs/$t
	rm -rf "$I" "$L"
	mkdir -p "$I" "$L"

	DOPTS=()
	ROPTS=()
	MISSING=
	split_opts both "$opts"
	split_opts dump "$dopts"
	split_opts restore "$ropts"
	if [ -n "$MISSING" ]; then
		echo "FAIL opts: $ENGINE has no $MISSING"
		return
	fi

	(cd "$ST" && make -s --no-print-directory "$t.cleanout") >/dev/null 2>&1
	local -a env=(TMPDIR="${TMPDIR:-/tmp}" ZDTM_THREAD_BOMB=5)
	if ! has_word "$flags" suid; then
		env+=(ZDTM_UID=18943 ZDTM_GID=58467 ZDTM_GROUPS="27495 48244")
		chmod a+w "$ST"
	fi
	if ! (cd "$ST" && env "${env[@]}" timeout -k 5 "$T" \
			make -s --no-print-directory "$t.pid") >"$L/start.log" 2>&1; then
		pid=$(cat "$ST/$t.pid" 2>/dev/null)
		kill_session "$pid"
		# not criu-lite's failure: the test cannot run here (no
		# huge pages, ...); the test said why in its .out
		why=$(grep -h -m1 -E 'ERR|FAIL' "$ST/$t.out"* 2>/dev/null |
			sed 's/^[0-9:.]*: *[0-9]*: //')
		echo "NOSTART ${why:-$(first_error "$L/start.log" ?)}" | cut -c1-300
		return
	fi
	pid=$(cat "$ST/$t.pid" 2>/dev/null)
	if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "FAIL start: no running test after make $t.pid"
		return
	fi
	hook "$t" --post-start

	export ZDTM_TEST_PID=$pid
	hook "$t" --pre-dump
	dump_cmd "$pid" "$I"
	timeout -k 5 "$T" "${CMD[@]}" >"$L/dump.out" 2>&1
	rc=$?
	if [ $rc != 0 ]; then
		why=$(first_error "$L/dump.out" $rc "$I/dump.log")
		[ $rc = 124 ] && why="timed out after ${T}s: $why"
		# criu-lite's promise: the test still runs, unharmed
		kill -0 "$pid" 2>/dev/null || why="$why (and the test is gone)"
		kill_session "$pid"
		echo "FAIL dump: $why"
		return
	fi
	if ! wait_gone "$pid" "$T"; then
		kill_session "$pid"
		wait_gone "$pid" 5
		echo "FAIL dump: the tree still runs after the dump"
		return
	fi

	hook "$t" --pre-restore
	restore_cmd "$I"
	timeout -k 5 "$T" "${CMD[@]}" >"$L/restore.out" 2>&1
	rc=$?
	if [ $rc != 0 ]; then
		why=$(first_error "$L/restore.out" $rc "$I/restore.log")
		[ $rc = 124 ] && why="timed out after ${T}s: $why"
		kill_session "$pid"
		echo "FAIL restore: $why"
		return
	fi
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "FAIL restore: test $pid not running after restore -d"
		return
	fi
	hook "$t" --post-restore

	kill -TERM "$pid"
	if ! wait_gone "$pid" "$T"; then
		kill_session "$pid"
		echo "FAIL check: still running ${T}s after SIGTERM"
		return
	fi
	kill_session "$pid"
	hook "$t" --clean
	if tail -c 4096 "$ST/$t.out" 2>/dev/null | tr -s ' \t' '\n\n' |
	   grep -qx PASS; then
		echo PASS
		return
	fi
	cp "$ST/$t.out" "$L/test.out" 2>/dev/null
	why=$(grep -m1 -E 'FAIL|ERR|fail' "$ST/$t.out" 2>/dev/null)
	[ -n "$why" ] || why=$(tail -n1 "$ST/$t.out" 2>/dev/null)
	[ -s "$ST/$t.out" ] || why="no PASS: $t.out is empty or missing (the test exited without a word)"
	echo "FAIL check: $why" | cut -c1-300
}

# failures grouped by cause: numbers (pids, fds, inodes, addresses) and
# the tests' own file names taken out, most frequent first
summarize()
{
	perl -ne 'next unless /^(\S+) FAIL (.*?)( \[suid\])?$/;
		my ($t, $c) = ($1, $2);
		$c =~ s/\d+:\d+:\d+\.\d+: +\d+: //;	# zdtm lib: time, pid
		$c =~ s#\Q'"$OUT"'/img/\E\S+#DIR#g;
		$c =~ s#\Q'"$ST"'/\E[^\s:]+#FILE#g;
		$c =~ s/\b(0x)?[0-9a-f]{8,}\b/N/g;
		$c =~ s/\b\d+\b/N/g;
		$n{$c}++; $l{$c} .= " $t";
		END { printf "%d\t%s\t%s\n", $n{$_}, $_, $l{$_} for keys %n }' \
		"$RES" | sort -t$'\t' -k1,1nr -k2 >"$OUT/causes.txt"
	echo "failures by cause: $OUT/causes.txt"
}

if [ $SUMMARIZE = 1 ]; then
	summarize
	exit 0
fi

# --- the run --------------------------------------------------------------

: >"$RES"
pass=0 fail=0 skip=0 started=${FROM:+0}
for t in "${TESTS[@]}"; do
	if [ ${#ONLY[@]} -gt 0 ]; then
		has_word "${ONLY[*]}" "$t" || continue
	fi
	if [ -n "$FROM" ] && [ "$started" = 0 ]; then
		[ "$t" = "$FROM" ] || continue
		started=1
	fi
	IFS=$'\t' read -r arch flavor flags feature opts dopts ropts dtmo < <(read_desc "$t")
	[ "$flags" = - ] && flags=
	why=$(skip_reason "$t" "$arch" "$flavor" "$flags" "$feature")
	if [ -n "$why" ]; then
		line="$t SKIP: $why"
		skip=$((skip + 1))
	else
		T=$TMO
		[ "$dtmo" != - ] && [ "$dtmo" -gt "$T" ] 2>/dev/null && T=$dtmo
		r=$(run_test "$t" "$flags" "$opts" "$dopts" "$ropts")
		line="$t $r"
		has_word "$flags" suid && line="$line [suid]"
		case $r in
		PASS) pass=$((pass + 1)); rm -rf "$OUT/img/$t" ;;
		NOSTART*)
			line="$t SKIP: does not start here (before any dump): ${r#NOSTART }"
			skip=$((skip + 1)) ;;
		*) fail=$((fail + 1)) ;;
		esac
	fi
	echo "$line" | tee -a "$RES"
done
echo "$pass passed, $fail failed, $skip skipped" | tee -a "$RES"
echo "(of these, flagged 'suid', run as root as zdtm.py does:" \
	"$(grep -c ' PASS \[suid\]$' "$RES") passed of" \
	"$(grep -c ' \[suid\]$' "$RES") run)"
summarize

# a complete run is a measurement: its failures are its result, not an error
exit 0

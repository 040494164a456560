# shellcheck shell=sh disable=SC2034,SC2016
# Shell helpers for experiments that move the test guest (source this file).
# Shared by qemu-native-bench.sh and check-guest.sh; a criu-lite bench can
# use the same ones so that both tools are measured the same way.
#
# Stamped logs are `serial-watch --stamp` output: "<host_ms> <serial line>".
# Requires: GL_GUEST (dir with the built tools, default build/guest).

GL_GUEST=${GL_GUEST:-build/guest}
GL_COMPLAINTS='clocksource|soft lockup|self-detected stall|rcu: INFO|rcu_sched|rcu_preempt|hung_task|blocked for more than|watchdog|Call Trace|BUG:|Oops|panic'

# bash has the time without a process (the harness asks it hundreds of
# times a run); sh asks date
if [ -n "${EPOCHREALTIME:-}" ]; then
	gl_now_ms() { _t=${EPOCHREALTIME%???}; echo "${_t//[!0-9]/}"; }
else
	gl_now_ms() { date +%s%3N; }
fi

gl_qmp() { "$GL_GUEST/qmp-client" "$@"; }

# gl_start_echo DIR: starts tcp-echo; sets GL_ECHO_PID and GL_ECHO_PORT.
gl_start_echo() {
	"$GL_GUEST/tcp-echo" >"$1/echo.port" &
	GL_ECHO_PID=$!
	GL_ECHO_PORT=
	for _ in $(seq 1 100); do
		GL_ECHO_PORT=$(head -n 1 "$1/echo.port" 2>/dev/null || true)
		[ -n "$GL_ECHO_PORT" ] && return 0
		sleep 0.02
	done
	echo "guest-lib: tcp-echo did not start" >&2
	return 1
}

# gl_alive PID: the process exists and is not a zombie (QEMU started in the
# background by run-guest.sh is reparented; its reaper may be slow).
gl_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	# the state follows "PID (COMM) ": read without a process
	read -r _st 2>/dev/null <"/proc/$1/stat" || return 1
	case "${_st##*) }" in Z*|X*) return 1 ;; esac
}

# gl_wait_exit PID SEC: waits for a process (not our child) to go away.
gl_wait_exit() {
	_n=$(($2 * 50))
	while gl_alive "$1"; do
		_n=$((_n - 1))
		[ "$_n" -gt 0 ] || return 1
		sleep 0.02
	done
}

# gl_stop_pid PID: ends a process we started: SIGTERM, then SIGKILL.
gl_stop_pid() {
	[ -n "${1:-}" ] || return 0
	kill "$1" 2>/dev/null || return 0
	gl_wait_exit "$1" 5 || kill -9 "$1" 2>/dev/null || true
}

# gl_quit_qemu SOCK PID: asks QEMU to quit, waits, kills it if it hangs.
gl_quit_qemu() {
	gl_qmp -t 5 "$1" quit >/dev/null 2>&1 || true
	gl_wait_exit "$2" 10 || gl_stop_pid "$2"
}

# gl_hb_gap STAMPED_LOG... [-- AFTER_MS]: finds the largest host-clock gap
# between consecutive heartbeats (in the files' order, stamped at or after
# AFTER_MS - 1000) and prints, as key=value lines:
#   outage_ms    host time between the last HB before and the first after
#   guest_gap_ms the guest's CLOCK_MONOTONIC across the same two HBs
#   seq_step     seq difference (1 = the guest skipped no heartbeat)
#   hb_before_host_ms / hb_after_host_ms, hb_before_seq / hb_after_seq
gl_hb_gap() {
	_after=0
	_files=
	while [ $# -gt 0 ]; do
		if [ "$1" = -- ]; then _after=$2; break; fi
		_files="$_files $1"
		shift
	done
	# shellcheck disable=SC2086
	cat $_files | awk -v after="$_after" '
		$2 == "HB" && $1 >= after - 1000 {
			seq = substr($3, 5) + 0; mono = substr($4, 9) + 0
			if (have && $1 - ph > best) {
				best = $1 - ph; bh = ph; bs = ps; bm = pm
				ah = $1; as = seq; am = mono
			}
			have = 1; ph = $1; ps = seq; pm = mono
		}
		END {
			if (!best) { print "outage_ms=-"; exit }
			printf "outage_ms=%.0f\nguest_gap_ms=%.0f\nseq_step=%.0f\n", \
				ah - bh, am - bm, as - bs
			printf "hb_before_host_ms=%.0f\nhb_after_host_ms=%.0f\n", bh, ah
			printf "hb_before_seq=%.0f\nhb_after_seq=%.0f\n", bs, as
		}'
}

# FROM arguments below: a text (start at the first line containing it) or,
# for a stamped log, a host time in ms (start at lines stamped from then on).
# Lines of stamped logs are read without their stamp.
GL_AWK_FROM='
	function from_here(line) {
		if (from == "") return 1
		if (from ~ /^[0-9]+$/) return stamped && stamp + 0 >= from + 0
		return index(line, from) > 0
	}
	{
		stamp = ""; stamped = 0
		if ($1 ~ /^[0-9]+$/ && length($1) >= 12) {
			stamp = $1; stamped = 1
			$0 = substr($0, length($1) + 2)
		}
		if (!on && from_here($0)) on = 1
	}'

# gl_complaints LOG [FROM]: the kernel complaint lines in LOG. Not one:
# "clocksource: Long readout interval, skipping watchdog check": the
# watchdog saw its own read of the clocks stalled (the host did not run the
# TCG vCPU, a loaded machine) and skipped that check; nothing changed in the
# guest's clocks (that would say "Marking clocksource ... as unstable").
gl_complaints() {
	awk -v from="${2:-}" -v re="$GL_COMPLAINTS" "$GL_AWK_FROM"'
		on && $0 ~ re && $0 !~ /^(HB|VERIFY|DISK|NET|WORKLOAD|INIT) / &&
		$0 !~ /clocksource: Long readout interval, skipping watchdog check/ { print }
	' "$1"
}

# gl_verdict LOG KIND [FROM]: for KIND (VERIFY, DISK or NET), prints "ok"
# when every KIND line is ok, "BAD:<bad>/<all>" if any is bad, "none" when
# there is none. VERIFY counts passes: its per-page detail lines
# ("VERIFY BAD page=...") are left out.
gl_verdict() {
	awk -v kind="$2" -v from="${3:-}" "$GL_AWK_FROM"'
		on && $1 == kind && $3 !~ /^page=/ { n++; if ($2 != "ok") bad++ }
		END {
			if (!n) print "none"
			else if (bad) printf "BAD:%d/%d\n", bad, n
			else print "ok"
		}' "$1"
}

# gl_disk_newer LOG [FROM]: "newer:<bad>/<all>" when every bad DISK line
# found a block from a later round than the guest's memory expects (the
# disk went on after the memory's state was taken: a RAM-only snapshot
# loaded later), else what gl_verdict says.
gl_disk_newer() {
	awk -v from="${2:-}" "$GL_AWK_FROM"'
		on && $1 == "DISK" { n++; if ($2 == "ok") next; bad++
			e = f = ""
			for (i = 3; i <= NF; i++) {
				if ($i ~ /^expected_round=/) e = substr($i, 16) + 0
				if ($i ~ /^found_round=/) f = substr($i, 13) + 0
			}
			if (e == "" || f == "" || f <= e) older++ }
		END {
			if (!n) print "none"
			else if (!bad) print "ok"
			else if (older) printf "BAD:%d/%d\n", bad, n
			else printf "newer:%d/%d\n", bad, n
		}' "$1"
}

# gl_fate LOG [FROM]: how the guest fared: "ok", "crash" (kernel oops or
# panic), or "reboot" (a new boot: init or the workload started again).
gl_fate() {
	awk -v from="${2:-}" "$GL_AWK_FROM"'
		on && /Kernel panic|Oops|BUG: / { crash = 1 }
		on && /^(INIT |WORKLOAD START)/ { reboot = 1 }
		END { print crash ? "crash" : reboot ? "reboot" : "ok" }' "$1"
}

# gl_tsv_get TSV COLUMN: COLUMN's value in the last row of a TSV with header.
gl_tsv_get() {
	awk -F'\t' -v col="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
		{ v = c ? $c : "-" } END { print v }' "$1"
}

# gl_kv KEY < key=value lines: the value of KEY, "-" when absent.
gl_kv() { awk -F= -v k="$1" '$1 == k { v = substr($0, length(k) + 2) } END { print (v == "" ? "-" : v) }'; }

# gl_hb_silent_ms STAMPED_LOG: ms since the last heartbeat of a stamped log
# (a running guest beats every 100 ms), -1 if it has none. After a move, a
# long silence while QEMU still runs means the guest hung.
gl_hb_silent_ms() {
	awk -v now="$(gl_now_ms)" '$2 == "HB" { t = $1 }
		END { print t ? now - t : -1 }' "$1"
}

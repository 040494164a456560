# shellcheck shell=bash disable=SC2034,SC1090
# The experiment harness's common part (sourced by run-experiments.sh):
# guest chains, the guest check after every move, and the one JSON line
# every run appends. The tools' modes are in exp-qemu.sh and exp-cl.sh.
#
# A chain is one test guest moved again and again: each move's destination
# becomes the next move's source, so the 10-20 s boot is paid once per chain
# and not per move. A move that leaves the guest anything but intact ends the
# chain: the next move starts from a freshly booted guest, so a verdict is
# always about its own move.
#
# Two hosts: the chain's QEMU runs on one of two sides, "here" (this host)
# or "there" (experiments/guest/two-hosts.sh: its own network, PID and mount
# namespaces behind a veth pair, brought up once per run by
# run-experiments.sh). A live move (QEMU's tcp modes, criu-lite migrate)
# goes to the other side, so the chain goes back and forth; a move through
# a file stays on its side. The file system is shared: a QEMU keeps its
# serial log, QMP socket and disk paths wherever it runs, and QMP, the
# stampers and the guest checks work from here. CH_PID is always the PID
# here (side_outer_pid); commands that take a PID there run there
# (side_run) with its PID there (side_inner_pid). EXP_ONE_HOST=1: both
# sides are this host, over loopback (no criu-lite migrate then: the tree
# keeps its PID, which the source holds until the destination runs).

EXP_ONE_HOST=${EXP_ONE_HOST:-0}
EXP_MOVE_TIMEOUT=${EXP_MOVE_TIMEOUT:-90}	# s, then migrate_cancel
EXP_VERIFY_MS=${EXP_VERIFY_MS:-1000}		# guest verify period
EXP_BOOT_MS=0 EXP_BOOT_MS0=0 EXP_BOOTS=0 EXP_ROWS=0
EXP_T0=$(date +%s%3N)

# ---- the QEMU versions ----

# ver_setup LABEL: sets VER_BIN and VER_L (array of -L options) for the
# label "7.2" (the system's QEMU) or "10.0" (make qemu10).
ver_setup() {
	VER_L=()
	case $1 in
	7.2) VER_BIN=${QEMU72:-qemu-system-x86_64} ;;
	10.0)
		# shellcheck disable=SC1091
		. "$EXP_QEMU10_ENV" || return 1
		VER_BIN=$QEMU10
		for l in $QEMU10_L; do VER_L+=(-L "$l"); done ;;
	*) echo "experiments: unknown QEMU version $1" >&2; return 1 ;;
	esac
}

# ver_verify LABEL: the guest's verify loop under that QEMU version
# (workload.c's wl.verify): SSE2 where TCG inlines it (10.0: a verify pass
# of an idle 512 MiB guest's 352 MiB took 520 ms, median of 22, against
# 720 with the word loop, at load ~9), the word loop on 7.2, whose TCG
# calls a helper for each SSE2 instruction (800 ms against 490).
# EXP_VERIFY="7.2:word 10.0:sse2" overrides.
ver_verify() {
	local v
	for v in ${EXP_VERIFY:-7.2:word 10.0:sse2}; do
		[ "${v%%:*}" = "$1" ] && { echo "${v#*:}"; return; }
	done
	echo word
}

# ---- the two sides ----

side_other() { if [ "$1" = here ]; then echo there; else echo here; fi; }

# side_addr SIDE: the address a listener on SIDE binds, and the other side
# connects to
side_addr() {
	if [ "$EXP_ONE_HOST" = 1 ]; then echo 127.0.0.1
	elif [ "$1" = here ]; then echo "$TH_HERE"
	else echo "$TH_THERE"; fi
}

# side_run SIDE CMD...: runs CMD on SIDE (in this directory) and waits
side_run() {
	local side=$1
	shift
	if [ "$side" = there ] && [ "$EXP_ONE_HOST" != 1 ]; then th_run "$@"; else "$@"; fi
}

# side_outer_pid SIDE PID: the PID here of the process PID of SIDE
side_outer_pid() {
	if [ "$1" = there ] && [ "$EXP_ONE_HOST" != 1 ]; then th_outer_pid "$2"; else echo "$2"; fi
}

# side_inner_pid SIDE PID: the PID on SIDE of the process PID here
side_inner_pid() {
	if [ "$1" = there ] && [ "$EXP_ONE_HOST" != 1 ]; then th_inner_pid "$2"; else echo "$2"; fi
}

# ---- processes ----

# qemu_start DIR INCOMING [SIDE]: starts a guest QEMU of the chain's
# configuration (without its disk if QS_NO_DISK=1) in DIR (its own serial log, QMP socket) on SIDE (default
# here), with -incoming INCOMING if not empty; sets QS_PID (its PID here)
# and QS_STAMPER (serial-watch --stamp of its log, here).
qemu_start() {
	local d=$1 inc=$2 side=${3:-here} opts=() pid i
	mkdir -p "$d"
	: >"$d/serial.log"
	"$GL_GUEST/serial-watch" --stamp "$d/serial.log" >"$d/stamped.log" &
	QS_STAMPER=$!
	exp_track "$QS_STAMPER"
	opts=(-q "$VER_BIN" "${VER_L[@]}" -d "$d" -m "$CH_MEM" -w "$CH_WL"
		-r "$CH_RATE" -V "$EXP_VERIFY_MS" -n "$GL_ECHO_PORT"
		-a "wl.verify=$(ver_verify "$CH_VER")")
	# QS_NO_DISK=1: a destination without the guest's virtio-blk disk
	[ "${QS_NO_DISK:-0}" = 1 ] || opts+=(-D -b "$CH_DISK")
	[ -n "$inc" ] && opts+=(-I "$inc")
	[ -n "$inc" ] || opts+=(-W 300)
	pid=$(side_run "$side" experiments/guest/run-guest.sh "${opts[@]}") || return 1
	# its PID here: a scan of /proc can miss it right after the start
	# (seen once in ~60 starts there): a few tries
	for ((i = 0; i < 20; i++)); do
		QS_PID=$(side_outer_pid "$side" "$pid") && break
		sleep 0.1
	done
	[ -n "$QS_PID" ] || { echo "experiments: QEMU $pid not found $side" >&2; return 1; }
	exp_track "$QS_PID"
}

# proc_start PID: when the process started (clock ticks since boot)
proc_start() {
	local s f
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	read -ra f <<<"${s##*)}"	# after "PID (COMM)": COMM may hold spaces
	echo "${f[19]}"
}

# exp_track PID: exp_cleanup stops PID, unless it has ended by then (PIDs
# come round again within minutes here: pid_max 32768 on a busy machine)
exp_track() { EXP_PIDS+=("$1:$(proc_start "$1")"); }

# Stops every process the harness started and that still runs.
exp_cleanup() {
	local p
	for p in "${EXP_PIDS[@]}"; do
		[ -n "${p%%:*}" ] && [ "$(proc_start "${p%%:*}")" = "${p#*:}" ] &&
			gl_stop_pid "${p%%:*}"
	done
	EXP_PIDS=()
}

# ---- chains ----

# chain_boot VERSION MEM RATE: a fresh guest; sets CH_* (the chain's head).
# The first guest of a configuration is booted (10-20 s at 512 MiB under
# TCG here, more at 2 GiB) and, once it has verified its memory, saved
# whole (stopped, QEMU's own save to a file, its disk copied beside it:
# the configuration's template) and continued. Every later fresh guest of
# that configuration is the template loaded by a new QEMU (a few seconds),
# admitted only when a verify pass wholly after the load finds every page
# as written and the kernel complains of nothing; else it is booted. So a
# move that broke the guest costs a load, not a boot. EXP_TEMPLATES=0:
# always boot.
chain_boot() {
	local tb how=loaded
	CH_VER=$1 CH_MEM=$2 CH_RATE=$3
	CH_WL=$((CH_MEM * 3 / 4 < CH_MEM - 160 ? CH_MEM * 3 / 4 : CH_MEM - 160))
	ver_setup "$CH_VER" || return 1
	EXP_CHAIN=$((EXP_CHAIN + 1))
	CH_BASE=$EXP_WORK/c$EXP_CHAIN-$CH_VER-${CH_MEM}M-r$CH_RATE
	rm -rf "$CH_BASE" && mkdir -p "$CH_BASE"
	CH_BASE=$(cd "$CH_BASE" && pwd)
	CH_DISK=$CH_BASE/disk.qcow2
	CH_N=0 CH_SIDE=here CH_CAPS=
	CH_DIR=$CH_BASE/p0
	CH_TPL=$EXP_WORK/template-$CH_VER-${CH_MEM}M-r$CH_RATE
	tb=$(gl_now_ms)
	if ! chain_load_template; then
		how=booted
		echo "experiments: boot QEMU $CH_VER, ${CH_MEM} MiB, $CH_RATE pages/s ($CH_BASE)" >&2
		rm -rf "$CH_DIR" "$CH_DISK"
		qemu_start "$CH_DIR" "" || { CH_PID=; return 1; }
		CH_PID=$QS_PID CH_STAMPER=$QS_STAMPER
		CH_SOCK=$CH_DIR/qmp.sock
		# one whole verify pass with the dirtier running: steady state
		"$GL_GUEST/serial-watch" -t 240 -p "$CH_PID" "$CH_DIR/serial.log" \
			" pass_ms=" >/dev/null || return 1
	fi
	# the defaults of the parameters the modes change (qemu_reset)
	CH_PARAMS0=$(gl_qmp "$CH_SOCK" query-migrate-parameters | jq -c \
		'with_entries(select(.key | IN("max-bandwidth", "downtime-limit",
			"multifd-channels", "zero-page-detection")))')
	CH_QEMU_VERSION=$(gl_qmp "$CH_SOCK" query-version |
		jq -r '"\(.qemu.major).\(.qemu.minor).\(.qemu.micro) \(.package)"')
	[ $how = booted ] && [ "${EXP_TEMPLATES:-1}" = 1 ] && chain_save_template
	EXP_BOOT_MS=$((EXP_BOOT_MS + $(gl_now_ms) - tb))
	EXP_BOOTS=$((EXP_BOOTS + 1))
	echo "experiments: fresh guest $how in $(($(gl_now_ms) - tb)) ms" >&2
}

# chain_save_template: the chain's fresh guest saved as its configuration's
# template (stopped, unlimited bandwidth, then continued with the
# parameters it had); a failure leaves no template and the guest running.
chain_save_template() {
	local t=$CH_TPL.part st
	rm -rf "$t" && mkdir -p "$t" || return 1
	gl_qmp "$CH_SOCK" migrate-set-parameters "{\"max-bandwidth\": $QEMU_BW}" >/dev/null &&
		gl_qmp "$CH_SOCK" stop >/dev/null &&
		gl_qmp "$CH_SOCK" migrate "$(jq -nc --arg u "exec:cat > $t/state.mig" '{uri: $u}')" \
			>/dev/null && st=$(qemu_wait_migration "$CH_SOCK" save) &&
		[ "$st" = completed ] && qemu_children_gone "$CH_PID" &&
		cp --sparse=always "$CH_DISK" "$t/disk.qcow2" &&
		mv "$t" "$CH_TPL" ||
		{ echo "experiments: no template of $CH_TPL (${st:-})" >&2; rm -rf "$t"; }
	gl_qmp "$CH_SOCK" migrate-set-parameters "$CH_PARAMS0" >/dev/null
	gl_qmp "$CH_SOCK" cont >/dev/null
}

# qemu_children_gone PID: waits (10 s at most) until QEMU PID has no child
# left: an exec: migration's file is whole once its cat has ended
qemu_children_gone() {
	local i
	for ((i = 0; i < 200; i++)); do
		pgrep -P "$1" >/dev/null || return 0
		sleep 0.05
	done
	return 1
}

# chain_load_template: the configuration's template loaded by a new QEMU
# here (CH_DIR, a copy of its disk); sets CH_PID, CH_STAMPER, CH_SOCK.
# Fails (leaving nothing running) without a template, or when the loaded
# guest does not verify its memory in a pass wholly after the load, or
# complains.
chain_load_template() {
	[ -f "$CH_TPL/state.mig" ] || return 1
	cp --sparse=always "$CH_TPL/disk.qcow2" "$CH_DISK" || return 1
	qemu_start "$CH_DIR" defer || return 1
	CH_PID=$QS_PID CH_STAMPER=$QS_STAMPER CH_SOCK=$CH_DIR/qmp.sock
	if gl_qmp "$CH_SOCK" migrate-incoming \
		"$(jq -nc --arg u "exec:cat $CH_TPL/state.mig" '{uri: $u}')" >/dev/null &&
		qemu_dst_running "$CH_SOCK" "$CH_PID" &&
		guest_fresh_pass "$CH_DIR/serial.log" 0 "$CH_PID" &&
		[ "$(gl_verdict "$CH_DIR/serial.log" VERIFY)" = ok ] &&
		[ -z "$(gl_complaints "$CH_DIR/serial.log")" ] &&
		[ "$(gl_fate "$CH_DIR/serial.log")" = ok ]; then
		return 0
	fi
	echo "experiments: the template $CH_TPL did not load intact: booting" >&2
	chain_end
	return 1
}

# chain_end: the head QEMU quits; the next move boots a new chain.
chain_end() {
	[ -n "${CH_PID:-}" ] && gl_quit_qemu "$CH_SOCK" "$CH_PID"
	[ -n "${CH_STAMPER:-}" ] && kill "$CH_STAMPER" 2>/dev/null
	CH_PID='' CH_STAMPER=''
}

# chain_ready VERSION MEM RATE: boots a chain unless one of that
# configuration runs.
chain_ready() {
	if [ -n "${CH_PID:-}" ] && [ "$CH_VER" = "$1" ] && [ "$CH_MEM" = "$2" ] &&
		[ "$CH_RATE" = "$3" ] && gl_alive "$CH_PID"; then
		return 0
	fi
	chain_end
	chain_boot "$@"
}

# chain_resume_source: after a move whose destination failed, the source
# (in postmigrate, or still running after a cancel) is continued; the chain
# goes on from it if it verifies its memory twice, keeps its disk and
# complains of nothing. Saves a reboot per failed move; the source's memory
# never left it, so the next verdict is still about its own move.
chain_resume_source() {
	local off after
	[ -n "${CH_PID:-}" ] && gl_alive "$CH_PID" || return 1
	off=$(stat -c %s "$CH_DIR/serial.log") || return 1
	gl_qmp -t 10 "$CH_SOCK" cont >/dev/null 2>&1 || return 1
	guest_fresh_pass "$CH_DIR/serial.log" "$off" "$CH_PID" || return 1
	after=$CH_DIR/resumed.log
	tail -c +"$((off + 1))" "$CH_DIR/serial.log" >"$after"
	[ "$(gl_verdict "$after" VERIFY)" = ok ] &&
		! gl_verdict "$after" DISK | grep -q BAD &&
		[ -z "$(gl_complaints "$after")" ] &&
		[ "$(gl_fate "$after")" = ok ] || return 1
	echo "experiments: the source resumed intact; the chain goes on from it" >&2
}

# chain_next_dir: sets NEXT_DIR, a directory for the chain's next process
chain_next_dir() {
	CH_N=$((CH_N + 1))
	NEXT_DIR=$CH_BASE/p$CH_N
}

# ---- the guest check ----

# guest_check DST_LOG DST_STAMPED DST_PID OFFSET T0 SRC_STAMPED...: after a
# move, waits for the guest to beat and verify twice, then sets:
#   G_PAUSE (host ms between the last heartbeat before the move and the
#   first after), G_GGAP (the guest's clock across them), G_SEQ (their seq
#   step: 1 = none lost), G_FATE, G_VERIFY, G_DISK, G_NET, G_KMSG (kernel
#   complaint lines after the move), G_HBHOLES (holes in the heartbeat seq
#   after the move), G_FIRST_SEQ (first heartbeat after the move).
# OFFSET: where the move's part of DST_LOG starts (0 for a new QEMU; the
# log's size before the move when the same file goes on, as with
# criu-lite). G_FRESH_OFF (when set): where the guest's lines from after
# the move start, if not at OFFSET (a dump's OFFSET is taken before the
# guest is stopped): the pass that must begin after the move is looked
# for from there (guest_fresh_pass).
guest_check() {
	local log=$1 st=$2 pid=$3 off=$4 t0=$5
	shift 5
	local d after tc fresh=${G_FRESH_OFF:-$off}
	tc=$(gl_now_ms)
	G_FRESH_OFF=
	d=$(dirname "$log")
	after=$d/after-move.log
	G_PAUSE=- G_GGAP=- G_SEQ=- G_FATE=- G_VERIFY=- G_DISK=- G_NET=- G_KMSG=0
	G_HBHOLES=- G_FIRST_SEQ=-
	# a guest that runs beats every 100 ms: 10 s of silence is a hang
	if "$GL_GUEST/serial-watch" -t 10 -o "$off" -p "$pid" "$log" "HB seq=" \
		>/dev/null; then
		guest_fresh_pass "$log" "$fresh" "$pid"
		# a disk and a network round after the move too (each comes
		# once a second; a verify pass can end before either did: 17
		# of 264 good rows of a full run had DISK or NET "none")
		"$GL_GUEST/serial-watch" -t 3 -o "$off" -p "$pid" "$log" "DISK " >/dev/null
		"$GL_GUEST/serial-watch" -t 3 -o "$off" -p "$pid" "$log" "NET " >/dev/null
		stamped_upto "$st" "$log"
		gl_hb_gap "$@" -- "$t0" >"$d/gap.out"
		G_PAUSE=$(gl_kv outage_ms <"$d/gap.out")
		G_GGAP=$(gl_kv guest_gap_ms <"$d/gap.out")
		G_SEQ=$(hb_step_across "$log" "$off" "$(dirname "$1")/serial.log")
	fi
	# whole lines only: the guest may be writing one now (a cut "NET"
	# line read as NET BAD in a review's quick run)
	tail -c +"$((off + 1))" "$log" >"$after"
	[ -z "$(tail -c 1 "$after")" ] || sed -i '$d' "$after"
	G_FATE=$(gl_fate "$after")
	[ "$G_PAUSE" = - ] && [ "$G_FATE" = ok ] && G_FATE=nohb
	[ "$G_FATE" = ok ] && [ "$(gl_hb_silent_ms "$st")" -gt 2000 ] && G_FATE=hang
	G_VERIFY=$(gl_verdict "$after" VERIFY)
	G_DISK=$(gl_disk_newer "$after")
	G_NET=$(gl_verdict "$after" NET)
	gl_complaints "$after" >"$d/complaints.txt"
	G_KMSG=$(wc -l <"$d/complaints.txt")
	read -r G_FIRST_SEQ G_HBHOLES < <(awk '$1 == "HB" {
			s = substr($2, 5) + 0
			if (n++ == 0) first = s; else if (s != p + 1) holes++
			p = s }
		END { print (n ? first : "-"), holes + 0 }' "$after")
	G_CHECK_MS=$(($(gl_now_ms) - tc))
}

# guest_fresh_pass LOG OFFSET PID: waits (60 s at most) for a verify pass
# of the guest's whole workload memory that began after the guest's first
# heartbeat from byte OFFSET of LOG on: one pass wholly on this side of a
# move, rather than the two passes in a row that were waited for before
# (the first could have begun on the source). The guest's clock decides:
# a pass whose VERIFY line follows heartbeat mono_ms=M and says pass_ms=P
# ended at M or up to one heartbeat period later, so it began at or after
# M - P; it counts when M - P is not before that first heartbeat.
guest_fresh_pass() {
	local log=$1 off=$2 pid=$3 k
	for ((k = 1; k <= 4; k++)); do
		"$GL_GUEST/serial-watch" -t 60 -c $k -o "$off" -p "$pid" "$log" \
			" pass_ms=" >/dev/null || return 1
		fresh_pass_in "$log" "$off" && return 0
	done
	return 1
}

# fresh_pass_in LOG OFFSET: LOG holds, from byte OFFSET on, a verify pass
# begun after the first heartbeat there (guest_fresh_pass's test)
fresh_pass_in() {
	tail -c +"$(($2 + 1))" "$1" | tr -d '\r' | awk '
		$1 == "HB" && $3 ~ /^mono_ms=/ {
			m = substr($3, 9) + 0
			if (m0 == "") m0 = m
		}
		$1 == "VERIFY" && $3 !~ /^page=/ && m0 != "" {
			p = -1
			for (i = 3; i <= NF; i++)
				if ($i ~ /^pass_ms=/) p = substr($i, 9) + 0
			if (p >= 0 && m - p >= m0) { found = 1; exit }
		}
		END { exit !found }'
}

log_size() { stat -c %s "$1" 2>/dev/null || echo 0; }

# stamped_upto STAMPED LOG: waits (2 s at most) until LOG's stamper
# (serial-watch --stamp: one stamped line per line) has stamped every
# complete line LOG holds now; instead of a fixed wait
stamped_upto() {
	local want i
	want=$(wc -l <"$2") || return 1
	for ((i = 0; i < 100; i++)); do
		[ "$(wc -l <"$1")" -ge "$want" ] && return 0
		sleep 0.02
	done
	return 1
}

# guest_progress STAMPED T0 T1: how the guest got on on the source while it
# was being moved (host ms T0..T1): sets G_HB_PER_S (heartbeats per second,
# 10 = unhindered) and G_DIRTY_PER_S (pages it dirtied per second, from the
# workload's own counter in its VERIFY lines: the rate it really achieved,
# throttled or not); "-" when the window holds too few lines.
guest_progress() {
	read -r G_HB_PER_S G_DIRTY_PER_S < <(awk -v t0="$2" -v t1="$3" '
		$1 < t0 || $1 > t1 { next }
		$2 == "HB" { hb++ }
		$2 == "VERIFY" {
			for (i = 3; i <= NF && $i !~ /^dirtied=/; i++)
				;
			if (i > NF)
				next
			d = substr($i, 9) + 0
			if (!nv++) { d0 = d; v0 = $1 } else { d1 = d; v1 = $1 }
		}
		END {
			hz = t1 > t0 + 500 ? sprintf("%.1f", hb * 1000 / (t1 - t0)) : "-"
			dr = nv > 1 && v1 > v0 ? sprintf("%.0f", (d1 - d0) * 1000 / (v1 - v0)) : "-"
			print hz, dr
		}' "$1")
}

# hb_step_across LOG OFFSET SRC_LOG: the largest step between consecutive
# heartbeat seqs around a move (1 = none lost), read from the raw serial
# logs: the source's last lines joined with the destination's. A line the
# guest was printing at the switchover is split between the two files
# ("HB seq=685 mono_ms=7" | "1628"): joined, it counts; the host-stamped
# logs would show a lost heartbeat that the guest did print.
hb_step_across() {
	local log=$1 off=$2 src=$3 from
	from=$((off > 8192 ? off - 8192 + 1 : 1))
	{
		[ "$src" != "$log" ] && tail -n 50 "$src"
		tail -c +"$from" "$log"
	} | tr -d '\r' | awk '/^HB seq=[0-9]+ mono_ms=[0-9]+$/ {
			s = substr($2, 5) + 0
			if (n++ && s - p > max) max = s - p
			p = s
		}
		END { print (n > 1 ? max : "-") }'
}

# guest_gone LOG [OFFSET]: sets R_VERDICT (and G_*) when the destination
# QEMU ended before it ran: a panicking guest ends it (-no-reboot). OFFSET:
# where the move's part of LOG starts (the same file goes on).
guest_gone() {
	local d log=$1
	d=$(dirname "$1")
	if [ -n "${2:-}" ]; then
		log=$d/after-move.log
		tail -c +"$(($2 + 1))" "$1" >"$log"
	fi
	G_FATE=$(gl_fate "$log")
	G_VERIFY=$(gl_verdict "$log" VERIFY)
	gl_complaints "$log" >"$d/complaints.txt"
	G_KMSG=$(wc -l <"$d/complaints.txt")
	R_VERDICT="guest:$G_FATE,qemu-exited"
	[ "$G_KMSG" = 0 ] || R_VERDICT="$R_VERDICT,kmsg:$G_KMSG"
}

# guest_verdict [seq]: "ok" or what broke, from the G_* of guest_check.
# With "noseq", the step across the move is not judged (a snapshot loaded
# later goes back in time by design); the heartbeats after it still are,
# and a disk newer than the memory (G_DISK newer:N/M: every bad block
# holds a later round than the memory expects) is what a RAM-only snapshot
# loaded after the disk went on must show: not a failure there, a loss
# (an older block, a read error) still is.
guest_verdict() {
	local v=() judge_seq=${1:-seq}
	[ "$G_FATE" = ok ] || v+=("guest:$G_FATE")
	[ "$G_VERIFY" = ok ] || v+=("VERIFY:$G_VERIFY")
	case $G_DISK in ok|none) ;; newer:*) [ "$judge_seq" = noseq ] ||
		v+=("DISK:$G_DISK") ;; *) v+=("DISK:$G_DISK") ;; esac
	case $G_NET in ok|none) ;; *) v+=("NET:$G_NET") ;; esac
	[ "$judge_seq" = noseq ] || [ "$G_SEQ" = 1 ] || v+=("hb-step:$G_SEQ")
	[ "$G_HBHOLES" = 0 ] || v+=("hb-holes:$G_HBHOLES")
	[ "$G_KMSG" = 0 ] || v+=("kmsg:$G_KMSG")
	if [ ${#v[@]} = 0 ]; then echo ok; else (IFS=,; echo "${v[*]}"); fi
}

# ---- results ----

# num X: X if it is a number, else null (for JSON)
num() { [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?$ ]] && echo "$1" || echo null; }

# loadavg_json: the machine's load average now, [1, 5, 15 min] (shared
# machine: every row says how busy it was)
loadavg_json() {
	local a b c rest
	read -r a b c rest </proc/loadavg
	echo "[$a, $b, $c]"
}

# emit_row: appends one JSON line to $EXP_RESULTS from the R_* variables
# (R_RAW: a JSON value with the tool's own stats, whole).
emit_row() {
	local now wall boot
	now=$(date +%s%3N)
	wall=$((now - ${EXP_ROW_T0:-$now})) boot=$((EXP_BOOT_MS - EXP_BOOT_MS0))
	EXP_ROW_T0=$now EXP_BOOT_MS0=$EXP_BOOT_MS EXP_ROWS=$((EXP_ROWS + 1))
	jq -nc \
		--arg tool "$R_TOOL" --arg tool_version "$R_TOOL_VERSION" \
		--arg qemu "$CH_VER" --arg qemu_version "${CH_QEMU_VERSION:-}" \
		--arg mode "$R_MODE" --argjson mem_mib "$CH_MEM" \
		--argjson dirty_rate "$CH_RATE" --argjson run "$EXP_RUN" \
		--argjson total_ms "$(num "$R_TOTAL")" \
		--argjson downtime_ms "$(num "$R_DOWN")" \
		--argjson pause_ms "$(num "$G_PAUSE")" \
		--argjson bytes "$(num "$R_BYTES")" \
		--argjson rounds "$(num "$R_ROUNDS")" \
		--arg verdict "$R_VERDICT" --argjson guest_kmsg "$(num "$G_KMSG")" \
		--argjson guest_gap_ms "$(num "$G_GGAP")" \
		--argjson guest_hb_per_s "$(num "$G_HB_PER_S")" \
		--argjson guest_dirty_per_s "$(num "$G_DIRTY_PER_S")" \
		--argjson seq_step "$(num "$G_SEQ")" \
		--arg verify "$G_VERIFY" --arg disk "$G_DISK" --arg net "$G_NET" \
		--arg fate "$G_FATE" --argjson host_ms "$(num "$R_HOST")" \
		--argjson save_ms "$(num "$R_SAVE")" \
		--argjson restore_ms "$(num "$R_RESTORE")" \
		--arg note "$R_NOTE" --arg dir "$R_DIR" \
		--arg time "$(date -u +%FT%TZ)" \
		--argjson durable "$R_DURABLE" \
		--argjson link_mb_s "$(num "${EXP_LINK_MBS:--}")" \
		--argjson link4_mb_s "$(num "${EXP_LINK4_MBS:--}")" \
		--argjson loadavg "$(loadavg_json)" \
		--argjson wall_ms "$wall" --argjson boot_ms "$boot" \
		--argjson check_ms "$(num "${G_CHECK_MS:--}")" \
		--argjson source_resumed "${R_SRC_RESUMED:-null}" \
		--argjson raw "${R_RAW:-null}" \
		'{tool: $tool, tool_version: $tool_version, qemu: $qemu,
		  qemu_version: $qemu_version, mode: $mode, mem_mib: $mem_mib,
		  dirty_rate: $dirty_rate, run: $run, total_ms: $total_ms,
		  downtime_ms: $downtime_ms, pause_ms: $pause_ms, bytes: $bytes,
		  rounds: $rounds, verdict: $verdict, guest_kmsg: $guest_kmsg,
		  guest_gap_ms: $guest_gap_ms, guest_hb_per_s: $guest_hb_per_s,
		  guest_dirty_per_s: $guest_dirty_per_s, seq_step: $seq_step, verify: $verify,
		  disk: $disk, net: $net, fate: $fate, host_ms: $host_ms,
		  save_ms: $save_ms, restore_ms: $restore_ms, durable: $durable,
		  link_mb_s: $link_mb_s, link4_mb_s: $link4_mb_s,
		  loadavg: $loadavg, note: $note, dir: $dir, time: $time,
		  wall_ms: $wall_ms, boot_ms: $boot_ms, check_ms: $check_ms,
		  source_resumed: $source_resumed, raw: $raw}' >>"$EXP_RESULTS" || {
		echo "experiments: could not write the row of $R_MODE" >&2
		return 1
	}
	printf 'experiments: %-5s %-9s %-24s %5s MiB %6s/s total %6s ms down %5s ms pause %5s ms  %s\n' \
		"$CH_VER" "$R_TOOL" "$R_MODE" "$CH_MEM" "$CH_RATE" "$R_TOTAL" "$R_DOWN" \
		"$G_PAUSE" "$R_VERDICT" >&2
	exp_progress "$wall" "$boot"
}

# exp_progress WALL BOOT: one line per row: its wall time (of it BOOT ms
# booting a guest, G_CHECK_MS checking it), rows done of EXP_ROWS_PLANNED,
# time so far and the estimate left (the mean row so far)
exp_progress() {
	local el left=-
	el=$((($(date +%s%3N) - EXP_T0) / 1000))
	[ "${EXP_ROWS_PLANNED:-0}" -gt 0 ] &&
		left=$((el * (EXP_ROWS_PLANNED - EXP_ROWS) / EXP_ROWS))
	printf 'experiments:   row %s/%s: %s ms (boot %s, check %s); %s s so far, ~%s s left\n' \
		"$EXP_ROWS" "${EXP_ROWS_PLANNED:-?}" "$1" "$2" "$G_CHECK_MS" "$el" "$left" >&2
}

# row_reset TOOL MODE: clears the R_* and G_* of a row.
row_reset() {
	R_TOOL=$1 R_MODE=$2 R_TOOL_VERSION=- R_TOTAL=- R_DOWN=- R_BYTES=-
	R_SRC_RESUMABLE=0 R_SRC_RESUMED=null R_DURABLE=null
	R_ROUNDS=- R_VERDICT=- R_HOST=- R_SAVE=- R_RESTORE=- R_NOTE='' R_DIR=''
	R_RAW=null G_CHECK_MS=- G_FRESH_OFF=
	G_PAUSE=- G_GGAP=- G_SEQ=- G_FATE=- G_VERIFY=- G_DISK=- G_NET=- G_KMSG=-
	G_HBHOLES=- G_FIRST_SEQ=- G_HB_PER_S=- G_DIRTY_PER_S=-
}

# row_end: writes the row of a move and decides where the chain goes on.
# A move that failed or broke the guest while the source still holds the
# whole guest (R_SRC_RESUMABLE=1: QEMU's precopy moves, whose source waits
# in postmigrate even after it completed; a criu-lite migrate or dump that
# left its tree running) has its source continued first
# (chain_resume_source), and the row says what became of it:
# source_resumed true (it ran on intact, checked as a move's destination
# is: the chain goes on from it) or false (the chain ends); null when the
# source was not there to continue. Any other failure ends the chain.
row_end() {
	# rate-too-low: a wrong measurement of a guest left unharmed
	case $R_VERDICT in ok|n/a|rate-too-low) emit_row; return ;; esac
	if [ "$R_SRC_RESUMABLE" = 1 ]; then
		if chain_resume_source; then
			R_SRC_RESUMED=true
			R_NOTE="${R_NOTE:+$R_NOTE; }the source was continued and ran on intact (the chain goes on from it)"
			emit_row
			return
		fi
		R_SRC_RESUMED=false
		R_NOTE="${R_NOTE:+$R_NOTE; }the source, continued, did not run on intact (the chain ends)"
	fi
	emit_row
	chain_end
}

# row_na TOOL MODE WHY: a mode this tool version does not have.
row_na() {
	row_reset "$1" "$2"
	R_VERDICT=n/a R_NOTE=$3
	[ "$1" = qemu ] && R_TOOL_VERSION=${CH_QEMU_VERSION:-}
	emit_row
}

# ---- the link's own ceiling ----

# link_measure: what the link between the two hosts carries at best over TCP
# (experiments/link-ceiling.c: a sender here, a receiver on the other host,
# EXP_LINK_S s each, 1 and 4 streams), measured once per configuration
# block of the run so every row has the ceiling of its own time on this
# shared machine. Sets EXP_LINK_MBS and EXP_LINK4_MBS (MB/s received, MB =
# 10^6 bytes as QEMU's mbps; "-" when it failed).
link_measure() {
	local n out port v i side=there
	[ "$EXP_ONE_HOST" = 1 ] && side=here
	EXP_LINK_MBS=- EXP_LINK4_MBS=-
	for n in 1 4; do
		out=$EXP_WORK/link-$n.out
		: >"$out"
		side_run "$side" timeout 30 "$GL_GUEST/link-ceiling" -l "$(side_addr "$side")" \
			-n "$n" >"$out" 2>&1 &
		port=
		for ((i = 0; i < 100; i++)); do
			port=$(sed -n 's/^port=//p' "$out") && [ -n "$port" ] && break
			sleep 0.05
		done
		[ -n "$port" ] && timeout 30 "$GL_GUEST/link-ceiling" -c \
			"$(side_addr "$side"):$port" -n "$n" -s "${EXP_LINK_S:-1}" >/dev/null
		wait $!
		v=$(sed -n 's/.* mb_s=\([0-9.]*\) .*/\1/p' "$out")
		[ "$n" = 1 ] && EXP_LINK_MBS=${v:--} || EXP_LINK4_MBS=${v:--}
	done
	echo "experiments: the link carries $EXP_LINK_MBS MB/s (1 TCP stream), $EXP_LINK4_MBS MB/s (4 streams)" >&2
}

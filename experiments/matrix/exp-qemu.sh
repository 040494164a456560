# shellcheck shell=bash disable=SC2034,SC2153,SC2015
# QEMU's own migration modes (sourced by run-experiments.sh after
# exp-lib.sh). One line per mode:
#
#   NAME | CAPABILITIES | PARAMETERS (JSON) | KIND | MIN-VERSION
#
# CAPABILITIES are set on both sides (comma-separated), PARAMETERS too; a
# mode whose capability or parameter a QEMU version does not list (or older
# than MIN-VERSION, for URIs the version does not parse) gets an "n/a" row.
# KIND says how the move goes:
#   live       tcp to a QEMU started with -incoming defer on the other host
#              (exp-lib.sh: the chain goes back and forth), listening on
#              that host's address
#   postcopy   live, migrate-start-postcopy once the first pass is done
#              (at the default bandwidth: at unlimited, a 512 MiB guest
#              converges in precopy before the switch; the postcopy phase
#              itself is unlimited, max-postcopy-bandwidth 0)
#   save:URI   the VM stopped, saved to a file (exec or file URI), the
#              source quits, a new QEMU loads the file (virsh save/restore)
#              on the same host
#   save:URI:sync  the same, durable: the save ends once the file is
#              fsync'ed (QEMU itself never syncs it: `sync FILE` after
#              completed, timed as part of the save, as virsh save's
#              --bypass-cache or a careful caller would)
#   postcopy-recover  postcopy from the first pass on (its phase capped at
#              64 MiB/s so that it lasts), and 1.5 s into it the link is cut (the veth pair
#              set down), migrate-pause on both sides, EXP_CUT_MS of cut in
#              all, the link up again, migrate-recover on the destination
#              with a new URI and migrate resume on the source
#   bgsnap     background-snapshot to a file while the VM runs on; then the
#              file is loaded by a new QEMU on the same host (the state at
#              the start)
#   dirtyrate:MODE  calc-dirty-rate (no move), against the known rate
#   mismatch   live to a destination started without the guest's disk
#              (question 8): the destination must refuse the stream, saying
#              why, and the source, continued, must run on intact; "ok"
#              means exactly that
# "BW" in PARAMETERS stands for unlimited max-bandwidth.
QEMU_MODES='
precopy-default    |                              | {}                                   | live     | -
precopy            |                              | {"max-bandwidth":BW}                 | live     | -
multifd-1          | multifd                      | {"max-bandwidth":BW,"multifd-channels":1} | live | -
multifd-2          | multifd                      | {"max-bandwidth":BW,"multifd-channels":2} | live | -
multifd-4          | multifd                      | {"max-bandwidth":BW,"multifd-channels":4} | live | -
multifd-1-nozpd    | multifd                      | {"max-bandwidth":BW,"multifd-channels":1,"zero-page-detection":"none"} | live | -
multifd-2-nozpd    | multifd                      | {"max-bandwidth":BW,"multifd-channels":2,"zero-page-detection":"none"} | live | -
multifd-4-nozpd    | multifd                      | {"max-bandwidth":BW,"multifd-channels":4,"zero-page-detection":"none"} | live | -
auto-converge      | auto-converge                | {}                                   | live     | -
downtime-limit-50  |                              | {"downtime-limit":50}                | live     | -
postcopy           | postcopy-ram                 | {}                                   | postcopy | -
postcopy-preempt   | postcopy-ram,postcopy-preempt | {}                                  | postcopy | -
postcopy-recover   | postcopy-ram                 | {"max-postcopy-bandwidth":67108864}  | postcopy-recover | -
calc-dirty-rate-sampling |                        | {}                                   | dirtyrate:page-sampling | -
calc-dirty-rate-bitmap   |                        | {}                                   | dirtyrate:dirty-bitmap  | -
exec-save          |                              | {"max-bandwidth":BW}                 | save:exec | -
file-save          |                              | {"max-bandwidth":BW}                 | save:file | 8.2
file-mapped-ram    | mapped-ram,multifd           | {"max-bandwidth":BW,"multifd-channels":2} | save:file | -
exec-save-sync     |                              | {"max-bandwidth":BW}                 | save:exec:sync | -
file-save-sync     |                              | {"max-bandwidth":BW}                 | save:file:sync | 8.2
file-mapped-ram-sync | mapped-ram,multifd         | {"max-bandwidth":BW,"multifd-channels":2} | save:file:sync | -
bg-snapshot        | background-snapshot          | {"max-bandwidth":BW}                 | bgsnap   | -
dst-no-disk        |                              | {"max-bandwidth":BW}                 | mismatch | -
'
QEMU_BW=109951162777600	# "unlimited" (100 TiB/s)

qemu_mode_names() {
	awk -F'|' 'NF >= 5 { gsub(/ /, "", $1); print $1 }' <<<"$QEMU_MODES"
}

# qemu_mode_field NAME N: field N (1-5) of mode NAME, trimmed
qemu_mode_field() {
	awk -F'|' -v n="$1" -v f="$2" '{ k = $1; gsub(/ /, "", k) }
		k == n { v = $f; gsub(/^ +| +$/, "", v); print v }' <<<"$QEMU_MODES"
}

# qemu_lacks CAPS PARAMS MINVER: sets QL_WHY, why the chain's QEMU cannot
# run a mode ("" when it can). What a version lists is asked once per
# version (not in a subshell: the cache is kept).
declare -A QEMU_HAS_CAPS QEMU_HAS_PARAMS
qemu_lacks() {
	if [ -z "${QEMU_HAS_CAPS[$CH_VER]:-}" ]; then
		QEMU_HAS_CAPS[$CH_VER]=" $(gl_qmp "$CH_SOCK" query-migrate-capabilities |
			jq -r '[.[].capability] | join(" ")') "
		QEMU_HAS_PARAMS[$CH_VER]=" $(gl_qmp "$CH_SOCK" query-migrate-parameters |
			jq -r 'keys | join(" ")') "
	fi
	QL_WHY=$(qemu_lacks_why "$@")
}

qemu_lacks_why() {
	local caps=$1 params=$2 minver=$3 c k
	for c in ${caps//,/ }; do
		[[ ${QEMU_HAS_CAPS[$CH_VER]} == *" $c "* ]] || { echo "no capability $c"; return; }
	done
	for k in $(param_names "$params"); do
		[[ ${QEMU_HAS_PARAMS[$CH_VER]} == *" $k "* ]] || { echo "no parameter $k"; return; }
	done
	if [ "$minver" != - ] &&
		[ "$(printf '%s\n' "$minver" "${CH_QEMU_VERSION%% *}" | sort -V | head -n 1)" != "$minver" ]; then
		echo "needs QEMU >= $minver"
	fi
}

# param_names PARAMS: the keys of a mode's PARAMETERS (flat JSON object)
param_names() {
	local p=$1
	while [[ $p =~ \"([a-z-]+)\":(.*) ]]; do
		echo "${BASH_REMATCH[1]}"
		p=${BASH_REMATCH[2]}
	done
}

# caps_json CAPS STATE: {"capabilities": [...]} setting CAPS (comma-
# separated) to STATE
caps_json() {
	local c out=''
	for c in ${1//,/ }; do
		out="$out${out:+, }{\"capability\": \"$c\", \"state\": $2}"
	done
	echo "{\"capabilities\": [$out]}"
}

# qemu_reset SOCK: the source back to the defaults of its version: a
# destination keeps the capabilities and parameters of the move that
# brought the guest in, and is the next move's source. CH_CAPS: the
# capabilities the chain's last move set (on both of its sides).
qemu_reset() {
	if [ -n "${CH_CAPS:-}" ]; then
		gl_qmp "$1" migrate-set-capabilities "$(caps_json "$CH_CAPS" false)" >/dev/null ||
			return 1
	fi
	gl_qmp "$1" migrate-set-parameters "$CH_PARAMS0" >/dev/null
}

# qemu_setup SOCK CAPS PARAMS: sets the mode's capabilities and parameters
qemu_setup() {
	local sock=$1 caps=$2 params=$3
	if [ -n "$caps" ]; then
		CH_CAPS=$caps
		gl_qmp "$sock" migrate-set-capabilities "$(caps_json "$caps" true)" >/dev/null ||
			return 1
	fi
	[ "$params" = "{}" ] ||
		gl_qmp "$sock" migrate-set-parameters "$params" >/dev/null
}

# qemu_wait_migration SOCK KIND [DST_PID]: polls query-migrate until the
# migration ends (postcopy: switches once the first pass is done); prints
# the status: completed, failed, cancelled, postcopy-paused (the
# destination is gone in postcopy: the guest is split between the two),
# dst-died, or timeout (after EXP_MOVE_TIMEOUT s: then cancelled).
qemu_wait_migration() {
	local sock=$1 kind=$2 dpid=${3:-} deadline st syncs thr pc=0 maxthr=0 tpc=0
	deadline=$(($(gl_now_ms) + EXP_MOVE_TIMEOUT * 1000))
	while :; do
		{ read -r st; read -r syncs; read -r thr; } < <(gl_qmp -t 10 "$sock" \
			query-migrate -g status -g ram.dirty-sync-count \
			-g cpu-throttle-percentage)
		# auto-converge's throttle shows only while the migration runs
		[[ $thr =~ ^[0-9]+$ ]] && [ "$thr" -gt "$maxthr" ] && maxthr=$thr &&
			echo "$maxthr" >"${EXP_THROTTLE_FILE:-/dev/null}"
		case $st in completed|failed|cancelled|postcopy-paused) echo "$st"; return ;; esac
		if [ -n "$dpid" ] && ! gl_alive "$dpid"; then
			[ $pc -ge 1 ] && { echo postcopy-paused; return; }
			gl_qmp -t 10 "$sock" migrate_cancel >/dev/null
			gl_qmp -t 30 -u cancelled,failed,completed "$sock" query-migrate >/dev/null
			echo dst-died
			return
		fi
		# postcopy-recover switches at once: an idle guest would
		# converge in the first pass and leave no postcopy to cut
		if [ "${kind%-recover}" = postcopy ] && [ $pc = 0 ] && [ "$st" = active ] &&
			[ "${syncs:-0}" != - ] &&
			[ "${syncs:-0}" -ge "$([ "$kind" = postcopy ] && echo 2 || echo 1)" ]; then
			gl_qmp "$sock" migrate-start-postcopy >/dev/null && pc=1 &&
				tpc=$(gl_now_ms)
		fi
		if [ "$kind" = postcopy-recover ] && [ $pc = 1 ] && [ "$st" = postcopy-active ] &&
			[ $((tpc + 1500)) -lt "$(gl_now_ms)" ]; then
			qemu_cut_recover "$sock" "$tpc" >"$EXP_RECOVER_FILE"
			pc=2
		fi
		if [ "$(gl_now_ms)" -gt "$deadline" ]; then
			gl_qmp -t 10 "$sock" migrate_cancel >/dev/null
			gl_qmp -t 30 -u cancelled,failed,completed "$sock" query-migrate >/dev/null
			echo timeout
			return
		fi
		sleep 0.05
	done
}

# qemu_status SOCK: the migration's status on that side
qemu_status() { gl_qmp -t 5 "$1" query-migrate -g status 2>/dev/null; }

# qemu_wait_status SOCK STATUSES MS: waits up to MS for SOCK's migration to
# be in one of STATUSES (an extended regex); prints how long it took, or "-"
qemu_wait_status() {
	local t0 now
	t0=$(gl_now_ms)
	while :; do
		now=$(gl_now_ms)
		[[ $(qemu_status "$1") =~ ^($2)$ ]] && { echo $((now - t0)); return 0; }
		[ $((now - t0)) -gt "$3" ] && { echo -; return 1; }
		sleep 0.02
	done
}

# qemu_cut_recover SOCK T_POSTCOPY: in postcopy-active, cuts the link
# between the two hosts (its veth end here set down: both ends lose their
# carrier, the addresses stay), pauses the migration on both sides
# (migrate-pause: QEMU shuts its migration sockets down; a cut link alone
# shows only after TCP's retransmission timeouts), keeps the link cut for
# EXP_CUT_MS in all, brings it up, and resumes: migrate-recover on the
# destination listening on a new port, migrate with resume on the source.
# Uses EXP_DST_SOCK and EXP_DST_ADDR (qemu_live). Prints a JSON object of
# what happened and when (ms after the cut).
qemu_cut_recover() {
	local sock=$1 tpc=$2 dsock=$EXP_DST_SOCK t_cut src_pause dst_pause
	local src_paused dst_paused t_up port uri rec res t_res back err=''
	t_cut=$(gl_now_ms)
	ip link set "$TH_VETH" down || err="link down failed"
	gl_qmp -t 5 "$sock" migrate-pause >/dev/null 2>&1 && src_pause=true || src_pause=false
	gl_qmp -t 5 "$dsock" migrate-pause >/dev/null 2>&1 && dst_pause=true || dst_pause=false
	src_paused=$(qemu_wait_status "$sock" postcopy-paused 15000)
	dst_paused=$(qemu_wait_status "$dsock" postcopy-paused 15000)
	sleep "$(awk -v c="${EXP_CUT_MS:-2000}" -v e=$(($(gl_now_ms) - t_cut)) \
		'BEGIN { d = (c - e) / 1000; print (d > 0 ? d : 0) }')"
	ip link set "$TH_VETH" up || err="${err:+$err; }link up failed"
	t_up=$(gl_now_ms)
	port=$((30000 + (BASHPID * 7 + EXP_CHAIN) % 20000))
	uri="tcp:$EXP_DST_ADDR:$port"
	rec=$(gl_qmp -t 10 "$dsock" migrate-recover "$(jq -nc --arg u "$uri" '{uri: $u}')" 2>&1) &&
		rec=ok
	# migrate-recover returns listening (the destination stays
	# postcopy-paused until the source connects)
	t_res=$(gl_now_ms)
	res=$(gl_qmp -t 10 "$sock" migrate "$(jq -nc --arg u "$uri" '{uri: $u, resume: true}')" 2>&1) &&
		res=ok
	back=$(qemu_wait_status "$sock" "postcopy-active|completed" 30000)
	jq -nc --argjson after_postcopy_ms $((t_cut - tpc)) \
		--argjson src_pause_ok "$src_pause" --argjson dst_pause_ok "$dst_pause" \
		--argjson src_paused_ms "$(num "$src_paused")" \
		--argjson dst_paused_ms "$(num "$dst_paused")" \
		--argjson link_up_ms $((t_up - t_cut)) \
		--argjson resume_sent_ms $((t_res - t_cut)) \
		--argjson active_again_ms "$(num "$([ "$back" = - ] && echo - || echo $((t_res - t_cut + back)))")" \
		--arg recover "$rec" --arg resume "$res" --arg err "$err" \
		--argjson t_cut "$t_cut" \
		'{after_postcopy_ms: $after_postcopy_ms, src_pause_ok: $src_pause_ok,
		  dst_pause_ok: $dst_pause_ok, src_paused_ms: $src_paused_ms,
		  dst_paused_ms: $dst_paused_ms, link_up_ms: $link_up_ms,
		  resume_sent_ms: $resume_sent_ms, active_again_ms: $active_again_ms,
		  recover: $recover, resume: $resume, error: $err, t_cut: $t_cut}'
}

# qemu_dst_running SOCK PID: waits for the destination to run (cont if the
# source was stopped first: QEMU keeps the source's run state); fails at
# once when that QEMU is gone (a panicking guest ends it: -no-reboot)
qemu_dst_running() {
	local sock=$1 pid=$2 st deadline
	deadline=$(($(gl_now_ms) + EXP_MOVE_TIMEOUT * 1000))
	while gl_alive "$pid" && [ "$(gl_now_ms)" -lt "$deadline" ]; do
		st=$(gl_qmp -t 2 -g status "$sock" query-status 2>/dev/null)
		case $st in
		running) return 0 ;;
		paused) gl_qmp "$sock" cont >/dev/null && return 0; return 1 ;;
		postmigrate|shutdown|internal-error|guest-panicked) return 1 ;;
		esac
		sleep 0.05
	done
	return 1
}

# qemu_stats JSON: sets R_TOTAL, R_DOWN, R_BYTES, R_ROUNDS from query-migrate
qemu_stats() {
	read -r R_TOTAL R_DOWN R_BYTES R_ROUNDS < <(jq -r \
		'[."total-time", .downtime, .ram.transferred, .ram."dirty-sync-count"]
		 | map(. // "-") | @tsv' <<<"$1")
}

# qemu_head DIR PID STAMPER SIDE: the destination becomes the chain's head
qemu_head() {
	chain_end_src_only
	R_SRC_RESUMABLE=0
	CH_DIR=$1 CH_PID=$2 CH_STAMPER=$3 CH_SOCK=$1/qmp.sock CH_SIDE=$4
}

# The old head after a completed move: quit it (it is in postmigrate).
chain_end_src_only() {
	gl_quit_qemu "$CH_SOCK" "$CH_PID"
	kill "$CH_STAMPER" 2>/dev/null
}

# qemu_live NAME CAPS PARAMS KIND: a live move over tcp to a new QEMU on
# the other host
qemu_live() {
	local caps=$2 params=$3 kind=$4 dst dpid dst_st port t0 t1 st q dside daddr
	chain_next_dir
	dst=$NEXT_DIR
	R_DIR=$dst
	dside=$(side_other "$CH_SIDE")
	daddr=$(side_addr "$dside")
	qemu_start "$dst" defer "$dside" || { R_VERDICT="dst-start-failed"; return 1; }
	dpid=$QS_PID dst_st=$QS_STAMPER
	qemu_reset "$CH_SOCK" && qemu_setup "$CH_SOCK" "$caps" "$params" &&
		qemu_setup "$dst/qmp.sock" "$caps" "$params" &&
		gl_qmp "$dst/qmp.sock" migrate-incoming \
			"{\"uri\": \"tcp:$daddr:0\"}" >/dev/null ||
		{ R_VERDICT="setup-failed"; gl_stop_pid "$dpid"; return 1; }
	port=$(gl_qmp "$dst/qmp.sock" query-migrate | jq -r '."socket-address"[0].port')
	t0=$(gl_now_ms)
	gl_qmp "$CH_SOCK" migrate "{\"uri\": \"tcp:$daddr:$port\"}" \
		>"$dst/migrate.err" 2>&1 ||
		{ R_VERDICT="migrate-refused"; R_NOTE=$(cat "$dst/migrate.err"); gl_stop_pid "$dpid"; return 1; }
	echo null >"$dst/throttle.max"
	echo null >"$dst/recover.json"
	st=$(EXP_THROTTLE_FILE=$dst/throttle.max EXP_RECOVER_FILE=$dst/recover.json \
		EXP_DST_SOCK=$dst/qmp.sock EXP_DST_ADDR=$daddr \
		qemu_wait_migration "$CH_SOCK" "$kind" "$dpid")
	t1=$(gl_now_ms)
	q=$(gl_qmp -t 10 "$CH_SOCK" query-migrate)
	R_RAW=$(jq -c --argjson d "$(gl_qmp -t 2 "$dst/qmp.sock" query-migrate 2>/dev/null || echo null)" \
		--argjson thr "$(cat "$dst/throttle.max")" \
		--argjson rec "$(cat "$dst/recover.json" 2>/dev/null || echo null)" \
		--argjson par "$(gl_qmp -t 2 "$CH_SOCK" query-migrate-parameters 2>/dev/null || echo null)" \
		--argjson cap "$(gl_qmp -t 2 "$CH_SOCK" query-migrate-capabilities 2>/dev/null || echo null)" \
		'{"query-migrate": ., "dst-query-migrate": $d,
		  "migrate-parameters": $par,
		  "migrate-capabilities-on": ($cap | if . == null then null
			else map(select(.state) | .capability) end),
		  "max-cpu-throttle-percentage-seen": $thr}
		 + if $rec != null then {recover: $rec} else {} end' <<<"$q")
	stamped_upto "$CH_DIR/stamped.log" "$CH_DIR/serial.log"	# its last lines
	guest_progress "$CH_DIR/stamped.log" "$t0" "$t1"
	qemu_stats "$q"
	# the source still holds the whole guest unless postcopy started
	[ "${kind%-recover}" = postcopy ] || R_SRC_RESUMABLE=1
	if [ "$st" != completed ]; then
		R_NOTE=$(jq -r '."error-desc" // empty' <<<"$q")
		case $st in
		postcopy-paused|dst-died)	# what happened to the guest there
			gl_stop_pid "$dpid"
			guest_gone "$dst/serial.log"
			R_VERDICT="migration-$st,$R_VERDICT" ;;
		*) R_VERDICT="migration-$st"
			gl_stop_pid "$dpid" ;;
		esac
		return 1
	fi
	qemu_dst_running "$dst/qmp.sock" "$dpid" || { guest_gone "$dst/serial.log"; gl_stop_pid "$dpid"; return 1; }
	R_HOST=$(($(gl_now_ms) - t0))
	guest_check "$dst/serial.log" "$dst/stamped.log" "$dpid" 0 "$t0" \
		"$CH_DIR/stamped.log" "$dst/stamped.log"
	R_VERDICT=$(guest_verdict)
	[ "$kind" = postcopy-recover ] && recover_verdict "$dst" "$CH_DIR/stamped.log"
	# a precopy whose guest came out broken: the source still holds the
	# guest as it was (postmigrate): it is continued (row_end), not the
	# broken destination
	if [ "$R_VERDICT" != ok ] && [ "$R_SRC_RESUMABLE" = 1 ]; then
		gl_quit_qemu "$dst/qmp.sock" "$dpid"
		kill "$dst_st" 2>/dev/null
		return 1
	fi
	qemu_head "$dst" "$dpid" "$dst_st" "$dside"
}

# recover_verdict DIR [SRC_STAMPED]: a postcopy-recover move whose link was
# never cut, or that did not pause and resume, is no answer: its verdict
# says so. The pause the guest saw in the cut (the longest heartbeat gap on
# the host clock that ends after the cut, the source's heartbeats
# included) goes into raw.recover.guest_pause_ms.
recover_verdict() {
	local rec=$1/recover.json t_cut gap why=''
	t_cut=$(jq -r '.t_cut // empty' "$rec" 2>/dev/null)
	if [ -z "$t_cut" ]; then
		why=link-never-cut
	else
		jq -e '.src_paused_ms != null and .dst_paused_ms != null' "$rec" >/dev/null ||
			why=not-paused
		jq -e '.recover == "ok" and .resume == "ok"' "$rec" >/dev/null ||
			why="${why:+$why,}not-recovered"
		# both sides' heartbeats in host-time order; the longest gap that
		# ends after the cut, the one spanning it included (a guest that
		# stalled on a page from the switchover on, through the cut, to
		# the recovery printed nothing there: counting only gaps between
		# heartbeats after the cut said 192 ms for a 3.6 s stall)
		sort -n -k1,1 "${@:2}" "$1/stamped.log" | awk -v cut="$t_cut" '
			$2 == "HB" { if (p && $1 > cut && $1 - p > best) best = $1 - p; p = $1 }
			END { print "outage_ms=" (best ? best : "-") }' >"$1/cut-gap.out"
		gap=$(gl_kv outage_ms <"$1/cut-gap.out")
		R_RAW=$(jq -c --argjson g "$(num "$gap")" '.recover.guest_pause_ms = $g' <<<"$R_RAW")
		R_NOTE="link cut $(jq -r '.link_up_ms' "$rec") ms; paused (src/dst) after $(jq -r '"\(.src_paused_ms)/\(.dst_paused_ms)"' "$rec") ms; running postcopy again $(jq -r '.active_again_ms' "$rec") ms after the cut; the guest's longest heartbeat gap ending after the cut: $gap ms"
	fi
	[ -z "$why" ] && return
	if [ "$R_VERDICT" = ok ]; then R_VERDICT=$why; else R_VERDICT="$R_VERDICT,$why"; fi
}

# qemu_save NAME CAPS PARAMS KIND: stop, save to a file, quit, load
qemu_save() {
	local caps=$2 params=$3 scheme=${4#save:} dst dpid dst_st f t0 t1 t2 t3 st q i
	local durable=false fsync_ms=null
	[ "${scheme%:sync}" != "$scheme" ] && durable=true scheme=${scheme%:sync}
	R_DURABLE=$durable
	chain_next_dir
	dst=$NEXT_DIR
	R_DIR=$dst
	mkdir -p "$dst"
	f=$dst/state.mig
	local out_uri="exec:cat > $f" in_uri="exec:cat $f"
	[ "$scheme" = file ] && out_uri="file:$f" in_uri="file:$f"
	qemu_reset "$CH_SOCK" && qemu_setup "$CH_SOCK" "$caps" "$params" ||
		{ R_VERDICT="setup-failed"; return 1; }
	# a durable save's fsync is timed: others' dirty pages flushed first
	[ "$durable" = true ] && sync
	t0=$(gl_now_ms)
	gl_qmp "$CH_SOCK" stop >/dev/null &&
		gl_qmp "$CH_SOCK" migrate "$(jq -nc --arg u "$out_uri" '{uri: $u}')" \
			>"$dst/migrate.err" 2>&1 ||
		{ R_VERDICT="migrate-refused"; R_NOTE=$(cat "$dst/migrate.err"); return 1; }
	st=$(qemu_wait_migration "$CH_SOCK" save)
	# exec: the shell and cat QEMU started may still be writing what it
	# gave them: the file is whole once no child of QEMU is left
	for ((i = 0; i < 200; i++)); do
		pgrep -P "$CH_PID" >/dev/null || break
		sleep 0.05
	done
	t1=$(gl_now_ms)
	if [ "$durable" = true ] && [ "$st" = completed ]; then
		sync "$f" || { R_VERDICT=fsync-failed; return 1; }
		fsync_ms=$(($(gl_now_ms) - t1))
		t1=$(gl_now_ms)
	fi
	q=$(gl_qmp "$CH_SOCK" query-migrate)
	qemu_stats "$q"
	R_SAVE=$((t1 - t0))
	R_BYTES=$(stat -c %s "$f" 2>/dev/null || echo -)
	local alloc src_status
	alloc=$(du -B1 "$f" 2>/dev/null | cut -f1)
	src_status=$(gl_qmp "$CH_SOCK" query-status -g status)
	[ "$st" = completed ] || { R_VERDICT="migration-$st"
		R_NOTE=$(jq -r '."error-desc" // empty' <<<"$q"); R_RAW=$q; return 1; }
	chain_end_src_only
	t2=$(gl_now_ms)
	qemu_start "$dst" defer "$CH_SIDE" || { R_VERDICT="dst-start-failed"; return 1; }
	dpid=$QS_PID dst_st=$QS_STAMPER
	qemu_setup "$dst/qmp.sock" "$caps" "$params" &&
		gl_qmp "$dst/qmp.sock" migrate-incoming \
			"$(jq -nc --arg u "$in_uri" '{uri: $u}')" >/dev/null &&
		qemu_dst_running "$dst/qmp.sock" "$dpid" || {
		guest_gone "$dst/serial.log"
		CH_PID=$dpid CH_STAMPER=$dst_st CH_SOCK=$dst/qmp.sock
		return 1
	}
	t3=$(gl_now_ms)
	R_RESTORE=$((t3 - t2))
	R_HOST=$((t3 - t0))
	R_TOTAL=$R_HOST		# QEMU's total-time (the save alone) is in raw
	R_RAW=$(jq -c --argjson a "${alloc:-null}" --arg s "$src_status" \
		--argjson fs "$fsync_ms" \
		'{"query-migrate": ., "file-allocated-bytes": $a, "source-status-after": $s,
		  "fsync-ms": $fs}' <<<"$q")
	guest_check "$dst/serial.log" "$dst/stamped.log" "$dpid" 0 "$t0" \
		"$CH_DIR/stamped.log" "$dst/stamped.log"
	R_VERDICT=$(guest_verdict)
	CH_DIR=$dst CH_PID=$dpid CH_STAMPER=$dst_st CH_SOCK=$dst/qmp.sock
	[ "${EXP_KEEP:-0}" = 1 ] || rm -f "$f" &	# (a GiB's removal: not waited for)
}

# last_seq STAMPED [UNTIL_MS]: the last heartbeat seq stamped up to UNTIL_MS
last_seq() {
	awk -v t="${2:-99999999999999}" '$2 == "HB" && $1 <= t { s = substr($3, 5) + 0 }
		END { print s == "" ? "-" : s }' "$1"
}

# qemu_bgsnap NAME CAPS PARAMS: background-snapshot while the VM runs, then
# the snapshot loaded by a new QEMU: it must resume at the start's state.
qemu_bgsnap() {
	local caps=$2 params=$3 dst dpid dst_st f t0 t1 t2 st q s0 s1 src_pause src_status
	chain_next_dir
	dst=$NEXT_DIR
	R_DIR=$dst
	mkdir -p "$dst"
	f=$dst/state.mig
	qemu_reset "$CH_SOCK" && qemu_setup "$CH_SOCK" "$caps" "$params" ||
		{ R_VERDICT="setup-failed"; return 1; }
	t0=$(gl_now_ms)
	s0=$(last_seq "$CH_DIR/stamped.log" "$t0")
	gl_qmp "$CH_SOCK" migrate "$(jq -nc --arg u "exec:cat > $f" '{uri: $u}')" \
		>"$dst/migrate.err" 2>&1 ||
		{ R_VERDICT="migrate-refused"; R_NOTE=$(cat "$dst/migrate.err"); return 1; }
	st=$(qemu_wait_migration "$CH_SOCK" bgsnap)
	t1=$(gl_now_ms)
	stamped_upto "$CH_DIR/stamped.log" "$CH_DIR/serial.log"
	s1=$(last_seq "$CH_DIR/stamped.log" "$t1")
	q=$(gl_qmp "$CH_SOCK" query-migrate)
	qemu_stats "$q"
	src_status=$(gl_qmp "$CH_SOCK" query-status -g status)
	R_SAVE=$((t1 - t0))
	R_BYTES=$(stat -c %s "$f" 2>/dev/null || echo -)
	gl_hb_gap "$CH_DIR/stamped.log" -- "$t0" >"$dst/src-gap.out"
	src_pause=$(gl_kv outage_ms <"$dst/src-gap.out")
	[ "$st" = completed ] || { R_VERDICT="migration-$st"
		R_NOTE=$(jq -r '."error-desc" // empty' <<<"$q"); R_RAW=$q; return 1; }
	chain_end_src_only
	t2=$(gl_now_ms)
	qemu_start "$dst" "exec:cat $f" "$CH_SIDE" || { R_VERDICT="dst-start-failed"; return 1; }
	dpid=$QS_PID dst_st=$QS_STAMPER
	qemu_dst_running "$dst/qmp.sock" "$dpid" || {
		guest_gone "$dst/serial.log"
		CH_PID=$dpid CH_STAMPER=$dst_st CH_SOCK=$dst/qmp.sock
		return 1
	}
	R_RESTORE=$(($(gl_now_ms) - t2))
	R_HOST=$(($(gl_now_ms) - t0))
	guest_check "$dst/serial.log" "$dst/stamped.log" "$dpid" 0 "$t2" "$dst/stamped.log"
	R_VERDICT=$(guest_verdict noseq)
	# The loaded guest must resume at the snapshot's start (within 1 s of
	# heartbeats: setup comes first), not its end.
	if [ "$G_FIRST_SEQ" != - ] && [ "$s0" != - ] &&
		[ "$G_FIRST_SEQ" -gt $((s0 + 10)) ]; then
		if [ "$R_VERDICT" = ok ]; then R_VERDICT=not-start-state
		else R_VERDICT="$R_VERDICT,not-start-state"; fi
	fi
	G_PAUSE=$src_pause
	R_NOTE="source ran on ($src_status); snapshot started at hb $s0, ended at $s1; loaded guest resumed at hb $G_FIRST_SEQ"
	R_RAW=$(jq -c --arg s "$src_status" --argjson s0 "$(num "$s0")" \
		--argjson s1 "$(num "$s1")" --argjson f "$(num "$G_FIRST_SEQ")" \
		'{"query-migrate": ., "source-status-after": $s, "hb-at-start": $s0,
		  "hb-at-end": $s1, "hb-first-loaded": $f}' <<<"$q")
	CH_DIR=$dst CH_PID=$dpid CH_STAMPER=$dst_st CH_SOCK=$dst/qmp.sock
	[ "${EXP_KEEP:-0}" = 1 ] || rm -f "$f" &	# (a GiB's removal: not waited for)
}

# qemu_mismatch NAME CAPS PARAMS: a live move to a destination whose
# configuration differs (no virtio-blk disk). QEMU's precopy source does not
# learn that the destination failed to load (no return path): it may say
# completed. The destination's own message (its qemu.out) is the row's note.
qemu_mismatch() {
	local caps=$2 params=$3 dst dpid dside daddr port st q why=() msg i
	chain_next_dir
	dst=$NEXT_DIR
	R_DIR=$dst
	dside=$(side_other "$CH_SIDE")
	daddr=$(side_addr "$dside")
	QS_NO_DISK=1 qemu_start "$dst" defer "$dside" || { R_VERDICT="dst-start-failed"; return 1; }
	dpid=$QS_PID
	kill "$QS_STAMPER" 2>/dev/null
	qemu_reset "$CH_SOCK" && qemu_setup "$CH_SOCK" "$caps" "$params" &&
		qemu_setup "$dst/qmp.sock" "$caps" "$params" &&
		gl_qmp "$dst/qmp.sock" migrate-incoming \
			"{\"uri\": \"tcp:$daddr:0\"}" >/dev/null ||
		{ R_VERDICT="setup-failed"; gl_stop_pid "$dpid"; return 1; }
	port=$(gl_qmp "$dst/qmp.sock" query-migrate | jq -r '."socket-address"[0].port')
	gl_qmp "$CH_SOCK" migrate "{\"uri\": \"tcp:$daddr:$port\"}" >/dev/null 2>&1 ||
		{ R_VERDICT="migrate-refused"; gl_stop_pid "$dpid"; return 1; }
	st=$(qemu_wait_migration "$CH_SOCK" live "$dpid")
	q=$(gl_qmp -t 10 "$CH_SOCK" query-migrate)
	qemu_stats "$q"
	# the destination ends once it fails to load (give it 10 s)
	for ((i = 0; i < 200; i++)); do
		gl_alive "$dpid" || break
		sleep 0.05
	done
	gl_alive "$dpid" && why+=(dst-accepted) && gl_stop_pid "$dpid"
	msg=$(grep -m 3 -iE "savevm section|load of migration failed|error while loading" \
		"$dst/qemu.out" | sed 's/^[^:]*qemu-system-x86_64: //' | tr '\n' ' ')
	[ -n "$msg" ] || why+=(no-message)
	R_NOTE="source: $st; destination: ${msg:-$(tail -n 2 "$dst/qemu.out" | tr '\n' ' ')}"
	R_RAW=$(jq -c --arg st "$st" --rawfile out "$dst/qemu.out" \
		'{"query-migrate": ., "source-result": $st, "destination-output": $out}' <<<"$q")
	# the source still holds the whole guest: it must run on intact
	if chain_resume_source; then
		G_FATE=ok G_VERIFY=ok G_KMSG=0
	else
		why+=(source-not-resumed)
	fi
	if [ ${#why[@]} = 0 ]; then R_VERDICT=ok; else R_VERDICT=$(IFS=,; echo "${why[*]}"); fi
}

# dirtyrate_refused: calc-dirty-rate returned an error, or QEMU died of it
dirtyrate_refused() {
	sleep 0.5
	if gl_alive "$CH_PID"; then
		R_VERDICT=n/a
		R_NOTE="QEMU $CH_VER refuses it: $(cat "$CH_DIR/dirtyrate.err")"
	else
		R_VERDICT=qemu-exited
		R_NOTE="QEMU $CH_VER ended during calc-dirty-rate ($(cat "$CH_DIR/dirtyrate.err"))"
		dmesg 2>/dev/null | grep -q "\[$CH_PID\]: segfault" &&
			R_VERDICT=qemu-segfault R_NOTE="QEMU $CH_VER segfaulted in calc-dirty-rate (kernel log)"
	fi
}

# qemu_dirtyrate NAME MODE: calc-dirty-rate for 2 s, no move
qemu_dirtyrate() {
	local how=$2 off t0 q known
	off=$(stat -c %s "$CH_DIR/serial.log")
	t0=$(gl_now_ms)
	R_DIR=$CH_DIR
	gl_qmp "$CH_SOCK" calc-dirty-rate "{\"calc-time\": 2, \"mode\": \"$how\"}" \
		>"$CH_DIR/dirtyrate.err" 2>&1 ||
		{ dirtyrate_refused; return 1; }
	q=$(gl_qmp -t 30 -i 100 -u measured "$CH_SOCK" query-dirty-rate) ||
		{ R_VERDICT="not-measured"; return 1; }
	R_TOTAL=$(($(gl_now_ms) - t0))
	guest_progress "$CH_DIR/stamped.log" "$t0" "$(gl_now_ms)"
	known=$(awk -v r="$CH_RATE" 'BEGIN { printf "%.1f", r * 4096 / 1048576 }')
	R_RAW=$(jq -c --argjson k "$known" '{"query-dirty-rate": ., "workload-mib-per-s": $k}' <<<"$q")
	R_NOTE="measured $(jq -r '."dirty-rate"' <<<"$q") MB/s; the workload writes at most $known MiB/s"
	guest_check "$CH_DIR/serial.log" "$CH_DIR/stamped.log" "$CH_PID" "$off" "$t0" \
		"$CH_DIR/stamped.log"
	R_VERDICT=$(guest_verdict)
	# the measurement is judged too: under a tenth of what a dirtying
	# guest writes is no measurement (10.0's dirty-bitmap mode says 0
	# MB/s under TCG)
	if awk -v m="$(jq -r '."dirty-rate" // 0' <<<"$q")" -v k="$known" \
		'BEGIN { exit !(k > 0 && m < k / 10) }'; then
		if [ "$R_VERDICT" = ok ]; then R_VERDICT=rate-too-low
		else R_VERDICT="$R_VERDICT,rate-too-low"; fi
	fi
}

# qemu_run_mode NAME: one run of a QEMU mode on the chain (booted if
# needed); appends its row. A move that fails or harms the guest ends the
# chain.
qemu_run_mode() {
	local name=$1 caps params kind minver why
	caps=$(qemu_mode_field "$name" 2)
	params=$(qemu_mode_field "$name" 3)
	params=${params//BW/$QEMU_BW}
	kind=$(qemu_mode_field "$name" 4)
	minver=$(qemu_mode_field "$name" 5)
	chain_ready "$CH_VER" "$CH_MEM" "$CH_RATE" || {
		row_reset qemu "$name"; R_VERDICT=boot-failed; emit_row; chain_end; return; }
	qemu_lacks "$caps" "$params" "$minver"
	why=$QL_WHY
	if [ -n "$why" ]; then
		row_na qemu "$name" "QEMU $CH_VER: $why"
		return
	fi
	row_reset qemu "$name"
	R_TOOL_VERSION=$CH_QEMU_VERSION
	if [ "$kind" = postcopy-recover ] && [ "$EXP_ONE_HOST" = 1 ]; then
		row_na qemu "$name" "needs two hosts: the link cut is the veth pair (EXP_ONE_HOST=1)"
		return
	fi
	case $kind in
	live|postcopy|postcopy-recover) qemu_live "$name" "$caps" "$params" "$kind" ;;
	save:*) qemu_save "$name" "$caps" "$params" "$kind" ;;
	bgsnap) qemu_bgsnap "$name" "$caps" "$params" ;;
	dirtyrate:*) qemu_dirtyrate "$name" "${kind#dirtyrate:}" ;;
	mismatch) qemu_mismatch "$name" "$caps" "$params" ;;
	esac
	row_end
}

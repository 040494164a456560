# shellcheck shell=bash disable=SC2015
# A second host on this machine, for migrations that must cross hosts
# (source this file; bash). The other host is a network, PID and mount
# namespace joined to this one by a veth pair; the file system is shared,
# so a process moved there keeps its paths (serial log, QMP socket, disk).
#
#   th_up [CMD...]    makes it. Its init (PID 1 there) is TH_REAPER, which
#                     reaps every orphan there at once (a QEMU started in
#                     the background, a tree restored by criu-lite) and
#                     runs CMD (default: sleep) as its job: the host lives
#                     as long as CMD. Sets TH_INIT (the init, PID here),
#                     TH_HERE and TH_THERE (this host's and its veth
#                     address).
#   th_down           removes it and everything that runs there.
#   th_run CMD...     runs CMD there, in the current directory, and waits.
#   th_outer_pid N    the PID here of the process whose PID is N there.
#   th_inner_pid P    the PID there of the process P here.
#
# Nothing is named in /run/netns: the network namespace lives as long as
# its processes, and its end of the veth pair (and with it the pair) goes
# with it, so a killed caller leaves at most the init behind, never an
# address or an interface. Call th_down from an EXIT trap (and turn INT and
# TERM into exit) so that Ctrl-C leaves nothing either.
# Requires root, unshare and nsenter (util-linux), ip (iproute2), pgrep.

TH_REAPER=${TH_REAPER:-build/tests/subreaper}
TH_UNSHARE='' TH_INIT='' TH_VETH='' TH_HERE='' TH_THERE=''

# th_subnet: a 10.N.3.0/24 that no interface here uses (N from our PID:
# concurrent callers pick different ones; tests/ use 10.N.1 and 10.N.2)
th_subnet() {
	local i n
	for ((i = 0; i < 50; i++)); do
		n=$(((BASHPID + i) % 200 + 20))
		[ -z "$(ip -o addr show to "10.$n.3.0/24" 2>/dev/null)" ] &&
			{ echo "10.$n.3"; return 0; }
	done
	return 1
}

th_up() {
	local net i cmd=("$@")
	[ $# = 0 ] && cmd=(sleep infinity)
	[ -x "$TH_REAPER" ] || { echo "two-hosts: $TH_REAPER missing" >&2; return 1; }
	net=$(th_subnet) || { echo "two-hosts: no free 10.N.3.0/24" >&2; return 1; }
	TH_HERE=$net.1 TH_THERE=$net.2 TH_VETH=vth$BASHPID
	# --fork: the child is PID 1 of the new PID namespace (a reaper: PID
	# 1 inherits every orphan there); it shares the new network namespace
	# with unshare itself
	unshare --net --pid --mount --fork --mount-proc --propagation private \
		"$TH_REAPER" "${cmd[@]}" \
		</dev/null >/dev/null 2>&1 &
	TH_UNSHARE=$!
	for ((i = 0; i < 100; i++)); do
		TH_INIT=$(pgrep -P "$TH_UNSHARE" -x "$(basename "$TH_REAPER")") && break
		sleep 0.05
	done
	[ -n "$TH_INIT" ] || { echo "two-hosts: its init did not start" >&2; th_down; return 1; }
	ip link add "$TH_VETH" type veth peer name "w$TH_VETH" &&
		ip link set "w$TH_VETH" netns "$TH_INIT" &&
		ip addr add "$TH_HERE/24" dev "$TH_VETH" && ip link set "$TH_VETH" up &&
		nsenter -t "$TH_INIT" -n ip addr add "$TH_THERE/24" dev "w$TH_VETH" &&
		nsenter -t "$TH_INIT" -n ip link set "w$TH_VETH" up &&
		nsenter -t "$TH_INIT" -n ip link set lo up ||
		{ echo "two-hosts: the veth pair failed" >&2; th_down; return 1; }
}

th_down() {
	# SIGKILL to a PID namespace's init kills everything in it
	[ -n "$TH_INIT" ] && kill -9 "$TH_INIT" 2>/dev/null
	if [ -n "$TH_UNSHARE" ]; then
		kill -9 "$TH_UNSHARE" 2>/dev/null
		wait "$TH_UNSHARE" 2>/dev/null
	fi
	# gone with the namespace; only a pair whose move failed is left here
	[ -n "$TH_VETH" ] && ip link del "$TH_VETH" 2>/dev/null
	TH_UNSHARE='' TH_INIT='' TH_VETH=''
	return 0
}

# nsenter -m sets the working directory to the namespace's root: --wd
# keeps ours (the same directory: the file system is shared)
th_run() { nsenter -t "$TH_INIT" -p -m -n --wd="$PWD" -- "$@"; }

# Every process there is in TH_INIT's PID namespace; its status's NSpid
# line ends with its PID there.
th_outer_pid() {
	local p
	# the init's children first (a QEMU started there, a tree restored
	# there: orphans, its children), without a scan of every process here
	for p in $(cat /proc/"$TH_INIT"/task/*/children 2>/dev/null); do
		[ "$(th_inner_pid "$p")" = "$1" ] && { echo "$p"; return 0; }
	done
	for p in $(pgrep --ns "$TH_INIT" --nslist pid); do
		[ "$(th_inner_pid "$p")" = "$1" ] && { echo "$p"; return 0; }
	done
	return 1
}

# /proc/PID/status is read whole, in one read(): bash's read builtin reads
# it in pieces, and the kernel builds the text again for each piece, so a
# line that changes length in between (State: R/S flips as the process runs)
# shifts the rest and a piece can miss the NSpid line (1 call in ~80 on a
# busy process): the caller then judged a live process gone
# (experiments-selfcheck has the case).
th_inner_pid() {
	local s l f
	{ s=$(<"/proc/$1/status"); } 2>/dev/null || return 1
	while IFS= read -r l; do
		case $l in
		NSpid:*) read -ra f <<<"$l"; echo "${f[-1]}"; return 0 ;;
		esac
	done <<<"$s"
	return 1
}

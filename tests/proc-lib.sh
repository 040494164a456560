# Sourced by test scripts (bash): waiting on processes by /proc.

# alive PID: exists and is not a zombie
alive() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$st" != Z ]
}

# wait_gone PID [TENTHS]: gone (or a zombie) within TENTHS/10 s (default 5 s)
wait_gone() {
	local i
	for i in $(seq "${2:-50}"); do
		alive "$1" || return 0
		sleep 0.1
	done
	return 1
}

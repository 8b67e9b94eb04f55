#!/usr/bin/env bash
# netclean.sh PREFIX BRIDGE [DB] — remove a private berthd's bridge and its
# netfilter chains (PREFIX, PREFIX-*), and the jumps to them, after a
# benchmark run, so the host's network is left as it was found. With DB
# (the stopped berthd's berth.db), also the bridges of its user networks
# (berthd keeps them when it stops, as dockerd does; the store names them).
#
# netclean.sh --stale — clean up after bench runs killed before their EXIT
# trap ran (bench/lib.sh records each private berthd in /run/berth-bench/PID,
# PID being the script's): for each record whose script is gone, kill its
# berthd and the monitors and containers under its work directory, remove
# its bridges and chains, unmount and delete the work directory. Runs still
# alive are left alone.
runs=/run/berth-bench

# user_bridges DB — the host's bridges whose name DB holds.
user_bridges() {
	local l
	[ -s "$1" ] || return 0
	for l in /sys/class/net/*; do
		[ -d "$l/bridge" ] || continue
		grep -qaF "\"${l##*/}\"" "$1" && echo "${l##*/}"
	done
	return 0
}

# clean_net PREFIX BRIDGE [DB]
clean_net() {
	local prefix="$1" bridge="$2" db="${3:-}" ipt table line c b
	ip link del "$bridge" 2>/dev/null
	for b in $(user_bridges "$db"); do ip link del "$b" 2>/dev/null; done
	# berthd's chains live in the filter, nat and raw tables, for IPv4 and IPv6.
	for ipt in iptables ip6tables; do
		command -v "$ipt" >/dev/null || continue
		for table in filter nat raw; do
			"$ipt" -t "$table" -S 2>/dev/null | awk -v p="$prefix" '$1=="-A" && $2!=p && index($2, p"-")!=1 { for (i=3;i<=NF;i++) if ($i=="-j" && ($(i+1)==p || index($(i+1), p"-")==1)) print }' |
				while read -r line; do
					# shellcheck disable=SC2086
					"$ipt" -t "$table" ${line/-A/-D} 2>/dev/null
				done
			for c in $("$ipt" -t "$table" -S 2>/dev/null | awk -v p="$prefix" '$1=="-N" && ($2==p || index($2, p"-")==1) {print $2}'); do
				"$ipt" -t "$table" -F "$c" 2>/dev/null
			done
			for c in $("$ipt" -t "$table" -S 2>/dev/null | awk -v p="$prefix" '$1=="-N" && ($2==p || index($2, p"-")==1) {print $2}'); do
				"$ipt" -t "$table" -X "$c" 2>/dev/null
			done
		done
	done
}

# kill_under DIR — SIGKILL every process whose executable, root or working
# directory lies under DIR (berthd, monitors, containers' processes).
kill_under() {
	local p l
	for p in /proc/[0-9]*; do
		for l in exe root cwd; do
			case "$(readlink "$p/$l" 2>/dev/null)" in
			"$1"/*) kill -KILL "${p##*/}" 2>/dev/null; break ;;
			esac
		done
	done
}

# clean_stale — see --stale above.
clean_stale() {
	local rec pid work bridge chains
	for rec in "$runs"/*; do
		[ -f "$rec" ] || continue
		pid="${rec##*/}"
		case "$pid" in *[!0-9]*) continue ;; esac # not a run record (subnet.lock)
		if kill -0 "$pid" 2>/dev/null; then
			echo "netclean: run $pid is still alive; left alone" >&2
			continue
		fi
		work="$(sed -n 's/^work=//p' "$rec")" bridge="$(sed -n 's/^bridge=//p' "$rec")" chains="$(sed -n 's/^chains=//p' "$rec")"
		case "$work" in /tmp/?*) ;; *) echo "netclean: $rec: unexpected work directory '$work'; skipped" >&2; continue ;; esac
		echo "netclean: cleaning up after run $pid ($work, $bridge, $chains)" >&2
		kill_under "$work"
		sleep 0.2 # SIGKILL lands asynchronously; the mounts below are busy until then
		clean_net "$chains" "$bridge" "$work/data/berth.db"
		awk -v w="$work/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
			while read -r m; do umount -l "$m" 2>/dev/null; done
		rm -rf "$work"
		rm -f "$rec"
	done
}

if [ "${1:-}" = --stale ]; then
	clean_stale
else
	clean_net "$@"
fi
exit 0

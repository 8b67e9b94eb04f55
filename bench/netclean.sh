#!/usr/bin/env bash
# netclean.sh PREFIX BRIDGE — remove a private berthd's bridge and its
# netfilter chains (PREFIX, PREFIX-*), and the jumps to them, after a
# benchmark run, so the host's network is left as it was found.
prefix="$1" bridge="$2"
ip link del "$bridge" 2>/dev/null
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
exit 0

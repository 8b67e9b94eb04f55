# bench/anatomy.awk — reads `strace -f` output of berthd (execve, fsync,
# fdatasync, sync_file_range, clone, clone3, vfork, connect) during one
# `run --rm` and prints what it made happen: each program run (runtime
# verbs by name, and whether berthd or a container monitor ran them), the
# round trips berthd made to monitors (connections to their ctl.sock or
# attach.sock), and the disk flushes.
function num(s) { sub(/.*= /, "", s); return s + 0 }
# who(p): "monitor" when p descends from a monitor process (berth-monitor or
# berth-cmon), else "berthd".
function who(p,   i) {
	for (i = 0; i < 64 && p != ""; i++) {
		if (p in mon) return "monitor"
		p = parent[p]
	}
	return "berthd"
}
/(clone3?|vfork)\(|<\.\.\. (clone3?|vfork) resumed>/ && / = [0-9]+$/ { parent[num($0)] = $1 }
/execve\(/ && !/= -1 / {
	n = split($0, a, "\"")
	if (n < 2) next
	b = a[2]; sub(/.*\//, "", b)
	if (b == "berth-monitor" || b == "berth-cmon") mon[$1] = 1
	if (b ~ /^(runc|crun)$/) {
		verb = ""
		for (i = 4; i <= n; i += 2) if (a[i] ~ /^(create|start|delete|kill|state|run)$/) { verb = a[i]; break }
		# Who ran it is known once every clone's result is read.
		rtexec[++nrt] = $1; rtname[nrt] = b " " verb
	} else {
		ran[b]++
	}
	next
}
/connect\(/ && /(ctl|attach)\.sock"/ && !/= -1 E[A-Z]+ \(/ { conn[++nconn] = $1 }
/ f(data)?sync\(| sync_file_range\(/ { fs++ }
END {
	for (i = 1; i <= nrt; i++) ran[rtname[i] " (by " who(rtexec[i]) ")"]++
	for (k in ran) { printf "%s%s ×%d", sep, k, ran[k]; sep = ", " }
	for (i = 1; i <= nconn; i++) if (who(conn[i]) == "berthd") rt++
	printf "; %d round trips from berthd to the monitor (ctl/attach connections); %d fsync/fdatasync calls\n", rt, fs
}

# bench/breakdown.awk — where the time of `berth run --rm busybox true`
# goes, from strace -f -ttt traces of several runs:
#
#   awk -f bench/breakdown.awk CLI-TRACE... DAEMON-TRACE
#
# Each CLI-TRACE is one run of the CLI (strace -f -ttt -s 128 -e
# trace=execve,write,exit_group); the last file is berthd's trace over all
# of them (strace -f -ttt -s 256 -p BERTHD -e trace=execve,mount,umount2,
# exit_group,unshare,clone,clone3,vfork). A daemon line belongs to the run
# whose CLI started last before it. Per run it finds these markers, first
# occurrence each:
#
#   cli      the CLI's execve
#   create   the CLI writes POST /containers/create
#   start    the CLI writes POST /containers/ID/start
#   mount    berthd mounts the container's overlay
#   network  the container's network namespace is in place: bind-mounted at
#            its path under netns/, whether just made (unshare) or taken
#            from berthd's pool of prepared ones (.pool-* entries are the
#            pool's own, refilled after the start: not this marker)
#   monitor  the monitor (berth-cmon or berth-monitor) is executed
#   runtime  crun or runc is executed
#   exec     the container's program is executed (below the runtime)
#   exit     that program exits
#   removal  berthd unmounts the container's overlay (the same path it
#            mounted, whenever that comes)
#   done     the CLI exits (its last exit_group)
#
# and prints a Markdown table, rows in the order of their median time: per
# marker, the median over the runs of its time since `cli` and of the step
# from the marker that came last before it in the same run.
# A marker missing from a run is left out of that run's figures.

BEGIN {
	nm = split("cli create start mount network monitor runtime exec exit removal done", names, " ")
	split("CLI executed|create request sent|start request sent|overlay mounted|network namespace in place|monitor executed|runtime executed|container's program executed|container's program exited|overlay unmounted (removal)|CLI exited", label, "|")
	nfiles = ARGC - 1
}

FNR == 1 { fileno++ }

# ts() — the line's timestamp in ms; strace -f -ttt lines are "PID SECS.USECS ...".
function ts() { return $2 * 1000 }

function mark(run, name, t) {
	if (run > 0 && !((run, name) in at)) at[run, name] = t
}

function base(path) { sub(/.*\//, "", path); return path }

# under(p, a): whether process p descends from (or is) process a.
function under(p, a,   i) {
	for (i = 0; i < 64 && p != ""; i++) {
		if (p == a) return 1
		p = parent[p]
	}
	return 0
}

# ---- CLI traces: every file but the last, one run each.
fileno < nfiles {
	run = fileno
	if (/ execve\(/ && / = 0$/ && !((run, "cli") in at)) { at[run, "cli"] = ts(); start[run] = ts() }
	if (/ write\([0-9]+, "POST \/v[0-9.]+\/containers\/create[? ]/) mark(run, "create", ts())
	if (/ write\([0-9]+, "POST \/v[0-9.]+\/containers\/[^\/" ]+\/start[? ]/) mark(run, "start", ts())
	if (/ exit_group\(/) at[run, "done"] = ts()
	next
}

# ---- the daemon trace.
{
	t = ts()
	run = 0
	for (r = 1; r < nfiles; r++) if ((r, "cli") in at && at[r, "cli"] <= t) run = r
}
/(clone3?|vfork)\(|<\.\.\. (clone3?|vfork) resumed>/ && / = [0-9]+$/ { c = $NF; parent[c] = $1 }
# An execve is recorded when it is seen to succeed: on its own line, or on
# its "resumed" line when another thread's line came in between.
/ execve\(/ {
	n = split($0, q, "\"")
	if (n >= 2) { pend[$1] = q[2]; pendt[$1] = t; pendrun[$1] = run }
	if (!/ = 0$/) next
}
/<\.\.\. execve resumed>/ && !/ = 0$/ { delete pend[$1]; next }
/ execve\(|<\.\.\. execve resumed>/ {
	if (!($1 in pend)) next
	path = pend[$1]; t0 = pendt[$1]; r0 = pendrun[$1]
	delete pend[$1]
	b = base(path)
	if (b == "berth-cmon" || b == "berth-monitor") mark(r0, "monitor", t0)
	else if (b == "crun" || b == "runc") { if (!((r0, "runtime") in at)) { at[r0, "runtime"] = t0; rtpid[r0] = $1 } }
	else if (r0 in rtpid && path !~ /^\/proc\// && under($1, rtpid[r0]) && !((r0, "exec") in at)) { at[r0, "exec"] = t0; cpid[r0] = $1 }
	next
}
# The overlay's unmount is matched by its path: the snapshot is detached in
# the background, often once the next run has begun.
/ mount\("overlay", / { mark(run, "mount", t); split($0, q, "\""); if (!(q[4] in ovl)) ovl[q[4]] = run }
/ mount\("[^"]*", "[^"]*\/netns\/[^."][^"]*", [^,]*, MS_BIND/ && / = 0$/ { mark(run, "network", t) }
/ exit_group\(/ { if (run in cpid && $1 == cpid[run]) mark(run, "exit", t) }
/ umount2\("[^"]*\/merged"/ { split($0, q, "\""); if (q[2] in ovl) mark(ovl[q[2]], "removal", t) }

function median(v, n,   i, j, x) {
	for (i = 2; i <= n; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
	return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}

END {
	runs = nfiles - 1
	print "| step (traced) | since CLI exec, ms | step, ms | runs with it |"
	print "|---|---|---|---|"
	# rows in the order of their median time since the CLI's exec (start
	# ahead prepares a container while the CLI still attaches), markers no
	# run has last
	for (m = 1; m <= nm; m++) {
		no = 0
		delete off
		for (r = 1; r <= runs; r++)
			if (((r, names[m]) in at) && ((r, "cli") in at)) off[++no] = at[r, names[m]] - at[r, "cli"]
		count[m] = no
		med[m] = no ? median(off, no) : 0
		order[m] = m
		for (j = m - 1; j >= 1 && after(order[j], m); j--) order[j + 1] = order[j]
		order[j + 1] = m
	}
	for (k = 1; k <= nm; k++) {
		m = order[k]
		if (count[m] == 0) { printf "| %s | — | — | 0 of %d |\n", label[m], runs; continue }
		ns = 0
		delete stp
		for (r = 1; r <= runs; r++) {
			if (!((r, names[m]) in at) || !((r, "cli") in at)) continue
			if ((d = since_previous(r, m)) != "") stp[++ns] = d
		}
		printf "| %s | %.1f | %s | %d of %d |\n", label[m], med[m], ns ? sprintf("%.1f", median(stp, ns)) : "—", count[m], runs
	}
}

# after reports whether marker a's row goes below marker b's.
function after(a, b) {
	if (count[a] == 0 || count[b] == 0) return count[a] == 0 && (count[b] > 0 || a > b)
	return med[a] > med[b] || (med[a] == med[b] && a > b)
}

# since_previous is the time from the latest marker of run r before
# marker m ("" when none came before it).
function since_previous(r, m,   p, best, found) {
	found = 0
	for (p = 1; p <= nm; p++) {
		if (p == m || !((r, names[p]) in at) || at[r, names[p]] > at[r, names[m]]) continue
		if (at[r, names[p]] == at[r, names[m]] && p > m) continue
		if (!found || at[r, names[p]] > best) { best = at[r, names[p]]; found = 1 }
	}
	return found ? at[r, names[m]] - best : ""
}

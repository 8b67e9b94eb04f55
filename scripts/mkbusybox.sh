#!/usr/bin/env bash
# mkbusybox.sh OUT.tar — build the offline starter image's root filesystem
# from Debian's busybox-static: /bin/busybox plus one symlink per applet
# (like the official busybox image), /etc/passwd and /etc/group with root and
# nobody, /tmp (1777), /root, and empty /dev /proc /sys mount points.
# Import it with:  berth import --change 'CMD ["sh"]' OUT.tar busybox:latest
set -euo pipefail

out="${1:?usage: mkbusybox.sh OUT.tar}"
bb="${BUSYBOX:-/usr/bin/busybox}"
if [ ! -x "$bb" ]; then
	echo "mkbusybox: $bb not found; install Debian's busybox-static (apt-get install busybox-static)" >&2
	exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/mkbusybox.XXXXXX")"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root"/{bin,etc,root,dev,proc,sys,tmp,var,home}
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
cp "$bb" "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"
for applet in $("$bb" --list); do
	[ "$applet" = busybox ] && continue
	ln -sf busybox "$root/bin/$applet"
done
cat >"$root/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/home:/bin/false
PW
cat >"$root/etc/group" <<'GR'
root:x:0:
nobody:x:65534:
GR
# Fixed ownership and mtimes: the same input gives the same tarball bytes.
tar --create --file "$out.tmp" --directory "$root" \
	--owner=0 --group=0 --numeric-owner --sort=name --mtime='2024-01-01 00:00:00Z' .
mv "$out.tmp" "$out"

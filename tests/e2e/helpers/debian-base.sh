#!/bin/sh
# debian-base.sh: print the path of a Debian 12 (bookworm) minbase root file
# system tarball made with debootstrap from this machine's Debian mirror,
# cached between runs under $STRATA_TEST_CACHE (default
# /var/cache/strata-tests), keyed by the mirror and the date of its bookworm
# Release file (a new point release or update makes a new base).
# Exit 77 with the reason on stdout when it cannot be made here (no
# debootstrap, not root, mirror unreachable); other failures exit 1.
set -u
cache=${STRATA_TEST_CACHE:-/var/cache/strata-tests}

# the mirror: $STRATA_TEST_DEBIAN_MIRROR, else the first deb.sources/sources.list URI serving bookworm
mirror=${STRATA_TEST_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        mirror=$(awk 'BEGIN{RS=""} /Suites:[^\n]*bookworm([ \n]|$)/ && /Types:[^\n]*deb([ \n]|$)/ {
            if (match($0, /URIs:[ \t]*[^ \t\n]+/)) { u = substr($0, RSTART, RLENGTH); sub(/URIs:[ \t]*/, "", u); print u; exit } }' "$f")
        case $mirror in *security*) mirror= ;; esac
        [ -n "$mirror" ] && break
    done
fi
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
    mirror=$(awk '$1 == "deb" && $3 == "bookworm" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list)
fi
[ -n "$mirror" ] || { echo "no Debian bookworm mirror configured in /etc/apt/sources.list(.d)"; exit 77; }
mirror=${mirror%/}
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] ||
    { echo "debootstrap is not installed (scripts/install-deps installs it)"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "debootstrap needs root"; exit 77; }

release=$(curl -fsS --max-time 20 "$mirror/dists/bookworm/Release" 2>/dev/null | sed -n 's/^Date: //p' | head -1)
[ -n "$release" ] || { echo "the Debian mirror $mirror cannot be reached"; exit 77; }
key=$(printf '%s\n%s\n' "$mirror" "$release" | sha256sum | cut -c1-16)
out="$cache/debian12-minbase-$key.tar"
mkdir -p "$cache" || exit 1
exec 9>"$cache/.debian12.lock"
flock 9 || exit 1
if [ ! -s "$out" ]; then
    tmp=$(mktemp -d "$cache/.debootstrap.XXXXXX") || exit 1
    if ! PATH="/usr/sbin:/sbin:$PATH" debootstrap --variant=minbase bookworm "$tmp/root" "$mirror" >"$tmp/log" 2>&1; then
        echo "debootstrap failed (log below)" >&2
        tail -20 "$tmp/log" >&2
        rm -rf "$tmp"
        exit 1
    fi
    rm -rf "$tmp/root/var/cache/apt/archives"/*.deb "$tmp/root/var/lib/apt/lists"/*_Packages 2>/dev/null
    tar --numeric-owner --xattrs -C "$tmp/root" -cf "$tmp/base.tar" . &&
        sync "$tmp/base.tar" && mv "$tmp/base.tar" "$out" || { rm -rf "$tmp"; exit 1; }
    rm -rf "$tmp"
    # older bases of this mirror are superseded
    for f in "$cache"/debian12-minbase-*.tar; do [ "$f" = "$out" ] || rm -f "$f"; done
fi
echo "$out"

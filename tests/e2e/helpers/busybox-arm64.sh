#!/bin/sh
# busybox-arm64.sh: print the path of a statically linked arm64 busybox
# (Debian's busybox-static:arm64), cached between runs under
# $STRATA_TEST_CACHE (default /var/cache/strata-tests) as the .deb apt
# downloaded and the binary extracted from it.
# The arm64 architecture must be known to dpkg with its package lists
# (scripts/install-deps: dpkg --add-architecture arm64 && apt-get update);
# as root this script does that itself when it is missing, as install-deps would.
# Exit 77 with the reason on stdout when it cannot be had here (not root and
# nothing cached, no arm64 package lists, the mirror unreachable); other
# failures exit 1.
set -u
cache=${STRATA_TEST_CACHE:-/var/cache/strata-tests}
out="$cache/busybox-arm64"
if [ -x "$out" ]; then
    echo "$out"
    exit 0
fi
[ "$(id -u)" = 0 ] || { echo "no cached arm64 busybox and not root (run scripts/install-deps, then a test as root)"; exit 77; }
mkdir -p "$cache" || exit 1
exec 9>"$cache/.busybox-arm64.lock"
flock 9 || exit 1
if [ ! -x "$out" ]; then
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        dpkg --add-architecture arm64 || { echo "dpkg --add-architecture arm64 failed"; exit 77; }
        apt-get update -qq >/dev/null 2>&1 || { echo "apt-get update failed (the Debian mirror cannot be reached)"; exit 77; }
    fi
    tmp=$(mktemp -d "$cache/.busybox-arm64.XXXXXX") || exit 1
    chmod 755 "$tmp" # apt's _apt user writes the download
    if ! (cd "$tmp" && apt-get download -qq busybox-static:arm64 >"$tmp/log" 2>&1); then
        apt-get update -qq >/dev/null 2>&1
        if ! (cd "$tmp" && apt-get download -qq busybox-static:arm64 >"$tmp/log" 2>&1); then
            reason=$(tail -1 "$tmp/log")
            rm -rf "$tmp"
            echo "apt-get download busybox-static:arm64 failed: $reason"
            exit 77
        fi
    fi
    deb=$(ls "$tmp"/busybox-static_*_arm64.deb 2>/dev/null | head -1)
    [ -n "$deb" ] && dpkg-deb -x "$deb" "$tmp/x" && [ -f "$tmp/x/bin/busybox" ] ||
        { echo "busybox-static:arm64: no bin/busybox in $deb" >&2; rm -rf "$tmp"; exit 1; }
    cp "$deb" "$cache/" && cp "$tmp/x/bin/busybox" "$tmp/busybox" && chmod 755 "$tmp/busybox" &&
        sync "$tmp/busybox" && mv "$tmp/busybox" "$out" || { rm -rf "$tmp"; exit 1; }
    rm -rf "$tmp"
fi
echo "$out"

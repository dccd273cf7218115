#!/bin/sh
# t8034: the cache-mount round trip as ordinary users (rootless, with and
# without subordinate ids): a RUN's cache mount exported with --cache-to
# type=local,mode=max, the local copy dropped, a build whose RUN misses
# imports it from --cache-from (content, mode, symlink), and `strata cache
# prune` removes the imported copy again.
. "$(dirname "$0")/lib.sh"
require_builder
rootless_setup

test_expect_success 'setup: a RUN that fills its cache mount once' '
    mkdir -p ctx && make_busybox_rootfs ctx/rootfs &&
    cat >ctx/Dockerfile <<-\EOF &&
	FROM scratch
	COPY rootfs/ /
	ENV PATH=/bin
	ARG V=1
	RUN --mount=type=cache,target=/root/.cache/dl,mode=0750 \
	    if [ -f /root/.cache/dl/pkg/one.bin ]; then echo "found $V" >/seen; else echo "filled $V" >/seen; \
	    mkdir -p /root/.cache/dl/pkg; echo one >/root/.cache/dl/pkg/one.bin; \
	    ln -s pkg/one.bin /root/.cache/dl/latest; fi
	EOF
    chmod -R a+rX ctx
'

for u in strata-rl-sub strata-rl-nosub; do
    AS="$TRASH/as-$u"
    H="$TRASH/home-$u"
    test_expect_success "$u: the mount exported, the local copy dropped, imported when the RUN misses" '
        mkdir -p "$TRASH/cd-$u" && chown "$u:" "$TRASH/cd-$u" &&
        "$AS" build --progress plain -t app --cache-to type=local,dest="$TRASH/cd-$u",mode=max ctx >"a-$u.out" 2>&1 ||
            { cat "a-$u.out"; false; } &&
        grep "; 1 cache mount, [1-9][0-9]* mount bytes written" "a-$u.out" &&
        mounts=$(ls -d "$H"/.local/share/strata/cache/run-mounts) && rm -rf "$mounts" &&
        "$AS" build --progress plain -t app --build-arg V=2 --cache-from type=local,src="$TRASH/cd-$u" ctx \
            >"b-$u.out" 2>&1 || { cat "b-$u.out"; false; } &&
        grep "imported cache mount /root/.cache/dl (/root/.cache/dl) from type=local,src=$TRASH/cd-$u: filled the empty mount" "b-$u.out" &&
        "$AS" run --rm app cat /seen >"seen-$u" && echo "found 2" >want && diff want "seen-$u" &&
        d=$(ls -d "$mounts"/*/data) && test "$(stat -c %a "$d")" = 750 &&
        test "$(readlink "$d/latest")" = pkg/one.bin && test "$(cat "$d/pkg/one.bin")" = one &&
        test "$(stat -c %U "$d/pkg/one.bin")" = "$u"
    '
    test_expect_success "$u: strata cache prune removes the imported copy" '
        "$AS" cache prune >"p-$u.out" 2>&1 || { cat "p-$u.out"; false; } &&
        cat "p-$u.out" &&
        test -z "$(ls "$H"/.local/share/strata/cache/run-mounts)"
    '
done

test_done

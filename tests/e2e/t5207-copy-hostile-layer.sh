#!/bin/sh
# t5207: a hostile base image through the copy snapshotter, as root and as
# ordinary users (with and without subordinate ids), from an oci-layout://
# build context: a lower layer's symlinks (absolute and relative) to a
# directory outside, a later layer that puts a directory, a file, a whiteout
# and an opaque marker under those names. Nothing outside is written or
# removed; the image holds the later layer's directories.
. "$(dirname "$0")/lib.sh"
require_builder
rootless_setup

test_expect_success 'setup: the hostile layout, a world-writable directory outside with a victim' '
    mkdir -m 1777 outside && echo keep >outside/victim && chmod 666 outside/victim &&
    make_busybox_rootfs l1 && ln -s "$TRASH/outside" l1/esc && ln -s ../../../../../../../../outside l1/rel &&
    mkdir -p l2/esc l2/rel && echo planted >l2/esc/planted && : >l2/esc/.wh.victim &&
    echo planted >l2/rel/planted && : >l2/rel/.wh..wh..opq &&
    make_layer_tgz l1 l1.tgz && make_layer_tgz l2 l2.tgz && make_oci_image hl v1 l1.tgz l2.tgz &&
    mkdir ctx && cat >ctx/Dockerfile <<-\EOF &&
	FROM base
	RUN echo new >/esc/new && echo new >/rel/new && rm -f /esc/victim /rel/victim && ls /esc /rel >/seen
	EOF
    chmod -R a+rX hl ctx
'

# check WHO: nothing outside changed, and the image WHO built is right
check() {
    test "$(cat outside/victim)" = keep && test "$(ls outside)" = victim &&
    printf "/esc:\nnew\nplanted\n\n/rel:\nnew\nplanted\n" >want && diff want seen
}

test_expect_success 'root, copy: the layers do not reach outside' '
    STRATA_SNAPSHOTTER=copy strata build -t hl:root --build-context base=oci-layout://hl ctx 2>err ||
        { cat err; false; } &&
    strata run hl:root cat /seen >seen && check
'

for u in strata-rl-sub strata-rl-nosub; do
    test_expect_success "$u, copy: an oci-layout context builds and the layers do not reach outside" '
        STRATA_SNAPSHOTTER=copy "$TRASH/as-'$u'" build -t hl:'$u' --build-context base=oci-layout://$TRASH/hl \
            $TRASH/ctx 2>err || { cat err; false; } &&
        STRATA_SNAPSHOTTER=copy "$TRASH/as-'$u'" run hl:'$u' cat /seen >seen 2>err || { cat err; false; } &&
        check
    '
done

test_done

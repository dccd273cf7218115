#!/bin/sh
# t8013: COPY --from stays lazy on a fresh runner (issue #19 item 2). The
# builder stage makes 30 MB of random (incompressible) data and a one-line
# file; the final stage copies the file. Runner A builds with --cache-to
# mode=max; runner B (empty store) gets every step CACHED and moves under
# 2 MB: the digest of the COPY --from source set comes from the cache
# record, so no builder layer is downloaded (checked at the registry's
# access log and with strata's own counter). The same for COPY
# --from=<image> and RUN --mount=type=bind,from=stage. A changed builder
# reruns the builder and the final COPY takes the new content; a cache
# source from an older strata (no recorded digests) still works by
# downloading the builder's layers.
. "$(dirname "$0")/lib.sh"
require_builder
. "$TEST_DIR/helpers/cache-fixture.sh"

start_strata_registry
R=$SREG
L="$TRASH/strata-registry.log"
log_mark() { stat -c %s "$L" >"$L.mark"; }
log_since() { wait_log "$L" "GET /v2/ " >/dev/null; tail -c +$(( $(cat "$L.mark") + 1 )) "$L"; }
# bytes in + out of the requests logged since the mark
log_bytes() {
    log_since | sed -n 's/.* in=\([0-9]*\) out=\([0-9]*\) .*/\1 \2/p' | awk '{s += $1 + $2} END {print s + 0}'
}
# the registry traffic strata counted itself ("strata: registry traffic: N bytes down, M bytes up")
counted() {
    sed -n 's/^strata: registry traffic: \([0-9]*\) bytes down, \([0-9]*\) bytes up.*/\1 \2/p' "$1" |
        awk '{s += $1 + $2} END {print s + 0}'
}
# the digest of the builder's big layer (the largest of an image's manifest)
big_layer() {
    curl -sf -H "Accept: application/vnd.oci.image.manifest.v1+json" "http://$R/v2/$1/manifests/$2" |
        jq -r '.layers | max_by(.size) | .digest'
}
MB2=2097152

test_expect_success 'the project: 30 MB of random data in the builder, one line copied' '
    mkdir -p ctx && make_busybox_rootfs ctx/rootfs &&
    cat >ctx/Dockerfile <<-EOF &&
	FROM scratch AS builder
	COPY rootfs/ /
	RUN head -c 31457280 /dev/urandom >/big && echo hello >/msg
	FROM scratch
	COPY rootfs/ /
	COPY --from=builder /msg /msg
	CMD ["cat", "/msg"]
	EOF
    cp -a ctx ctx2 && sed -i "s/echo hello/echo changed/" ctx2/Dockerfile
'

test_expect_success 'runner A builds, pushes and exports a mode=max cache' '
    STRATA_ROOT=$TRASH/A strata build --progress plain -t $R/app:1 --push \
        --cache-to "$R/app:cache,mode=max" ctx 2>err &&
    grep "exported cache to $R/app:cache" err &&
    grep "strata: 1 step cached, 3 run" err &&
    big_layer app cache >big && test -s big && grep -q "^sha256:" big
'

test_expect_success 'runner B: every step CACHED, under 2 MB moved, no builder layer downloaded' '
    log_mark &&
    STRATA_ROOT=$TRASH/B strata build --progress plain --cache-from $R/app:cache -t $R/app:2 --push ctx 2>err &&
    cat err && curl -s http://$R/v2/ >/dev/null &&
    test $(grep -c "^#[0-9]* CACHED" err) = 4 && ! grep MISS err &&
    ! grep "fetch layer" err &&
    moved=$(log_bytes) && mine=$(counted err) &&
    echo "# runner B moved $moved bytes (registry log), $mine (strata)" &&
    test "$moved" -gt 0 && test "$moved" -lt $MB2 && test "$mine" -lt $MB2 &&
    ! log_since | grep "GET /v2/app/blobs/$(cat big)" &&
    test ! -e "$TRASH/B/blobs/sha256/$(sed s/sha256://  big)"
'

test_expect_success 'runner B: the image it got is right (the layers are fetched to run it)' '
    STRATA_ROOT=$TRASH/B strata run $R/app:2 >out 2>/dev/null && echo hello >want && cmp want out
'

test_expect_success 'COPY --from=<image>: a hit downloads none of the image layers' '
    STRATA_ROOT=$TRASH/A strata build --progress plain --target builder -t $R/builder:1 --push ctx 2>err &&
    mkdir -p ctximg && cp -a ctx/rootfs ctximg/ &&
    printf "FROM scratch\nCOPY rootfs/ /\nCOPY --from=$R/builder:1 /msg /msg\n" >ctximg/Dockerfile &&
    STRATA_ROOT=$TRASH/A strata build --progress plain -t $R/img:1 --push --cache-to $R/img:cache ctximg 2>err &&
    grep "exported cache to $R/img:cache" err &&
    log_mark &&
    STRATA_ROOT=$TRASH/B2 strata build --progress plain --cache-from $R/img:cache -t $R/img:2 ctximg 2>err &&
    cat err && curl -s http://$R/v2/ >/dev/null &&
    grep "strata: 2 steps cached, 0 run" err && ! grep "fetch layer" err &&
    moved=$(log_bytes) && echo "# moved $moved bytes" && test "$moved" -lt $MB2 &&
    ! log_since | grep -E "GET /v2/(app|builder)/blobs/$(cat big)"
'

test_expect_success 'RUN --mount=type=bind,from=stage: a hit downloads no builder layer' '
    mkdir -p ctxm && cp -a ctx/rootfs ctxm/ &&
    sed "s|^COPY --from=builder.*|RUN --mount=type=bind,from=builder,target=/b cat /b/msg >/msg|" ctx/Dockerfile \
        >ctxm/Dockerfile &&
    STRATA_ROOT=$TRASH/A strata build --progress plain -t $R/mnt:1 --cache-to "$R/mnt:cache,mode=max" ctxm 2>err &&
    log_mark &&
    STRATA_ROOT=$TRASH/B3 strata build --progress plain --cache-from $R/mnt:cache -t $R/mnt:2 ctxm 2>err &&
    cat err && curl -s http://$R/v2/ >/dev/null &&
    grep "strata: 4 steps cached, 0 run" err && ! grep "fetch layer" err &&
    moved=$(log_bytes) && echo "# moved $moved bytes" && test "$moved" -lt $MB2
'

test_expect_success 'a changed builder reruns it and the final COPY takes the new content' '
    STRATA_ROOT=$TRASH/C strata build --progress plain --cache-from $R/app:cache -t $R/app:3 ctx2 2>err &&
    cat err &&
    grep -A1 "builder 3/3\] RUN head" err | grep MISS &&
    grep -A1 "COPY --from=builder" err | grep MISS &&
    grep "strata: 2 steps cached, 2 run" err &&
    STRATA_ROOT=$TRASH/C strata run $R/app:3 >out 2>/dev/null && echo changed >want && cmp want out
'

test_expect_success 'a cache source from an older strata (no recorded digests) works by downloading' '
    curl -sf -H "Accept: application/vnd.oci.image.manifest.v1+json" http://$R/v2/app/manifests/cache >m.json &&
    cd0=$(jq -r .config.digest m.json) &&
    curl -sf http://$R/v2/app/blobs/$cd0 >c0.json &&
    jq -e "[.[\"strata.cache.v1\"].steps[] | select(.sources_id)] | length == 1" c0.json &&
    jq -c "del(.[\"strata.cache.v1\"].steps[].sources_id)" c0.json >c1.json &&
    cd1=$(push_blob $R app c1.json) &&
    jq -c --arg d "$cd1" --argjson s $(stat -c %s c1.json) ".config.digest = \$d | .config.size = \$s" m.json >m1.json &&
    curl -sf -X PUT -H "Content-Type: application/vnd.oci.image.manifest.v1+json" --data-binary @m1.json \
        http://$R/v2/app/manifests/oldcache &&
    STRATA_ROOT=$TRASH/E strata build --progress plain --cache-from $R/app:oldcache -t $R/app:4 ctx 2>err &&
    cat err &&
    grep "strata: 4 steps cached, 0 run" err && grep "fetch layer" err &&
    test $(counted err) -gt 31457280 &&
    STRATA_ROOT=$TRASH/E strata run $R/app:4 >out 2>/dev/null && echo hello >want && cmp want out
'

test_expect_success 'the recorded digest survives another generation: C exports, F is lazy again' '
    STRATA_ROOT=$TRASH/E strata build --progress plain --cache-from $R/app:oldcache \
        --cache-to "$R/app:cache2,mode=max" -t $R/app:5 ctx 2>err &&
    STRATA_ROOT=$TRASH/F strata build --progress plain --cache-from $R/app:cache2 -t $R/app:6 ctx 2>err &&
    cat err && grep "strata: 4 steps cached, 0 run" err && ! grep "fetch layer" err &&
    test $(counted err) -lt $MB2
'

test_done

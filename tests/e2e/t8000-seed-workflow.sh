#!/bin/sh
# t8000-seed-workflow: the CI workflow of the seed page (docker layer caching
# with --cache-from a registry), with strata: runner A builds and pushes
# app:REV_1 and app:latest; runner B, with an empty store, builds the same
# context with --cache-from app:latest and pushes app:REV_2: every step is
# CACHED and B moves under 64 KiB in all (counted at the registry's access
# log). Then a file read by a late COPY changes: only that step and the
# later ones run. Both with strata registry and Debian's docker-registry.
. "$(dirname "$0")/lib.sh"
grep -q overlay /proc/filesystems || test_skip_all "overlayfs is not available"
command -v docker-registry >/dev/null || test_skip_all "docker-registry not installed"
command -v skopeo >/dev/null || test_skip_all "skopeo not installed"

start_strata_registry
start_docker_registry
SLOG="$TRASH/strata-registry.log"
DLOG="$TRASH/docker-registry.log"

log_mark() { stat -c %s "$1" >"$1.mark"; }
log_since() { tail -c +$(( $(cat "$1.mark") + 1 )) "$1"; }
# bytes in + out of the requests logged since the mark (strata registry)
strata_log_bytes() {
    log_since "$1" | sed -n 's/.* in=\([0-9]*\) out=\([0-9]*\) .*/\1 \2/p' | awk '{s += $1 + $2} END {print s + 0}'
}
# response bytes of the requests logged since the mark (docker-registry's
# combined log format: ... "METHOD PATH HTTP/1.1" STATUS BYTES ...)
docker_log_bytes() {
    log_since "$1" | sed -n 's/.*"[A-Z]* \/v2[^"]*" [0-9]* \([0-9]*\) .*/\1/p' | awk '{s += $1} END {print s + 0}'
}

test_expect_success 'the project: a busybox rootfs, a Dockerfile with a late COPY' '
    mkdir -p ctx/src && make_busybox_rootfs ctx/rootfs &&
    echo v1 >ctx/src/main.txt && echo lib >ctx/src/lib.txt &&
    cat >ctx/Dockerfile <<-EOF &&
	FROM scratch
	COPY rootfs/ /
	RUN mkdir -p /app && echo built >/app/built
	COPY src/ /app/src/
	RUN cat /app/src/main.txt /app/src/lib.txt >/app/out
	CMD ["cat", "/app/out"]
	EOF
    cp -a ctx ctx2 && echo v2 >ctx2/src/main.txt
'

for which in strata docker; do
    if [ $which = strata ]; then R=$SREG L=$SLOG; else R=$REG L=$DLOG; fi

    test_expect_success "$which registry: runner A builds and pushes REV_1 and latest" '
        STRATA_ROOT=$TRASH/A-$which strata build --progress plain -t $R/app:rev1_1 -t $R/app:latest --push ctx 2>errA &&
        grep "pushed $R/app:rev1_1" errA && grep "pushed $R/app:latest" errA &&
        grep "strata: 0 steps cached, 4 run" errA
    '

    test_expect_success "$which registry: runner B (empty store) gets every step CACHED, moves < 64 KiB" '
        log_mark "$L" &&
        STRATA_ROOT=$TRASH/B-$which strata build --progress plain --cache-from $R/app:latest \
            -t $R/app:rev2_2 --push ctx 2>errB &&
        cat errB &&
        grep "^importing cache from $R/app:latest: image, 4 entries" errB &&
        test $(grep -c "^#[0-9]* CACHED" errB) = 4 &&
        ! grep "MISS" errB &&
        grep "strata: 4 steps cached, 0 run" errB &&
        grep "pushed $R/app:rev2_2: 0 blobs uploaded" errB &&
        sleep 0.3 &&
        if [ $which = strata ]; then
            moved=$(strata_log_bytes "$L")
        else
            up=$(sed -n "s/^strata: registry traffic: .* down, \([0-9.]*\) \([kM]*B\) up.*/\1 \2/p" errB |
                 awk "{ m = \$2 == \"MB\" ? 1e6 : \$2 == \"kB\" ? 1e3 : 1; printf \"%d\", \$1 * m }") &&
            moved=$(( $(docker_log_bytes "$L") + up ))
        fi &&
        echo "# runner B moved $moved bytes" &&
        test "$moved" -gt 0 && test "$moved" -lt 65536 &&
        ! log_since "$L" | grep -E "(PATCH|POST) /v2/[^ ]*/blobs/uploads" &&
        skopeo inspect --tls-verify=false docker://$R/app:rev2_2 >i2 &&
        skopeo inspect --tls-verify=false docker://$R/app:rev1_1 >i1 &&
        test "$(jq -c .Layers i1)" = "$(jq -c .Layers i2)"
    '

    test_expect_success "$which registry: runner B's image runs and saves (its layers fetched then)" '
        STRATA_ROOT=$TRASH/B-$which strata push $R/app:rev2_2 $R/copy:1 >/dev/null 2>perr &&
        cat perr && grep -E "^pushed [01] blobs \(0.0 MB\), [0-9]+ already there, [45] mounted, 0 fetched first" perr &&
        STRATA_ROOT=$TRASH/B-$which strata run $R/app:rev2_2 >out 2>err &&
        printf "v1\nlib\n" >want && cmp out want &&
        grep "fetched layer" err &&
        STRATA_ROOT=$TRASH/B-$which strata save -o saved.tar $R/app:rev2_2 &&
        tar -tf saved.tar >list && test $(grep -c "blobs/sha256/\|\.tar" list) -ge 4
    '

    test_expect_success "$which registry: a late file changes: only that COPY and later steps run" '
        STRATA_ROOT=$TRASH/C-$which strata build --progress plain --cache-from $R/app:latest \
            -t $R/app:rev3_3 --push ctx2 2>errC &&
        cat errC &&
        test $(grep -c "^#[0-9]* CACHED" errC) = 2 &&
        grep "MISS: src/main.txt changed (cache: $R/app:latest)" errC &&
        grep "strata: 2 steps cached, 2 run" errC &&
        STRATA_ROOT=$TRASH/C-$which strata run $R/app:rev3_3 >out &&
        printf "v2\nlib\n" >want && cmp out want
    '
done

test_expect_success '--cache-from an image strata did not build: a note, no hits, no error' '
    mkdir -p plain && echo x >plain/f && make_layer_tgz plain plain.tgz &&
    make_oci_image layout plain plain.tgz &&
    skopeo copy -q --dest-tls-verify=false oci:layout:plain docker://$SREG/plain:1 &&
    STRATA_ROOT=$TRASH/D strata build --progress plain --cache-from $SREG/plain:1 \
        --cache-from $SREG/nothere:1 -t x:1 ctx 2>err &&
    grep "^note: --cache-from $SREG/plain:1: no strata cache metadata (image not built by strata)" err &&
    grep "^warning: --cache-from $SREG/nothere:1: not found (first build?)" err &&
    grep "strata: 0 steps cached, 4 run" err &&
    STRATA_ROOT=$TRASH/D strata build --progress plain --cache-from 127.0.0.1:1/x:1 -t x:1 ctx 2>err &&
    grep "^warning: --cache-from 127.0.0.1:1/x:1: unreachable" err
'

test_expect_success 'a bad --cache-to is a usage error' '
    test_exit_code 2 strata build --cache-to "$SREG/c:1,mode=huge" ctx
'

test_expect_success 'multi-stage, --cache-to mode=max: runner B hits the builder stage' '
    cat >ctx/Dockerfile.multi <<-EOF &&
	FROM scratch AS builder
	COPY rootfs/ /
	RUN mkdir -p /out && echo artifact >/out/artifact
	FROM scratch
	COPY --from=builder /out/artifact /artifact
	EOF
    STRATA_ROOT=$TRASH/MA strata build --progress plain -f ctx/Dockerfile.multi -t $SREG/multi:1 --push \
        --cache-to "$SREG/multi-cache:1,mode=max" ctx 2>err &&
    grep "exported cache to $SREG/multi-cache:1" err &&
    STRATA_ROOT=$TRASH/MB strata build --progress plain -f ctx/Dockerfile.multi --cache-from $SREG/multi-cache:1 \
        -t $SREG/multi:2 ctx 2>err &&
    cat err &&
    grep -A1 "builder 3/3\] RUN mkdir" err | grep CACHED &&
    grep "strata: 3 steps cached, 0 run" err &&
    STRATA_ROOT=$TRASH/MC strata build --progress plain -f ctx/Dockerfile.multi --cache-from $SREG/multi:1 \
        -t $SREG/multi:3 ctx 2>err &&
    grep -A1 "builder 3/3\] RUN mkdir" err | grep -v CACHED | grep MISS
'

test_done

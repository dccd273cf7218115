#!/bin/sh
# t8010: a base image that lives in a registry is resolved lazily: a fully
# cached build on a fresh runner reads its manifest and config only, a step
# that must run fetches exactly the layers it runs on, and `strata run` /
# `strata save` fetch what they need.
. "$(dirname "$0")/lib.sh"

start_strata_registry
A=$TRASH/runner-a
B=$TRASH/runner-b
C=$TRASH/runner-c

test_expect_success 'runner A: push a busybox base, build and push the app' '
    make_busybox_tar bb.tar &&
    STRATA_ROOT=$A strata import bb.tar "$SREG/base:1" >/dev/null &&
    STRATA_ROOT=$A strata push -q "$SREG/base:1" >/dev/null &&
    mkdir ctx &&
    printf "FROM %s/base:1\nRUN mkdir -p /app && echo built >/app/built\nCOPY hello.txt /app/\nCMD [\"cat\", \"/app/hello.txt\"]\n" "$SREG" >ctx/Dockerfile &&
    echo hello >ctx/hello.txt &&
    STRATA_ROOT=$A strata build -t "$SREG/app:1" -t "$SREG/app:latest" --push ctx >a.out 2>&1 &&
    grep "2 run" a.out &&
    # the base layer is in the registry already (repository base): mounted, not uploaded
    grep "pushed $SREG/app:1: 3 blobs uploaded .*, 1 mounted" a.out
'

base_layer() {
    STRATA_ROOT=$A strata inspect --format manifest "$SREG/base:1" | jq -r ".layers[0].digest"
}

test_expect_success 'runner B (empty store): fully cached, no base layer downloaded' '
    bl=$(base_layer) &&
    n=$(wc -l <"$TRASH/strata-registry.log") &&
    STRATA_ROOT=$B strata build --cache-from "$SREG/app:latest" -t "$SREG/app:2" --push ctx >b.out 2>&1 &&
    grep "2 steps cached, 0 run" b.out &&
    tail -n +$((n + 1)) "$TRASH/strata-registry.log" >b.log &&
    ! grep "GET /v2/base/blobs/$bl" b.log &&
    down=$(awk "/\"GET / { for (i = 1; i <= NF; i++) if (\$i ~ /^out=/) { sub(/out=/, \"\", \$i); s += \$i } } END { print s + 0 }" b.log) &&
    echo "bytes down: $down" &&
    test "$down" -lt 65536
'

test_expect_success 'strata run on runner B fetches the layers it needs, then runs' '
    STRATA_ROOT=$B strata run --rm "$SREG/app:2" >out 2>err &&
    test "$(cat out)" = hello &&
    grep "fetched layer" err &&
    STRATA_ROOT=$B strata run --rm "$SREG/app:2" >out2 2>err2 &&
    test "$(cat out2)" = hello && ! grep "fetched layer" err2
'

test_expect_success 'a step that must run fetches only the layers below it' '
    bl=$(base_layer) &&
    echo changed >ctx/hello.txt &&
    n=$(wc -l <"$TRASH/strata-registry.log") &&
    STRATA_ROOT=$C strata build --cache-from "$SREG/app:latest" -t app:3 ctx >c.out 2>&1 &&
    grep "MISS: hello.txt changed" c.out &&
    grep "1 step cached, 1 run" c.out &&
    tail -n +$((n + 1)) "$TRASH/strata-registry.log" >c.log &&
    grep "GET /v2/base/blobs/$bl" c.log &&
    STRATA_ROOT=$C strata run --rm app:3 >out && test "$(cat out)" = changed
'

test_expect_success 'strata save of an image with registry-only layers fetches them into the archive' '
    echo hello >ctx/hello.txt &&
    D=$TRASH/runner-d &&
    STRATA_ROOT=$D strata build --cache-from "$SREG/app:latest" -t app:4 ctx >/dev/null 2>&1 &&
    STRATA_ROOT=$D strata save -o app.tar app:4 2>err &&
    grep "fetched layer" err &&
    skopeo inspect docker-archive:app.tar >/dev/null
'

test_expect_success 'the registry stopped cleanly' '
    stop_strata_registry
'

test_done

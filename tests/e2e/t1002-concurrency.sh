#!/bin/sh
# t1002: concurrent strata processes keep index.json consistent, and prune
# never removes blobs of an import that is still running.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup' '
    make_busybox_tar bb.tar &&
    strata import bb.tar demo/busybox:latest
'

test_expect_success 'concurrent tags all land in a valid index.json' '
    pids="" &&
    for i in $(seq 1 16); do
        strata tag demo/busybox demo/t:$i & pids="$pids $!"
    done &&
    for p in $pids; do wait $p || exit 1; done &&
    jq -e . "$STRATA_ROOT/index.json" >/dev/null &&
    for i in $(seq 1 16); do
        grep -q "\"docker.io/demo/t:$i\"" "$STRATA_ROOT/index.json" || { echo "tag $i lost"; exit 1; }
    done &&
    test "$(jq ".manifests | length" "$STRATA_ROOT/index.json")" = 17
'

test_expect_success 'concurrent imports and prunes: every imported image stays whole' '
    for i in 1 2 3 4; do
        mkdir -p r$i && echo $i >r$i/file$i && tar -C r$i -cf in$i.tar . || exit 1
    done
    ( for k in $(seq 1 10); do strata prune >/dev/null 2>&1; done ) &
    pp=$!
    pids=""
    for i in 1 2 3 4; do
        strata import in$i.tar demo/imp:$i & pids="$pids $!"
        strata tag demo/busybox demo/u:$i & pids="$pids $!"
    done
    for p in $pids; do wait $p || exit 1; done
    wait $pp || exit 1
    for i in 1 2 3 4; do
        strata inspect --format manifest demo/imp:$i >m$i.json &&
        l=$(jq -r ".layers[0].digest" m$i.json | cut -c8-) &&
        test -f "$STRATA_ROOT/blobs/sha256/$l" &&
        test "$(sha256sum <"$STRATA_ROOT/blobs/sha256/$l" | cut -d" " -f1)" = "$l" || exit 1
    done
    test "$(jq ".manifests | length" "$STRATA_ROOT/index.json")" = 25 &&
    test -z "$(ls "$STRATA_ROOT/.strata/tmp")"
'

test_done

#!/bin/sh
# t9104: strata system df (images, build cache, snapshots, cache mounts,
# registry-only layers: size and reclaimable; --format json) and prune's
# summary saying what it kept and why (issue 18).
. "$(dirname "$0")/lib.sh"
require_builder

mkdir -p "$TRASH/ctx"
make_busybox_rootfs "$TRASH/ctx/rootfs"

test_expect_success 'an empty store: every row zero' '
    strata system df --format json >j &&
    jq -e "[.images, .build_cache, .snapshots, .cache_mounts, .registry_only_layers] | all(.count == 0 and .size == 0)" j
'

test_expect_success 'a 3 MB layer built, then the image removed' '
    head -c 3000000 /dev/urandom >ctx/big &&
    printf "FROM scratch\nCOPY rootfs/ /\nCOPY big /big\nRUN --mount=type=cache,target=/c echo x >/c/x\n" >ctx/Dockerfile &&
    strata build -q -t big:1 ctx >/dev/null 2>&1 &&
    strata system df >df1 && cat df1 &&
    head -1 df1 | grep -x "TYPE                   TOTAL   SIZE       RECLAIMABLE" &&
    grep -E "^Images +1 +[0-9.]+ MB +0 B +\(strata rmi, then prune\)$" df1 &&
    grep -E "^Snapshots +3 +[0-9.]+ MB +[0-9.]+ MB$" df1 &&
    grep -E "^Cache mounts +1 +[0-9.]+ [kM]?B +[0-9.]+ [kM]?B$" df1 &&
    grep -E "^Total on disk [0-9.]+ MB; .strata prune -a. frees [0-9.]+ MB, .strata prune. [0-9.]+ [kM]?B$" df1 &&
    strata rmi big:1 >/dev/null
'

test_expect_success 'after rmi: df shows the build cache keeping the blob and its snapshot' '
    strata system df --format json >j && cat j &&
    jq -e ".images.count == 0 and .build_cache.count == 3 and .build_cache.size > 3000000 and .build_cache.reclaimable == .build_cache.size" j &&
    jq -e ".snapshots.size > 3000000 and .cache_mounts.count == 1 and .total.reclaimable > 6000000" j &&
    jq -e ".total.prune_frees < 100000" j
'

test_expect_success 'prune says what it kept and why; prune -a frees it' '
    strata prune >out && cat out &&
    grep -E "^Kept [0-9.]+ k?B: the blobs of 0 tagged and 0 untagged images \(strata rmi removes an image; its$" out &&
    grep -E "^Kept [0-9.]+ MB of build cache: 3 cache entries with the layer blobs only they keep \([0-9.]+ MB\), 3 snapshots \([0-9.]+ MB\), 1 cache mount \([0-9.]+ [kM]?B\), other [0-9.]+ [kM]?B; rebuilds reuse it: .strata prune -a. removes it$" out &&
    strata prune -a >out2 && grep -E "^Total reclaimed space: [6-9]\.[0-9] MB$" out2 &&
    ! grep "of build cache" out2 &&
    strata system df --format json >j &&
    jq -e ".build_cache.size == 0 and .snapshots.count == 0 and .cache_mounts.count == 0" j
'

start_strata_registry

test_expect_success 'registry-only layers: a lazily resolved base never downloaded' '
    make_busybox_tar bb.tar &&
    STRATA_ROOT=$TRASH/other strata import bb.tar $SREG/base:1 >/dev/null &&
    STRATA_ROOT=$TRASH/other strata push $SREG/base:1 >/dev/null 2>&1 &&
    printf "FROM %s/base:1\nENV X=1\n" $SREG >ctx/Dockerfile.lazy &&
    strata build -q -f ctx/Dockerfile.lazy -t lazy:1 ctx >/dev/null 2>&1 &&
    strata system df --format json >j && cat j &&
    jq -e ".registry_only_layers.count == 1 and .registry_only_layers.size > 100000 and .registry_only_layers.reclaimable == 0" j &&
    strata system df >df2 && grep -E "^Registry-only layers +1 +[0-9.]+ [kM]B +0 B +\(not on this disk\)$" df2
'

test_expect_success 'usage: system df --format yaml, system foo' '
    test_exit_code 2 strata system df --format yaml 2>err && grep "^strata system df: --format must be json, not .yaml.$" err &&
    test_exit_code 2 strata system foo 2>err && grep "^strata system: unknown subcommand .foo. (known: df)$" err
'

test_done

#!/bin/sh
# t1009: a damaged layer blob in the store is named as a digest mismatch and
# removed, so that importing, loading or pulling the image again repairs the
# store (the damaged copy used to stay: every later run/build failed and a
# pull skipped the blob as "already present").
. "$(dirname "$0")/lib.sh"
require_builder

test_expect_success 'setup: an image whose layer blob is damaged on disk' '
    make_busybox_tar bb.tar &&
    strata import bb.tar demo/bb:1 >/dev/null &&
    layer=$(strata inspect --format manifest demo/bb:1 | jq -r ".layers[0].digest" | cut -c8-) &&
    echo $layer >layer &&
    printf xx | dd of="$STRATA_ROOT/blobs/sha256/$layer" bs=1 seek=300 conv=notrunc 2>/dev/null
'

test_expect_success 'run names the digest mismatch and removes the damaged blob' '
    test_exit_code 1 strata run --rm demo/bb:1 true 2>err &&
    cat err &&
    grep "layer digest mismatch: expected sha256:$(cat layer)" err &&
    grep "damaged and was removed: pull or load the image again" err &&
    test ! -e "$STRATA_ROOT/blobs/sha256/$(cat layer)"
'

test_expect_success 'importing it again repairs the store' '
    strata import bb.tar demo/bb:1 >/dev/null &&
    test "$(strata run --rm demo/bb:1 echo ok)" = ok
'

test_expect_success 'the repaired blob stays' '
    test -e "$STRATA_ROOT/blobs/sha256/$(cat layer)"
'

test_done

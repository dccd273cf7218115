#!/bin/sh
# Faults between strata and docker-registry (tests/e2e/helpers/faultproxy.py):
# connections cut mid-blob are resumed with Range or retried, corrupted bytes
# are caught by the digest, and nothing corrupt lands locally.
. "$(dirname "$0")/lib.sh"

command -v docker-registry >/dev/null || test_skip_all "docker-registry not installed"
DRV="$STRATA_BUILD/tests/test_registry_driver"
MKIMAGE="$TEST_DIR/helpers/mkimage.py"
export STRATA_RETRY_BASE_MS=20
start_docker_registry || test_skip_all "docker-registry did not start"
N=0
start_proxy() {
    N=$((N + 1))
    pf="$TRASH/proxy$N"
    spawn env "$@" python3 "$TEST_DIR/helpers/faultproxy.py" "$pf" "$REG_PORT"
    n=100; until [ -s "$pf" ] || [ $n = 0 ]; do sleep 0.1; n=$((n - 1)); done
    PROXY="127.0.0.1:$(cat "$pf")"
    PLOG="$pf.log"
}
start_proxy CUTS=3 CUT_AFTER=700000; P1=$PROXY; L1=$PLOG
start_proxy CORRUPTS=1 CORRUPT_AT=900000; P2=$PROXY; L2=$PLOG
start_proxy CUTS=1000 CUT_AFTER=100; P3=$PROXY
start_proxy UPCUTS=2 UPCUT_AFTER=600000; P4=$PROXY; L4=$PLOG
# every blob file must hash to its name, and no temporary file is left
layout_clean() {
    [ -d "$1/blobs/sha256" ] || return 0
    (cd "$1/blobs/sha256" && for f in * .[!.]*; do
        [ -e "$f" ] || continue
        test "$(sha256sum "$f" | cut -d" " -f1)" = "$f" || { echo "bad blob $f" >&2; exit 1; }
    done)
}

test_expect_success 'setup: an image with 1.5 MB layers' '
    python3 "$MKIMAGE" img v1 --layers 2 --size 1500000 >digest &&
    "$DRV" push-layout img v1 "$REG/app:v1"
'

test_expect_success 'downloads cut mid-blob are resumed with Range' '
    STRATA_LOG=info "$DRV" pull-layout "$P1/app:v1" p1 >out 2>err &&
    grep "connection broken after [1-9][0-9]* bytes; resuming" err &&
    grep "^$(cat digest) moved=3" out &&
    test "$(grep -c cut "$L1")" = 3 &&
    layout_clean p1
'

test_expect_success 'a corrupted byte fails the pull and nothing is kept' '
    test_must_fail "$DRV" pull-layout "$P2/app:v1" p2 2>err &&
    grep "digest mismatch" err &&
    grep corrupt "$L2" &&
    test ! -e p2/index.json &&
    layout_clean p2 &&
    test "$(ls p2/blobs/sha256 | wc -l)" -lt 3
'

test_expect_success 'the same pull then completes over a clean connection' '
    "$DRV" pull-layout "$P2/app:v1" p2 >out &&
    grep "^$(cat digest) " out &&
    layout_clean p2
'

test_expect_success 'a download cut too often gives up with an error' '
    STRATA_MAX_RETRIES=1 test_must_fail "$DRV" pull-layout "$P3/app:v1" p3 2>err &&
    test "$(wc -l <err)" = 1 &&
    grep "^driver: error: pull $P3/app:v1: " err &&
    layout_clean p3 && test ! -e p3/index.json
'

test_expect_success 'uploads cut mid-blob are started again' '
    python3 "$MKIMAGE" img v2 --layers 1 --size 1200000 --seed up >d2 &&
    "$DRV" push-layout img v2 "$P4/up:v2" >out &&
    grep "^$(cat d2) " out &&
    test "$(grep -c upcut "$L4")" = 2 &&
    "$DRV" pull-layout "$REG/up:v2" p4 >out &&
    grep "^$(cat d2) " out && layout_clean p4
'

test_done

#!/bin/sh
# t0002: the suite never hangs. tests/run-test (prove --exec) kills a test
# file that runs past $STRATA_TEST_TIMEOUT with everything it started, and
# a "not ok" line names the file and the test that hung; prove's summary
# counts it as a failure.
. "$(dirname "$0")/lib.sh"

RUN_TEST="$SRC_DIR/tests/run-test"

test_expect_success 'setup: a test file whose second test hangs, with a server it spawned' '
    cat >hang.sh <<EOT &&
. "$SRC_DIR/tests/e2e/lib.sh"
test_expect_success "quick one" "true"
spawn sleep 1000
echo \$! >"$TRASH/child.pid"
test_expect_success "hangs here" "sleep 1000"
test_done
EOT
    cat >fine.sh <<EOT
. "$SRC_DIR/tests/e2e/lib.sh"
test_expect_success "fine" "true"
test_done
EOT
'

test_expect_success 'a hung test file fails within the limit, naming itself and the test' '
    start=$(date +%s) &&
    { STRATA_TEST_TIMEOUT=2 "$RUN_TEST" hang.sh >out 2>err; echo $? >rc; } &&
    end=$(date +%s) && test $((end - start)) -lt 20 &&
    cat out err &&
    test "$(cat rc)" = 124 &&
    grep "^ok 1 - quick one" out &&
    grep "^not ok - TIMEOUT: hang.sh was killed after 2s, in test 2 - .hangs here." out &&
    grep "TIMEOUT: hang.sh" err &&
    pid=$(cat child.pid) && n=50 &&
    while kill -0 "$pid" 2>/dev/null && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done &&
    ! kill -0 "$pid" 2>/dev/null
'

test_expect_success 'prove reports the hung file as failed and the rest as passing' '
    STRATA_TEST_TIMEOUT=2 prove --exec "$RUN_TEST" hang.sh fine.sh >pout 2>&1; rc=$? &&
    cat pout && test $rc -ne 0 &&
    grep "^hang.sh" pout && grep "Result: FAIL" pout &&
    grep "fine.sh .* ok" pout
'

test_expect_success 'a unit test binary runs under the same wrapper' '
    "$RUN_TEST" "$STRATA_BUILD/tests/test_util" >uout && grep -q "^1\.\." uout
'

test_done

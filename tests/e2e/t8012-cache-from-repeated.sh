#!/bin/sh
# t8012: a --cache-from source given twice (strata ci --compose adds the
# service's :latest, which its compose cache_from usually names too; or two
# spellings of one reference) is imported once, not twice; a failed
# --cache-to warning says "--cache-to REF" once.
. "$(dirname "$0")/lib.sh"

require_builder

start_strata_registry

test_expect_success 'setup: an app pushed as :latest' '
    mkdir ctx && make_busybox_rootfs ctx/rootfs &&
    printf "FROM scratch\nCOPY rootfs/ /\nRUN echo built >/built\n" >ctx/Dockerfile &&
    STRATA_ROOT=$TRASH/a strata build -q -t "$SREG/app:latest" --push ctx >/dev/null
'

test_expect_success 'the same source twice, in two spellings: one import' '
    n=$(wc -l <"$TRASH/strata-registry.log") &&
    STRATA_ROOT=$TRASH/b strata build --progress plain --cache-from "$SREG/app:latest" \
        --cache-from "$SREG/app" -t app:2 ctx >out 2>&1 &&
    test "$(grep -c "importing cache from" out)" = 1 &&
    grep "2 steps cached, 0 run" out &&
    tail -n +$((n + 1)) "$TRASH/strata-registry.log" >log &&
    test "$(grep -c "GET /v2/app/manifests/latest" log)" = 1
'

test_expect_success 'a --cache-to that fails is one warning naming it once' '
    dead=$(free_port) &&
    STRATA_ROOT=$TRASH/b strata build -q --cache-to "127.0.0.1:$dead/app/cache:x" ctx >out 2>err &&
    cat err &&
    grep "^warning: --cache-to 127.0.0.1:$dead/app/cache:x: blob .*connection refused" err &&
    test "$(grep -o -- "--cache-to" err | wc -l)" = 1
'

test_done

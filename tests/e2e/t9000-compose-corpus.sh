#!/bin/sh
# t9000: the compose corpus (tests/compose/<case>/): `strata compose ...
# config --format json` (or the case's `cmd`) on each case must print
# exactly expected.json (and expected.warn on stderr), or fail with exactly
# expected.err. See tests/compose/run-case.
. "$(dirname "$0")/lib.sh"

CORPUS="$SRC_DIR/tests/compose"
for d in "$CORPUS"/*/; do
    name=$(basename "$d")
    test_expect_success "corpus: $name" "STRATA_BIN='$STRATA_BIN' '$CORPUS/run-case' '$d'"
done

test_expect_success 'every case has exactly one of expected.json / expected.err' '
    for d in "$CORPUS"/*/; do
        n=$(ls "$d" | grep -c "^expected\.\(json\|err\)$")
        [ "$n" = 1 ] || { echo "$d: $n expected files"; exit 1; }
    done
'

test_expect_success 'error cases exit 1' '
    for d in "$CORPUS"/err-*/; do
        (cd "$d" && args=$(cat args 2>/dev/null); cmd=$(cat cmd 2>/dev/null || echo config);
         # shellcheck disable=SC2086
         env -i PATH="$PATH" HOME=/home/test "$STRATA_BIN" compose $args $cmd >/dev/null 2>&1;
         r=$?; [ $r = 1 ] || { echo "$d: exit $r"; exit 1; }) || exit 1
    done
'

test_done

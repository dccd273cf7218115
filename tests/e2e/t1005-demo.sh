#!/bin/sh
# t1005: scripts/demo (the README's quick-start job) runs and cleans up.
. "$(dirname "$0")/lib.sh"

test_expect_success 'scripts/demo imports busybox and shows it' '
    TMPDIR=$TRASH/tmp && mkdir -p "$TMPDIR" && export TMPDIR &&
    "$SRC_DIR/scripts/demo" >out 2>&1 &&
    grep -E "^demo/busybox +latest +[0-9a-f]{12} " out &&
    grep "\"RepoTags\"" out &&
    grep -q "\"/bin/sh\"" out &&
    test -z "$(ls "$TMPDIR")"
'

test_done

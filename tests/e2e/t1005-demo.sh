#!/bin/sh
# t1005: scripts/demo (the README's demo) runs the seed's workflow against a
# strata registry it starts: the second build, on a wiped store, has every
# step CACHED and moves kilobytes; the registry is stopped and the
# temporary files are removed.
. "$(dirname "$0")/lib.sh"
grep -q overlay /proc/filesystems || test_skip_all "overlayfs is not available"

test_expect_success 'scripts/demo: build, push, wipe, rebuild fully cached; cleans up' '
    TMPDIR=$TRASH/tmp && mkdir -p "$TMPDIR" && export TMPDIR &&
    "$SRC_DIR/scripts/demo" >out 2>&1 &&
    cat out &&
    grep "^== 1. strata registry listening on 127.0.0.1:[0-9]* (pid [0-9]*)" out &&
    grep "^built by strata$" out &&
    grep "^== 4. a fresh CI runner: the local store is wiped" out &&
    grep "^runner B (--cache-from): 2 of 2 steps CACHED; pulled [0-9]* bytes, pushed [0-9]* bytes$" out &&
    down=$(sed -n "s/^runner B .*pulled \([0-9]*\) bytes, pushed \([0-9]*\) bytes$/\1/p" out) &&
    up=$(sed -n "s/^runner B .*pulled \([0-9]*\) bytes, pushed \([0-9]*\) bytes$/\2/p" out) &&
    test $((down + up)) -lt 65536 &&
    pid=$(sed -n "s/^== 1. .*(pid \([0-9]*\))$/\1/p" out) &&
    ! kill -0 "$pid" 2>/dev/null &&
    test -z "$(ls "$TMPDIR")"
'

test_done

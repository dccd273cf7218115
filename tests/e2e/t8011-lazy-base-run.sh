#!/bin/sh
# t8011: a RUN that is the first step on a lazily resolved base image (or that
# follows a remote cache hit) fetches the layers it runs on first; it used to
# fail with "mount overlay (upper ...): No such file or directory".
. "$(dirname "$0")/lib.sh"

require_builder

start_strata_registry
A=$TRASH/runner-a

test_expect_success 'setup: a busybox base in the registry only' '
    make_busybox_tar bb.tar &&
    STRATA_ROOT=$A strata import bb.tar "$SREG/base:1" >/dev/null &&
    STRATA_ROOT=$A strata push -q "$SREG/base:1" >/dev/null &&
    mkdir ctx && echo a >ctx/a
'

test_expect_success 'RUN right after FROM a registry base, on an empty store' '
    printf "FROM %s/base:1\nRUN echo ran >/ran\n" "$SREG" >ctx/Dockerfile &&
    STRATA_ROOT=$TRASH/b strata build --progress plain -t app:1 ctx >out 2>&1 &&
    grep "fetch layer" out &&
    grep "0 steps cached, 1 run" out &&
    STRATA_ROOT=$TRASH/b strata run --rm app:1 cat /ran >ran &&
    test "$(cat ran)" = ran
'

test_expect_success 'a RUN that misses after a remote cache hit on an empty store' '
    printf "FROM %s/base:1\nCOPY a /a\nRUN cat /a >/b\n" "$SREG" >ctx/Dockerfile &&
    STRATA_ROOT=$A strata build -t "$SREG/app:latest" --push ctx >out 2>&1 &&
    printf "FROM %s/base:1\nCOPY a /a\nRUN cat /a >/c\n" "$SREG" >ctx/Dockerfile &&
    STRATA_ROOT=$TRASH/c strata build --progress plain --cache-from "$SREG/app:latest" -t app:2 ctx >out 2>&1 &&
    grep "1 step cached, 1 run" out &&
    STRATA_ROOT=$TRASH/c strata run --rm app:2 cat /c >c.txt &&
    test "$(cat c.txt)" = a
'

test_expect_success 'nothing is left mounted' '
    ! grep -q "$TRASH" /proc/self/mountinfo
'

test_done

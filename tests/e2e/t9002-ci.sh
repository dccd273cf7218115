#!/bin/sh
# t9002: strata ci — the seed's job in one command: first build on an empty
# registry (no cache, a warning), the second one fully cached and under
# 64 KiB on the wire (counted at the registry's access log); the exit codes.
. "$(dirname "$0")/lib.sh"
grep -q overlay /proc/filesystems || test_skip_all "overlayfs is not available"

start_strata_registry
SLOG="$TRASH/strata-registry.log"
log_mark() { stat -c %s "$1" >"$1.mark"; }
log_since() { tail -c +$(( $(cat "$1.mark") + 1 )) "$1"; }

test_expect_success 'a project' '
    mkdir -p proj/src && make_busybox_rootfs proj/rootfs && echo v1 >proj/src/main.txt &&
    printf "FROM scratch\nCOPY rootfs/ /\nRUN mkdir /app\nCOPY src/ /app/\nRUN cat /app/main.txt >/app/out\n" >proj/Dockerfile
'

test_expect_success '--help documents every exit code' '
    strata ci --help >out &&
    for c in 0 1 2 3 4 5 6; do grep "^  $c  " out || return 1; done
'

test_expect_success 'first build on an empty registry: no cache, both tags pushed' '
    ( cd proj && STRATA_ROOT=$TRASH/r1 DOCKER_IMAGE_NAME=app REGISTRY_URL=http://127.0.0.1 \
        REGISTRY_PORT=$SREG_PORT SEMAPHORE_GIT_SHA=0123456789abcdef0123456789abcdef01234567 \
        SEMAPHORE_BUILD_NUMBER=7 strata ci --progress plain >../id1 2>../err1 ) &&
    cat err1 &&
    grep "^warning: --cache-from $SREG/app:latest: not found (first build?)" err1 &&
    grep "strata ci: $SREG/app:0123456789abcdef0123456789abcdef01234567_7 and $SREG/app:latest pushed: 0 steps cached, 4 run" err1 &&
    curl -sf http://$SREG/v2/app/tags/list | jq -e ".tags | sort == [\"0123456789abcdef0123456789abcdef01234567_7\", \"buildcache\", \"latest\"]"
'

test_expect_success 'again on a fresh runner: fully cached, under 64 KiB moved' '
    log_mark "$SLOG" &&
    STRATA_ROOT=$TRASH/r2 strata ci --progress plain --image app --registry $SREG --revision abc \
        --build-number 8 proj >id2 2>err2 &&
    cat err2 &&
    grep "strata ci: $SREG/app:abc_8 and $SREG/app:latest pushed: 4 steps cached, 0 run" err2 &&
    cmp id1 id2 &&
    sleep 0.3 &&
    moved=$(log_since "$SLOG" | sed -n "s/.* in=\([0-9]*\) out=\([0-9]*\) .*/\1 \2/p" | awk "{s += \$1 + \$2} END {print s}") &&
    echo "# moved $moved bytes" && test "$moved" -lt 65536
'

test_expect_success 'exit codes: configuration 6, build 3, registry 4, usage 2' '
    test_exit_code 6 env -u DOCKER_IMAGE_NAME "$STRATA_BIN" ci --revision r --build-number 1 proj &&
    test_exit_code 6 strata ci --image app proj &&
    test_exit_code 6 strata ci --image "Bad Name" --revision r --build-number 1 proj &&
    mkdir bad && printf "FROM scratch\nCOPY rootfs/ /\nRUN exit 3\n" >bad/Dockerfile && cp -a proj/rootfs bad/ &&
    test_exit_code 3 strata ci --image app --registry $SREG --revision r --build-number 1 bad &&
    test_exit_code 4 strata ci --image app --registry 127.0.0.1:1 --revision r --build-number 1 proj &&
    test_exit_code 2 strata ci --bogus
'

if command -v htpasswd >/dev/null; then
    htpasswd -B -b -c "$TRASH/htpasswd" alice secret1 2>/dev/null
    OPEN=$SREG
    SREG_ROOT=$TRASH/registry-auth start_strata_registry --htpasswd "$TRASH/htpasswd"
    test_expect_success 'exit code 5: the registry refuses our credentials' '
        test $SREG != $OPEN &&
        test_exit_code 5 strata ci --image app --registry $SREG --revision r --build-number 1 proj 2>err &&
        cat err && grep -i "unauthorized\|authentication" err
    '
fi

test_done

#!/bin/sh
# t5200-rootless-seed: the seed workflow as ordinary users (issue #13): a user
# with subordinate ids (strata-rl-sub) and one without (strata-rl-nosub) each
# run their own `strata registry serve`, build and push app:1 and app:latest
# (runner A), then, with an empty store, build the same context with
# --cache-from app:latest (runner B): every step is CACHED. Everything as the
# user, the store at the default $XDG_DATA_HOME/strata.
. "$(dirname "$0")/lib.sh"
require_builder
rootless_setup

test_expect_success 'the project: a busybox rootfs, a RUN, a late COPY' '
    mkdir -p ctx/src && make_busybox_rootfs ctx/rootfs &&
    echo v1 >ctx/src/main.txt &&
    cat >ctx/Dockerfile <<-EOF &&
	FROM scratch
	COPY rootfs/ /
	RUN mkdir -p /app && echo built >/app/built
	COPY src/ /app/src/
	RUN cat /app/src/main.txt >/app/out
	CMD ["cat", "/app/out"]
	EOF
    chmod -R a+rX ctx
'

for u in strata-rl-sub strata-rl-nosub; do
    AS="$TRASH/as-$u"
    H="$TRASH/home-$u"
    SREG_ROOT="$H/registry" STRATA_BIN="$AS" start_strata_registry
    R=$SREG

    test_expect_success "$u: the registry runs as the user" '
        test "$(stat -c %U /proc/$SREG_PID)" = "$u" &&
        test "$(stat -c %U "$H/registry")" = "$u"
    '

    test_expect_success "$u: runner A builds and pushes (store under \$XDG_DATA_HOME)" '
        "$AS" build --progress plain -t $R/app:1 -t $R/app:latest --push ctx 2>errA ||
            { cat errA; false; } &&
        grep "pushed $R/app:1" errA && grep "pushed $R/app:latest" errA &&
        grep "strata: 0 steps cached, 4 run" errA &&
        test -d "$H/.local/share/strata/blobs" &&
        test "$(stat -c %U "$H/.local/share/strata")" = "$u"
    '

    test_expect_success "$u: the image runs (strata run as the user)" '
        "$AS" run $R/app:1 >out 2>err || { cat err; false; } &&
        test "$(cat out)" = v1
    '

    test_expect_success "$u: runner B (empty store) gets every step CACHED" '
        "$AS" --root "$H/storeB" build --progress plain --cache-from $R/app:latest \
            -t $R/app:2 --push ctx 2>errB || { cat errB; false; } &&
        grep "^importing cache from $R/app:latest: image, 4 entries" errB &&
        test $(grep -c "^#[0-9]* CACHED" errB) = 4 &&
        ! grep "MISS" errB &&
        grep "strata: 4 steps cached, 0 run" errB &&
        grep "pushed $R/app:2: 0 blobs uploaded" errB
    '

    test_expect_success "$u: runner B's image runs, its layers fetched then" '
        "$AS" --root "$H/storeB" run $R/app:2 >out 2>err || { cat err; false; } &&
        test "$(cat out)" = v1
    '

    test_expect_success "$u: a changed late file reruns only the steps from it" '
        echo v2 >ctx/src/main.txt &&
        "$AS" --root "$H/storeB" build --progress plain --cache-from $R/app:latest -t b:3 ctx 2>errC ||
            { cat errC; false; } &&
        grep "strata: 2 steps cached, 2 run" errC &&
        echo v1 >ctx/src/main.txt
    '

    test_expect_success "$u: --cache-to a registry and back" '
        "$AS" --root "$H/storeC" build --progress plain --cache-to $R/cache:1 -t c ctx 2>errD ||
            { cat errD; false; } &&
        "$AS" --root "$H/storeD" build --progress plain --cache-from $R/cache:1 -t d ctx 2>errE ||
            { cat errE; false; } &&
        grep "strata: 4 steps cached, 0 run" errE
    '

    test_expect_success "$u: prune removes the user's snapshots (ids shifted on disk)" '
        ls "$H/storeB/build/snapshots/" | grep . &&
        "$AS" --root "$H/storeB" prune -a >/dev/null 2>err || { cat err; false; } &&
        ! ls "$H/storeB/build/snapshots/" 2>/dev/null | grep .
    '

    stop_strata_registry
done

test_done

#!/bin/sh
# t4002: timestamps (issue #14 item 11): COPY keeps the source's mtime (from
# the context and from another stage), and SOURCE_DATE_EPOCH makes a build
# reproducible: two builds of the same tree on fresh stores give the same
# manifest digest.
. "$(dirname "$0")/lib.sh"

require_builder

mkdir -p "$TRASH/ctx"
make_busybox_rootfs "$TRASH/ctx/rootfs"
ln -sf busybox "$TRASH/ctx/rootfs/bin/stat"
ln -sf busybox "$TRASH/ctx/rootfs/bin/sha256sum"

test_expect_success 'COPY keeps the mtime of files, directories and symlinks' '
    mkdir -p ctx/d/sub &&
    echo data >ctx/d/sub/f && ln -s f ctx/d/sub/l &&
    touch -h -d @1000000000 ctx/d/sub/f && touch -h -d @1000000100 ctx/d/sub/l &&
    touch -d @1000000200 ctx/d/sub &&
    cat >ctx/Dockerfile <<-\EOF &&
	FROM scratch AS src
	COPY rootfs/ /
	COPY d /d
	FROM src
	COPY --from=src /d/sub /e/sub
	CMD ["stat", "-c", "%n %Y", "/d/sub/f", "/d/sub", "/e/sub/f", "/e/sub"]
	EOF
    strata build -t ts-copy ctx 2>log &&
    strata run ts-copy >out &&
    printf "/d/sub/f 1000000000\n/d/sub 1000000200\n/e/sub/f 1000000000\n/e/sub 1000000200\n" >want &&
    diff want out &&
    strata run ts-copy stat -c "%Y" /d/sub/l >out && test "$(cat out)" = 1000000100
'

cat >"$TRASH/ctx/Dockerfile.repro" <<-\EOF
	FROM scratch
	COPY rootfs/ /
	RUN echo built >/built && mkdir -p /var/x && touch /var/x/y
	ENV A=1
	CMD ["cat", "/built"]
	EOF

# build_digest STORE [ARGS...]: build Dockerfile.repro on a fresh store, print the manifest digest
build_digest() {
    st=$1; shift
    STRATA_ROOT="$TRASH/$st" strata build -q -f ctx/Dockerfile.repro -t repro "$@" ctx >/dev/null &&
    STRATA_ROOT="$TRASH/$st" strata inspect repro | jq -r ".[0].Digest // .[0].digest // .[0].manifest_digest"
}

test_expect_success 'without SOURCE_DATE_EPOCH two builds a second apart differ' '
    touch -d @1500000000 ctx/rootfs ctx/rootfs/* &&
    a=$(build_digest s1) && sleep 1 && b=$(build_digest s2) &&
    test -n "$a" && test "$a" != null && test "$a" != "$b"
'

test_expect_success 'with SOURCE_DATE_EPOCH two builds on fresh stores are bit-for-bit identical' '
    a=$(SOURCE_DATE_EPOCH=1700000000 build_digest s3) && sleep 1 &&
    b=$(build_digest s4 --source-date-epoch 1700000000) &&
    test -n "$a" && test "$a" = "$b" &&
    STRATA_ROOT="$TRASH/s3" strata inspect -f config repro >cfg &&
    jq -e ".created == \"2023-11-14T22:13:20Z\"" cfg &&
    jq -e "[.history[-3:][] | .created] == [\"2023-11-14T22:13:20Z\", \"2023-11-14T22:13:20Z\", \"2023-11-14T22:13:20Z\"]" cfg &&
    STRATA_ROOT="$TRASH/s3" strata run repro stat -c %Y /built >out &&
    test "$(cat out)" = 1700000000
'

test_expect_success 'the epoch is part of the cache key only when set' '
    STRATA_ROOT="$TRASH/s1" strata build -f ctx/Dockerfile.repro ctx 2>log &&
    grep "2 steps cached, 0 run" log &&
    STRATA_ROOT="$TRASH/s1" strata build --build-arg SOURCE_DATE_EPOCH=1700000000 -f ctx/Dockerfile.repro ctx 2>log &&
    grep "0 steps cached, 2 run" log
'

test_expect_success 'a bad SOURCE_DATE_EPOCH is a usage error' '
    test_exit_code 2 strata build --source-date-epoch yesterday ctx 2>err &&
    grep "invalid SOURCE_DATE_EPOCH" err &&
    SOURCE_DATE_EPOCH=-5 test_exit_code 2 strata build ctx
'

test_done

#!/bin/sh
# t4003: buildx's cache specs (issue #14): --cache-to type=local,dest=DIR
# (an OCI image layout), --cache-from type=local,src=DIR (lazy: a hit's layer
# is copied only when needed), type=registry,ref=R, type=inline, bad specs.
. "$(dirname "$0")/lib.sh"

require_builder

mkdir -p "$TRASH/ctx"
make_busybox_rootfs "$TRASH/ctx/rootfs"
cat >"$TRASH/ctx/Dockerfile" <<-\EOF
	FROM scratch AS base
	COPY rootfs/ /
	ENV PATH=/bin
	RUN echo one >/one
	FROM base
	RUN echo two >/two
	CMD ["cat", "/one", "/two"]
	EOF

test_expect_success 'a build exports its cache to a directory (mode=max)' '
    STRATA_ROOT="$TRASH/a" strata build -t app --cache-to type=local,dest=cachedir,mode=max ctx 2>log &&
    grep "exported cache to type=local,dest=cachedir,mode=max: 3 blobs written" log &&
    test -f cachedir/oci-layout && jq -e ".manifests[0].annotations[\"org.opencontainers.image.ref.name\"] == \"strata-cache\"" cachedir/index.json &&
    test "$(ls cachedir/blobs/sha256 | wc -l)" = 5
'

test_expect_success 'a fresh store with --cache-from type=local: every step CACHED, no layer copied' '
    STRATA_ROOT="$TRASH/b" strata build -t app --progress plain --cache-from type=local,src=cachedir ctx 2>log &&
    grep "importing cache from type=local,src=cachedir: cache artifact, 3 entries" log &&
    grep "3 steps cached, 0 run" log &&
    ! grep MISS log &&
    test "$(ls "$TRASH/b/blobs/sha256" | wc -l)" -lt 5
'

test_expect_success 'the image runs: its layers come from the directory when needed' '
    STRATA_ROOT="$TRASH/b" strata run app >out &&
    printf "one\ntwo\n" >want && diff want out
'

test_expect_success 'a second export to the same directory writes no layer again' '
    STRATA_ROOT="$TRASH/b" strata build -t app --cache-from type=local,src=cachedir \
        --cache-to type=local,dest=cachedir,mode=max ctx 2>log &&
    grep "0 blobs written, 0 mounted, 3 already there" log
'

test_expect_success 'mode=min keeps only the final image'"'"'s steps; type=inline is accepted' '
    STRATA_ROOT="$TRASH/a" strata build --cache-to type=local,dest=mindir ctx 2>log &&
    STRATA_ROOT="$TRASH/c" strata build --cache-from type=local,src=mindir --cache-to type=inline ctx 2>log &&
    grep "importing cache from type=local,src=mindir: cache artifact, 3 entries" log
'

test_expect_success 'a missing directory is a warning, not a failure' '
    STRATA_ROOT="$TRASH/d" strata build --cache-from type=local,src=nowhere ctx 2>log &&
    grep "warning: --cache-from type=local,src=nowhere: not found" log
'

test_expect_success 'bad cache specs are usage errors' '
    test_exit_code 2 strata build --cache-from type=gha ctx 2>err &&
    grep "unsupported cache type" err &&
    test_exit_code 2 strata build --cache-to type=local ctx 2>err &&
    grep "type=local needs dest=DIR" err &&
    test_exit_code 2 strata build --cache-to type=local,dest=x,mode=all ctx 2>err &&
    test_exit_code 2 strata build --cache-from type=registry ctx 2>err &&
    grep "no reference" err
'

test_expect_success 'type=registry,ref=R is read like R' '
    STRATA_ROOT="$TRASH/e" strata build --cache-from type=registry,ref=127.0.0.1:1/none:x ctx 2>log &&
    grep "warning: --cache-from 127.0.0.1:1/none:x: " log
'

test_done

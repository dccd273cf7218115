#!/bin/sh
# t5502: build-arg values are never published (issue #15 item 4): the
# strata.cache.v1 inputs of the image config and build/cache/inputs hold a
# digest of each value; a changed value is explained by name only; a pushed
# image carries no value; inputs written by an older strata (values in
# clear) still explain misses.
. "$(dirname "$0")/lib.sh"

require_builder

SECRET=hunter2-s3cr3t-value
mkdir -p "$TRASH/ctx"
make_busybox_rootfs "$TRASH/ctx/rootfs"
cat >"$TRASH/ctx/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
ENV PATH=/bin
ARG TOKEN
RUN test -n "$TOKEN" && echo "$TOKEN" | wc -c >/len
EOF
start_strata_registry

test_expect_success 'the value is in neither the config nor the cache index' '
    strata build --progress plain -t argimg --build-arg TOKEN=$SECRET ctx 2>log &&
    ! grep -r "$SECRET" "$STRATA_ROOT/blobs" "$STRATA_ROOT/build/cache" &&
    strata inspect argimg >inspect.json &&
    ! grep "$SECRET" inspect.json log &&
    cfg=$(jq -r ".[0].Id // empty" inspect.json) &&
    digest=$(printf %s "$SECRET" | sha256sum | cut -d" " -f1) &&
    grep -r "sha256:$digest" "$STRATA_ROOT/build/cache/inputs" >/dev/null &&
    grep -rl "strata.cache.v1" "$STRATA_ROOT/blobs/sha256" >cfgs &&
    xargs grep -l "sha256:$digest" <cfgs >/dev/null
'

test_expect_success 'the same value hits, another one misses by name only' '
    strata build --progress plain -t argimg --build-arg TOKEN=$SECRET ctx 2>log &&
    grep "^strata: 2 steps cached, 0 run" log &&
    strata build --progress plain -t argimg --build-arg TOKEN=other-$SECRET ctx 2>log &&
    grep "MISS: build arg TOKEN changed" log &&
    ! grep "$SECRET" log
'

test_expect_success 'a pushed image carries no value' '
    strata build -q -t argimg --build-arg TOKEN=$SECRET ctx >/dev/null &&
    strata push argimg $SREG/argimg:1 >/dev/null 2>&1 &&
    ! grep -r "$SECRET" "$TRASH/registry" &&
    rm -rf "$STRATA_ROOT" &&
    strata build --progress plain -t again --cache-from $SREG/argimg:1 --build-arg TOKEN=$SECRET ctx 2>log &&
    grep "^strata: 2 steps cached, 0 run" log &&
    strata build --progress plain -t again2 --cache-from $SREG/argimg:1 --no-cache --build-arg TOKEN=x ctx 2>/dev/null &&
    rm -rf "$STRATA_ROOT/build/cache" &&
    strata build --progress plain -t again3 --cache-from $SREG/argimg:1 --build-arg TOKEN=y ctx 2>log &&
    grep "MISS: build arg TOKEN changed (cache: $SREG/argimg:1)" log
'

test_expect_success 'inputs of an older strata (values in clear) still explain' '
    rm -rf "$STRATA_ROOT" &&
    strata build -q -t argimg --build-arg TOKEN=v1 ctx >/dev/null &&
    for f in "$STRATA_ROOT"/build/cache/inputs/*; do
        jq -c "if .build_args then (.args = {TOKEN: \"v1\"} | del(.build_args) | .env += [\"TOKEN=v1\"]) else . end" \
            "$f" >"$f.old" && mv "$f.old" "$f"
    done &&
    strata build --progress plain -t argimg --build-arg TOKEN=v2 ctx 2>log &&
    grep "MISS: build arg TOKEN changed" log
'

stop_strata_registry
test_done

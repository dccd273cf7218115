#!/bin/sh
# t8014: the seed's one-command flow caches every stage (issue #19 item 3).
# `strata ci` exports a mode=max cache artifact as REPO:buildcache beside
# the image and imports it with REPO:latest, with no extra flag: on a fresh
# runner a multi-stage build (30 MB of random data in the builder, one line
# copied into the final stage) gets every step CACHED and moves under 2 MB
# (the registry's access log and strata's own summary), with strata's
# registry and Debian's docker-registry. `--cache-tag none` turns it off
# (the builder reruns: only the final stage's inline cache is left);
# `strata ci --compose` and `strata compose build --push` do the same per
# service.
. "$(dirname "$0")/lib.sh"
require_builder
command -v docker-registry >/dev/null || test_skip_all "docker-registry not installed"

start_strata_registry
start_docker_registry
SLOG="$TRASH/strata-registry.log"
DLOG="$TRASH/docker-registry.log"
log_mark() { stat -c %s "$1" >"$1.mark"; }
log_since() { tail -c +$(( $(cat "$1.mark") + 1 )) "$1"; }
strata_log_bytes() {
    log_since "$1" | sed -n 's/.* in=\([0-9]*\) out=\([0-9]*\) .*/\1 \2/p' | awk '{s += $1 + $2} END {print s + 0}'
}
docker_log_bytes() {
    log_since "$1" | sed -n 's/.*"[A-Z]* \/v2[^"]*" [0-9]* \([0-9]*\) .*/\1/p' | awk '{s += $1} END {print s + 0}'
}
# "N bytes pulled, M bytes pushed" of strata ci's summary, summed
summary_bytes() {
    sed -n 's/.*; \([0-9]*\) bytes pulled, \([0-9]*\) bytes pushed.*/\1 \2/p' "$1" | awk '{s += $1 + $2} END {print s + 0}'
}
MB2=2097152

test_expect_success 'the project: a builder with 30 MB of random data, one line copied' '
    mkdir -p proj && make_busybox_rootfs proj/rootfs &&
    cat >proj/Dockerfile <<-EOF &&
	FROM scratch AS builder
	COPY rootfs/ /
	RUN head -c 31457280 /dev/urandom >/big && echo hello >/msg
	FROM scratch
	COPY rootfs/ /
	COPY --from=builder /msg /msg
	CMD ["cat", "/msg"]
	EOF
    printf "services:\n  web:\n    build: .\n" >proj/compose.yaml
'

for which in strata docker; do
    if [ $which = strata ]; then R=$SREG L=$SLOG; else R=$REG L=$DLOG; fi

    test_expect_success "$which registry: runner A: strata ci exports every stage to app:buildcache" '
        ( cd proj && STRATA_ROOT=$TRASH/A-$which DOCKER_IMAGE_NAME=app REGISTRY_URL=$R REVISION=r BUILD_NUMBER=1 \
            strata ci --progress plain >../id 2>../err ) &&
        cat err &&
        grep "^warning: --cache-from $R/app:buildcache: not found (first build?)" err &&
        grep "^exported cache to $R/app:buildcache,mode=max" err &&
        grep "strata ci: $R/app:r_1 and $R/app:latest pushed: 1 step cached, 3 run" err &&
        curl -sf http://$R/v2/app/tags/list | jq -e ".tags | sort == [\"buildcache\", \"latest\", \"r_1\"]" &&
        curl -sf -H "Accept: application/vnd.oci.image.manifest.v1+json" http://$R/v2/app/manifests/buildcache |
            jq -e ".artifactType == \"application/vnd.strata.cache.v1\" and (.layers | length == 3)"
    '

    test_expect_success "$which registry: runner B (empty store): every step CACHED, under 2 MB" '
        log_mark "$L" &&
        ( cd proj && STRATA_ROOT=$TRASH/B-$which DOCKER_IMAGE_NAME=app REGISTRY_URL=$R REVISION=r BUILD_NUMBER=2 \
            strata ci --progress plain >../id 2>../err ) &&
        cat err && curl -s http://$R/v2/ >/dev/null && sleep 0.3 &&
        grep "^importing cache from $R/app:buildcache: cache artifact, 3 entries" err &&
        test $(grep -c "^#[0-9]* CACHED" err) = 4 && ! grep MISS err && ! grep "fetch layer" err &&
        grep "strata ci: $R/app:r_2 and $R/app:latest pushed: 4 steps cached, 0 run" err &&
        mine=$(summary_bytes err) &&
        if [ $which = strata ]; then moved=$(strata_log_bytes "$L"); else
            moved=$(( $(docker_log_bytes "$L") + $(sed -n "s/.* bytes pulled, \([0-9]*\) bytes pushed.*/\1/p" err) )); fi &&
        echo "# runner B moved $moved bytes (registry log), $mine (strata ci summary)" &&
        test "$moved" -gt 0 && test "$moved" -lt $MB2 && test "$mine" -lt $MB2 &&
        ! log_since "$L" | grep -E "(PATCH|POST) /v2/[^ ]*/blobs/uploads"
    '
done

test_expect_success 'runner B image is right' '
    STRATA_ROOT=$TRASH/B-strata strata run $SREG/app:r_2 >out 2>/dev/null && echo hello >want && cmp want out
'

test_expect_success '--cache-tag none: no artifact, the builder stage reruns on a fresh runner' '
    ( cd proj && STRATA_ROOT=$TRASH/N1 DOCKER_IMAGE_NAME=plain REGISTRY_URL=$SREG REVISION=r BUILD_NUMBER=1 \
        strata ci --progress plain --cache-tag none >../id 2>../err ) &&
    ! grep buildcache err &&
    curl -sf http://$SREG/v2/plain/tags/list | jq -e ".tags | sort == [\"latest\", \"r_1\"]" &&
    ( cd proj && STRATA_ROOT=$TRASH/N2 DOCKER_IMAGE_NAME=plain REGISTRY_URL=$SREG REVISION=r BUILD_NUMBER=2 \
        STRATA_CACHE_TAG=none strata ci --progress plain >../id 2>../err ) &&
    cat err &&
    grep -A1 "builder 3/3\] RUN head" err | grep MISS &&
    grep "pushed: 3 steps cached, 1 run" err
'

test_expect_success 'STRATA_CACHE_TAG picks another tag' '
    ( cd proj && STRATA_ROOT=$TRASH/T1 DOCKER_IMAGE_NAME=app REGISTRY_URL=$SREG REVISION=r BUILD_NUMBER=3 \
        STRATA_CACHE_TAG=ci-cache strata ci --progress plain >../id 2>../err ) &&
    grep "^exported cache to $SREG/app:ci-cache,mode=max" err &&
    test_exit_code 6 env DOCKER_IMAGE_NAME=app REGISTRY_URL=$SREG REVISION=r BUILD_NUMBER=3 \
        "$STRATA_BIN" ci --cache-tag latest proj
'

test_expect_success 'strata ci --compose: runner B of the service is all CACHED, under 2 MB' '
    ( cd proj && STRATA_ROOT=$TRASH/CA REGISTRY_URL=$SREG REVISION=r BUILD_NUMBER=1 strata ci --compose 2>../err ) &&
    grep "^web | exported cache to $SREG/proj-web:buildcache,mode=max" err &&
    log_mark "$SLOG" &&
    ( cd proj && STRATA_ROOT=$TRASH/CB REGISTRY_URL=$SREG REVISION=r BUILD_NUMBER=2 strata ci --compose 2>../err ) &&
    cat err && curl -s http://$SREG/v2/ >/dev/null && sleep 0.3 &&
    grep "^web | strata: 4 steps cached, 0 run" err && ! grep "fetch layer" err &&
    moved=$(strata_log_bytes "$SLOG") && echo "# moved $moved" && test "$moved" -lt $MB2
'

test_expect_success 'strata compose build --push: the same with the image: of the service' '
    printf "services:\n  web:\n    image: $SREG/cweb:1\n    build: .\n" >proj/compose.yaml &&
    ( cd proj && STRATA_ROOT=$TRASH/DA strata compose build --push 2>../err ) &&
    grep "^web | exported cache to $SREG/cweb:buildcache,mode=max" err &&
    log_mark "$SLOG" &&
    ( cd proj && STRATA_ROOT=$TRASH/DB strata compose build --push 2>../err ) &&
    cat err && curl -s http://$SREG/v2/ >/dev/null && sleep 0.3 &&
    grep "^web | strata: 4 steps cached, 0 run" err && ! grep "fetch layer" err &&
    moved=$(strata_log_bytes "$SLOG") && echo "# moved $moved" && test "$moved" -lt $MB2 &&
    ( cd proj && strata compose build --push --dry-run --cache-tag none >../out 2>/dev/null ) &&
    ! grep buildcache out
'

test_done

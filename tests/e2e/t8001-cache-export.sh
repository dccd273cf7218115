#!/bin/sh
# t8001: --cache-to export (strata cache-debug export): the artifact (an OCI
# image manifest with artifactType application/vnd.strata.cache.v1) pushes
# to strata registry and Debian's docker-registry, skopeo reads it, and
# --cache-from imports it back (mode=min and mode=max). Layers already in
# the target registry are mounted, never re-uploaded.
. "$(dirname "$0")/lib.sh"
command -v skopeo >/dev/null || test_skip_all "skopeo not installed"
command -v docker-registry >/dev/null || test_skip_all "docker-registry not installed"
. "$TEST_DIR/helpers/cache-fixture.sh"

start_strata_registry
start_docker_registry
SLOG="$TRASH/strata-registry.log"
DLOG="$TRASH/docker-registry.log"

test_expect_success 'fixture images pushed with skopeo to both registries' '
    fixture_push "$SREG" && fixture_push "$REG"
'

for which in strata docker; do
    if [ $which = strata ]; then R=$SREG; else R=$REG; fi

    test_expect_success "$which registry: mode=max exports every stage; layers mounted, not uploaded" '
        strata cache-debug export --to "$R/cache:max,mode=max" "$R/app:latest" >out 2>err &&
        cat out err &&
        grep "^exported: sha256:[0-9a-f]* present=0 mounted=3 uploaded=1 fetched=0 " out &&
        skopeo inspect --raw --tls-verify=false "docker://$R/cache:max" >raw &&
        jq -e ".artifactType == \"application/vnd.strata.cache.v1\"" raw &&
        jq -e ".mediaType == \"application/vnd.oci.image.manifest.v1+json\"" raw &&
        jq -e ".config.mediaType == \"application/vnd.strata.cache.config.v1+json\"" raw &&
        jq -e ".layers | length == 3" raw &&
        strata cache-debug inspect "$R/cache:max" >out 2>err &&
        grep "^importing cache from $R/cache:max: cache artifact, 3 entries" err &&
        grep "^$K1 stage=0 pos=0 line=2 layer=$LA " out &&
        grep "^$K2 stage=0 pos=1 line=3 layer=$LB " out &&
        grep "^$K3 stage=1 pos=0 line=6 layer=$LC " out
    '

    test_expect_success "$which registry: mode=min exports the final stage only (same repository: HEAD finds the layer)" '
        strata cache-debug export --to "$R/app:cache-min" "$R/app:latest" >out 2>err &&
        grep "^exported: .* present=1 mounted=0 uploaded=1 fetched=0 " out &&
        skopeo inspect --raw --tls-verify=false "docker://$R/app:cache-min" | jq -e ".layers | length == 1" &&
        strata cache-debug inspect "$R/app:cache-min" >out 2>err &&
        grep "^importing cache from $R/app:cache-min: cache artifact, 1 entries" err &&
        grep "^$K3 stage=1 pos=0 line=6 layer=$LC " out
    '

    test_expect_success "$which registry: exporting again finds everything present" '
        strata cache-debug export --to "$R/cache:max,mode=max" "$R/app:latest" >out 2>err &&
        grep "^exported: .* present=4 mounted=0 uploaded=0 fetched=0 bytes_uploaded=0" out
    '

    test_expect_success "$which registry: the artifact as a source explains misses" '
        now=$(jq -nc --arg k "$K1" "{parent:\$k,insn:\"RUN make\",args:{VERSION:\"2.0\"}}") &&
        strata cache-debug explain --stage 0 --pos 1 --inputs "$now" "$R/cache:max" >out 2>/dev/null &&
        grep -x "MISS: build arg VERSION changed (cache: $R/cache:max)" out
    '
done

test_expect_success 'export to another registry: layers fetched from the source, then uploaded' '
    strata cache-debug export --to "$REG/other:cache,mode=max" "$SREG/app:latest" >out 2>err &&
    cat out err &&
    grep "^exported: .* present=0 mounted=0 uploaded=4 fetched=3 " out &&
    skopeo inspect --raw --tls-verify=false "docker://$REG/other:cache" | jq -e ".layers | length == 3" &&
    strata cache-debug inspect "$REG/other:cache" >out 2>err &&
    grep "cache artifact, 3 entries" err
'

test_expect_success 'an unknown mode is a usage error' '
    test_exit_code 2 strata cache-debug export --to "$SREG/app:c,mode=huge" "$SREG/app:latest" >out 2>err &&
    grep "mode must be min or max" err
'

test_expect_success 'export to an unreachable registry fails naming it' '
    P=$(free_port) &&
    test_must_fail strata cache-debug export --to "127.0.0.1:$P/app:cache" "$SREG/app:latest" >out 2>err &&
    grep "cache-to 127.0.0.1:$P/app:cache" err
'

test_expect_success 'registry stops cleanly' '
    stop_strata_registry
'
test_done

#!/bin/sh
# t8002: lazy layers. An image whose layers are cache hits lives in the local
# store as manifest + config, its layers recorded as remote
# (.strata/blob-locations.json); pushing it to another repository of the same
# registry moves no layer byte (cross-repo mount, or HEAD), checked at the
# registry's access log; a layer is downloaded only when asked for.
. "$(dirname "$0")/lib.sh"
command -v skopeo >/dev/null || test_skip_all "skopeo not installed"
command -v docker-registry >/dev/null || test_skip_all "docker-registry not installed"
. "$TEST_DIR/helpers/cache-fixture.sh"

start_strata_registry
start_docker_registry
SLOG="$TRASH/strata-registry.log"
DLOG="$TRASH/docker-registry.log"
log_mark() { stat -c %s "$1" >"$1.mark"; }
log_since() { sleep 0.2; tail -c +$(( $(cat "$1.mark") + 1 )) "$1"; }
layer_hexes() { printf '%s\n' "${LA#sha256:}" "${LB#sha256:}" "${LC#sha256:}"; }

test_expect_success 'fixture images pushed with skopeo to both registries' '
    fixture_push "$SREG" && fixture_push "$REG"
'

for which in strata docker; do
    if [ $which = strata ]; then R=$SREG L=$SLOG; else R=$REG L=$DLOG; fi

    test_expect_success "$which registry: adopt keeps manifest + config, layers remote" '
        log_mark "$L" &&
        strata cache-debug adopt "$R/app:latest" "local/$which:hit" >out &&
        for h in $(layer_hexes); do test ! -e "$STRATA_ROOT/blobs/sha256/$h" || return 1; done &&
        jq -e --arg d "$LA" --arg r "$R" ".[\$d].at[-1].host == \$r and .[\$d].at[-1].repo == \"app\"" \
            "$STRATA_ROOT/.strata/blob-locations.json" &&
        log_since "$L" >log &&
        ! blob_gets log | grep -F -f "$(layer_hexes >hexes; echo hexes)"
    '

    test_expect_success "$which registry: pushing to another repository mounts every layer" '
        log_mark "$L" &&
        strata cache-debug push "local/$which:hit" "$R/team/app:v2" >out &&
        cat out &&
        grep "^pushed: sha256:[0-9a-f]* present=0 mounted=3 uploaded=1 fetched=0 " out &&
        log_since "$L" >log &&
        ! blob_gets log | grep -F -f hexes &&
        test $(grep -cE "POST /v2/team/app/blobs/uploads/[^\"]*\" 201" log) = 3 &&
        test $(grep -cE "(PUT|PATCH) /v2/team/app/blobs/uploads/" log) = 1 &&
        for h in $(layer_hexes); do test ! -e "$STRATA_ROOT/blobs/sha256/$h" || return 1; done &&
        skopeo inspect --tls-verify=false "docker://$R/team/app:v2" >insp &&
        jq -e ".Layers | length == 3" insp
    '

    test_expect_success "$which registry: pushing where the layers are finds them by HEAD" '
        log_mark "$L" &&
        strata cache-debug push "local/$which:hit" "$R/app:again" >out &&
        grep "^pushed: .* present=4 mounted=0 uploaded=0 fetched=0 bytes_uploaded=0" out &&
        log_since "$L" >log &&
        ! blob_gets log | grep -F -f hexes
    '
done

test_expect_success 'fetch downloads the remote layers, verified, on demand only' '
    strata cache-debug fetch local/strata:hit >out &&
    grep "^fetched: 3 layers" out &&
    for d in $LA $LB $LC; do
        h=${d#sha256:} &&
        test "$(sha256sum <"$STRATA_ROOT/blobs/sha256/$h" | cut -d" " -f1)" = "$h" || return 1
    done &&
    strata cache-debug fetch local/strata:hit >out &&
    grep "^fetched: 0 layers" out
'

test_expect_success 'push to another registry: remote layers fetched from their source, then uploaded' '
    rm -rf "$STRATA_ROOT" &&
    strata cache-debug adopt "$SREG/app:latest" local/x:hit >/dev/null &&
    strata cache-debug push local/x:hit "$REG/elsewhere:v1" >out &&
    cat out &&
    grep "^pushed: .* mounted=0 uploaded=4 fetched=3 " out &&
    skopeo inspect --tls-verify=false "docker://$REG/elsewhere:v1" | jq -e ".Layers | length == 3"
'

test_expect_success 'a layer known nowhere is an error naming the blob' '
    rm -rf "$STRATA_ROOT" &&
    strata cache-debug adopt "$SREG/app:latest" local/y:hit >/dev/null &&
    rm "$STRATA_ROOT/.strata/blob-locations.json" &&
    test_must_fail strata cache-debug push local/y:hit "$REG/nowhere:v1" >out 2>err &&
    grep "neither in the store nor known remotely" err
'

test_expect_success 'a source that lost the layer: the fetch fails, nothing is committed' '
    rm -rf "$STRATA_ROOT" &&
    strata cache-debug adopt "$SREG/app:latest" local/z:hit >/dev/null &&
    jq --arg d "$LA" ".[\$d].at[-1].repo = \"plain-missing\"" "$STRATA_ROOT/.strata/blob-locations.json" >rb &&
    cp rb "$STRATA_ROOT/.strata/blob-locations.json" &&
    test_must_fail strata cache-debug fetch local/z:hit >out 2>err &&
    grep "fetch $SREG/plain-missing@$LA" err &&
    test ! -e "$STRATA_ROOT/blobs/sha256/${LA#sha256:}"
'

test_expect_success 'registry stops cleanly' '
    stop_strata_registry
'
test_done

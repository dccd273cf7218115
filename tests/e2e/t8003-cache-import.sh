#!/bin/sh
# t8003: --cache-from import (strata cache-debug inspect): reads manifests and
# configs only, from strata registry and Debian's docker-registry; images
# without metadata give a note; missing, unreachable and unauthorised sources
# one warning line each, never an error.
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

# log_mark FILE: remember its size; log_since FILE: what was appended since
log_mark() { stat -c %s "$1" >"$1.mark"; }
log_since() { tail -c +$(( $(cat "$1.mark") + 1 )) "$1"; }

for which in strata docker; do
    if [ $which = strata ]; then R=$SREG L=$SLOG; else R=$REG L=$DLOG; fi

    test_expect_success "$which registry: import reads the inline cache, moves manifest + config only" '
        log_mark "$L" &&
        strata cache-debug inspect "$R/app:latest" >out 2>err &&
        cat out err &&
        grep "^importing cache from $R/app:latest: image, 3 entries" err &&
        test $(grep -c "^sha256:" out) = 3 &&
        grep "^$K1 stage=0 pos=0 line=2 layer=$LA .* source=$R/app:latest insn=COPY src/ /src/" out &&
        grep "^$K2 stage=0 pos=1 line=3 layer=$LB " out &&
        grep "^$K3 stage=1 pos=0 line=6 layer=$LC " out &&
        grep "^moved: .* blob_bytes_down=$APP_CONFIG_SIZE\$" out &&
        down=$(sed -n "s/^moved: .* bytes_down=\([0-9]*\) .*/\1/p" out) &&
        test "$down" -ge $((APP_CONFIG_SIZE + APP_MANIFEST_SIZE)) &&
        test "$down" -lt $((APP_CONFIG_SIZE + APP_MANIFEST_SIZE + 2048)) &&
        sleep 0.2 && log_since "$L" >log &&
        blob_gets log >gets &&
        test $(wc -l <gets) = 1 &&
        ! grep -e "${LA#sha256:}" -e "${LB#sha256:}" -e "${LC#sha256:}" gets
    '

    test_expect_success "$which registry: an image strata did not build gives a note, no entries" '
        strata cache-debug inspect "$R/plain:latest" >out 2>err &&
        test "$(cat err)" = "note: --cache-from $R/plain:latest: no strata cache metadata (image not built by strata)" &&
        ! grep "^sha256:" out
    '

    test_expect_success "$which registry: a missing tag is one warning line, exit 0" '
        strata cache-debug inspect "$R/app:nope" >out 2>err &&
        test "$(cat err)" = "warning: --cache-from $R/app:nope: not found (first build?)" &&
        strata cache-debug inspect "$R/never/pushed:latest" >out 2>err &&
        test "$(cat err)" = "warning: --cache-from $R/never/pushed:latest: not found (first build?)"
    '
done

test_expect_success 'several sources: the first holding a key wins, failures do not stop the rest' '
    strata cache-debug inspect "$SREG/app:nope" "$SREG/plain:latest" "$REG/app:latest" "$SREG/app:latest" >out 2>err &&
    test $(wc -l <err) = 4 &&
    grep "^warning: --cache-from $SREG/app:nope: not found" err &&
    grep "^note: --cache-from $SREG/plain:latest" err &&
    test $(grep -c "^sha256:" out) = 6 &&
    grep "^$K1 .* source=$REG/app:latest " out
'

test_expect_success 'an unreachable registry is one warning line, exit 0' '
    P=$(free_port) &&
    strata cache-debug inspect "127.0.0.1:$P/app:latest" >out 2>err &&
    cat err &&
    test $(wc -l <err) = 1 &&
    grep "^warning: --cache-from 127.0.0.1:$P/app:latest: unreachable: " err
'

command -v htpasswd >/dev/null && htpasswd -B -b -c "$TRASH/htpasswd" alice secret1 2>/dev/null
SREG_ROOT="$TRASH/registry-auth"
SAVED_SREG=$SREG SAVED_PID=$SREG_PID
start_strata_registry --htpasswd "$TRASH/htpasswd"
AREG=$SREG
SREG=$SAVED_SREG SREG_PID=$SAVED_PID

test_expect_success 'an unauthorised source is one warning line, exit 0' '
    strata cache-debug inspect "$AREG/app:latest" >out 2>err &&
    cat err &&
    test $(wc -l <err) = 1 &&
    grep "^warning: --cache-from $AREG/app:latest: unauthorized: " err
'

test_expect_success 'malformed cache metadata is a warning naming the field' '
    bad=$(jq -nc --arg k "$K1" "[{key:\$k, layer:7}]") &&
    make_cached_oci_image "$TRASH/bad" bad "$bad" "$FIX/la.tgz" &&
    skopeo copy -q --dest-tls-verify=false "oci:$TRASH/bad:bad" "docker://$SREG/bad:latest" &&
    strata cache-debug inspect "$SREG/bad:latest" >out 2>err &&
    cat err &&
    grep "^warning: --cache-from $SREG/bad:latest: .*strata.cache.v1.steps\[0\]: layer 7 out of range (the image has 1)" err
'

test_expect_success 'an invalid reference is a usage error' '
    test_exit_code 2 strata cache-debug inspect "Bad Ref" 2>err &&
    grep "cache-from" err
'

test_expect_success 'an index: the host platform manifest is selected' '
    skopeo copy -q --dest-tls-verify=false --format oci "oci:$FIX/layout:app" "docker://$SREG/multi:one" &&
    D=$(skopeo inspect --raw --tls-verify=false "docker://$SREG/multi:one" | sha256sum | cut -d" " -f1) &&
    S=$(skopeo inspect --raw --tls-verify=false "docker://$SREG/multi:one" | wc -c) &&
    jq -nc --arg d "sha256:$D" --argjson s "$S" \
      "{schemaVersion:2,mediaType:\"application/vnd.oci.image.index.v1+json\",manifests:[{mediaType:\"application/vnd.oci.image.manifest.v1+json\",digest:\$d,size:\$s,platform:{os:\"linux\",architecture:\"amd64\"}}]}" >idx &&
    curl -sf -X PUT -H "Content-Type: application/vnd.oci.image.index.v1+json" --data-binary @idx "http://$SREG/v2/multi/manifests/latest" &&
    strata cache-debug inspect "$SREG/multi:latest" >out 2>err &&
    grep "^importing cache from $SREG/multi:latest: image, 3 entries" err
'

test_expect_success 'an index without the host platform: a warning naming it, not "first build"' '
    sed "s/\"amd64\"/\"s390x\"/" idx >idx2 &&
    curl -sf -X PUT -H "Content-Type: application/vnd.oci.image.index.v1+json" --data-binary @idx2 "http://$SREG/v2/multi/manifests/other" &&
    strata cache-debug inspect "$SREG/multi:other" >out 2>err &&
    cat err &&
    test $(wc -l <err) = 1 &&
    grep "^warning: --cache-from $SREG/multi:other: .*linux/s390x" err &&
    ! grep "first build" err
'

test_expect_success 'explain: names the first differing input and the source' '
    now=$(jq -nc "{parent:\"sha256:0000000000000000000000000000000000000000000000000000000000000000\",insn:\"COPY src/ /src/\",sources:\"s2\",files:{\"src/main.c\":\"sha256:1111111111111111111111111111111111111111111111111111111111111111\"}}") &&
    strata cache-debug explain --stage 0 --pos 0 --inputs "$now" "$SREG/app:latest" >out && cat out &&
    grep -x "MISS: src/main.c changed (cache: $SREG/app:latest)" out &&
    now=$(jq -nc --arg k "$K1" "{parent:\$k,insn:\"RUN make\",args:{VERSION:\"1.1\"}}") &&
    strata cache-debug explain --stage 0 --pos 1 --inputs "$now" "$SREG/app:latest" >out && cat out &&
    grep -x "MISS: build arg VERSION changed (cache: $SREG/app:latest)" out &&
    strata cache-debug explain --stage 0 --pos 1 --parent-missed --inputs "$now" "$SREG/app:latest" >out && cat out &&
    grep -x "MISS: parent step missed (cache: $SREG/app:latest)" out &&
    now=$(jq -nc --arg k "$K1" "{parent:\$k,insn:\"RUN make all\"}") &&
    strata cache-debug explain --stage 0 --pos 1 --inputs "$now" "$SREG/app:latest" >out && cat out &&
    grep -x "MISS: instruction changed (cache: $SREG/app:latest)" out &&
    strata cache-debug explain --stage 0 --pos 9 --inputs "$now" "$SREG/app:latest" >out && cat out &&
    grep -x "MISS: no cache entry" out
'

test_expect_success 'registries stop cleanly' '
    stop_strata_registry
'
test_done

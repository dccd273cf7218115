#!/bin/sh
# The registry client against strata's own registry server (registry serve):
# images both ways, chunked uploads, mounts, tags, htpasswd + login, errors.
. "$(dirname "$0")/lib.sh"

"$STRATA_BIN" registry serve --help >/dev/null 2>&1 || test_skip_all "no registry server in this build"
command -v htpasswd >/dev/null || test_skip_all "htpasswd not installed"
DRV="$STRATA_BUILD/tests/test_registry_driver"
MKIMAGE="$TEST_DIR/helpers/mkimage.py"
export STRATA_RETRY_BASE_MS=20
htpasswd -Bbn alice s3cret >"$TRASH/htpasswd"
start_strata_registry --htpasswd "$TRASH/htpasswd"
REG=$SREG

test_expect_success 'anonymous push is refused in one line' '
    python3 "$MKIMAGE" img v1 --layers 3 --size 50000 >digest &&
    test_must_fail "$DRV" push-layout img v1 "$REG/app:v1" 2>err &&
    test "$(wc -l <err)" = 1 &&
    grep "^driver: error: push $REG/app:v1: .*UNAUTHORIZED" err
'

test_expect_success 'login, then push and pull an image' '
    echo s3cret | strata login -u alice --password-stdin "$REG" &&
    "$DRV" push-layout img v1 "$REG/app:v1" >out &&
    grep "^$(cat digest) moved=4" out &&
    "$DRV" pull-layout "$REG/app:v1" p >out &&
    grep "^$(cat digest) moved=4" out
'

test_expect_success 'skopeo sees what strata pushed' '
    skopeo inspect --authfile "$DOCKER_CONFIG/config.json" --tls-verify=false "docker://$REG/app:v1" | jq -r .Digest >sk &&
    test "$(cat sk)" = "$(cat digest)"
'

test_expect_success 'chunked upload and cross-repo mount' '
    head -c 300000 /dev/urandom >b &&
    STRATA_CHUNK_SIZE=70000 "$DRV" push-blob "$REG" chunky b >out &&
    grep uploaded out &&
    "$DRV" push-blob "$REG" mounted b chunky >out &&
    grep mounted out
'

test_expect_success 'tags and unknown tag' '
    "$DRV" tags "$REG" app >tags &&
    grep "^v1$" tags &&
    test_must_fail "$DRV" pull-layout "$REG/app:nope" x 2>err &&
    grep "^driver: error: pull $REG/app:nope: MANIFEST_UNKNOWN" err
'

test_expect_success 'strata pull and push with the store, authenticated' '
    strata pull -q "$REG/app:v1" >pd &&
    test "$(cat pd)" = "$(cat digest)" &&
    strata push -q "$REG/app:v1" "$REG/other/app:v2" >d2 &&
    test "$(cat d2)" = "$(cat digest)"
'

test_expect_success 'a push to a digest that is not the image'"'"'s fails before any upload' '
    bad=sha256:$(printf "%064d" 0) &&
    : >"$TRASH/strata-registry.log" &&
    test_exit_code 2 strata push -q "$REG/app:v1" "$REG/third/app@$bad" 2>err &&
    grep "push $REG/third/app@$bad: the destination names digest $bad but the image.s manifest is $(cat digest)" err &&
    curl -s -o /dev/null "http://$REG/v2/sentinel-digest/tags/list" &&
    wait_log "$TRASH/strata-registry.log" "sentinel-digest" &&
    ! grep -q "uploads" "$TRASH/strata-registry.log" &&
    strata push -q "$REG/app:v1" "$REG/third/app@$(cat digest)" >d3 &&
    test "$(cat d3)" = "$(cat digest)"
'

test_expect_success 'parallel transfers share one https probe of a plain-http registry' '
    # each probe that falls back to http says so at debug level
    STRATA_LOG=debug strata push -q -j 4 "$REG/app:v1" "$REG/third/app:v1" >/dev/null 2>dbg &&
    test "$(grep -c "https failed .*using http" dbg)" = 1
'

test_expect_success 'logout, then pulls are refused' '
    strata logout "$REG" &&
    test_must_fail "$DRV" pull-layout "$REG/app:v1" y 2>err &&
    grep UNAUTHORIZED err &&
    test_exit_code 1 strata push "$REG/app:v1" "$REG/app:v3" 2>err &&
    test "$(wc -l <err)" = 1 &&
    grep "^strata: error: push $REG/app:v3: registry $REG refused anonymous access: no credentials were sent (none for $REG in $DOCKER_CONFIG/config.json (\$DOCKER_CONFIG)): UNAUTHORIZED: authentication required; run .strata login $REG.$" err
'

test_done

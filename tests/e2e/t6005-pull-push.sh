#!/bin/sh
# strata pull / push with the local store against docker-registry: round
# trips, skopeo interop both ways, skipping, mounts, errors, resumable pulls.
. "$(dirname "$0")/lib.sh"

command -v docker-registry >/dev/null || test_skip_all "docker-registry not installed"
MKIMAGE="$TEST_DIR/helpers/mkimage.py"
export STRATA_RETRY_BASE_MS=20
start_docker_registry || test_skip_all "docker-registry did not start"
spawn python3 "$TEST_DIR/helpers/faultproxy.py" "$TRASH/proxy" "$REG_PORT"
n=100; until [ -s "$TRASH/proxy" ] || [ $n = 0 ]; do sleep 0.1; n=$((n - 1)); done
PROXY="127.0.0.1:$(cat "$TRASH/proxy")"
# a second proxy that cuts the first two long downloads
spawn env CUTS=2 CUT_AFTER=300000 python3 "$TEST_DIR/helpers/faultproxy.py" "$TRASH/cutproxy" "$REG_PORT"
n=100; until [ -s "$TRASH/cutproxy" ] || [ $n = 0 ]; do sleep 0.1; n=$((n - 1)); done
CUTPROXY="127.0.0.1:$(cat "$TRASH/cutproxy")"

test_expect_success 'import an image and push it; the digest is printed' '
    make_busybox_tar bb.tar &&
    strata import bb.tar "$REG/bb:v1" >id &&
    strata push "$REG/bb:v1" >digest 2>err &&
    grep "^sha256:[0-9a-f]\{64\}$" digest &&
    skopeo inspect --tls-verify=false "docker://$REG/bb:v1" | jq -r .Digest >sk &&
    test "$(cat sk)" = "$(cat digest)"
'

test_expect_success 'a second push skips every blob' '
    strata push "$REG/bb:v1" >d2 2>err &&
    test "$(cat d2)" = "$(cat digest)" &&
    grep "pushed 0 blobs" err
'

test_expect_success 'push to another repository mounts the blobs' '
    strata push "$REG/bb:v1" "$REG/copy/bb:v1" >d3 2>err &&
    test "$(cat d3)" = "$(cat digest)" &&
    grep "2 mounted" err
'

test_expect_success 'skopeo copies out what strata pushed, byte for byte (uncompressed layers kept as they are)' '
    skopeo copy -q --preserve-digests --src-tls-verify=false "docker://$REG/bb:v1" oci:skout:v1 &&
    jq -r ".manifests[0].digest" skout/index.json >skd &&
    test "$(cat skd)" = "$(cat digest)"
'

test_expect_success 'pull into a fresh store; the tag points at the same digest' '
    STRATA_ROOT="$TRASH/root2" strata pull -q "$REG/bb:v1" >pd &&
    test "$(cat pd)" = "$(cat digest)" &&
    STRATA_ROOT="$TRASH/root2" strata images >imgs &&
    grep "bb" imgs
'

test_expect_success 'skopeo pushes, strata pulls: digests equal' '
    want=$(python3 "$MKIMAGE" img s1 --layers 3 --size 400000) &&
    skopeo copy -q --dest-tls-verify=false oci:img:s1 "docker://$REG/sk:s1" &&
    strata pull "$REG/sk:s1" >out 2>err &&
    grep "^Digest: $want$" out &&
    strata inspect "$REG/sk:s1" >/dev/null
'

test_expect_success 'pull again moves nothing' '
    strata pull "$REG/sk:s1" >out &&
    grep "pulled 0 blobs" out
'

test_expect_success 'a pull through connections cut mid-blob resumes' '
    STRATA_ROOT="$TRASH/root3" strata pull -q "$CUTPROXY/sk:s1" >pd 2>err &&
    test "$(cat pd)" = "$(python3 -c "import json; print(json.load(open(\"img/index.json\"))[\"manifests\"][0][\"digest\"])")" &&
    test "$(grep -c cut "$TRASH/cutproxy.log")" = 2
'

test_expect_success 'pull --platform picks from an index' '
    top=$(python3 "$MKIMAGE" multi m1 --index --layers 1 --size 3000) &&
    skopeo copy -q --all --preserve-digests --dest-tls-verify=false oci:multi:m1 "docker://$REG/multi:m1" &&
    arm=$(jq -r ".manifests[] | select(.platform.architecture == \"arm64\") | .digest" "multi/blobs/sha256/${top#sha256:}") &&
    strata pull -q --platform linux/arm64 "$REG/multi:m1" >pd &&
    test "$(cat pd)" = "$arm" &&
    test_exit_code 1 strata pull --platform linux/s390x "$REG/multi:m1" 2>err &&
    grep "no manifest for platform .linux/s390x. (available: linux/amd64, linux/arm64)" err
'

test_expect_success 'progress: plain lines in logs, bars on a terminal' '
    STRATA_ROOT="$TRASH/root4" strata pull "$REG/sk:s1" >out 2>err &&
    grep "^sha256:[0-9a-f]\{12\}: done (400.[0-9] kB)$" err &&
    ! grep "$(printf "\033")" err &&
    STRATA_ROOT="$TRASH/root5" TERM=xterm script -qec "$STRATA_BIN pull $REG/sk:s1" /dev/null >tty.out &&
    grep -q "$(printf "\033")\[K" tty.out &&
    grep -q "\[==============================\]" tty.out
'

test_expect_success 'unknown tag: one line' '
    test_exit_code 1 strata pull "$REG/sk:nope" 2>err &&
    test "$(wc -l <err)" = 1 &&
    grep "^strata: error: pull $REG/sk:nope: MANIFEST_UNKNOWN: manifest unknown$" err
'

test_expect_success 'unknown repository: one line' '
    test_exit_code 1 strata pull "$REG/no/such:v1" 2>err &&
    test "$(wc -l <err)" = 1 &&
    grep "^strata: error: pull $REG/no/such:v1: .*UNKNOWN" err
'

test_expect_success 'push of an image that is not in the store' '
    test_exit_code 1 strata push "$REG/absent:v1" 2>err &&
    grep "push $REG/absent:v1" err
'

test_expect_success 'usage errors' '
    test_exit_code 2 strata pull &&
    test_exit_code 2 strata pull --platform linux "$REG/sk:s1" &&
    test_exit_code 2 strata push &&
    test_exit_code 2 strata push -j 0 "$REG/bb:v1"
'

test_expect_success '--parallel takes a whole number from 1 to 64, nothing else' '
    for v in 0 5x 65 -1 "" " 5" 1e1 99999999999999999999; do
        test_exit_code 2 strata pull --parallel "$v" "$REG/bb:v1" 2>err &&
        grep "strata pull: --parallel must be between 1 and 64, not .$v." err &&
        test_exit_code 2 strata push -j "$v" "$REG/bb:v1" 2>err &&
        grep "strata push: --parallel must be between 1 and 64, not .$v." err || exit 1
    done &&
    STRATA_ROOT="$TRASH/root3" strata pull -q --parallel 1 "$REG/bb:v1" >pd3 &&
    test "$(cat pd3)" = "$(cat digest)" &&
    strata push -q --parallel 64 "$REG/bb:v1" >d4 &&
    test "$(cat d4)" = "$(cat digest)"
'

test_done

#!/bin/sh
# registry client against Debian's docker-registry: blobs, manifests, tags,
# whole images both ways, interop with skopeo, one-line errors.
. "$(dirname "$0")/lib.sh"

command -v docker-registry >/dev/null || test_skip_all "docker-registry not installed"
DRV="$STRATA_BUILD/tests/test_registry_driver"
MKIMAGE="$TEST_DIR/helpers/mkimage.py"
start_docker_registry || test_skip_all "docker-registry did not start"
export STRATA_RETRY_BASE_MS=20

test_expect_success 'ping' '
    "$DRV" ping "$REG"
'

test_expect_success 'monolithic upload, HEAD, verified download' '
    head -c 300000 /dev/urandom >b1 &&
    d=sha256:$(sha256sum b1 | cut -d" " -f1) &&
    "$DRV" push-blob "$REG" app b1 >out &&
    grep "^$d uploaded$" out &&
    "$DRV" exists "$REG" app "$d" >out &&
    grep "^yes 300000$" out &&
    "$DRV" get-blob "$REG" app "$d" 300000 got &&
    cmp b1 got
'

test_expect_success 'chunked upload (PATCH with Content-Range)' '
    head -c 250001 /dev/urandom >b2 &&
    d=sha256:$(sha256sum b2 | cut -d" " -f1) &&
    STRATA_CHUNK_SIZE=65536 "$DRV" push-blob "$REG" chunky b2 >out &&
    grep uploaded out &&
    curl -sf "http://$REG/v2/chunky/blobs/$d" >got &&
    cmp b2 got &&
    : >empty &&
    STRATA_CHUNK_SIZE=65536 "$DRV" push-blob "$REG" chunky empty
'

test_expect_success 'cross-repo mount' '
    d=sha256:$(sha256sum b1 | cut -d" " -f1) &&
    "$DRV" push-blob "$REG" other b1 app >out &&
    grep "mounted$" out &&
    "$DRV" exists "$REG" other "$d" | grep yes
'

test_expect_success 'mount from a repository without the blob falls back to an upload' '
    head -c 1000 /dev/urandom >b3 &&
    "$DRV" push-blob "$REG" third b3 app >out &&
    grep "uploaded$" out
'

test_expect_success 'a wrong size or digest is refused and nothing is kept' '
    d=sha256:$(sha256sum b1 | cut -d" " -f1) &&
    test_must_fail "$DRV" get-blob "$REG" app "$d" 299999 bad 2>err &&
    grep "larger than" err &&
    test ! -e bad && test ! -e bad.part
'

test_expect_success 'whole image push, skopeo reads the same digest' '
    want=$(python3 "$MKIMAGE" img v1 --layers 3 --size 20000) &&
    "$DRV" push-layout img v1 "$REG/app:v1" >out &&
    grep "^$want moved=4 skipped=0" out &&
    skopeo inspect --tls-verify=false "docker://$REG/app:v1" | jq -r .Digest >sk &&
    test "$(cat sk)" = "$want" &&
    skopeo copy -q --src-tls-verify=false "docker://$REG/app:v1" oci:skout:v1 &&
    python3 -c "import json,sys; print(json.load(open(\"skout/index.json\"))[\"manifests\"][0][\"digest\"])" >skd &&
    test "$(cat skd)" = "$want"
'

test_expect_success 'second push skips every blob' '
    "$DRV" push-layout img v1 "$REG/app:v1" >out &&
    grep "moved=0 skipped=4" out
'

test_expect_success 'push to another repository mounts the blobs recorded as seen' '
    export STRATA_SEEN_FILE="$TRASH/seen.json" &&
    "$DRV" push-layout img v1 "$REG/app:v1" >out &&
    grep "moved=0 skipped=4" out &&
    jq -e "[.[] | select(.at | any(.host == \"$REG\" and .repo == \"app\"))] | length == 4" seen.json &&
    "$DRV" push-layout img v1 "$REG/copy:v1" >out &&
    grep "moved=0 skipped=0 mounted=4" out &&
    jq -e "[.[] | .at | any(.host == \"$REG\" and .repo == \"copy\")] | all" seen.json
'

test_expect_success 'skopeo pushes, strata pulls: same digest, blobs verified' '
    want=$(python3 "$MKIMAGE" img2 s1 --layers 2 --size 30000 --seed other) &&
    skopeo copy -q --dest-tls-verify=false oci:img2:s1 "docker://$REG/sk:s1" &&
    "$DRV" pull-layout "$REG/sk:s1" pulled >out &&
    grep "^$want moved=3" out &&
    (cd pulled/blobs/sha256 && for f in *; do test "$(sha256sum "$f" | cut -d" " -f1)" = "$f" || exit 1; done) &&
    skopeo inspect oci:pulled:s1 | jq -r .Digest >d2 &&
    test "$(cat d2)" = "$want"
'

test_expect_success 'a pull of what is present moves nothing' '
    "$DRV" pull-layout "$REG/sk:s1" pulled >out &&
    grep "moved=0 skipped=3" out
'

test_expect_success 'manifest by digest, HEAD, PUT' '
    d=$(cat sk) &&
    "$DRV" get-manifest "$REG" app "$d" m.json >out &&
    grep "^$d application/vnd.oci.image.manifest.v1+json$" out &&
    "$DRV" head-manifest "$REG" app v1 >out &&
    grep "^$d " out &&
    "$DRV" put-manifest "$REG" app v2 application/vnd.oci.image.manifest.v1+json m.json >out &&
    grep "^$d$" out
'

test_expect_success 'index: push, then pull picks the platform' '
    top=$(python3 "$MKIMAGE" multi m1 --index --layers 1 --size 5000) &&
    "$DRV" push-layout multi m1 "$REG/multi:m1" >out &&
    grep "^$top " out &&
    "$DRV" pull-layout "$REG/multi:m1" p64 linux/arm64 >out &&
    amd=$(python3 -c "import json; print([m for m in json.load(open(\"multi/blobs/sha256/${top#sha256:}\"))[\"manifests\"] if m[\"platform\"][\"architecture\"]==\"arm64\"][0][\"digest\"])") &&
    grep "^$amd " out &&
    test_must_fail "$DRV" pull-layout "$REG/multi:m1" p2 windows/amd64 2>err &&
    grep "no manifest for platform .windows/amd64. (available: linux/amd64, linux/arm64)" err
'

test_expect_success 'tag list (docker-registry 2.8 does not paginate; see t6002)' '
    for t in a b c d e; do
        "$DRV" put-manifest "$REG" app "$t" application/vnd.oci.image.manifest.v1+json m.json >/dev/null || exit 1
    done &&
    STRATA_TAGS_PAGE_SIZE=2 "$DRV" tags "$REG" app >tags &&
    test "$(sort tags | tr "\n" " ")" = "a b c d e v1 v2 "
'

test_expect_success 'unknown tag: one line naming the operation, registry, repository and code' '
    test_must_fail "$DRV" pull-layout "$REG/app:nope" x 2>err &&
    test "$(wc -l <err)" = 1 &&
    grep "^driver: error: pull $REG/app:nope: MANIFEST_UNKNOWN: manifest unknown$" err
'

test_expect_success 'unknown repository' '
    test_must_fail "$DRV" tags "$REG" nosuch 2>err &&
    grep "NAME_UNKNOWN: repository name not known to registry" err &&
    test_must_fail "$DRV" pull-layout "$REG/nosuch/repo:v1" x 2>err &&
    grep "^driver: error: pull $REG/nosuch/repo:v1: " err
'

test_expect_success 'unknown blob' '
    test_must_fail "$DRV" get-blob "$REG" app sha256:0000000000000000000000000000000000000000000000000000000000000000 0 x 2>err &&
    grep "BLOB_UNKNOWN" err
'

test_expect_success 'a closed port fails quickly naming the host' '
    p=$(free_port) &&
    STRATA_MAX_RETRIES=1 test_must_fail "$DRV" ping "127.0.0.1:$p" 2>err &&
    grep "registry 127.0.0.1:$p: connection refused (nothing listens there)" err
'

test_done

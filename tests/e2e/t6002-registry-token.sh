#!/bin/sh
# The Bearer token flow against a fake registry + token server + blob
# storage (tests/e2e/helpers/fakereg.py): anonymous and authenticated
# tokens, refresh on 401, redirects without leaking Authorization,
# OCI-Chunk-Min-Length, absolute/relative Locations, tag pagination.
. "$(dirname "$0")/lib.sh"

DRV="$STRATA_BUILD/tests/test_registry_driver"
MKIMAGE="$TEST_DIR/helpers/mkimage.py"
export STRATA_RETRY_BASE_MS=20
# start_fake DIR [ENV...]: sets REG
start_fake() {
    fd=$1
    shift
    mkdir -p "$fd"
    spawn env "$@" python3 "$TEST_DIR/helpers/fakereg.py" "$fd"
    n=100; until [ -s "$fd/ports" ] || [ $n = 0 ]; do sleep 0.1; n=$((n - 1)); done
    read -r P _ _ <"$fd/ports"
    REG="127.0.0.1:$P"
}
# the second instance: tokens good for 3 requests, answered as access_token
start_fake "$TRASH/fake2" FAKEREG_TOKEN_USES=3 FAKEREG_ACCESS_TOKEN=1
REG2=$REG
start_fake "$TRASH/fake"
CFG="$DOCKER_CONFIG/config.json"
LOG="$TRASH/fake/log"
save_creds() {
    mkdir -p "$DOCKER_CONFIG" &&
    printf '{"auths":{"%s":{"auth":"%s"}}}' "$REG" "$(printf "$1" | base64)" >"$CFG"
}

test_expect_success 'anonymous push is refused in one line' '
    python3 "$MKIMAGE" img v1 --layers 2 --size 30000 >digest &&
    test_must_fail "$DRV" push-layout img v1 "$REG/app:v1" 2>err &&
    test "$(wc -l <err)" = 1 &&
    grep "^driver: error: push $REG/app:v1: registry $REG refused anonymous access: no credentials were sent (none for $REG in $DOCKER_CONFIG/config.json (\$DOCKER_CONFIG)): UNAUTHORIZED: authentication required; run .strata login $REG.$" err
'

test_expect_success 'a wrong password is refused by the token server' '
    save_creds alice:nope &&
    test_must_fail "$DRV" push-layout img v1 "$REG/app:v1" 2>err &&
    grep "UNAUTHORIZED: invalid username or password" err
'

test_expect_success 'login through the token flow: wrong, then right password' '
    rm -f "$CFG" &&
    echo nope | test_exit_code 1 strata login -u alice --password-stdin "$REG" 2>err &&
    grep "^strata: error: login $REG: registry $REG refused the credentials of user .alice. (given to this command): UNAUTHORIZED: invalid username or password; check the user name and password$" err &&
    grep "^strata: nothing was saved: the stored credentials for $REG, if any, are unchanged$" err &&
    test ! -e "$CFG" &&
    echo s3cret | strata login -u alice --password-stdin "$REG" >out &&
    grep "Login Succeeded" out &&
    test "$(jq -r ".auths[\"$REG\"].auth" "$CFG")" = "$(printf alice:s3cret | base64)"
'

test_expect_success 'push with credentials: Basic to the token server, Bearer to the registry' '
    save_creds alice:s3cret &&
    : >"$LOG" &&
    "$DRV" push-layout img v1 "$REG/app:v1" >out &&
    grep "^$(cat digest) moved=3" out &&
    grep "^token GET /token?service=fake&scope=repository%3Aapp%3Apull%2Cpush auth=Basic" "$LOG" &&
    grep "^reg PUT /v2/app/manifests/v1 auth=Bearer" "$LOG" &&
    ! grep "^reg .* auth=Basic" "$LOG"
'

test_expect_success 'tokens are cached per scope' '
    test "$(grep -c "^token " "$LOG")" -le 4
'

test_expect_success 'pull follows redirects to storage without the Authorization header' '
    : >"$LOG" &&
    "$DRV" pull-layout "$REG/app:v1" pulled >out &&
    grep "^$(cat digest) moved=3" out &&
    grep "^storage GET /blob/sha256:" "$LOG" &&
    ! grep "^storage .*auth=Bearer" "$LOG"
'

test_expect_success 'anonymous pull of a public repository (anonymous token)' '
    "$DRV" push-layout img v1 "$REG/public:v1" >/dev/null &&
    rm -f "$CFG" && : >"$LOG" &&
    "$DRV" pull-layout "$REG/public:v1" pub >out &&
    grep "^$(cat digest) " out &&
    grep "^token GET .*scope=repository%3Apublic%3Apull auth=none" "$LOG"
'

test_expect_success 'chunks honour OCI-Chunk-Min-Length; absolute Location followed' '
    save_creds alice:s3cret &&
    head -c 70000 /dev/urandom >b && : >"$LOG" &&
    STRATA_CHUNK_SIZE=5000 "$DRV" push-blob "$REG" app b >out &&
    grep uploaded out &&
    grep "^reg chunk" "$LOG" | awk "{print \$3}" >sizes &&
    test "$(cat sizes | tr "\n" " ")" = "20000 20000 20000 10000 " &&
    grep -c "range=" "$LOG" | grep 4
'

test_expect_success 'cross-repo mount with a token for both repositories' '
    : >"$LOG" &&
    "$DRV" push-blob "$REG" app2 b app >out &&
    grep mounted out &&
    grep "scope=repository%3Aapp2%3Apull%2Cpush&scope=repository%3Aapp%3Apull" "$LOG"
'

test_expect_success 'tag list follows Link pagination' '
    for t in a b c d e; do
        "$DRV" put-manifest "$REG" app "$t" application/vnd.oci.image.manifest.v1+json img/blobs/sha256/$(cut -d: -f2 digest) >/dev/null || exit 1
    done &&
    : >"$LOG" &&
    STRATA_TAGS_PAGE_SIZE=2 "$DRV" tags "$REG" app >tags &&
    test "$(tr "\n" " " <tags)" = "a b c d e v1 " &&
    test "$(grep -c "^reg GET /v2/app/tags/list" "$LOG")" = 4
'

test_expect_success 'tokens that expire (server side) are refreshed on a 401; access_token' '
    REG=$REG2 save_creds alice:s3cret &&
    STRATA_PARALLEL=1 "$DRV" push-layout img v1 "$REG2/app:v1" >out &&
    grep "^$(cat digest) moved=3" out &&
    STRATA_PARALLEL=1 "$DRV" pull-layout "$REG2/app:v1" pulled3 >out &&
    grep "^$(cat digest) moved=3" out &&
    test "$(grep -c "^token " "$TRASH/fake2/log")" -ge 4
'

test_done

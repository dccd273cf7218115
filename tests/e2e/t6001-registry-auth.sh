#!/bin/sh
# htpasswd (Basic) auth over TLS with docker-registry: login/logout and
# config.json, credential helpers, one-line auth errors, authenticated push/pull.
. "$(dirname "$0")/lib.sh"

command -v docker-registry >/dev/null || test_skip_all "docker-registry not installed"
command -v htpasswd >/dev/null || test_skip_all "htpasswd not installed"
DRV="$STRATA_BUILD/tests/test_registry_driver"
MKIMAGE="$TEST_DIR/helpers/mkimage.py"
export STRATA_RETRY_BASE_MS=20

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$TRASH/key.pem" -out "$TRASH/cert.pem" 2>/dev/null ||
    test_skip_all "openssl cannot make a certificate"
htpasswd -Bbn alice s3cret >"$TRASH/htpasswd"
REG_PORT=$(free_port)
REG="127.0.0.1:$REG_PORT"
cat >"$TRASH/reg.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $TRASH/data
auth:
  htpasswd:
    realm: strata-test
    path: $TRASH/htpasswd
http:
  addr: $REG
  tls:
    certificate: $TRASH/cert.pem
    key: $TRASH/key.pem
YML
spawn docker-registry serve "$TRASH/reg.yml" >"$TRASH/reg.log" 2>&1
n=50; until curl -sk -o /dev/null "https://$REG/v2/" || [ $n = 0 ]; do sleep 0.1; n=$((n - 1)); done
CFG="$DOCKER_CONFIG/config.json"

test_expect_success 'anonymous push: one line with operation, repository, code and message' '
    python3 "$MKIMAGE" img v1 --layers 2 --size 10000 >digest &&
    test_must_fail "$DRV" push-layout img v1 "$REG/app:v1" 2>err &&
    test "$(wc -l <err)" = 1 &&
    grep "^driver: error: push $REG/app:v1: registry $REG refused anonymous access: no credentials were sent (none for $REG in $DOCKER_CONFIG/config.json (\$DOCKER_CONFIG)): UNAUTHORIZED: authentication required; run .strata login $REG.$" err
'

test_expect_success 'verified TLS: refused without the CA, accepted with --tls-ca' '
    STRATA_TLS_VERIFY_LOOPBACK=1 test_must_fail "$DRV" ping "$REG" 2>err &&
    grep -i "certificate" err &&
    grep "(for a private CA use --tls-ca FILE, or mark the registry insecure with --insecure-registry $REG)$" err &&
    STRATA_TLS_VERIFY_LOOPBACK=1 STRATA_TLS_CA="$TRASH/cert.pem" test_exit_code 1 "$DRV" ping "$REG" 2>err &&
    grep "UNAUTHORIZED" err &&
    echo s3cret | STRATA_TLS_VERIFY_LOOPBACK=1 test_exit_code 1 strata login -u alice --password-stdin "$REG" 2>err &&
    grep -i "certificate" err &&
    echo x | test_exit_code 2 strata login -u alice --password-stdin --tls-ca nosuch.pem "$REG" 2>err &&
    grep "tls-ca .nosuch.pem." err
'

test_expect_success 'login with a wrong password fails and saves nothing' '
    echo wrong | test_exit_code 1 strata login -u alice --password-stdin "$REG" 2>err &&
    grep "^strata: error: login $REG: registry $REG refused the credentials of user .alice. (given to this command): UNAUTHORIZED: authentication required; check the user name and password$" err &&
    grep "^strata: nothing was saved: the stored credentials for $REG, if any, are unchanged$" err &&
    test ! -e "$CFG"
'

test_expect_success 'login usage errors' '
    test_exit_code 2 strata login "$REG" </dev/null 2>err &&
    grep "username is required" err &&
    test_exit_code 2 strata login -u a -p b --password-stdin "$REG" 2>err &&
    grep "exclusive" err &&
    test_exit_code 2 strata login -u a </dev/null 2>err
'

test_expect_success 'login writes docker config.json (0600, base64 auth), keeps other fields' '
    mkdir -p "$DOCKER_CONFIG" &&
    echo "{\"auths\":{\"other.example\":{\"auth\":\"eDp5\"}},\"psFormat\":\"x\"}" >"$CFG" &&
    echo s3cret | strata login -u alice --password-stdin "https://$REG/" >out &&
    grep "Login Succeeded" out &&
    test "$(stat -c %a "$CFG")" = 600 &&
    test "$(jq -r ".auths[\"$REG\"].auth" "$CFG")" = "$(printf alice:s3cret | base64)" &&
    test "$(jq -r .psFormat "$CFG")" = x &&
    test "$(jq -r ".auths[\"other.example\"].auth" "$CFG")" = eDp5
'

test_expect_success 'authenticated push and pull with the saved credentials' '
    "$DRV" push-layout img v1 "$REG/app:v1" >out &&
    grep "^$(cat digest) moved=3" out &&
    "$DRV" pull-layout "$REG/app:v1" pulled >out &&
    grep "^$(cat digest) moved=3" out
'

test_expect_success 'HTTP/2 over TLS where the registry offers it' '
    grep "strata/" "$TRASH/reg.log" | grep -q "HTTP/2.0"
'

test_expect_success 'skopeo reads the same config.json' '
    skopeo inspect --authfile "$CFG" --tls-verify=false "docker://$REG/app:v1" | jq -r .Digest >sk &&
    test "$(cat sk)" = "$(cat digest)"
'

test_expect_success 'unknown tag with credentials' '
    test_must_fail "$DRV" pull-layout "$REG/app:nope" x 2>err &&
    grep "^driver: error: pull $REG/app:nope: MANIFEST_UNKNOWN: manifest unknown$" err
'

test_expect_success 'logout removes the entry, then says not logged in' '
    strata logout "$REG" >out &&
    grep "Removing login credentials for $REG" out &&
    test "$(jq -r ".auths[\"$REG\"]" "$CFG")" = null &&
    test "$(jq -r ".auths[\"other.example\"].auth" "$CFG")" = eDp5 &&
    strata logout "$REG" >out &&
    grep "Not logged in to $REG" out &&
    test_must_fail "$DRV" pull-layout "$REG/app:v1" x2 2>err &&
    grep "UNAUTHORIZED" err
'

test_expect_success 'credHelpers: login stores through docker-credential-test, pulls use it' '
    mkdir -p bin && cp "$TEST_DIR/helpers/docker-credential-test" bin/ &&
    export PATH="$TRASH/bin:$PATH" STRATA_TEST_HELPER_DB="$TRASH/helper.json" &&
    echo "{\"credHelpers\":{\"$REG\":\"test\"}}" >"$CFG" &&
    echo s3cret | strata login -u alice --password-stdin "$REG" &&
    grep "^store $REG$" helper.json.log &&
    test "$(jq -r ".[\"$REG\"][1]" helper.json)" = s3cret &&
    test "$(jq -r ".auths[\"$REG\"].auth" "$CFG")" = null &&
    "$DRV" pull-layout "$REG/app:v1" pulled2 >out &&
    grep "^get $REG$" helper.json.log &&
    strata logout "$REG" &&
    grep "^erase $REG$" helper.json.log &&
    test "$(jq -r ".[\"$REG\"]" helper.json)" = null
'

test_expect_success 'credsStore applies to every registry' '
    export PATH="$TRASH/bin:$PATH" STRATA_TEST_HELPER_DB="$TRASH/helper2.json" &&
    echo "{\"credsStore\":\"test\"}" >"$CFG" &&
    test_must_fail "$DRV" ping "$REG" 2>err &&
    grep UNAUTHORIZED err &&
    echo s3cret | strata login -u alice --password-stdin "$REG" &&
    "$DRV" ping "$REG"
'

test_expect_success 'a failing helper is reported' '
    mkdir -p bin2 && printf "#!/bin/sh\necho helper exploded; exit 3\n" >bin2/docker-credential-boom &&
    chmod +x bin2/docker-credential-boom &&
    echo "{\"credHelpers\":{\"$REG\":\"boom\"}}" >"$CFG" &&
    PATH="$TRASH/bin2:$PATH" test_must_fail "$DRV" ping "$REG" 2>err &&
    grep "docker-credential-boom get: helper exploded" err
'

test_expect_success 'a broken config.json is reported with its path' '
    echo "{" >"$CFG" &&
    test_must_fail "$DRV" ping "$REG" 2>err &&
    grep "config.json" err
'

test_done

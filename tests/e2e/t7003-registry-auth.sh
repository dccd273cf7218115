#!/bin/sh
# t7003: strata registry — htpasswd (bcrypt) Basic auth, per-repository
# permissions (401/403), anonymous pull, read-only mode, TLS, JSON access log.
. "$(dirname "$0")/lib.sh"

command -v htpasswd >/dev/null || test_skip_all "htpasswd (apache2-utils) not installed"

htpasswd -B -b -c "$TRASH/htpasswd" alice secret1 2>/dev/null
htpasswd -B -b "$TRASH/htpasswd" bob secret2 2>/dev/null
cat >"$TRASH/auth.conf" <<'EOC'
# who       access      repositories
alice       pull,push   *
bob         pull        team/*
bob         pull,push   bob/*
anonymous   pull        public/*
EOC

start_strata_registry --htpasswd "$TRASH/htpasswd" --auth-config "$TRASH/auth.conf" --log-format json
R="http://$SREG"

test_expect_success 'no credentials on /v2/: 401 + WWW-Authenticate; wrong password: 401' '
    curl -si "$R/v2/" | tr -d "\r" >out0 &&
    grep "^HTTP/1.1 401" out0 && grep -i "^WWW-Authenticate: Basic realm=\"strata\"" out0 &&
    curl -si -u alice:wrong "$R/v2/" | tr -d "\r" >out &&
    grep "^HTTP/1.1 401" out &&
    grep -i "^WWW-Authenticate: Basic realm=\"strata\"" out &&
    grep UNAUTHORIZED out &&
    test "$(http_status -u nobody:x "$R/v2/")" = 401 &&
    test "$(http_status -H "Authorization: Bearer abc" "$R/v2/")" = 401 &&
    test "$(http_status -H "Authorization: Basic !!!!" "$R/v2/")" = 401 &&
    test "$(http_status -u alice:secret1 "$R/v2/")" = 200
'

test_expect_success 'alice may push anywhere' '
    echo one >f1 &&
    D=sha256:$(sha256sum f1 | cut -d" " -f1) &&
    test "$(http_status -u alice:secret1 -X POST --data-binary @f1 "$R/v2/team/x/blobs/uploads/?digest=$D")" = 201 &&
    test "$(http_status -u alice:secret1 -X POST --data-binary @f1 "$R/v2/public/p/blobs/uploads/?digest=$D")" = 201
'

test_expect_success 'anonymous push: 401; anonymous pull of public/*: 200, of team/*: 401' '
    D=sha256:$(sha256sum f1 | cut -d" " -f1) &&
    test "$(http_status -X POST "$R/v2/public/p/blobs/uploads/")" = 401 &&
    test "$(http_status "$R/v2/public/p/blobs/$D")" = 200 &&
    test "$(http_status "$R/v2/team/x/blobs/$D")" = 401
'

test_expect_success 'bob: pull team/* (200), push team/* (403 DENIED), push bob/* (201)' '
    D=sha256:$(sha256sum f1 | cut -d" " -f1) &&
    test "$(http_status -u bob:secret2 "$R/v2/team/x/blobs/$D")" = 200 &&
    curl -s -u bob:secret2 -X POST "$R/v2/team/x/blobs/uploads/" -o body -w "%{http_code}" >st &&
    test "$(cat st)" = 403 && jq -e ".errors[0].code == \"DENIED\"" body &&
    test "$(http_status -u bob:secret2 -X DELETE "$R/v2/team/x/blobs/$D")" = 403 &&
    test "$(http_status -u bob:secret2 -X POST --data-binary @f1 "$R/v2/bob/y/blobs/uploads/?digest=$D")" = 201 &&
    test "$(http_status -u bob:secret2 "$R/v2/alice/z/tags/list")" = 403
'

test_expect_success 'mount needs pull on the source repository' '
    echo two >f2 &&
    D=sha256:$(sha256sum f2 | cut -d" " -f1) &&
    test "$(http_status -u alice:secret1 -X POST --data-binary @f2 "$R/v2/secret/s/blobs/uploads/?digest=$D")" = 201 &&
    test "$(http_status -u bob:secret2 -X POST "$R/v2/bob/y/blobs/uploads/?mount=$D&from=secret/s")" = 202 &&
    test "$(http_status -u bob:secret2 "$R/v2/bob/y/blobs/$D")" = 404 &&
    test "$(http_status -u alice:secret1 -X POST "$R/v2/bob/y/blobs/uploads/?mount=$D&from=secret/s")" = 201
'

test_expect_success 'the catalog lists only what the user may pull' '
    curl -sf "$R/v2/_catalog" | jq -e ".repositories == [\"public/p\"]" &&
    curl -sf -u bob:secret2 "$R/v2/_catalog" | jq -e ".repositories == [\"bob/y\",\"public/p\",\"team/x\"]" &&
    curl -sf -u alice:secret1 "$R/v2/_catalog" | jq -e ".repositories | length == 4"
'

test_expect_success 'skopeo pushes with credentials and fails without' '
    mkdir -p l && echo x >l/x && make_layer_tgz l l.tgz && make_oci_image lay img l.tgz &&
    skopeo copy -q --dest-tls-verify=false --dest-creds alice:secret1 oci:lay:img docker://$SREG/team/app:1 &&
    test_must_fail skopeo copy -q --dest-tls-verify=false oci:lay:img docker://$SREG/team/app:2 2>err &&
    test_must_fail skopeo copy -q --dest-tls-verify=false --dest-creds bob:secret2 oci:lay:img docker://$SREG/team/app:3 2>err &&
    skopeo inspect --tls-verify=false --creds bob:secret2 docker://$SREG/team/app:1 >/dev/null
'

test_expect_success 'anonymous pull with skopeo (which answers the challenge with empty Basic credentials)' '
    skopeo copy -q --dest-tls-verify=false --dest-creds alice:secret1 oci:lay:img docker://$SREG/public/app:1 &&
    test "$(http_status -u : "$R/v2/public/app/tags/list")" = 200 &&
    test "$(http_status -u : "$R/v2/team/app/tags/list")" = 401 &&
    test "$(http_status -u : -X POST "$R/v2/public/app/blobs/uploads/")" = 401 &&
    test "$(http_status -u : "$R/v2/")" = 401 &&
    skopeo inspect --tls-verify=false --no-creds docker://$SREG/public/app:1 >/dev/null &&
    skopeo list-tags --tls-verify=false --no-creds docker://$SREG/public/app | jq -e ".Tags == [\"1\"]" &&
    skopeo copy -q --src-tls-verify=false --src-no-creds docker://$SREG/public/app:1 oci:anon:1 &&
    test_must_fail skopeo inspect --tls-verify=false --no-creds docker://$SREG/team/app:1 2>err &&
    grep -i "unauthorized" err
'

test_expect_success 'the JSON access log names the user and the status' '
    grep "\"user\":\"bob\"" "$TRASH/strata-registry.log" | grep "\"status\":403" &&
    grep "\"method\":\"PUT\"" "$TRASH/strata-registry.log" | jq -e "has(\"duration_ms\") and has(\"bytes_in\")" | head -1 | grep true
'

test_expect_success 'a missing htpasswd or auth config file is named as such' '
    test_must_fail "$STRATA_BIN" registry serve --root "$TRASH/r2" --addr 127.0.0.1:1 \
        --htpasswd "$TRASH/nope" 2>err &&
    grep "htpasswd file: open .*nope" err &&
    test_must_fail "$STRATA_BIN" registry serve --root "$TRASH/r2" --addr 127.0.0.1:1 \
        --htpasswd "$TRASH/htpasswd" --auth-config "$TRASH/nope" 2>err &&
    grep "auth config: open .*nope" err
'

test_expect_success 'SIGTERM stops the server cleanly' '
    stop_strata_registry
'

test_expect_success 'bad htpasswd and auth-config files are refused with a clear error' '
    echo "carol:plaintext" >bad.htpasswd &&
    test_exit_code 1 strata registry serve --root r2 --addr 127.0.0.1:0 --htpasswd bad.htpasswd 2>err &&
    grep "bad.htpasswd:1: user .carol.: only bcrypt" err &&
    printf "alice fly *\n" >bad.conf &&
    test_exit_code 1 strata registry serve --root r2 --addr 127.0.0.1:0 --htpasswd "$TRASH/htpasswd" --auth-config bad.conf 2>err &&
    grep "bad.conf:1: unknown access .fly." err &&
    test_exit_code 2 strata registry serve --auth-config bad.conf 2>err &&
    test_exit_code 2 strata registry serve --tls-cert x 2>err &&
    test_exit_code 2 strata registry serve --log-format xml 2>err &&
    test_exit_code 2 strata registry serve --bogus 2>err &&
    test_exit_code 2 strata registry serve --root r2 --addr nonsense 2>err && grep "invalid address" err
'

start_strata_registry --read-only
R="http://$SREG"

test_expect_success 'read-only: pulls work, pushes and deletes are 405 UNSUPPORTED' '
    D=sha256:$(sha256sum f1 | cut -d" " -f1) &&
    test "$(http_status "$R/v2/team/x/blobs/$D")" = 200 &&
    curl -s -o body -w "%{http_code}" -X POST "$R/v2/team/x/blobs/uploads/" >st &&
    test "$(cat st)" = 405 && jq -e ".errors[0].code == \"UNSUPPORTED\"" body &&
    test "$(http_status -X DELETE "$R/v2/team/x/blobs/$D")" = 405 &&
    stop_strata_registry
'

if openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TRASH/key.pem" -out "$TRASH/cert.pem" \
    -days 1 -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" >/dev/null 2>&1; then
    TLS_PORT=$(free_port)
    spawn "$STRATA_BIN" registry serve --root "$TRASH/registry" --addr 127.0.0.1:$TLS_PORT \
        --tls-cert "$TRASH/cert.pem" --tls-key "$TRASH/key.pem" \
        ${REG_BACKEND_READY:+--storage "$S3_URL" --metadata "$PG_URL"} >"$TRASH/tls.log" 2>&1
    test_expect_success 'TLS: HTTPS with the given certificate; plain HTTP fails' '
        n=50; until curl -s --cacert "$TRASH/cert.pem" -o /dev/null "https://127.0.0.1:$TLS_PORT/v2/"; do
            n=$((n - 1)); test $n -gt 0 || exit 1; sleep 0.1; done &&
        test "$(http_status --cacert "$TRASH/cert.pem" "https://127.0.0.1:$TLS_PORT/v2/")" = 200 &&
        D=sha256:$(sha256sum f1 | cut -d" " -f1) &&
        curl -sf --cacert "$TRASH/cert.pem" "https://127.0.0.1:$TLS_PORT/v2/team/x/blobs/$D" | cmp - f1 &&
        test "$(http_status "http://127.0.0.1:$TLS_PORT/v2/")" != 200
    '
    test_expect_success 'TLS: a wrong, encrypted or mismatched key is named in one error line' '
        openssl genrsa -out other.pem 2048 2>/dev/null &&
        openssl rsa -in "$TRASH/key.pem" -aes256 -passout pass:x -out enc.pem 2>/dev/null &&
        P=$(free_port) &&
        test_exit_code 1 timeout 20 "$STRATA_BIN" registry serve --root reg2 --addr 127.0.0.1:$P \
            --tls-cert "$TRASH/cert.pem" --tls-key other.pem </dev/null 2>err &&
        test "$(wc -l <err)" = 1 &&
        grep "^strata: error: --tls-cert .*cert.pem. and --tls-key .other.pem. do not match" err &&
        test_exit_code 1 timeout 20 "$STRATA_BIN" registry serve --root reg2 --addr 127.0.0.1:$P \
            --tls-cert "$TRASH/cert.pem" --tls-key enc.pem </dev/null 2>err &&
        grep "^strata: error: --tls-key .enc.pem.: no PEM private key" err &&
        test_exit_code 1 timeout 20 "$STRATA_BIN" registry serve --root reg2 --addr 127.0.0.1:$P \
            --tls-cert other.pem --tls-key "$TRASH/key.pem" </dev/null 2>err &&
        grep "^strata: error: --tls-cert .other.pem.: no PEM certificate" err
    '
fi

test_done

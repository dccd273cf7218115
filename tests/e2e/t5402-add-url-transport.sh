#!/bin/sh
# t5402: ADD <url> goes through the registry client's transport (the build's
# fetch_url hook): retries with backoff on 503, a cut transfer resumed with
# Range, --tls-ca and --insecure-registry honoured for https, a 404 named.
. "$(dirname "$0")/lib.sh"

require_builder
export STRATA_RETRY_BASE_MS=20

mkdir -p "$TRASH/www" "$TRASH/ctx"
head -c 1048576 /dev/urandom >"$TRASH/www/big.bin"
echo "small file" >"$TRASH/www/small.txt"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$TRASH/key.pem" -out "$TRASH/cert.pem" 2>/dev/null ||
    test_skip_all "openssl cannot make a certificate"

N=0
# start_server VAR=VALUE...: a urlserver.py with that behaviour; sets PORT, LOG
start_server() {
    N=$((N + 1))
    pf="$TRASH/srv$N"
    spawn env "$@" python3 "$TEST_DIR/helpers/urlserver.py" "$pf" "$TRASH/www"
    n=200; until [ -s "$pf" ] || [ $n = 0 ]; do sleep 0.1; n=$((n - 1)); done
    PORT=$(cat "$pf")
    LOG="$pf.log"
}

# build_add URL [strata build options]: FROM scratch + ADD URL /f; F: the
# snapshot's f with the content of $WANT (fails when there is none)
build_add() {
    url=$1; shift
    printf 'FROM scratch\nADD %s /f\n' "$url" >ctx/Dockerfile &&
    strata build --no-cache --progress plain "$@" ctx >out 2>log || { cat log; return 1; }
    F=""
    for s in "$STRATA_ROOT"/build/snapshots/*/f; do
        if cmp -s "$s" "$WANT"; then F=$s; fi
    done
    test -n "$F"
}

start_server FAIL=2; P_FAIL=$PORT; L_FAIL=$LOG
start_server CUT=100000; P_CUT=$PORT; L_CUT=$LOG
start_server TLS="$TRASH/cert.pem:$TRASH/key.pem"; P_TLS=$PORT

test_expect_success '503 twice: retried with backoff, then downloaded' '
    WANT=www/small.txt && build_add "http://127.0.0.1:$P_FAIL/small.txt" && cmp "$F" www/small.txt &&
    test "$(grep -c "small.txt - -> 503" "$L_FAIL")" = 2 &&
    grep "small.txt - -> 200" "$L_FAIL"
'

test_expect_success 'a transfer cut after 100000 bytes resumes with Range' '
    WANT=www/big.bin && build_add "http://127.0.0.1:$P_CUT/big.bin" && cmp "$F" www/big.bin &&
    grep "big.bin bytes=100000- -> 206" "$L_CUT"
'

test_expect_success 'a 404 names the URL and the status' '
    ! build_add "http://127.0.0.1:$P_FAIL/missing" &&
    grep "Dockerfile:2: ADD .*download .http://127.0.0.1:$P_FAIL/missing.: HTTP status 404" log
'

test_expect_success 'https with a private CA: refused unverified, accepted with --tls-ca' '
    WANT=www/small.txt &&
    export STRATA_TLS_VERIFY_LOOPBACK=1 &&
    ! build_add "https://127.0.0.1:$P_TLS/small.txt" && grep "Dockerfile:2: ADD .*certificate" log &&
    build_add "https://127.0.0.1:$P_TLS/small.txt" --tls-ca "$TRASH/cert.pem" && cmp "$F" www/small.txt
'

test_expect_success 'https to an --insecure-registry host is not verified' '
    WANT=www/small.txt && export STRATA_TLS_VERIFY_LOOPBACK=1 &&
    ! build_add "https://127.0.0.1:$P_TLS/small.txt" &&
    build_add "https://127.0.0.1:$P_TLS/small.txt" --insecure-registry "127.0.0.1:$P_TLS" && cmp "$F" www/small.txt
'

test_done

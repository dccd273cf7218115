#!/bin/sh
# t6007: strata pull/push through a registry that misbehaves at the HTTP
# level (tests/e2e/helpers/chaosproxy.py in front of strata's registry):
# intermittent 429/503, blob GETs redirected to another port (absolute and
# relative Location), absolute upload Locations, and a registry that lies
# about Docker-Content-Digest or corrupts a blob — the store never receives
# a bad blob and errors are one line.
. "$(dirname "$0")/lib.sh"

export STRATA_RETRY_BASE_MS=20
start_strata_registry
N=0
start_proxy() {
    N=$((N + 1))
    pf="$TRASH/proxy$N"
    spawn env "$@" python3 "$TEST_DIR/helpers/chaosproxy.py" "$pf" "$SREG_PORT"
    n=100; until [ -s "$pf" ] || [ $n = 0 ]; do sleep 0.1; n=$((n - 1)); done
    PROXY="127.0.0.1:$(cat "$pf")"
    PLOG="$pf.log"
}
start_proxy FLAKY=3; P_FLAKY=$PROXY; L_FLAKY=$PLOG
start_proxy REDIRECT=abs; P_ABS=$PROXY; L_ABS=$PLOG
start_proxy REDIRECT=rel; P_REL=$PROXY; L_REL=$PLOG
start_proxy LIE=1000; P_LIE=$PROXY
start_proxy LIEBODY=1; P_BODY=$PROXY; L_BODY=$PLOG
start_proxy LOCATION=abs; P_LOC=$PROXY; L_LOC=$PLOG

# every blob of the store hashes to its name
store_clean() {
    (cd "$STRATA_ROOT/blobs/sha256" && for f in *; do
        [ -e "$f" ] || continue
        test "$(sha256sum "$f" | cut -d" " -f1)" = "$f" || { echo "bad blob $f" >&2; exit 1; }
    done)
}

test_expect_success 'setup: an image pushed to the registry' '
    make_busybox_tar bb.tar &&
    strata import bb.tar app:1 >/dev/null &&
    strata push app:1 "$SREG/app:1" >/dev/null 2>&1 &&
    curl -sI "http://$SREG/v2/app/manifests/1" | tr -d "\r" | sed -n "s/^Docker-Content-Digest: //p" >digest &&
    test -s digest
'

test_expect_success 'intermittent 429 and 503 answers: pull and push succeed' '
    export STRATA_ROOT="$TRASH/s-flaky" &&
    strata pull "$P_FLAKY/app:1" >out 2>&1 &&
    grep "^Digest: $(cat digest)" out &&
    strata push "$P_FLAKY/app:1" "$P_FLAKY/again:1" >out 2>&1 &&
    grep -q " -> 429 flaky" "$L_FLAKY" && grep -q " -> 503 flaky" "$L_FLAKY" &&
    curl -sf "http://$SREG/v2/again/tags/list" | grep "\"1\"" &&
    store_clean
'

test_expect_success 'blob GETs redirected to another port (absolute Location)' '
    export STRATA_ROOT="$TRASH/s-abs" &&
    strata pull "$P_ABS/app:1" >out 2>&1 &&
    grep "^Digest: $(cat digest)" out &&
    grep -q " -> 307 redirect" "$L_ABS" &&
    store_clean
'

test_expect_success 'blob GETs redirected with a relative Location' '
    export STRATA_ROOT="$TRASH/s-rel" &&
    strata pull "$P_REL/app:1" >out 2>&1 &&
    grep "^Digest: $(cat digest)" out &&
    grep -q "redirected=1 -> 200" "$L_REL" &&
    store_clean
'

test_expect_success 'a wrong Docker-Content-Digest on the manifest: refused in one line, nothing tagged' '
    export STRATA_ROOT="$TRASH/s-lie" &&
    test_must_fail strata pull "$P_LIE/app:1" >out 2>err &&
    test "$(wc -l <err)" = 1 &&
    grep "^strata: error: pull $P_LIE/app:1: manifest .1.: digest mismatch" err &&
    ! strata images 2>/dev/null | grep "^$P_LIE/app "
'

test_expect_success 'a wrong Docker-Content-Digest on a manifest PUT: the push fails' '
    export STRATA_ROOT="$TRASH/s-flaky" &&
    test_must_fail strata push "$P_FLAKY/app:1" "$P_LIE/lied:1" >out 2>err &&
    grep "^strata: error: push $P_LIE/lied:1: registry stored the manifest as .sha256:0000" err
'

test_expect_success 'a corrupted blob with its true digest header never lands in the store' '
    export STRATA_ROOT="$TRASH/s-body" &&
    test_must_fail strata pull "$P_BODY/app:1" >out 2>err &&
    grep "^strata: error: pull $P_BODY/app:1: blob .sha256:[0-9a-f]*.: digest mismatch" err &&
    grep -q "liebody" "$L_BODY" &&
    bad=$(sed -n "s/.*blob .sha256:\([0-9a-f]\{12\}\).*digest mismatch.*/\1/p" err) &&
    test -n "$bad" &&
    ! grep "^sha256:$bad: done" err &&
    store_clean &&
    strata pull "$P_BODY/app:1" >out 2>&1 &&
    grep "^Digest: $(cat digest)" out &&
    store_clean
'

test_expect_success 'absolute upload Locations are followed' '
    export STRATA_ROOT="$TRASH/s-flaky" &&
    strata push "$P_FLAKY/app:1" "$P_LOC/loc:1" >out 2>&1 &&
    grep -q "^PUT /v2/loc/blobs/uploads/[0-9a-f]*?digest=.* -> 201" "$L_LOC" &&
    curl -sf "http://$SREG/v2/loc/tags/list" | grep "\"1\""
'

test_expect_success 'https to a plain http registry: the error says how to mark it insecure' '
    export STRATA_ROOT="$TRASH/s-tls" &&
    STRATA_TLS_VERIFY_LOOPBACK=1 test_must_fail strata pull "$SREG/app:1" >out 2>err &&
    test "$(wc -l <err)" = 1 &&
    grep "^strata: error: pull $SREG/app:1: registry $SREG: TLS failed: .* (the registry may serve plain http: mark it insecure with --insecure-registry $SREG)$" err &&
    STRATA_TLS_VERIFY_LOOPBACK=1 strata pull --insecure-registry "$SREG" "$SREG/app:1" >out 2>&1 &&
    grep "^Digest: $(cat digest)" out
'

test_expect_success 'an implicit tag is named in the error' '
    export STRATA_ROOT="$TRASH/s-tag" &&
    test_must_fail strata pull "$SREG/app" 2>err &&
    grep "^strata: error: pull $SREG/app:latest: MANIFEST_UNKNOWN: manifest unknown$" err
'

DRV="$STRATA_BUILD/tests/test_registry_driver"
# the cut falls inside the first chunk whatever connections libcurl reuses
spawn env UPCUTS=1 UPCUT_AFTER=500000 python3 "$TEST_DIR/helpers/faultproxy.py" "$TRASH/cutproxy" "$SREG_PORT"
n=100; until [ -s "$TRASH/cutproxy" ] || [ $n = 0 ]; do sleep 0.1; n=$((n - 1)); done
P_CUT="127.0.0.1:$(cat "$TRASH/cutproxy")"

test_expect_success 'chunked upload: a chunk answered 429/503 goes on from the registry offset' '
    head -c 3500000 /dev/urandom >blob &&
    : >"$L_FLAKY" &&
    STRATA_LOG=info STRATA_CHUNK_SIZE=1000000 "$DRV" push-blob "$P_FLAKY" chunky blob >out 2>err &&
    grep "uploaded" out &&
    grep -q "chunk at [0-9]* failed; resuming" err &&
    grep -q "^GET /v2/chunky/blobs/uploads/.* -> 204" "$L_FLAKY" &&
    grep -q "^PATCH .* -> 202" "$L_FLAKY" &&
    test "$(grep "^PATCH " "$L_FLAKY" | cut -d" " -f2 | sort -u | wc -l)" = 1 &&
    curl -sf "http://$SREG/v2/chunky/blobs/sha256:$(sha256sum blob | cut -d" " -f1)" | cmp - blob
'

test_expect_success 'chunked upload: a chunk cut mid-body goes on from the bytes that arrived' '
    STRATA_LOG=info STRATA_CHUNK_SIZE=1000000 "$DRV" push-blob "$P_CUT" cutup blob >out 2>err &&
    { cat err "$TRASH/cutproxy.log"; grep cutup "$TRASH/strata-registry.log"; } | sed "s/^/diag: /" &&
    grep "uploaded" out &&
    grep -q "chunk at [0-9]* failed; resuming" err &&
    ! grep "starting again" err &&
    grep -x upcut "$TRASH/cutproxy.log" &&
    test "$(grep -c "\"POST /v2/cutup/blobs/uploads/\"" "$TRASH/strata-registry.log")" = 1 &&
    sed -n "/\"PATCH \/v2\/cutup\/blobs\/uploads\/[0-9a-f]*\" 499 /,\$p" "$TRASH/strata-registry.log" >after &&
    grep -q "\"PATCH /v2/cutup/blobs/uploads/[0-9a-f]*\" 202 " after &&
    grep -q "\"PATCH /v2/cutup/blobs/uploads/[0-9a-f]*\" 499 " "$TRASH/strata-registry.log" &&
    curl -sf "http://$SREG/v2/cutup/blobs/sha256:$(sha256sum blob | cut -d" " -f1)" | cmp - blob
'

test_expect_success 'the registry stops cleanly' '
    stop_strata_registry
'

test_done

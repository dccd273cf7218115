#!/bin/sh
# t7126: an instance killed (-9) in the middle of an upload over S3 +
# PostgreSQL: the client (strata push, and skopeo) talks to a failover
# proxy in front of A and B (tests/e2e/helpers/lbproxy.py); when A dies
# mid-blob strata push's own retry reaches B and the push succeeds (skopeo
# 1.9 gives up on that error: running it again succeeds through B); the
# image pulled back through B is whole (every digest verified). Then with the
# proxy in round-robin over both, pushes and pulls spread over the two.
. "$(dirname "$0")/lib.sh"
# test-timeout: 400

start_ceph
start_postgres
start_sreg_instance A --root "$TRASH/a" --storage "$S3_URL" --metadata "$PG_URL"
start_sreg_instance B --root "$TRASH/b" --storage "$S3_URL" --metadata "$PG_URL"

# start_lbproxy NAME MODE [ENV...]: the proxy in front of A and B; sets
# <NAME>_ADDR; its files are $TRASH/NAME.port{,.log,.up}
start_lbproxy() {
    _lb=$1 _lbm=$2
    shift 2
    spawn env "$@" python3 "$TEST_DIR/helpers/lbproxy.py" "$TRASH/$_lb.port" "$_lbm" \
        "${A_ADDR#*:}" "${B_ADDR#*:}" 2>>"$TRASH/$_lb.err"
    wait_until 30 test -s "$TRASH/$_lb.port" || return 1
    eval "${_lb}_ADDR=127.0.0.1:$(cat "$TRASH/$_lb.port")"
}

# up_at_least FILE BYTES: the proxy forwarded at least BYTES upstream
up_at_least() {
    test "$(cat "$1" 2>/dev/null || echo 0)" -ge "$2"
}

start_lbproxy FO failover RATE=1500000

test_expect_success 'setup: a local image with a 6 MB layer of random bytes' '
    mkdir -p rootfs/data && head -c 6000000 /dev/urandom >rootfs/data/blob &&
    echo hello >rootfs/hello &&
    tar -C rootfs -cf rootfs.tar . &&
    strata import rootfs.tar local/kill:1 >/dev/null
'

test_expect_success 'kill -9 of A mid-upload: strata push retries through B and succeeds' '
    : >"$TRASH/FO.port.log" &&
    { strata push --insecure-registry "$FO_ADDR" local/kill:1 "$FO_ADDR/s3/kill:1" >push.out 2>push.err; echo $? >push.rc; } &
    wait_until 60 up_at_least "$TRASH/FO.port.up" 2000000 &&
    kill -9 "$A_PID" &&
    wait_until 120 test -s push.rc &&
    { test "$(cat push.rc)" = 0 || { cat push.err >&2; exit 1; }; } &&
    ! kill -0 "$A_PID" 2>/dev/null &&
    grep -q "conn .* -> ${A_ADDR#*:}$" "$TRASH/FO.port.log" &&
    grep -q "conn .* -> ${B_ADDR#*:}$" "$TRASH/FO.port.log"
'

test_expect_success 'the image pulled back through B is whole: every digest verified' '
    D=$(tail -1 push.out) &&
    case $D in sha256:*) ;; *) echo "no digest: $D" >&2; exit 1 ;; esac &&
    skopeo copy --src-tls-verify=false docker://$B_ADDR/s3/kill:1 oci:back:kill &&
    test "$(jq -r ".manifests[0].digest" back/index.json)" = "$D" &&
    for b in back/blobs/sha256/*; do
        test "$(sha256sum <"$b" | cut -d" " -f1)" = "$(basename "$b")" || exit 1
    done &&
    M=back/blobs/sha256/${D#sha256:} &&
    L=$(jq -r ".layers[0].digest" "$M") &&
    mkdir un && tar -xzf "back/blobs/sha256/${L#sha256:}" -C un &&
    cmp un/data/blob rootfs/data/blob
'

start_sreg_instance A --root "$TRASH/a" --storage "$S3_URL" --metadata "$PG_URL"
start_lbproxy FO2 failover RATE=1500000

# skopeo 1.9 does not retry a blob PATCH cut by the peer's death ("use of
# closed network connection" is not in its retryable errors, --retry-times
# or not): its copy fails, and running it again is the retry
test_expect_success 'skopeo: kill -9 of A mid-upload, running the copy again goes through B and succeeds' '
    mkdir -p s2 && head -c 6000000 /dev/urandom >s2/r && make_layer_tgz s2 s2.tgz &&
    make_oci_image sk img s2.tgz && echo "$OCI_MANIFEST_DIGEST" >sk.digest &&
    { skopeo copy --retry-times 3 --dest-tls-verify=false oci:sk:img docker://$FO2_ADDR/s3/sk:1 >sk.out 2>sk.err; echo $? >sk.rc; } &
    wait_until 60 up_at_least "$TRASH/FO2.port.up" 2000000 &&
    kill -9 "$A_PID" &&
    wait_until 180 test -s sk.rc &&
    if [ "$(cat sk.rc)" != 0 ]; then
        skopeo copy --retry-times 3 --dest-tls-verify=false oci:sk:img docker://$FO2_ADDR/s3/sk:1
    fi &&
    grep -q "conn .* -> ${B_ADDR#*:}$" "$TRASH/FO2.port.log" &&
    skopeo copy --src-tls-verify=false docker://$B_ADDR/s3/sk:1 oci:skback:img &&
    test "$(jq -r ".manifests[0].digest" skback/index.json)" = "$(cat sk.digest)" &&
    for b in sk/blobs/sha256/*; do cmp "$b" "skback/blobs/sha256/$(basename "$b")" || exit 1; done
'

start_sreg_instance A --root "$TRASH/a" --storage "$S3_URL" --metadata "$PG_URL"
start_lbproxy RR rr

test_expect_success 'round-robin over both: pushes and pulls spread over A and B, all whole' '
    for i in 1 2 3 4; do
        mkdir -p rr$i && head -c 200000 /dev/urandom >rr$i/f && make_layer_tgz rr$i rr$i.tgz &&
        make_oci_image rrl$i t rr$i.tgz &&
        skopeo copy --dest-tls-verify=false oci:rrl$i:t docker://$RR_ADDR/s3/rr$i:t >/dev/null &&
        skopeo copy --src-tls-verify=false docker://$RR_ADDR/s3/rr$i:t oci:rrb$i:t >/dev/null &&
        test "$(jq -r ".manifests[0].digest" rrb$i/index.json)" = "$OCI_MANIFEST_DIGEST" || exit 1
    done &&
    grep -q "conn .* -> ${A_ADDR#*:}$" "$TRASH/RR.port.log" &&
    grep -q "conn .* -> ${B_ADDR#*:}$" "$TRASH/RR.port.log" &&
    grep -q "/v2/s3/rr" "$TRASH/A.log" && grep -q "/v2/s3/rr" "$TRASH/B.log"
'

test_expect_success 'no sanitizer report in either instance log' '
    sreg_logs_clean A B
'

test_done

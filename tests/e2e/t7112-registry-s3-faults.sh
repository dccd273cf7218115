#!/bin/sh
# t7112: faults between strata registry and S3 (tests/e2e/helpers/faultproxy.py
# in front of Ceph RGW): an S3 GET cut mid-answer and an UploadPart cut
# mid-body are retried (bounded, from the start of the range or body) and
# the client sees nothing; against a gateway that cuts every answer a
# command fails after the bounded retries, naming the S3 request.
. "$(dirname "$0")/lib.sh"

start_ceph
RGW_PORT=${S3_ENDPOINT##*:}
N=0
start_proxy() {
    N=$((N + 1))
    pf="$TRASH/proxy$N"
    spawn env "$@" python3 "$TEST_DIR/helpers/faultproxy.py" "$pf" "$RGW_PORT"
    n=100; until [ -s "$pf" ] || [ $n = 0 ]; do sleep 0.1; n=$((n - 1)); done
    PROXY="127.0.0.1:$(cat "$pf")"
    PLOG="$pf.log"
}
start_proxy UPCUTS=2 UPCUT_AFTER=1000000 CUTS=2 CUT_AFTER=1500000; P1=$PROXY; L1=$PLOG
start_proxy CUTS=1000 CUT_AFTER=100; P2=$PROXY
U1="s3://$S3_BUCKET?endpoint=http://$P1&region=$S3_REGION"
U2="s3://$S3_BUCKET?endpoint=http://$P2&region=$S3_REGION"

start_sreg_instance A --root "$TRASH/a" --storage "$U1"

test_expect_success 'an UploadPart cut twice mid-body is sent again: the chunk is 202, the blob whole' '
    head -c 7000000 /dev/urandom >big &&
    L=$(curl -si -X POST "http://$A_ADDR/v2/f/up/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    test "$(http_status -X PATCH --data-binary @big "http://$A_ADDR$L")" = 202 &&
    test "$(grep -c upcut "$L1")" = 2 &&
    D=sha256:$(sha256sum big | cut -d" " -f1) &&
    test "$(http_status -X PUT "http://$A_ADDR$L?digest=$D")" = 201 &&
    echo "$D" >digest
'

test_expect_success 'a ranged S3 GET cut twice mid-answer is fetched again: the blob GET is whole' '
    D=$(cat digest) &&
    curl -sf "http://$A_ADDR/v2/f/up/blobs/$D" >got &&
    cmp got big &&
    test "$(grep -cx cut "$L1")" = 2
'

test_expect_success 'a gateway that cuts every answer: gc fails naming S3, the request and the retries' '
    test_must_fail strata registry gc --root "$TRASH/a" --storage "$U2" 2>err &&
    grep "S3 [A-Z]* http://$P2/$S3_BUCKET: .*(after retries)" err
'

test_done

#!/bin/sh
# t7123: an upload session over S3 + PostgreSQL moves between instances:
# the first chunk through A, the next chunks alternating, the final PUT
# through B; chunks that cross the S3 part minimum (5 MiB) and chunks far
# below it; the status (GET) of a session seen from either instance; a
# digest mismatch at the PUT refused without publishing anything; a session
# cancelled through B is unknown to A; nothing of a finished upload stays
# under uploads/ in the bucket.
. "$(dirname "$0")/lib.sh"
# test-timeout: 300

start_ceph
start_postgres
start_sreg_instance A --root "$TRASH/a" --storage "$S3_URL" --metadata "$PG_URL"
start_sreg_instance B --root "$TRASH/b" --storage "$S3_URL" --metadata "$PG_URL"

# patch HOSTPORT LOCATION FROM FILE: send FILE as the chunk starting at FROM; prints the status
patch() {
    _len=$(stat -c %s "$4")
    http_status -X PATCH -H "Content-Type: application/octet-stream" \
        -H "Content-Range: $3-$(($3 + _len - 1))" --data-binary @"$4" "http://$1$2"
}

# range_of HOSTPORT LOCATION: the Range the session reports (GET)
range_of() {
    curl -si "http://$1$2" | tr -d "\r" | sed -n "s/^Range: //Ip"
}

test_expect_success 'setup: a 13 MiB blob in chunks of 3 MiB, 6 MiB, 100 kB and the rest' '
    head -c 13631488 /dev/urandom >big &&
    head -c 3145728 big >c1 &&
    tail -c +3145729 big | head -c 6291456 >c2 &&
    tail -c +9437185 big | head -c 102400 >c3 &&
    tail -c +9539585 big >c4 &&
    test "$(cat c1 c2 c3 c4 | sha256sum)" = "$(sha256sum <big)"
'

test_expect_success 'first chunk through A, then B, A, and the last chunk with the PUT through B' '
    L=$(curl -si -X POST "http://$A_ADDR/v2/s3/up/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    test -n "$L" && echo "$L" >loc &&
    test "$(patch $A_ADDR "$L" 0 c1)" = 202 &&
    test "$(range_of $B_ADDR "$L")" = 0-3145727 &&
    test "$(patch $B_ADDR "$L" 3145728 c2)" = 202 &&
    test "$(range_of $A_ADDR "$L")" = 0-9437183 &&
    test "$(patch $A_ADDR "$L" 9437184 c3)" = 202 &&
    test "$(range_of $B_ADDR "$L")" = 0-9539583 &&
    D=sha256:$(sha256sum big | cut -d" " -f1) && echo "$D" >digest &&
    test "$(http_status -X PUT -H "Content-Type: application/octet-stream" --data-binary @c4 \
        "http://$B_ADDR$L?digest=$D")" = 201
'

test_expect_success 'the blob is whole through both instances, in the bucket, no upload objects left' '
    D=$(cat digest) &&
    curl -sf "http://$A_ADDR/v2/s3/up/blobs/$D" | cmp - big &&
    curl -sf "http://$B_ADDR/v2/s3/up/blobs/$D" | cmp - big &&
    curl -sfI "http://$B_ADDR/v2/s3/up/blobs/$D" | tr -d "\r" | grep -ix "Content-Length: 13631488" &&
    bucket_keys blobs%2F | grep -x "blobs/sha256/${D#sha256:}" &&
    bucket_keys uploads%2F >ukeys && test ! -s ukeys &&
    test "$(http_status "http://$A_ADDR$(cat loc)")" = 404
'

test_expect_success 'small chunks (below the part size) alternate between the instances' '
    head -c 300000 /dev/urandom >small &&
    split -b 70000 -d small s. &&
    L=$(curl -si -X POST "http://$B_ADDR/v2/s3/small/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    at=0 && n=0 &&
    for f in s.*; do
        if [ $((n % 2)) = 0 ]; then X=$A_ADDR; else X=$B_ADDR; fi &&
        test "$(patch $X "$L" $at $f)" = 202 || exit 1
        at=$((at + $(stat -c %s $f))) && n=$((n + 1))
    done &&
    D=sha256:$(sha256sum small | cut -d" " -f1) &&
    test "$(http_status -X PUT "http://$A_ADDR$L?digest=$D")" = 201 &&
    curl -sf "http://$B_ADDR/v2/s3/small/blobs/$D" | cmp - small
'

test_expect_success 'a chunk that does not start at the session offset is 416 on the other instance' '
    head -c 1000 /dev/urandom >x &&
    L=$(curl -si -X POST "http://$A_ADDR/v2/s3/bad/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    test "$(patch $A_ADDR "$L" 0 x)" = 202 &&
    test "$(patch $B_ADDR "$L" 500 x)" = 416 &&
    test "$(range_of $A_ADDR "$L")" = 0-999
'

test_expect_success 'a wrong digest at the PUT through B is 400 DIGEST_INVALID, nothing published' '
    head -c 200000 /dev/urandom >w &&
    L=$(curl -si -X POST "http://$A_ADDR/v2/s3/wrong/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    test "$(patch $A_ADDR "$L" 0 w)" = 202 &&
    Z=sha256:$(printf nothing | sha256sum | cut -d" " -f1) &&
    curl -s -o err.json -w "%{http_code}" -X PUT "http://$B_ADDR$L?digest=$Z" >st &&
    test "$(cat st)" = 400 && jq -e ".errors[0].code == \"DIGEST_INVALID\"" err.json &&
    W=sha256:$(sha256sum w | cut -d" " -f1) &&
    test "$(http_status "http://$A_ADDR/v2/s3/wrong/blobs/$W")" = 404 &&
    bucket_keys blobs%2F >bkeys &&
    ! grep -x "blobs/sha256/${W#sha256:}" bkeys && ! grep -x "blobs/sha256/${Z#sha256:}" bkeys
'

test_expect_success 'a session cancelled through B is unknown to A' '
    L=$(curl -si -X POST "http://$A_ADDR/v2/s3/cancel/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    test "$(patch $A_ADDR "$L" 0 x)" = 202 &&
    test "$(http_status -X DELETE "http://$B_ADDR$L")" = 204 &&
    test "$(patch $A_ADDR "$L" 1000 x)" = 404 &&
    test "$(http_status "http://$A_ADDR$L")" = 404
'

test_expect_success 'no sanitizer report in either instance log' '
    sreg_logs_clean A B
'

test_done

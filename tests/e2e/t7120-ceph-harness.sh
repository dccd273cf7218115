#!/bin/sh
# t7120: the Ceph test harness (tests/e2e/helpers/ceph.sh, start_ceph in
# lib.sh) that the S3 storage tests run on: a one-OSD memstore cluster with
# radosgw on 127.0.0.1, an S3 user with known keys and a bucket; signed S3
# requests work and wrong keys are refused; `stop` ends every process it
# started and removes the cluster's files; a missing Ceph is exit 2 with the
# reason (tests skip with it).
. "$(dirname "$0")/lib.sh"

test_expect_success 'without the Ceph programs, start is exit 2 naming what is missing' '
    mkdir nobin &&
    test_exit_code 2 env PATH="$TRASH/nobin" /bin/sh "$TEST_DIR/helpers/ceph.sh" start "$TRASH/none" 2>err &&
    grep "Ceph is not installed here (no ceph-mon)" err &&
    test ! -e none/pids
'

start_ceph
C=$TRASH/.ceph

test_expect_success 'start wrote the endpoint, keys, bucket, region, URL and PIDs' '
    for f in endpoint access_key secret_key bucket region url pids conf cephdir; do
        test -s "$C/$f" || { echo "no $f" >&2; exit 1; }
    done &&
    test "$S3_URL" = "s3://$S3_BUCKET?endpoint=$S3_ENDPOINT&region=$S3_REGION" &&
    test "$(cat "$C/url")" = "$S3_URL" &&
    case $S3_ENDPOINT in http://127.0.0.1:*) ;; *) exit 1 ;; esac &&
    test "$(wc -l <"$C/pids")" = 3 &&
    for p in $(cat "$C/pids"); do kill -0 "$p" || exit 1; done &&
    case $(cat "$C/cephdir") in /tmp/strata-ceph.*) ;; *) exit 1 ;; esac
'

test_expect_success 'the cluster keeps nothing outside its temp dir' '
    D=$(cat "$C/cephdir") &&
    for p in $(cat "$C/pids"); do
        tr "\0" " " <"/proc/$p/cmdline" | grep -F -- "-c $D/ceph.conf" || exit 1
    done &&
    ! grep -E "/etc/ceph|/var/lib/ceph" "$D/ceph.conf" &&
    grep -x "osd objectstore = memstore" "$D/ceph.conf"
'

test_expect_success 'the bucket exists: a signed HEAD is 200, another bucket is 404' '
    test "$(s3_curl -s -o /dev/null -w "%{http_code}" -I "$S3_ENDPOINT/$S3_BUCKET")" = 200 &&
    test "$(s3_curl -s -o /dev/null -w "%{http_code}" -I "$S3_ENDPOINT/nosuch")" = 404 &&
    s3_curl -sf "$S3_ENDPOINT/" >buckets &&
    grep -F "<Name>$S3_BUCKET</Name>" buckets
'

test_expect_success 'a wrong secret key is 403, an unsigned request sees no bucket list' '
    test "$(curl -s -o /dev/null -w "%{http_code}" --aws-sigv4 "aws:amz:$S3_REGION:s3" \
        --user "$AWS_ACCESS_KEY_ID:wrong" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
        -I "$S3_ENDPOINT/$S3_BUCKET")" = 403 &&
    test "$(curl -s -o /dev/null -w "%{http_code}" "$S3_ENDPOINT/$S3_BUCKET")" = 403
'

test_expect_success 'an object put, listed, read back whole and deleted (signed)' '
    head -c 3000000 /dev/urandom >obj &&
    s3_curl -sf -X PUT --data-binary @obj "$S3_ENDPOINT/$S3_BUCKET/t/obj" &&
    s3_curl -sf "$S3_ENDPOINT/$S3_BUCKET/t/obj" | cmp - obj &&
    s3_curl -sf "$S3_ENDPOINT/$S3_BUCKET?list-type=2&prefix=t%2F" >list &&
    grep -F "<Key>t/obj</Key><" list && grep -F "<Size>3000000</Size>" list &&
    s3_curl -sf -X DELETE "$S3_ENDPOINT/$S3_BUCKET/t/obj" &&
    test "$(s3_curl -s -o /dev/null -w "%{http_code}" -I "$S3_ENDPOINT/$S3_BUCKET/t/obj")" = 404
'

test_expect_success 'stop ends every process by PID and removes the files' '
    D=$(cat "$C/cephdir") && P=$(cat "$C/pids") &&
    "$TEST_DIR/helpers/ceph.sh" stop "$C" &&
    for p in $P; do
        if kill -0 "$p" 2>/dev/null && ! grep -q "^[0-9]* ([^)]*) Z" "/proc/$p/stat"; then
            echo "$p still runs" >&2; exit 1
        fi
    done &&
    test ! -e "$D" && test ! -e "$C/pids" &&
    test "$(curl -s -o /dev/null -w "%{http_code}" "$S3_ENDPOINT/")" = 000
'

test_done

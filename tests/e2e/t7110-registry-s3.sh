#!/bin/sh
# t7110: strata registry with its blobs in S3 (--storage s3://...) and its
# metadata in PostgreSQL, on a real Ceph RGW (tests/e2e/helpers/ceph.sh) and
# PostgreSQL 15 started on 127.0.0.1 (skipped when either cannot start):
# two instances; skopeo push through one, pull through the other (which
# answers blob GETs with 307 to presigned URLs); an upload whose chunks
# alternate between the instances and cross the 5 MiB part minimum, with
# the objects it leaves in the bucket checked (parts, tail, none after the
# PUT); a chunk cut short and continued on the other instance (re-hashed
# from the bucket); monolithic, empty and sha512 uploads; ranged GETs; gc
# (listing in small pages; objects gone from the bucket, the trash empty,
# stale sessions and cut publications removed, gc while the other instance
# takes pushes); the trash of a dead gc restored at server start; S3's
# errors named at start; kill -9 of an instance mid-chunk and the client's
# retry through the other.
. "$(dirname "$0")/lib.sh"

start_postgres
start_ceph
ROOT="$TRASH/unused-root"

# s3_keys PREFIX: the keys of the bucket under PREFIX, one a line
s3_keys() {
    s3_curl -sf "$S3_ENDPOINT/$S3_BUCKET?list-type=2&prefix=$(printf %s "$1" | sed 's|/|%2F|g')" |
        grep -o "<Key>[^<]*</Key>" | sed 's|</*Key>||g'
}

start_sreg_instance A --root "$ROOT" --storage "$S3_URL" --metadata "$PG_URL"
start_sreg_instance B --root "$ROOT" --storage "$S3_URL" --metadata "$PG_URL" --storage-redirect

test_expect_success 'with S3 and PostgreSQL nothing is written locally' '
    test ! -e "$ROOT"
'

test_expect_success 'skopeo pushes through A and pulls through B (redirected to S3) with equal digests' '
    mkdir -p l1/etc l2/data && echo one >l1/etc/one && head -c 300000 /dev/urandom >l2/data/r &&
    make_layer_tgz l1 l1.tgz && make_layer_tgz l2 l2.tgz &&
    make_oci_image layout img l1.tgz l2.tgz &&
    skopeo copy --dest-tls-verify=false oci:layout:img docker://$A_ADDR/s3/img:1 &&
    skopeo copy --src-tls-verify=false docker://$B_ADDR/s3/img:1 oci:back:img &&
    test "$(jq -r ".manifests[0].digest" back/index.json)" = "$OCI_MANIFEST_DIGEST" &&
    for b in layout/blobs/sha256/*; do cmp "$b" "back/blobs/sha256/$(basename "$b")" || exit 1; done &&
    L2=$(sha256sum l2.tgz | cut -d" " -f1) &&
    s3_keys blobs/ >keys &&
    grep -x "blobs/sha256/$L2" keys &&
    grep "307" B.log | grep -F "/v2/s3/img/blobs/sha256:$L2"
'

test_expect_success 'the redirect is a presigned URL that works without credentials, ranges included' '
    L2=$(sha256sum l2.tgz | cut -d" " -f1) &&
    curl -si "http://$B_ADDR/v2/s3/img/blobs/sha256:$L2" | tr -d "\r" >hdr &&
    grep -x "HTTP/1.1 307 Temporary Redirect" hdr &&
    grep -x "Docker-Content-Digest: sha256:$L2" hdr &&
    U=$(sed -n "s/^Location: //p" hdr) &&
    case $U in "$S3_ENDPOINT/$S3_BUCKET/blobs/sha256/$L2?X-Amz-Algorithm=AWS4-HMAC-SHA256&"*) ;; *) exit 1 ;; esac &&
    env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY curl -sf "$U" | cmp - l2.tgz &&
    curl -sf -H "Range: bytes=10-19" "$U" >part && test "$(stat -c %s part)" = 10 &&
    tail -c +11 l2.tgz | head -c 10 | cmp - part &&
    test "$(http_status "${U%X-Amz-Signature=*}X-Amz-Signature=00$(echo "${U##*X-Amz-Signature=}" | cut -c3-)")" = 403 &&
    test "$(http_status -I "http://$B_ADDR/v2/s3/img/blobs/sha256:$L2")" = 200
'

test_expect_success 'ranged GETs through A are streamed from S3' '
    L2=$(sha256sum l2.tgz | cut -d" " -f1) &&
    test "$(http_status -H "Range: bytes=100-199" "http://$A_ADDR/v2/s3/img/blobs/sha256:$L2")" = 206 &&
    curl -sf -H "Range: bytes=100-199" "http://$A_ADDR/v2/s3/img/blobs/sha256:$L2" >r1 &&
    tail -c +101 l2.tgz | head -c 100 | cmp - r1 &&
    curl -sf -H "Range: bytes=-7" "http://$A_ADDR/v2/s3/img/blobs/sha256:$L2" >r2 &&
    tail -c 7 l2.tgz | cmp - r2 &&
    S=$(stat -c %s l2.tgz) &&
    test "$(http_status -H "Range: bytes=$S-" "http://$A_ADDR/v2/s3/img/blobs/sha256:$L2")" = 416
'

test_expect_success 'chunks alternate between A and B, cross 5 MiB: parts, tail, then one blob' '
    head -c 13000000 /dev/urandom >big &&
    head -c 3000000 big >c1 && tail -c +3000001 big | head -c 4000000 >c2 &&
    tail -c +7000001 big | head -c 5000000 >c3 && tail -c +12000001 big >c4 &&
    L=$(curl -si -X POST "http://$A_ADDR/v2/s3/up/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    ID=${L##*/} &&
    s3_keys "uploads/$ID/" >k0 && test "$(cat k0)" = "uploads/$ID/tail-00000" &&
    test "$(http_status -X PATCH -H "Content-Range: 0-2999999" --data-binary @c1 "http://$A_ADDR$L")" = 202 &&
    s3_keys "uploads/$ID/" >k1 && test "$(cat k1)" = "uploads/$ID/tail-00000" &&
    curl -si "http://$B_ADDR$L" | tr -d "\r" | grep -ix "Range: 0-2999999" &&
    test "$(http_status -X PATCH -H "Content-Range: 3000000-6999999" --data-binary @c2 "http://$B_ADDR$L")" = 202 &&
    s3_keys "uploads/$ID/" >k2 &&
    printf "uploads/%s/part-00001\nuploads/%s/tail-00001\n" $ID $ID | cmp - k2 &&
    test "$(http_status -X PATCH -H "Content-Range: 7000000-11999999" --data-binary @c3 "http://$A_ADDR$L")" = 202 &&
    curl -si "http://$B_ADDR$L" | tr -d "\r" | grep -ix "Range: 0-11999999" &&
    s3_keys "uploads/$ID/" >k3 &&
    printf "uploads/%s/part-00001\nuploads/%s/tail-00001\n" $ID $ID | cmp - k3 &&
    test "$(http_status -X PATCH --data-binary @c4 "http://$B_ADDR$L")" = 202 &&
    s3_keys "uploads/$ID/" >k4 &&
    printf "uploads/%s/part-00001\nuploads/%s/part-00002\nuploads/%s/tail-00002\n" $ID $ID $ID | cmp - k4 &&
    D=sha256:$(sha256sum big | cut -d" " -f1) &&
    test "$(http_status -X PUT "http://$A_ADDR$L?digest=$D")" = 201 &&
    s3_keys "uploads/$ID/" >k5 && test ! -s k5 &&
    curl -sf "http://$B_ADDR/v2/s3/up/blobs/$D" -L | cmp - big &&
    curl -sf "http://$A_ADDR/v2/s3/up/blobs/$D" | cmp - big
'

test_expect_success 'a chunk cut short on A is continued on B (the upload re-hashed from S3)' '
    head -c 9000000 /dev/urandom >cut &&
    L=$(curl -si -X POST "http://$A_ADDR/v2/s3/cut/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    { curl -s -o /dev/null --limit-rate 2M --max-time 4 -X PATCH -H "Content-Range: 0-8999999" --data-binary @cut "http://$A_ADDR$L"; true; } &&
    range_of() { curl -si "http://$B_ADDR$L" | tr -d "\r" | sed -n "s/^Range: 0-//Ip"; } &&
    settled() { a=$(range_of) && test "${a:-0}" -gt 0 && sleep 0.5 && test "$(range_of)" = "$a"; } &&
    wait_until 20 settled &&
    R=$(range_of) &&
    at=$((R + 1)) && echo "cut at $at" &&
    test $at -lt 9000000 &&
    tail -c +$((at + 1)) cut >rest &&
    test "$(http_status -X PATCH -H "Content-Range: $at-8999999" --data-binary @rest "http://$B_ADDR$L")" = 202 &&
    D=sha256:$(sha256sum cut | cut -d" " -f1) &&
    test "$(http_status -X PUT "http://$B_ADDR$L?digest=$D")" = 201 &&
    curl -sf "http://$A_ADDR/v2/s3/cut/blobs/$D" | cmp - cut
'

test_expect_success 'monolithic, empty and sha512 uploads; a wrong digest publishes nothing' '
    head -c 70000 /dev/urandom >mono &&
    D=$(push_blob $A_ADDR s3/mono mono) &&
    curl -sf "http://$A_ADDR/v2/s3/mono/blobs/$D" | cmp - mono &&
    : >empty && D0=$(push_blob $A_ADDR s3/mono empty) &&
    curl -sf "http://$A_ADDR/v2/s3/mono/blobs/$D0" >got0 && test ! -s got0 &&
    test "$(http_status -H "Range: bytes=0-" "http://$A_ADDR/v2/s3/mono/blobs/$D0")" = 416 &&
    D512=sha512:$(sha512sum mono | cut -d" " -f1) &&
    L=$(curl -si -X POST "http://$A_ADDR/v2/s3/mono/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    test "$(http_status -X PATCH --data-binary @mono "http://$A_ADDR$L")" = 202 &&
    test "$(http_status -X PUT "http://$B_ADDR$L?digest=$D512")" = 201 &&
    curl -sf "http://$A_ADDR/v2/s3/mono/blobs/$D512" | cmp - mono &&
    s3_keys "blobs/sha512/" | grep -x "blobs/sha512/${D512#sha512:}" &&
    BAD=sha256:$(echo x | sha256sum | cut -d" " -f1) &&
    test "$(http_status -X POST --data-binary @mono "http://$A_ADDR/v2/s3/mono/blobs/uploads/?digest=$BAD")" = 400 &&
    ! s3_keys blobs/ | grep -x "blobs/sha256/${BAD#sha256:}" &&
    no_mono() { ! s3_keys uploads/ | grep "/\.mono-"; } &&
    wait_until 10 no_mono
'

test_expect_success 'gc over S3 and PostgreSQL (listing in pages of 2) removes unreferenced blobs, trash emptied' '
    mkdir -p g1 && head -c 40000 /dev/urandom >g1/f && make_layer_tgz g1 g1.tgz &&
    make_oci_image gl t g1.tgz &&
    skopeo copy --dest-tls-verify=false oci:gl:t docker://$A_ADDR/s3/gone:t &&
    G=$(sha256sum g1.tgz | cut -d" " -f1) &&
    s3_keys blobs/ | grep -x "blobs/sha256/$G" &&
    test "$(http_status -X DELETE "http://$A_ADDR/v2/s3/gone/manifests/t")" = 202 &&
    s3_keys blobs/ >before && test "$(wc -l <before)" -gt 6 &&
    STRATA_S3_MAX_KEYS=2 STRATA_LOG=debug strata registry gc --storage "$S3_URL" --metadata "$PG_URL" --grace 0 >gc.out 2>gc.err &&
    grep "removed blob sha256:$G" gc.out &&
    grep -c "continuation-token=" gc.err >pages && test "$(cat pages)" -ge 3 &&
    ! s3_keys blobs/ | grep -x "blobs/sha256/$G" &&
    test -z "$(s3_keys trash/)" &&
    skopeo copy --src-tls-verify=false docker://$B_ADDR/s3/img:1 oci:back2:img
'

test_expect_success 'gc removes a stale upload session and a publication cut short (its multipart upload)' '
    L=$(curl -si -X POST "http://$A_ADDR/v2/s3/stale/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    ID=${L##*/} &&
    test "$(http_status -X PATCH --data-binary @c1 "http://$A_ADDR$L")" = 202 &&
    test -n "$(s3_keys "uploads/$ID/")" &&
    Z=0000000000000000000000000000000000000000000000000000000000000000 &&
    s3_curl -sf -X POST "$S3_ENDPOINT/$S3_BUCKET/blobs/sha256/$Z?uploads=" >mpu &&
    U=$(sed -n "s/.*<UploadId>\(.*\)<\/UploadId>.*/\1/p" mpu) && test -n "$U" &&
    s3_curl -sf "$S3_ENDPOINT/$S3_BUCKET?prefix=blobs%2F&uploads=" | grep -F "<UploadId>$U</UploadId>" &&
    strata registry gc --storage "$S3_URL" --metadata "$PG_URL" --grace 0 --upload-ttl 0 >gc2.out &&
    grep "removed upload $ID" gc2.out &&
    grep -F "removed upload .publish-sha256-$Z.$U" gc2.out &&
    ! s3_curl -sf "$S3_ENDPOINT/$S3_BUCKET?prefix=blobs%2F&uploads=" | grep -F "<UploadId>" &&
    test -z "$(s3_keys "uploads/$ID/")" &&
    test "$(http_status "http://$A_ADDR$L")" = 404
'

test_expect_success 'gc from one command while B takes pushes: no push fails, every image whole' '
    for i in 1 2 3 4; do
        mkdir -p w$i && head -c 60000 /dev/urandom >w$i/f && make_layer_tgz w$i w$i.tgz &&
        make_oci_image wl$i t w$i.tgz || exit 1
    done &&
    ( for i in 1 2 3 4; do
        skopeo copy --dest-tls-verify=false oci:wl$i:t docker://$B_ADDR/s3/gc$i:t >/dev/null 2>>push.err || echo fail >>fails
      done ) &
    for j in 1 2 3; do strata registry gc --storage "$S3_URL" --metadata "$PG_URL" --grace 60 >>gcw.out || exit 1; done &&
    wait &&
    test ! -s fails &&
    for i in 1 2 3 4; do
        skopeo copy --src-tls-verify=false docker://$A_ADDR/s3/gc$i:t oci:wb$i:t >/dev/null || exit 1
        cmp wl$i/blobs/sha256/$(sha256sum w$i.tgz | cut -d" " -f1) wb$i/blobs/sha256/$(sha256sum w$i.tgz | cut -d" " -f1) || exit 1
    done
'

test_expect_success 'blobs a dead gc left in the trash: known ones restored at server start, others deleted' '
    L1=$(sha256sum l1.tgz | cut -d" " -f1) &&
    s3_curl -sf -X PUT -H "x-amz-copy-source: /$S3_BUCKET/blobs/sha256/$L1" "$S3_ENDPOINT/$S3_BUCKET/trash/sha256-$L1" >/dev/null &&
    s3_curl -sf -X DELETE "$S3_ENDPOINT/$S3_BUCKET/blobs/sha256/$L1" &&
    echo junk >junk && s3_curl -sf -T junk "$S3_ENDPOINT/$S3_BUCKET/trash/sha256-$(sha256sum junk | cut -d" " -f1)" &&
    test "$(http_status "http://$A_ADDR/v2/s3/img/blobs/sha256:$L1")" = 404 &&
    P=$(free_port) &&
    { "$STRATA_BIN" registry serve --addr 127.0.0.1:$P --root "$ROOT" --storage "$S3_URL" --metadata "$PG_URL" >C.log 2>&1 & } &&
    C=$! &&
    wait_http "http://127.0.0.1:$P/v2/" 30 &&
    curl -sf "http://$A_ADDR/v2/s3/img/blobs/sha256:$L1" | cmp - l1.tgz &&
    test -z "$(s3_keys trash/)" &&
    kill -TERM $C && wait $C
'

test_expect_success 'S3 errors at start are named: no such bucket, wrong key' '
    B404=$(echo "$S3_URL" | sed "s|^s3://$S3_BUCKET?|s3://nosuchbucket?|") &&
    test_must_fail strata registry gc --storage "$B404" --metadata "$PG_URL" 2>e1 &&
    grep "bucket .nosuchbucket. does not exist" e1 &&
    AWS_SECRET_ACCESS_KEY=wrong test_must_fail strata registry gc --storage "$S3_URL" --metadata "$PG_URL" 2>e2 &&
    grep "access to bucket .$S3_BUCKET. denied" e2
'

test_expect_success 'kill -9 of A mid-chunk: the chunk never reached S3; the retry through B succeeds' '
    head -c 9000000 /dev/urandom >k && head -c 6000000 k >k1 && tail -c +6000001 k >k2 &&
    L=$(curl -si -X POST "http://$A_ADDR/v2/s3/kill/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    test "$(http_status -X PATCH -H "Content-Range: 0-5999999" --data-binary @k1 "http://$A_ADDR$L")" = 202 &&
    { curl -s -o /dev/null --limit-rate 500k -X PATCH -H "Content-Range: 6000000-8999999" --data-binary @k2 "http://$A_ADDR$L" & } &&
    sleep 1.5 &&
    kill -9 $A_PID &&
    wait &&
    curl -si "http://$B_ADDR$L" | tr -d "\r" | grep -ix "Range: 0-5999999" &&
    test "$(http_status -X PATCH -H "Content-Range: 6000000-8999999" --data-binary @k2 "http://$B_ADDR$L")" = 202 &&
    D=sha256:$(sha256sum k | cut -d" " -f1) &&
    test "$(http_status -X PUT "http://$B_ADDR$L?digest=$D")" = 201 &&
    curl -sf "http://$B_ADDR/v2/s3/kill/blobs/$D" -L | cmp - k
'

start_sreg_instance A --root "$ROOT" --storage "$S3_URL" --metadata "$PG_URL"

kill -TERM $A_PID $B_PID
wait $A_PID; A_RC=$?
wait $B_PID; B_RC=$?
test_expect_success 'both instances stop cleanly (exit 0, no sanitizer report)' '
    test $A_RC = 0 && test $B_RC = 0 &&
    grep "SIGTERM, shutting down" A.log && grep "SIGTERM, shutting down" B.log &&
    ! grep -i "sanitizer\|runtime error" A.log B.log
'

test_done

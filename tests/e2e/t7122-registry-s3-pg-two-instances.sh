#!/bin/sh
# t7122: two `strata registry serve` instances over one S3 bucket (Ceph RGW,
# tests/e2e/helpers/ceph.sh) and one PostgreSQL, each with a root of its own:
# an image pushed (skopeo) through A is pulled whole through B; the bytes are
# in the bucket and in no instance's root; manifests (GET/HEAD), tags and
# the catalog agree at once on both; a tag moved or deleted on one is seen
# on the other; a blob pushed through A mounts into another repository
# through B. Skipped when Ceph or PostgreSQL cannot start here.
. "$(dirname "$0")/lib.sh"
# test-timeout: 300

start_ceph
start_postgres
start_sreg_instance A --root "$TRASH/a" --storage "$S3_URL" --metadata "$PG_URL"
start_sreg_instance B --root "$TRASH/b" --storage "$S3_URL" --metadata "$PG_URL"

test_expect_success 'skopeo pushes through A and pulls through B: same manifest digest, same blobs' '
    mkdir -p l1/etc l2/data && echo one >l1/etc/one && head -c 3000000 /dev/urandom >l2/data/r &&
    make_layer_tgz l1 l1.tgz && make_layer_tgz l2 l2.tgz &&
    make_oci_image layout img l1.tgz l2.tgz &&
    echo "$OCI_MANIFEST_DIGEST" >mdigest &&
    skopeo copy --dest-tls-verify=false oci:layout:img docker://$A_ADDR/s3/img:1 &&
    skopeo copy --src-tls-verify=false docker://$B_ADDR/s3/img:1 oci:back:img &&
    test "$(jq -r ".manifests[0].digest" back/index.json)" = "$OCI_MANIFEST_DIGEST" &&
    for b in layout/blobs/sha256/*; do cmp "$b" "back/blobs/sha256/$(basename "$b")" || exit 1; done
'

test_expect_success 'the blobs are objects in the bucket, not files in either root' '
    bucket_keys blobs%2F >keys &&
    for b in layout/blobs/sha256/*; do grep -x "blobs/sha256/$(basename "$b")" keys || exit 1; done &&
    test -z "$(find "$TRASH/a" "$TRASH/b" -type f -size +100k)" &&
    test "$(psql -At "$PG_URL" -c "SELECT count(*) FROM tags")" = 1
'

test_expect_success 'manifest GET and HEAD, tags and catalog agree through both instances' '
    D=$(cat mdigest) &&
    for X in $A_ADDR $B_ADDR; do
        curl -sf -D h -o m -H "Accept: application/vnd.oci.image.manifest.v1+json" "http://$X/v2/s3/img/manifests/1" &&
        tr -d "\r" <h | grep -ix "Docker-Content-Digest: $D" &&
        test "sha256:$(sha256sum <m | cut -d" " -f1)" = "$D" &&
        curl -sfI -H "Accept: application/vnd.oci.image.manifest.v1+json" "http://$X/v2/s3/img/manifests/$D" |
            tr -d "\r" | grep -ix "Docker-Content-Digest: $D" &&
        curl -sf "http://$X/v2/s3/img/tags/list" | jq -e ".tags == [\"1\"]" &&
        curl -sf "http://$X/v2/_catalog" | jq -e ".repositories == [\"s3/img\"]" || exit 1
    done
'

test_expect_success 'a blob GET with a Range through B serves those bytes from the bucket' '
    L=$(jq -r ".layers[1].digest" "back/blobs/sha256/$(cut -d: -f2 mdigest)") &&
    curl -sf -r 1000-1999 "http://$B_ADDR/v2/s3/img/blobs/$L" >part &&
    tail -c +1001 "back/blobs/sha256/${L#sha256:}" | head -c 1000 | cmp - part
'

test_expect_success 'a tag moved on A is seen at once on B; deleted on B, gone on A' '
    curl -sf -H "Accept: application/vnd.oci.image.manifest.v1+json" "http://$A_ADDR/v2/s3/img/manifests/1" >m1 &&
    test "$(http_status -X PUT -H "Content-Type: application/vnd.oci.image.manifest.v1+json" --data-binary @m1 "http://$A_ADDR/v2/s3/img/manifests/moving")" = 201 &&
    curl -sf "http://$B_ADDR/v2/s3/img/tags/list" | jq -e ".tags == [\"1\",\"moving\"]" &&
    test "$(http_status -X DELETE "http://$B_ADDR/v2/s3/img/manifests/moving")" = 202 &&
    test "$(http_status "http://$A_ADDR/v2/s3/img/manifests/moving")" = 404 &&
    test "$(http_status "http://$A_ADDR/v2/s3/img/manifests/1")" = 200
'

test_expect_success 'a blob pushed through A mounts into another repository through B' '
    L=$(jq -r ".layers[1].digest" "back/blobs/sha256/$(cut -d: -f2 mdigest)") &&
    test "$(http_status "http://$B_ADDR/v2/s3/other/blobs/$L")" = 404 &&
    test "$(http_status -X POST "http://$B_ADDR/v2/s3/other/blobs/uploads/?mount=$L&from=s3/img")" = 201 &&
    curl -sf "http://$A_ADDR/v2/s3/other/blobs/$L" | cmp - "back/blobs/sha256/${L#sha256:}"
'

test_expect_success 'no sanitizer report in either instance log' '
    sreg_logs_clean A B
'

test_done

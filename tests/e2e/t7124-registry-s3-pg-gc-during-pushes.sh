#!/bin/sh
# t7124: gc over S3 + PostgreSQL (`strata registry gc --storage s3://...
# --metadata postgres://...`, run beside instance A) again and again while
# instance B takes pushes: no push fails, every pushed image is whole after
# (pulled and every digest verified); the garbage that was there before
# (untagged images, made older than the grace period) is removed from the
# metadata and from the bucket; a last gc with no grace at all keeps every
# tagged image whole.
. "$(dirname "$0")/lib.sh"
# test-timeout: 400

start_ceph
start_postgres
start_sreg_instance A --root "$TRASH/a" --storage "$S3_URL" --metadata "$PG_URL"
start_sreg_instance B --root "$TRASH/b" --storage "$S3_URL" --metadata "$PG_URL"

gc() {
    strata registry gc --root "$TRASH/a" --storage "$S3_URL" --metadata "$PG_URL" "$@"
}

# image NAME SIZE: an OCI layout NAME with one image (tag t) of a random layer
image() {
    mkdir -p "$1.d" && head -c "$2" /dev/urandom >"$1.d/f" && make_layer_tgz "$1.d" "$1.tgz" &&
    make_oci_image "$1" t "$1.tgz" && echo "$OCI_MANIFEST_DIGEST" >"$1.digest"
}

# pulled_whole ADDR REPO LAYOUT: pull REPO:t through ADDR; the manifest
# digest is the one pushed and every blob matches the original
pulled_whole() {
    rm -rf "back-$3" &&
    skopeo copy --src-tls-verify=false "docker://$1/$2:t" "oci:back-$3:t" >/dev/null &&
    test "$(jq -r ".manifests[0].digest" "back-$3/index.json")" = "$(cat "$3.digest")" &&
    for b in "$3"/blobs/sha256/*; do cmp "$b" "back-$3/blobs/sha256/$(basename "$b")" || return 1; done
}

test_expect_success 'setup: a kept image and 4 garbage images (tags deleted), all made 2 hours old' '
    image keep 400000 &&
    skopeo copy --dest-tls-verify=false oci:keep:t docker://$A_ADDR/gc/keep:t >/dev/null &&
    for i in 1 2 3 4; do
        image junk$i 300000 &&
        skopeo copy --dest-tls-verify=false oci:junk$i:t docker://$A_ADDR/gc/junk$i:t >/dev/null &&
        test "$(http_status -X DELETE "http://$A_ADDR/v2/gc/junk$i/manifests/t")" = 202 || exit 1
    done &&
    psql -q "$PG_URL" -c "UPDATE blobs SET created = created - 7200; UPDATE links SET created = created - 7200;
        UPDATE manifests SET created = created - 7200; UPDATE tags SET updated = updated - 7200" &&
    for i in 1 2 3 4; do
        L=$(jq -r ".layers[0].digest" "junk$i/blobs/sha256/$(cut -d: -f2 junk$i.digest)") &&
        echo "${L#sha256:}" >>junk.layers || exit 1
    done &&
    bucket_keys blobs%2F >before &&
    for h in $(cat junk.layers); do grep -x "blobs/sha256/$h" before || exit 1; done
'

test_expect_success 'gc again and again beside A while B takes 8 pushes: none fails, garbage gone' '
    for i in 1 2 3 4 5 6 7 8; do image p$i 700000 || exit 1; done &&
    ( for i in 1 2 3 4 5 6 7 8; do
        skopeo copy --dest-tls-verify=false oci:p$i:t docker://$B_ADDR/gc/p$i:t >/dev/null 2>>push.err ||
            echo "p$i" >>failed
      done; touch pushes.done ) &
    runs=0 &&
    while [ ! -e pushes.done ] || [ $runs -lt 3 ]; do
        gc --grace 120 >>gc.out 2>>gc.err || { cat gc.err >&2; exit 1; }
        runs=$((runs + 1))
    done &&
    wait &&
    echo "gc runs: $runs" &&
    { test ! -s failed || { cat failed push.err >&2; exit 1; }; } &&
    test "$(grep -c "^removed manifest gc/junk" gc.out)" = 4 &&
    bucket_keys blobs%2F >after &&
    for h in $(cat junk.layers); do
        grep -q "^removed blob sha256:$h" gc.out && ! grep -x "blobs/sha256/$h" after || exit 1
    done
'

test_expect_success 'every pushed image and the kept one are whole, pulled through A' '
    for i in 1 2 3 4 5 6 7 8; do pulled_whole $A_ADDR gc/p$i p$i || exit 1; done &&
    pulled_whole $A_ADDR gc/keep keep
'

test_expect_success 'a gc with no grace at all after the pushes keeps every tagged image whole' '
    gc --grace 0 >gc0.out &&
    ! grep "gc/p[0-9]@\|gc/keep@" gc0.out &&
    for i in 1 2 3 4 5 6 7 8; do pulled_whole $B_ADDR gc/p$i p$i || exit 1; done &&
    pulled_whole $B_ADDR gc/keep keep
'

test_expect_success 'no sanitizer report in either instance log' '
    sreg_logs_clean A B
'

test_done

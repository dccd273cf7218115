#!/bin/sh
# t7100: strata registry with its metadata in PostgreSQL (--metadata
# postgres://...), two instances sharing the storage root and the database:
# schema migrations (versioned, applied once, `strata registry migrate`), a
# push through one instance pulled through the other, an upload whose first
# chunk goes through one and the rest plus the PUT through the other, a tag
# moved on one seen at once on the other, a kill -9 mid-upload with the
# client's retry through the other, retention, gc (with --metadata) while
# the other instance takes pushes. PostgreSQL 15 is started in a temp dir on
# 127.0.0.1 (tests/e2e/helpers/postgres.sh); skipped when it cannot start.
. "$(dirname "$0")/lib.sh"

start_postgres
ROOT="$TRASH/shared"

test_expect_success 'registry migrate applies the schema once and reports its version' '
    strata registry migrate --metadata "$PG_URL" >out &&
    grep -x "schema version 1" out &&
    strata registry migrate --metadata "$PG_URL" >out2 &&
    grep -x "schema version 1" out2 &&
    test "$(psql -At "$PG_URL" -c "SELECT count(*) FROM strata_schema")" = 1
'

test_expect_success 'a --metadata that is not a postgres URL is a usage error' '
    test_exit_code 2 strata registry migrate --metadata mysql://x/y 2>err &&
    grep "postgres://" err
'

start_sreg_instance A --root "$ROOT" --metadata "$PG_URL"
start_sreg_instance B --root "$ROOT" --metadata "$PG_URL"

test_expect_success 'no SQLite database: the metadata is in PostgreSQL' '
    test ! -e "$ROOT/meta.db"
'

test_expect_success 'skopeo pushes through A and pulls through B with equal digests' '
    mkdir -p l1/etc l2/data && echo one >l1/etc/one && head -c 300000 /dev/urandom >l2/data/r &&
    make_layer_tgz l1 l1.tgz && make_layer_tgz l2 l2.tgz &&
    make_oci_image layout img l1.tgz l2.tgz &&
    skopeo copy --dest-tls-verify=false oci:layout:img docker://$A_ADDR/pg/img:1 &&
    skopeo copy --src-tls-verify=false docker://$B_ADDR/pg/img:1 oci:back:img &&
    test "$(jq -r ".manifests[0].digest" back/index.json)" = "$OCI_MANIFEST_DIGEST" &&
    for b in layout/blobs/sha256/*; do cmp "$b" "back/blobs/sha256/$(basename "$b")" || exit 1; done &&
    curl -sf "http://$B_ADDR/v2/_catalog" | jq -e ".repositories == [\"pg/img\"]"
'

test_expect_success 'an upload: first chunk through A, the rest and the PUT through B' '
    head -c 600000 /dev/urandom >big &&
    head -c 200000 big >p1 && tail -c +200001 big >p2 &&
    L=$(curl -si -X POST "http://$A_ADDR/v2/pg/up/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    test "$(http_status -X PATCH -H "Content-Range: 0-199999" --data-binary @p1 "http://$A_ADDR$L")" = 202 &&
    curl -si "http://$B_ADDR$L" | tr -d "\r" | grep -ix "Range: 0-199999" &&
    test "$(http_status -X PATCH -H "Content-Range: 200000-599999" --data-binary @p2 "http://$B_ADDR$L")" = 202 &&
    D=sha256:$(sha256sum big | cut -d" " -f1) &&
    test "$(http_status -X PUT "http://$B_ADDR$L?digest=$D")" = 201 &&
    curl -sf "http://$A_ADDR/v2/pg/up/blobs/$D" | cmp - big
'

test_expect_success 'a chunk of a session that the other instance is writing is 416 (shared session lock)' '
    L=$(curl -si -X POST "http://$A_ADDR/v2/pg/lk/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    head -c 2000000 /dev/urandom >slow &&
    { curl -s -o /dev/null --limit-rate 400k -X PATCH -H "Content-Range: 0-1999999" --data-binary @slow "http://$A_ADDR$L" & } &&
    sleep 1.5 &&
    test "$(http_status -X PATCH -H "Content-Range: 0-2" --data-binary abc "http://$B_ADDR$L")" = 416 &&
    wait
'

test_expect_success 'a tag moved on A is seen at once on B' '
    M=$(curl -sf -H "Accept: application/vnd.oci.image.manifest.v1+json" "http://$A_ADDR/v2/pg/img/manifests/1") &&
    printf "%s" "$M" >m1 &&
    test "$(http_status -X PUT -H "Content-Type: application/vnd.oci.image.manifest.v1+json" --data-binary @m1 "http://$A_ADDR/v2/pg/img/manifests/moving")" = 201 &&
    curl -sf "http://$B_ADDR/v2/pg/img/tags/list" | jq -e ".tags == [\"1\",\"moving\"]" &&
    test "$(http_status -X DELETE "http://$A_ADDR/v2/pg/img/manifests/moving")" = 202 &&
    test "$(http_status "http://$B_ADDR/v2/pg/img/manifests/moving")" = 404
'

test_expect_success 'kill -9 of A mid-upload: the client retries through B and succeeds' '
    head -c 3000000 /dev/urandom >k &&
    L=$(curl -si -X POST "http://$A_ADDR/v2/pg/kill/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    echo "$L" >kill-session &&
    { curl -s -o /dev/null --limit-rate 500k -X PATCH -H "Content-Range: 0-2999999" --data-binary @k "http://$A_ADDR$L" & } &&
    sleep 1.5 &&
    kill -9 $A_PID &&
    wait &&
    R=$(curl -si "http://$B_ADDR$L" | tr -d "\r" | sed -n "s/^Range: 0-//Ip") &&
    at=$((R + 1)) &&
    test $at -lt 3000000 &&
    tail -c +$((at + 1)) k >rest &&
    test "$(http_status -X PATCH -H "Content-Range: $at-2999999" --data-binary @rest "http://$B_ADDR$L")" = 202 &&
    D=sha256:$(sha256sum k | cut -d" " -f1) &&
    test "$(http_status -X PUT "http://$B_ADDR$L?digest=$D")" = 201 &&
    curl -sf "http://$B_ADDR/v2/pg/kill/blobs/$D" | cmp - k
'

start_sreg_instance A --root "$ROOT" --metadata "$PG_URL"

test_expect_success 'retention over PostgreSQL keeps exactly the newest N matching tags' '
    for t in r1 r2 r3 r4; do
        test "$(http_status -X PUT -H "Content-Type: application/vnd.oci.image.manifest.v1+json" --data-binary @m1 "http://$A_ADDR/v2/pg/img/manifests/$t")" = 201 || exit 1
    done &&
    strata registry retention --root "$ROOT" --metadata "$PG_URL" --repository "pg/*" --match "^r[0-9]+$" --keep-last 2 >ret.out &&
    grep -x "deleted 2 tags" ret.out &&
    curl -sf "http://$B_ADDR/v2/pg/img/tags/list" | jq -ce .tags >t &&
    test "$(cat t)" = "[\"1\",\"r3\",\"r4\"]"
'

test_expect_success 'gc through the metadata while B takes pushes: no push fails, every image whole' '
    for i in 1 2 3 4 5 6; do
        mkdir -p g$i && head -c 50000 /dev/urandom >g$i/f && make_layer_tgz g$i g$i.tgz &&
        make_oci_image gl$i t g$i.tgz || exit 1
    done &&
    ( for i in 1 2 3 4 5 6; do
        skopeo copy --dest-tls-verify=false oci:gl$i:t docker://$B_ADDR/pg/gc$i:t >/dev/null 2>>push.err || echo fail >>fails
      done ) &
    for j in 1 2 3; do strata registry gc --root "$ROOT" --metadata "$PG_URL" --grace 60 >>gc.out || exit 1; done &&
    wait &&
    test ! -s fails &&
    for i in 1 2 3 4 5 6; do
        skopeo copy --src-tls-verify=false docker://$A_ADDR/pg/gc$i:t oci:gb$i:t >/dev/null || exit 1
    done &&
    grep "^removed" gc.out
'

test_expect_success 'gc removes an untagged manifest and its unreferenced blobs' '
    test "$(http_status -X DELETE "http://$A_ADDR/v2/pg/gc1/manifests/t")" = 202 &&
    strata registry gc --root "$ROOT" --metadata "$PG_URL" --grace 0 >gc2.out &&
    grep "removed manifest pg/gc1@" gc2.out &&
    test "$(http_status "http://$B_ADDR/v2/pg/gc2/manifests/t")" = 200
'

test_done

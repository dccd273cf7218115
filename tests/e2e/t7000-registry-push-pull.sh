#!/bin/sh
# t7000: strata registry serve — the core push/pull routes with curl, and
# skopeo copying an OCI image in and out with equal digests.
. "$(dirname "$0")/lib.sh"

start_strata_registry
R="http://$SREG"

test_expect_success 'GET /v2/ answers 200 with the API version header' '
    curl -si "$R/v2/" >out &&
    grep "^HTTP/1.1 200" out &&
    grep -i "^Docker-Distribution-API-Version: registry/2.0" out
'

test_expect_success 'monolithic POST ?digest= stores a blob: 201, Location, digest' '
    echo "hello blob" >b1 &&
    D=sha256:$(sha256sum b1 | cut -d" " -f1) &&
    curl -si -X POST --data-binary @b1 "$R/v2/app/one/blobs/uploads/?digest=$D" >out &&
    grep "^HTTP/1.1 201" out &&
    grep -i "^Location: /v2/app/one/blobs/$D" out &&
    grep -i "^Docker-Content-Digest: $D" out
'

test_expect_success 'blob GET returns the bytes, HEAD the length' '
    D=sha256:$(sha256sum b1 | cut -d" " -f1) &&
    curl -sf "$R/v2/app/one/blobs/$D" >got && cmp b1 got &&
    curl -sI "$R/v2/app/one/blobs/$D" >head &&
    grep "^HTTP/1.1 200" head &&
    grep -i "^Content-Length: 11" head &&
    grep -i "^Docker-Content-Digest: $D" head
'

test_expect_success 'blob GET with Range answers 206 and 416' '
    D=sha256:$(sha256sum b1 | cut -d" " -f1) &&
    curl -si -H "Range: bytes=6-9" "$R/v2/app/one/blobs/$D" >out &&
    grep "^HTTP/1.1 206" out && grep -i "^Content-Range: bytes 6-9/11" out &&
    tail -c 4 out | grep -x blob &&
    curl -si -H "Range: bytes=-3" "$R/v2/app/one/blobs/$D" | grep -i "^Content-Range: bytes 8-10/11" &&
    curl -si -H "Range: bytes=50-60" "$R/v2/app/one/blobs/$D" >out &&
    grep "^HTTP/1.1 416" out && grep -i "^Content-Range: bytes \*/11" out &&
    test "$(http_status -H "Range: bytes=5-2" "$R/v2/app/one/blobs/$D")" = 416 &&
    test "$(http_status -H "Range: items=0-1" "$R/v2/app/one/blobs/$D")" = 200 &&
    curl -s -H "Range: bytes=0-1,4-5" "$R/v2/app/one/blobs/$D" -D hdr -o whole &&
    head -1 hdr | grep " 200 " && test "$(wc -c <whole)" = 11
'

test_expect_success 'a blob is not visible in another repository' '
    D=sha256:$(sha256sum b1 | cut -d" " -f1) &&
    test "$(http_status "$R/v2/app/two/blobs/$D")" = 404 &&
    curl -s "$R/v2/app/two/blobs/$D" | grep BLOB_UNKNOWN
'

test_expect_success 'session upload: POST 202 with Location, Range and OCI-Chunk-Min-Length' '
    curl -si -X POST "$R/v2/app/one/blobs/uploads/" | tr -d "\r" >out &&
    grep "^HTTP/1.1 202" out &&
    grep -i "^Range: 0-0" out &&
    grep -i "^OCI-Chunk-Min-Length: [0-9]" out &&
    grep -i "^Docker-Upload-UUID: [0-9a-f]\{32\}" out &&
    grep -i "^Location: /v2/app/one/blobs/uploads/" out
'

test_expect_success 'chunks: PATCH in order, out of order is 416, GET status, PUT completes' '
    printf "0123456789" >chunked &&
    D=sha256:$(sha256sum chunked | cut -d" " -f1) &&
    L=$(curl -si -X POST "$R/v2/app/one/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    curl -si -X PATCH -H "Content-Range: 0-3" -H "Content-Type: application/octet-stream" \
        --data-binary 0123 "$R$L" | tr -d "\r" >p1 &&
    grep "^HTTP/1.1 202" p1 && grep -i "^Range: 0-3" p1 &&
    curl -si -X PATCH -H "Content-Range: 2-5" --data-binary 2345 "$R$L" | tr -d "\r" >p2 &&
    grep "^HTTP/1.1 416" p2 && grep -i "^Range: 0-3" p2 &&
    curl -si -X PATCH -H "Content-Range: bogus" --data-binary 4567 "$R$L" | grep "^HTTP/1.1 416" &&
    curl -si "$R$L" | tr -d "\r" >st &&
    grep "^HTTP/1.1 204" st && grep -i "^Range: 0-3" st &&
    curl -si -X PATCH --data-binary 4567 "$R$L" | tr -d "\r" | grep -i "^Range: 0-7" &&
    curl -si -X PUT --data-binary 89 "$R$L?digest=$D" | tr -d "\r" >put &&
    grep "^HTTP/1.1 201" put && grep -i "^Docker-Content-Digest: $D" put &&
    curl -sf "$R/v2/app/one/blobs/$D" | cmp - chunked &&
    test "$(http_status "$R$L")" = 404
'

make_manifest() {
    # make_manifest CONFIGDIGEST CONFIGSIZE LAYERDIGEST LAYERSIZE > file
    jq -nc --arg cd "$1" --argjson cs "$2" --arg ld "$3" --argjson ls "$4" \
        "{schemaVersion:2,mediaType:\"application/vnd.oci.image.manifest.v1+json\",config:{mediaType:\"application/vnd.oci.image.config.v1+json\",digest:\$cd,size:\$cs},layers:[{mediaType:\"application/vnd.oci.image.layer.v1.tar+gzip\",digest:\$ld,size:\$ls}]}"
}

test_expect_success 'manifest PUT by tag: 201 with Location and digest' '
    echo "{}" >cfg && CD=$(push_blob "$SREG" app/one cfg) &&
    LD=$(sha256sum b1 | cut -d" " -f1) &&
    make_manifest "$CD" 3 "sha256:$LD" 11 >m1 &&
    MD=sha256:$(sha256sum m1 | cut -d" " -f1) &&
    curl -si -X PUT -H "Content-Type: application/vnd.oci.image.manifest.v1+json" \
        --data-binary @m1 "$R/v2/app/one/manifests/v1" | tr -d "\r" >out &&
    grep "^HTTP/1.1 201" out &&
    grep -i "^Location: /v2/app/one/manifests/$MD" out &&
    grep -i "^Docker-Content-Digest: $MD" out
'

test_expect_success 'manifest GET by tag and digest, with its media type; HEAD' '
    MD=sha256:$(sha256sum m1 | cut -d" " -f1) &&
    curl -si -H "Accept: application/vnd.oci.image.manifest.v1+json" "$R/v2/app/one/manifests/v1" | tr -d "\r" >out &&
    grep "^HTTP/1.1 200" out &&
    grep -i "^Content-Type: application/vnd.oci.image.manifest.v1+json" out &&
    grep -i "^Docker-Content-Digest: $MD" out &&
    curl -sf "$R/v2/app/one/manifests/$MD" | cmp - m1 &&
    curl -sI "$R/v2/app/one/manifests/v1" | tr -d "\r" >head &&
    grep "^HTTP/1.1 200" head && grep -i "^Content-Length: $(stat -c %s m1)" head
'

test_expect_success 'Accept that excludes the media type: 404 MANIFEST_UNKNOWN' '
    curl -si -H "Accept: application/vnd.docker.distribution.manifest.v2+json" \
        "$R/v2/app/one/manifests/v1" >out &&
    grep "^HTTP/1.1 404" out && grep MANIFEST_UNKNOWN out &&
    test "$(http_status -H "Accept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json;q=0.5" "$R/v2/app/one/manifests/v1")" = 200
'

test_expect_success 'tags list and catalog' '
    curl -sf "$R/v2/app/one/tags/list" | jq -e ".name == \"app/one\" and .tags == [\"v1\"]" &&
    curl -sf "$R/v2/_catalog" | jq -e ".repositories == [\"app/one\"]"
'

test_expect_success 'cross-repository mount: 201 when linked in from, 202 otherwise' '
    D=sha256:$(sha256sum b1 | cut -d" " -f1) &&
    curl -si -X POST "$R/v2/app/two/blobs/uploads/?mount=$D&from=app/one" | tr -d "\r" >out &&
    grep "^HTTP/1.1 201" out && grep -i "^Location: /v2/app/two/blobs/$D" out &&
    test "$(http_status "$R/v2/app/two/blobs/$D")" = 200 &&
    curl -si -X POST "$R/v2/app/three/blobs/uploads/?mount=$D&from=app/nothere" | grep "^HTTP/1.1 202" &&
    test "$(http_status "$R/v2/app/three/blobs/$D")" = 404
'

test_expect_success 'blob stored once for both repositories' '
    D=$(sha256sum b1 | cut -d" " -f1) &&
    registry_stored blobs >stored &&
    test "$(grep -cx "$D" stored)" = 1
'

test_expect_success 'skopeo copies an OCI image in and out with equal digests' '
    mkdir -p l1/etc l2/data && echo one >l1/etc/one && head -c 100000 /dev/urandom >l2/data/r &&
    make_layer_tgz l1 l1.tgz && make_layer_tgz l2 l2.tgz &&
    make_oci_image layout img l1.tgz l2.tgz &&
    skopeo copy --dest-tls-verify=false oci:layout:img docker://$SREG/sk/img:1 &&
    skopeo inspect --tls-verify=false --raw docker://$SREG/sk/img:1 >raw &&
    test "sha256:$(sha256sum raw | cut -d" " -f1)" = "$OCI_MANIFEST_DIGEST" &&
    skopeo copy --src-tls-verify=false docker://$SREG/sk/img:1 oci:back:img &&
    jq -r ".manifests[0].digest" back/index.json >d &&
    test "$(cat d)" = "$OCI_MANIFEST_DIGEST" &&
    for b in layout/blobs/sha256/*; do cmp "$b" "back/blobs/sha256/$(basename "$b")" || exit 1; done
'

test_expect_success 'manifest DELETE by digest, then 404; tag DELETE' '
    MD=sha256:$(sha256sum m1 | cut -d" " -f1) &&
    curl -s -X PUT -H "Content-Type: application/vnd.oci.image.manifest.v1+json" \
        --data-binary @m1 "$R/v2/app/one/manifests/v2" >/dev/null &&
    test "$(http_status -X DELETE "$R/v2/app/one/manifests/v2")" = 202 &&
    curl -sf "$R/v2/app/one/tags/list" | jq -e ".tags == [\"v1\"]" &&
    test "$(http_status -X DELETE "$R/v2/app/one/manifests/$MD")" = 202 &&
    test "$(http_status "$R/v2/app/one/manifests/$MD")" = 404 &&
    test "$(http_status "$R/v2/app/one/manifests/v1")" = 404 &&
    test "$(http_status -X DELETE "$R/v2/app/one/manifests/$MD")" = 404
'

test_expect_success 'blob DELETE unlinks it from the repository' '
    D=sha256:$(sha256sum b1 | cut -d" " -f1) &&
    test "$(http_status -X DELETE "$R/v2/app/two/blobs/$D")" = 202 &&
    test "$(http_status "$R/v2/app/two/blobs/$D")" = 404 &&
    test "$(http_status "$R/v2/app/one/blobs/$D")" = 200 &&
    test "$(http_status -X DELETE "$R/v2/app/two/blobs/$D")" = 404
'

test_expect_success 'the access log has one line per request' '
    grep -c "\"GET /v2/\" 200" "$TRASH/strata-registry.log" >n && test "$(cat n)" -ge 1 &&
    grep -E "\"PUT /v2/app/one/manifests/v1\" 201 in=[0-9]+ out=0 [0-9.]+ms" "$TRASH/strata-registry.log"
'

test_expect_success 'SIGTERM stops the server cleanly' '
    stop_strata_registry
'

test_expect_success 'without --root the storage is <strata root>/registry' '
    P=$(free_port) &&
    { "$STRATA_BIN" registry serve --addr 127.0.0.1:$P --log-format none 2>dflt.log & } &&
    wait_http "http://127.0.0.1:$P/v2/" &&
    kill -TERM $! && wait $! &&
    test -f "$STRATA_ROOT/registry/meta.db" && test -d "$STRATA_ROOT/registry/blobs" &&
    grep "serving $STRATA_ROOT/registry on http://127.0.0.1:$P" dflt.log
'

test_expect_success 'a port in use is a clear error' '
    P=$(free_port) &&
    hold_port $P held && holder=$! &&
    { wait_until 30 test -e held &&
      test_exit_code 1 timeout 30 "$STRATA_BIN" registry serve --root r3 --addr 127.0.0.1:$P \
          ${REG_BACKEND_READY:+--storage "$S3_URL" --metadata "$PG_URL"} 2>err
      rc=$?; kill $holder; wait $holder; test $rc = 0; } &&
    grep "listen on .127.0.0.1:$P." err
'

test_done

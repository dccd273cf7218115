#!/bin/sh
# t7001: strata registry — every error code of the distribution spec with its
# HTTP status; malformed names, digests, ranges and manifests; pagination
# with Link headers; the referrers API.
. "$(dirname "$0")/lib.sh"

start_strata_registry
R="http://$SREG"
OCIM=application/vnd.oci.image.manifest.v1+json
OCII=application/vnd.oci.image.index.v1+json

# check STATUS CODE CURL-ARGS...: the request answers STATUS with error CODE
check() {
    _st=$1 _code=$2
    shift 2
    curl -s --path-as-is -o body -w "%{http_code}" "$@" >status
    [ "$(cat status)" = "$_st" ] || { echo "got $(cat status), want $_st: $*" >&2; cat body >&2; echo >&2; return 1; }
    [ "$_code" = - ] && return 0
    jq -e --arg c "$_code" ".errors[0].code == \$c" body >/dev/null || { echo "want $_code:" >&2; cat body >&2; echo >&2; return 1; }
}

Z=sha256:0000000000000000000000000000000000000000000000000000000000000000

test_expect_success 'request/response table' '
    cat >table <<EOT
400 NAME_INVALID GET $R/v2/Upper/tags/list
400 NAME_INVALID GET $R/v2/a/../b/tags/list
400 NAME_INVALID GET $R/v2/-lead/manifests/x
400 NAME_INVALID GET $R/v2/a//b/manifests/x
404 NAME_UNKNOWN GET $R/v2/no/such/tags/list
404 NAME_UNKNOWN GET $R/v2/no/such/manifests/latest
400 DIGEST_INVALID GET $R/v2/a/blobs/sha256:abc
400 DIGEST_INVALID GET $R/v2/a/blobs/md5:d41d8cd98f00b204e9800998ecf8427e
400 DIGEST_INVALID GET $R/v2/a/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000X
404 BLOB_UNKNOWN GET $R/v2/a/blobs/$Z
404 BLOB_UNKNOWN DELETE $R/v2/a/blobs/$Z
404 BLOB_UPLOAD_UNKNOWN GET $R/v2/a/blobs/uploads/0123456789abcdef0123456789abcdef
404 BLOB_UPLOAD_UNKNOWN PATCH $R/v2/a/blobs/uploads/0123456789abcdef0123456789abcdef
404 NOT_FOUND DELETE $R/v2/a/blobs/uploads/../../meta.db
404 BLOB_UPLOAD_UNKNOWN DELETE $R/v2/a/blobs/uploads/..
404 NOT_FOUND PUT $R/v2/a/blobs/uploads/..%2F..%2Fmeta.db?digest=$Z
400 DIGEST_INVALID POST $R/v2/a/blobs/uploads/?digest=sha256:nothex
400 DIGEST_INVALID POST $R/v2/a/blobs/uploads/?mount=bogus&from=b
400 DIGEST_INVALID GET $R/v2/a/referrers/notadigest
405 UNSUPPORTED PUT $R/v2/a/blobs/$Z
405 UNSUPPORTED POST $R/v2/a/manifests/x
405 UNSUPPORTED DELETE $R/v2/_catalog
404 NOT_FOUND GET $R/v3/
404 NOT_FOUND GET $R/v2/a/unknown/thing
EOT
    while read -r st code method url; do
        check "$st" "$code" -X "$method" "$url" || exit 1
    done <table
'

test_expect_success 'a malformed blob digest is reported as such, not as a mismatch' '
    check 400 DIGEST_INVALID "$R/v2/a/blobs/sha256:abc" &&
    jq -e ".errors[0].message == \"invalid digest '"'"'sha256:abc'"'"'\"" body
'

test_expect_success 'a repository name of 256 characters is NAME_INVALID, 255 is fine' '
    n255=$(printf "a%.0s" $(seq 255)) && n256=${n255}b &&
    check 400 NAME_INVALID "$R/v2/$n256/tags/list" &&
    check 404 NAME_UNKNOWN "$R/v2/$n255/tags/list"
'

test_expect_success 'monolithic upload with the wrong digest: DIGEST_INVALID, nothing stored' '
    echo data >d1 &&
    check 400 DIGEST_INVALID -X POST --data-binary @d1 "$R/v2/a/blobs/uploads/?digest=$Z" &&
    check 404 BLOB_UNKNOWN "$R/v2/a/blobs/$Z" &&
    registry_stored blobs >stored && test ! -s stored &&
    registry_stored uploads >stored && test ! -s stored
'

test_expect_success 'session PUT without or with a wrong digest: DIGEST_INVALID, session kept' '
    L=$(curl -si -X POST "$R/v2/a/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    check 400 DIGEST_INVALID -X PUT --data-binary @d1 "$R$L" &&
    check 400 DIGEST_INVALID -X PUT --data-binary @d1 "$R$L?digest=$Z" &&
    test "$(http_status "$R$L")" = 204 &&
    D=sha256:$(sha256sum d1 | cut -d" " -f1) &&
    test "$(http_status -X PUT "$R$L?digest=$D")" = 201 &&
    curl -sf "$R/v2/a/blobs/$D" | cmp - d1
'

test_expect_success 'upload DELETE cancels: 204, then BLOB_UPLOAD_UNKNOWN' '
    L=$(curl -si -X POST "$R/v2/a/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    curl -s -X PATCH --data-binary @d1 "$R$L" >/dev/null &&
    test "$(http_status -X DELETE "$R$L")" = 204 &&
    check 404 BLOB_UPLOAD_UNKNOWN "$R$L" &&
    check 404 BLOB_UPLOAD_UNKNOWN -X PATCH --data-binary @d1 "$R$L"
'

test_expect_success 'an upload session of another repository is BLOB_UPLOAD_UNKNOWN' '
    L=$(curl -si -X POST "$R/v2/a/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    U=${L##*/} &&
    check 404 BLOB_UPLOAD_UNKNOWN "$R/v2/other/blobs/uploads/$U"
'

test_expect_success 'PATCH whose body does not match its Content-Range: 416, nothing appended' '
    L=$(curl -si -X POST "$R/v2/a/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    test "$(http_status -X PATCH -H "Content-Range: 0-9" --data-binary abc "$R$L")" = 416 &&
    curl -si "$R$L" | tr -d "\r" | grep -i "^Range: 0-0" &&
    test "$(http_status -X PATCH -H "Content-Range: 0-2" --data-binary abc "$R$L")" = 202
'

push_cfg() {
    echo "{\"n\":$1}" >cfg$1 && push_blob "$SREG" "$2" cfg$1
}

manifest_for() {
    # manifest_for CONFIGDIGEST CONFIGSIZE [SUBJECT-JSON] [ARTIFACTTYPE]
    jq -nc --arg cd "$1" --argjson cs "$2" --argjson sub "${3:-null}" --arg at "${4:-}" \
      "{schemaVersion:2,mediaType:\"$OCIM\",config:{mediaType:\"application/vnd.oci.image.config.v1+json\",digest:\$cd,size:\$cs},layers:[]}
       + (if \$sub then {subject:\$sub} else {} end) + (if \$at != \"\" then {artifactType:\$at} else {} end)"
}

test_expect_success 'manifest referencing an unknown blob: MANIFEST_BLOB_UNKNOWN' '
    jq -nc "{schemaVersion:2,mediaType:\"$OCIM\",config:{mediaType:\"application/vnd.oci.image.config.v1+json\",digest:\"$Z\",size:2},layers:[]}" >bad &&
    check 400 MANIFEST_BLOB_UNKNOWN -X PUT -H "Content-Type: $OCIM" --data-binary @bad "$R/v2/m/manifests/t" &&
    check 404 NAME_UNKNOWN "$R/v2/m/manifests/t"
'

test_expect_success 'index referencing an unknown manifest: MANIFEST_BLOB_UNKNOWN' '
    jq -nc "{schemaVersion:2,mediaType:\"$OCII\",manifests:[{mediaType:\"$OCIM\",digest:\"$Z\",size:2}]}" >badi &&
    check 400 MANIFEST_BLOB_UNKNOWN -X PUT -H "Content-Type: $OCII" --data-binary @badi "$R/v2/m/manifests/t"
'

test_expect_success 'malformed manifests: MANIFEST_INVALID; schema 1: UNSUPPORTED' '
    printf "{not json" >m.bad &&
    check 400 MANIFEST_INVALID -X PUT -H "Content-Type: $OCIM" --data-binary @m.bad "$R/v2/m/manifests/t" &&
    echo "[]" >m.arr &&
    check 400 MANIFEST_INVALID -X PUT -H "Content-Type: $OCIM" --data-binary @m.arr "$R/v2/m/manifests/t" &&
    echo "{\"schemaVersion\":3}" >m.v3 &&
    check 400 MANIFEST_INVALID -X PUT -H "Content-Type: $OCIM" --data-binary @m.v3 "$R/v2/m/manifests/t" &&
    echo "{\"schemaVersion\":2,\"mediaType\":\"$OCIM\",\"config\":{\"digest\":\"nope\",\"size\":1},\"layers\":[]}" >m.cfg &&
    check 400 MANIFEST_INVALID -X PUT -H "Content-Type: $OCIM" --data-binary @m.cfg "$R/v2/m/manifests/t" &&
    echo "{\"schemaVersion\":2,\"mediaType\":\"$OCII\",\"manifests\":[]}" >m.mismatch &&
    check 400 MANIFEST_INVALID -X PUT -H "Content-Type: $OCIM" --data-binary @m.mismatch "$R/v2/m/manifests/t" &&
    echo "{\"schemaVersion\":1,\"name\":\"m\",\"tag\":\"t\",\"fsLayers\":[]}" >m.v1 &&
    check 415 UNSUPPORTED -X PUT -H "Content-Type: application/vnd.docker.distribution.manifest.v1+prettyjws" --data-binary @m.v1 "$R/v2/m/manifests/t" &&
    check 415 UNSUPPORTED -X PUT --data-binary @m.v1 "$R/v2/m/manifests/t" &&
    check 400 MANIFEST_INVALID -X PUT -H "Content-Type: $OCIM" --data-binary @m.cfg "$R/v2/m/manifests/bad!tag"
'

test_expect_success 'manifest PUT by a digest that does not match: DIGEST_INVALID' '
    CD=$(push_cfg 1 m) && manifest_for "$CD" 8 >m1 &&
    check 400 DIGEST_INVALID -X PUT -H "Content-Type: $OCIM" --data-binary @m1 "$R/v2/m/manifests/$Z" &&
    MD=sha256:$(sha256sum m1 | cut -d" " -f1) &&
    check 201 - -X PUT -H "Content-Type: $OCIM" --data-binary @m1 "$R/v2/m/manifests/$MD"
'

test_expect_success 'manifests over 4 MiB: 413 SIZE_INVALID (by Content-Length and by chunked body)' '
    head -c 4194305 /dev/zero | tr "\0" " " >big &&
    check 413 SIZE_INVALID -X PUT -H "Content-Type: $OCIM" --data-binary @big "$R/v2/m/manifests/big" &&
    check 413 SIZE_INVALID -X PUT -H "Content-Type: $OCIM" -H "Transfer-Encoding: chunked" --data-binary @big "$R/v2/m/manifests/big"
'

test_expect_success 'unknown manifest: MANIFEST_UNKNOWN by tag and digest; bad digest reference' '
    check 404 MANIFEST_UNKNOWN "$R/v2/m/manifests/nope" &&
    check 404 MANIFEST_UNKNOWN "$R/v2/m/manifests/$Z" &&
    check 400 DIGEST_INVALID "$R/v2/m/manifests/sha256:zz" &&
    check 404 MANIFEST_UNKNOWN -X DELETE "$R/v2/m/manifests/nope"
'

test_expect_success 'tags pagination with n/last and Link headers' '
    MD=sha256:$(sha256sum m1 | cut -d" " -f1) &&
    for t in c a e b d; do
        curl -sf -X PUT -H "Content-Type: $OCIM" --data-binary @m1 "$R/v2/m/manifests/$t" >/dev/null || exit 1
    done &&
    curl -si "$R/v2/m/tags/list?n=2" | tr -d "\r" >p1 &&
    grep -i "^Link: </v2/m/tags/list?n=2&last=b>; rel=\"next\"" p1 &&
    tail -n1 p1 | jq -e ".tags == [\"a\",\"b\"]" &&
    curl -si "$R/v2/m/tags/list?n=2&last=b" | tr -d "\r" >p2 &&
    tail -n1 p2 | jq -e ".tags == [\"c\",\"d\"]" && grep -i "^Link:.*last=d" p2 &&
    curl -si "$R/v2/m/tags/list?n=2&last=d" | tr -d "\r" >p3 &&
    tail -n1 p3 | jq -e ".tags == [\"e\"]" && ! grep -i "^Link:" p3 &&
    curl -sf "$R/v2/m/tags/list" | jq -e ".tags == [\"a\",\"b\",\"c\",\"d\",\"e\"]" &&
    curl -sf "$R/v2/m/tags/list?n=0" | jq -e ".tags == []" &&
    check 400 PAGINATION_NUMBER_INVALID "$R/v2/m/tags/list?n=-1"
'

test_expect_success 'catalog pagination' '
    for r in r1 r2 r3; do push_cfg 9 $r >/dev/null || exit 1; done &&
    curl -si "$R/v2/_catalog?n=2" | tr -d "\r" >c1 &&
    tail -n1 c1 | jq -e ".repositories == [\"a\",\"m\"]" &&
    grep -i "^Link: </v2/_catalog?n=2&last=m>; rel=\"next\"" c1 &&
    curl -sf "$R/v2/_catalog?n=10&last=m" | jq -e ".repositories == [\"r1\",\"r2\",\"r3\"]"
'

test_expect_success 'referrers: subject recorded, OCI-Subject answered, artifactType filter' '
    MD=sha256:$(sha256sum m1 | cut -d" " -f1) && MS=$(stat -c %s m1) &&
    SUB=$(jq -nc --arg d "$MD" --argjson s "$MS" "{mediaType:\"$OCIM\",digest:\$d,size:\$s}") &&
    CD=$(push_cfg 2 m) &&
    manifest_for "$CD" 8 "$SUB" application/vnd.example.sig >sig &&
    manifest_for "$CD" 8 "$SUB" application/vnd.example.sbom >sbom &&
    curl -si -X PUT -H "Content-Type: $OCIM" --data-binary @sig "$R/v2/m/manifests/sha256:$(sha256sum sig | cut -d" " -f1)" | tr -d "\r" >out &&
    grep "^HTTP/1.1 201" out && grep -i "^OCI-Subject: $MD" out &&
    curl -sf -X PUT -H "Content-Type: $OCIM" --data-binary @sbom "$R/v2/m/manifests/sha256:$(sha256sum sbom | cut -d" " -f1)" >/dev/null &&
    curl -si "$R/v2/m/referrers/$MD" | tr -d "\r" >ref &&
    grep -i "^Content-Type: $OCII" ref && ! grep -i "^OCI-Filters-Applied" ref &&
    tail -n1 ref | jq -e ".schemaVersion == 2 and (.manifests | length) == 2" &&
    curl -si "$R/v2/m/referrers/$MD?artifactType=application/vnd.example.sbom" | tr -d "\r" >f &&
    grep -i "^OCI-Filters-Applied: artifactType" f &&
    tail -n1 f | jq -e ".manifests | length == 1 and .[0].artifactType == \"application/vnd.example.sbom\" and .[0].digest == \"sha256:$(sha256sum sbom | cut -d" " -f1)\"" &&
    curl -sf "$R/v2/m/referrers/$Z" | jq -e ".manifests == []"
'

test_expect_success 'index with existing children is accepted and served as an index' '
    MD=sha256:$(sha256sum m1 | cut -d" " -f1) && MS=$(stat -c %s m1) &&
    jq -nc --arg d "$MD" --argjson s "$MS" "{schemaVersion:2,mediaType:\"$OCII\",manifests:[{mediaType:\"$OCIM\",digest:\$d,size:\$s}]}" >idx &&
    check 201 - -X PUT -H "Content-Type: $OCII" --data-binary @idx "$R/v2/m/manifests/multi" &&
    curl -si -H "Accept: $OCII" "$R/v2/m/manifests/multi" | tr -d "\r" | grep -i "^Content-Type: $OCII"
'

test_expect_success 'a bodiless POST keeps the connection open; an empty monolithic upload still works' '
    curl -sv -X POST -o /dev/null "$R/v2/k/blobs/uploads/" -o /dev/null "$R/v2/k/blobs/uploads/" 2>err &&
    grep -i "re-using existing connection" err &&
    ! grep -i "^< connection: close" err &&
    E=sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 &&
    check 201 - -X POST "$R/v2/k/blobs/uploads/?digest=$E" &&
    check 200 - "$R/v2/k/blobs/$E"
'

test_expect_success 'SIGTERM stops the server cleanly' '
    stop_strata_registry
'

test_done

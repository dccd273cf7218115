#!/bin/sh
# t7004: strata registry gc — removes untagged manifests and the blobs
# nothing references; keeps what tags reach (index children, referrers),
# what is younger than the grace period and uploads in progress; --dry-run
# removes nothing; safe while pushes run.
. "$(dirname "$0")/lib.sh"

start_strata_registry
R="http://$SREG"
ROOT="$TRASH/registry"
OCIM=application/vnd.oci.image.manifest.v1+json
OCII=application/vnd.oci.image.index.v1+json

blobfile() { echo "$ROOT/blobs/sha256/$(echo "${1#sha256:}" | cut -c1-2)/${1#sha256:}"; }
# blob_state DIGEST: "present" or "absent" in the blob store (either backend)
blob_state() {
    registry_stored blobs >.stored || return 1
    if grep -qx "${1#sha256:}" .stored; then echo present; else echo absent; fi
}

# push_image REPO TAG NAME...: config + one layer per NAME (content NAME); prints the manifest digest
push_image() {
    _repo=$1 _tag=$2
    shift 2
    _layers='[]'
    for _n in "$@"; do
        printf "layer %s" "$_n" >"L.$_n"
        _d=$(push_blob "$SREG" "$_repo" "L.$_n") || return 1
        _layers=$(echo "$_layers" | jq -c --arg d "$_d" --argjson s "$(stat -c %s "L.$_n")" ". + [{mediaType:\"application/vnd.oci.image.layer.v1.tar\",digest:\$d,size:\$s}]")
    done
    printf "{\"tag\":\"%s\"}" "$_tag" >"C.$_tag"
    _cd=$(push_blob "$SREG" "$_repo" "C.$_tag") || return 1
    jq -nc --arg cd "$_cd" --argjson cs "$(stat -c %s "C.$_tag")" --argjson l "$_layers" \
        "{schemaVersion:2,mediaType:\"$OCIM\",config:{mediaType:\"application/vnd.oci.image.config.v1+json\",digest:\$cd,size:\$cs},layers:\$l}" >"M.$_tag"
    curl -sf -X PUT -H "Content-Type: $OCIM" --data-binary @"M.$_tag" "$R/v2/$_repo/manifests/$_tag" >/dev/null || return 1
    echo "sha256:$(sha256sum "M.$_tag" | cut -d" " -f1)"
}

test_expect_success 'setup: tagged, untagged, index, referrer, orphan blob, open upload' '
    A=$(push_image app a shared only-a) && echo "$A" >A &&
    B=$(push_image app b shared only-b) && echo "$B" >B &&
    test "$(http_status -X DELETE "$R/v2/app/manifests/b")" = 202 &&
    C=$(push_image app c only-c) && echo "$C" >C &&
    test "$(http_status -X DELETE "$R/v2/app/manifests/c")" = 202 &&
    jq -nc --arg d "$C" --argjson s "$(stat -c %s M.c)" "{schemaVersion:2,mediaType:\"$OCII\",manifests:[{mediaType:\"$OCIM\",digest:\$d,size:\$s}]}" >idx &&
    curl -sf -X PUT -H "Content-Type: $OCII" --data-binary @idx "$R/v2/app/manifests/multi" >/dev/null &&
    echo "{}" >sigcfg && SC=$(push_blob "$SREG" app sigcfg) &&
    jq -nc --arg cd "$SC" --arg a "$A" --argjson asz "$(stat -c %s M.a)" \
        "{schemaVersion:2,mediaType:\"$OCIM\",artifactType:\"application/x-sig\",config:{mediaType:\"application/vnd.oci.empty.v1+json\",digest:\$cd,size:3},layers:[],subject:{mediaType:\"$OCIM\",digest:\$a,size:\$asz}}" >sig &&
    curl -sf -X PUT -H "Content-Type: $OCIM" --data-binary @sig "$R/v2/app/manifests/sha256:$(sha256sum sig | cut -d" " -f1)" >/dev/null &&
    echo orphan >orphan && O=$(push_blob "$SREG" app orphan) && echo "$O" >O &&
    L=$(curl -si -X POST "$R/v2/app/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") && echo "$L" >U &&
    test "$(http_status -X PATCH --data-binary 12345 "$R$L")" = 202
'

test_expect_success 'gc with the default grace period removes nothing just pushed' '
    strata_registry gc --root "$ROOT" >out &&
    grep "^removed 0 manifests, 0 links, 0 blobs" out
'

test_expect_success 'gc --dry-run lists what would go and removes nothing' '
    sleep 1 &&
    strata_registry gc --root "$ROOT" --grace 0 --dry-run >out &&
    cat out &&
    grep "^would remove manifest app@$(cat B)" out &&
    grep "^would remove link app@sha256:$(sha256sum L.only-b | cut -d" " -f1)" out &&
    grep "^would remove blob $(cat O)" out &&
    ! grep "$(cat A)" out && ! grep "$(cat C)" out &&
    test "$(blob_state "$(cat B)")" = present && test "$(blob_state "$(cat O)")" = present &&
    test "$(http_status "$R/v2/app/manifests/$(cat B)")" = 200
'

test_expect_success 'gc --grace 0 removes the untagged manifest and unreferenced blobs' '
    strata_registry gc --root "$ROOT" --grace 0 >out &&
    cat out &&
    test "$(http_status "$R/v2/app/manifests/$(cat B)")" = 404 &&
    test "$(blob_state "$(cat B)")" = absent &&
    test "$(blob_state "sha256:$(sha256sum L.only-b | cut -d" " -f1)")" = absent &&
    test "$(blob_state "$(cat O)")" = absent &&
    test "$(http_status "$R/v2/app/blobs/$(cat O)")" = 404 &&
    registry_stored trash >trash && test ! -s trash
'

test_expect_success 'what tags reach is kept: image, shared layer, index child, referrer' '
    for m in A C; do test "$(http_status "$R/v2/app/manifests/$(cat $m)")" = 200 || exit 1; done &&
    test "$(http_status "$R/v2/app/manifests/multi")" = 200 &&
    for f in shared only-a only-c; do
        test "$(http_status "$R/v2/app/blobs/sha256:$(sha256sum L.$f | cut -d" " -f1)")" = 200 || exit 1
    done &&
    curl -sf "$R/v2/app/referrers/$(cat A)" | jq -e ".manifests | length == 1"
'

test_expect_success 'the upload in progress survives gc and completes' '
    L=$(cat U) &&
    curl -si "$R$L" | tr -d "\r" | grep -i "^Range: 0-4" &&
    printf 12345 >u && D=sha256:$(sha256sum u | cut -d" " -f1) &&
    test "$(http_status -X PUT "$R$L?digest=$D")" = 201
'

test_expect_success 'gc is safe while pushes run (grace 5 s, gc in a loop)' '
    mkdir -p l && head -c 200000 /dev/urandom >l/f && make_layer_tgz l l.tgz &&
    for i in 1 2 3 4 5 6; do
        mkdir -p t$i && echo $i >t$i/f && make_layer_tgz t$i t$i.tgz &&
        make_oci_image lay img$i l.tgz t$i.tgz || exit 1
    done &&
    ( for i in 1 2 3 4 5 6; do
        skopeo copy -q --dest-tls-verify=false oci:lay:img$i docker://$SREG/busy/app:$i || { echo fail >pushfail; exit 1; }
      done; touch pushdone ) &
    # a short grace period (pushes of these images take well under 5 s each),
    # gc in a loop: both sides contend for the write lock the whole time
    n=0 && while [ $n -lt 150 ] && [ ! -f pushfail ] && [ ! -f pushdone ]; do
        strata_registry gc --root "$ROOT" --grace 5 >>gc.out || exit 1
        n=$((n + 1))
    done &&
    wait &&
    test ! -f pushfail && echo "$n gc runs during the pushes" &&
    test $n -ge 3 &&
    for i in 1 2 3 4 5 6; do
        skopeo copy -q --src-tls-verify=false docker://$SREG/busy/app:$i oci:back:img$i || exit 1
    done
'

test_expect_success 'a gc interrupted before COMMIT: the next gc moves files back from the trash' '
    S=sha256:$(sha256sum L.shared | cut -d" " -f1) &&
    registry_trash_blob "$S" &&
    test "$(blob_state "$S")" = absent &&
    test "$(http_status "$R/v2/app/blobs/$S")" = 404 &&
    strata_registry gc --root "$ROOT" >/dev/null &&
    test "$(blob_state "$S")" = present &&
    registry_stored trash >trash && test ! -s trash &&
    curl -sf "$R/v2/app/blobs/$S" | cmp - L.shared
'

registry_fs_only "it back-dates a blob file (the LastModified of an S3 object cannot be set)"
test_expect_success 'a blob file without a row (crash before COMMIT) is invisible, then adopted' '
    printf "adopt me" >adopt && A=sha256:$(sha256sum adopt | cut -d" " -f1) &&
    mkdir -p "$(dirname "$(blobfile "$A")")" && cp adopt "$(blobfile "$A")" &&
    test "$(http_status "$R/v2/app/blobs/$A")" = 404 &&
    strata_registry gc --root "$ROOT" --dry-run >out && ! grep "$A" out &&
    touch -d "2 hours ago" "$(blobfile "$A")" &&
    strata_registry gc --root "$ROOT" --dry-run >out && grep "would remove blob $A" out &&
    test "$(push_blob "$SREG" app adopt)" = "$A" &&
    curl -sf "$R/v2/app/blobs/$A" | cmp - adopt
'

test_expect_success 'gc of a directory that is no registry fails clearly' '
    test_exit_code 1 strata registry gc --root "$TRASH/nothing" 2>err &&
    grep "no registry at" err &&
    test_exit_code 2 strata registry gc --grace soon 2>err
'

test_expect_success 'SIGTERM stops the server cleanly' '
    stop_strata_registry
'

test_expect_success 'setup: what a gc killed before COMMIT leaves in the trash' '
    S=sha256:$(sha256sum L.shared | cut -d" " -f1) &&
    registry_trash_blob "$S" &&
    printf junk >junk && registry_trash_put "sha256-$(printf "%064d" 0)" junk &&
    registry_stored trash >trash && test "$(wc -l <trash)" = 2
'

start_strata_registry
R="http://$SREG"

test_expect_success 'a gc killed before COMMIT: the restarted server restores the trash' '
    S=sha256:$(sha256sum L.shared | cut -d" " -f1) &&
    test "$(blob_state "$S")" = present &&
    registry_stored trash >trash && test ! -s trash &&
    curl -sf "$R/v2/app/blobs/$S" | cmp - L.shared &&
    stop_strata_registry
'

test_done

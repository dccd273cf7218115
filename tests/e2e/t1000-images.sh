#!/bin/sh
# t1000: import a busybox rootfs; images, inspect, tag, rmi, prune.
. "$(dirname "$0")/lib.sh"

test_expect_success 'import a busybox-static rootfs tarball' '
    make_busybox_tar bb.tar &&
    strata import --compression none bb.tar demo/busybox:latest >id &&
    grep -E "^sha256:[0-9a-f]{64}$" id &&
    test -f "$STRATA_ROOT/oci-layout" &&
    grep -q "\"org.opencontainers.image.ref.name\":\"docker.io/demo/busybox:latest\"" "$STRATA_ROOT/index.json"
'

test_expect_success 'the layer is the uncompressed tar: digest = diff_id = sha256 of the input' '
    strata inspect --format manifest demo/busybox >m.json &&
    strata inspect --format config demo/busybox >c.json &&
    want=sha256:$(sha256sum <bb.tar | cut -d" " -f1) &&
    test "$(jq -r ".layers[0].digest" m.json)" = "$want" &&
    test "$(jq -r ".layers[0].mediaType" m.json)" = application/vnd.oci.image.layer.v1.tar &&
    test "$(jq -r ".rootfs.diff_ids[0]" c.json)" = "$want" &&
    test "$(jq -r .os c.json)" = linux &&
    test "$(jq -r .architecture c.json)" = "$(dpkg --print-architecture)" &&
    test "$(jq -r ".history | length" c.json)" = 1 &&
    test "sha256:$(sha256sum <c.json | cut -d" " -f1)" = "$(cat id)"
'

test_expect_success 'by default the layer is gzip: digest of the blob, diff_id of the tar' '
    strata import bb.tar demo/busybox:zipped &&
    strata inspect --format manifest demo/busybox:zipped >mz.json &&
    strata inspect --format config demo/busybox:zipped >cz.json &&
    test "$(jq -r ".layers[0].mediaType" mz.json)" = application/vnd.oci.image.layer.v1.tar+gzip &&
    d=$(jq -r ".layers[0].digest" mz.json) &&
    blob="$STRATA_ROOT/blobs/sha256/${d#sha256:}" &&
    test "sha256:$(sha256sum <"$blob" | cut -d" " -f1)" = "$d" &&
    test "$(jq -r ".layers[0].size" mz.json)" = "$(stat -c %s "$blob")" &&
    test "$(stat -c %s "$blob")" -lt "$(stat -c %s bb.tar)" &&
    want=sha256:$(sha256sum <bb.tar | cut -d" " -f1) &&
    test "$(jq -r ".rootfs.diff_ids[0]" cz.json)" = "$want" &&
    test "sha256:$(gzip -dc "$blob" | sha256sum | cut -d" " -f1)" = "$want" &&
    strata rmi demo/busybox:zipped && strata prune >/dev/null
'

test_expect_success 'import --compression zstd and a bad value' '
    strata import --compression zstd bb.tar demo/busybox:zstd &&
    strata inspect --format manifest demo/busybox:zstd >mzs.json &&
    test "$(jq -r ".layers[0].mediaType" mzs.json)" = application/vnd.oci.image.layer.v1.tar+zstd &&
    d=$(jq -r ".layers[0].digest" mzs.json) &&
    test "sha256:$(zstd -dc "$STRATA_ROOT/blobs/sha256/${d#sha256:}" | sha256sum | cut -d" " -f1)" = \
         "sha256:$(sha256sum <bb.tar | cut -d" " -f1)" &&
    strata rmi demo/busybox:zstd && strata prune >/dev/null &&
    test_exit_code 2 strata import --compression lz4 bb.tar demo/x 2>err &&
    grep "compression must be" err
'

test_expect_success 'gzip input gives the same layer; --change sets Cmd' '
    gzip -c bb.tar >bb.tar.gz &&
    strata import --compression none --change "CMD [\"/bin/sh\"]" --change "ENV A=b" bb.tar.gz demo/busybox:gz &&
    strata inspect --format manifest demo/busybox:gz >m2.json &&
    test "$(jq -r ".layers[0].digest" m2.json)" = "$(jq -r ".layers[0].digest" m.json)" &&
    strata inspect --format config demo/busybox:gz >c2.json &&
    test "$(jq -c .config.Cmd c2.json)" = "[\"/bin/sh\"]" &&
    jq -e ".config.Env | index(\"A=b\")" c2.json
'

test_expect_success 'inspect prints the manifest and config; raw manifest hashes to its digest' '
    strata inspect demo/busybox >i.json &&
    test "$(jq -r ".[0].Id" i.json)" = "$(cat id)" &&
    test "$(jq -r ".[0].RepoTags[0]" i.json)" = demo/busybox:latest &&
    test "$(jq -r ".[0].Digest" i.json)" = "sha256:$(sha256sum <m.json | cut -d" " -f1)" &&
    test "$(jq -r ".[0].Config.rootfs.type" i.json)" = layers &&
    test "$(jq -r ".[0].Manifest.schemaVersion" i.json)" = 2
'

test_expect_success 'images lists repository, tag, id, created, size' '
    strata images >out &&
    head -1 out | grep -E "^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$" &&
    short=$(cut -c8-19 id) &&
    grep -E "^demo/busybox +latest +$short +(Less than a second|[0-9]+ seconds?) ago +[0-9.]+MB$" out &&
    strata images -q >q && grep -x "$short" q &&
    strata images --no-trunc >nt && grep -q "$(cat id)" nt &&
    strata images --digests >dg && head -1 dg | grep -q DIGEST &&
    grep -q "$(jq -r ".[0].Digest" i.json)" dg
'

test_expect_success 'tag, then resolve by name, full name, id prefix and digest' '
    strata tag demo/busybox 127.0.0.1:5000/app:v1 &&
    grep -q "127.0.0.1:5000/app:v1" "$STRATA_ROOT/index.json" &&
    strata images | grep -E "^127.0.0.1:5000/app +v1 " &&
    strata inspect docker.io/demo/busybox:latest >/dev/null &&
    strata inspect "$(cut -c8-19 id)" >/dev/null &&
    strata inspect "demo/busybox@$(jq -r ".[0].Digest" i.json)" >/dev/null &&
    strata tag "$(cut -c8-19 id)" busybox:byid &&
    strata images | grep -E "^busybox +byid "
'

test_expect_success 'tag with a missing source or an invalid target fails' '
    test_exit_code 1 strata tag nope:1 x:1 2>err && grep "not found" err &&
    test_must_fail strata tag demo/busybox "Bad:Ref!" 2>err && grep "invalid reference" err
'

test_expect_success 'rmi untags; the image leaves index.json with its last tag' '
    strata rmi busybox:byid 127.0.0.1:5000/app:v1 >out &&
    grep "Untagged: busybox:byid" out &&
    ! grep Deleted out &&
    strata rmi demo/busybox:gz >out &&
    grep "Deleted: sha256" out &&
    strata images >out &&
    ! grep -E " gz " out && grep -E "^demo/busybox +latest" out &&
    test_exit_code 1 strata rmi demo/busybox:gz 2>err && grep "not found" err &&
    strata rmi -f demo/busybox:gz
'

test_expect_success 'rmi by id refuses several tags without -f' '
    strata tag demo/busybox demo/busybox:two &&
    test_exit_code 1 strata rmi "$(cut -c8-19 id)" 2>err && grep "referenced by 2 tags" err &&
    strata rmi demo/busybox:two
'

test_expect_success 'prune removes only unreachable blobs and reports bytes' '
    ls "$STRATA_ROOT/blobs/sha256" | wc -l >before &&
    strata prune --dry-run >dry && grep "Would delete: sha256:" dry &&
    test "$(ls "$STRATA_ROOT/blobs/sha256" | wc -l)" = "$(cat before)" &&
    strata prune >out &&
    grep -c "^Deleted: sha256:" out >n && test "$(cat n)" = 2 &&
    grep -E "Total reclaimed space: [0-9.]+ [kM]?B" out &&
    strata inspect demo/busybox >/dev/null &&
    strata prune >out2 && grep "Total reclaimed space: 0 B" out2
'

test_expect_success 'rmi the last image, prune empties the store' '
    strata rmi demo/busybox &&
    strata prune >out &&
    test -z "$(ls "$STRATA_ROOT/blobs/sha256")" &&
    strata images >out && test "$(wc -l <out)" = 1
'

test_done

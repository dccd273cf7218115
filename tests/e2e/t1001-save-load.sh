#!/bin/sh
# t1001: save / load round trips in both formats; peers read the archives.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: two tags of a busybox image' '
    make_busybox_tar bb.tar &&
    strata import --compression none bb.tar demo/busybox:latest >id &&
    strata tag demo/busybox 127.0.0.1:5000/app:v1 &&
    strata inspect demo/busybox >i.json &&
    jq -r ".[0].Digest" i.json >digest
'

test_expect_success 'save writes a docker archive as docker save does' '
    strata save -o img.tar demo/busybox 127.0.0.1:5000/app:v1 &&
    tar tf img.tar >list &&
    grep -x manifest.json list && grep -x repositories list &&
    grep -x "$(cut -c8- id).json" list &&
    tar xOf img.tar manifest.json >manifest.json &&
    test "$(jq -r ".[0].Config" manifest.json)" = "$(cut -c8- id).json" &&
    test "$(jq -c ".[0].RepoTags" manifest.json)" = "[\"demo/busybox:latest\",\"127.0.0.1:5000/app:v1\"]" &&
    test "$(jq -r ".[0].Layers | length" manifest.json)" = 1 &&
    tar xOf img.tar repositories | jq -e ".\"demo/busybox\".latest"
'

test_expect_success 'skopeo inspects the docker archive' '
    skopeo inspect docker-archive:img.tar >sk.json &&
    test "$(jq -r .Architecture sk.json)" = "$(dpkg --print-architecture)" &&
    test "$(jq -r ".Layers | length" sk.json)" = 1
'

test_expect_success 'load of the docker archive into a fresh store keeps the digests' '
    STRATA_ROOT=$TRASH/r2 strata load -i img.tar >out &&
    grep "Loaded image: demo/busybox:latest" out &&
    grep "Loaded image: 127.0.0.1:5000/app:v1" out &&
    STRATA_ROOT=$TRASH/r2 strata inspect demo/busybox >i2.json &&
    test "$(jq -r ".[0].Id" i2.json)" = "$(cat id)" &&
    test "$(jq -r ".[0].Digest" i2.json)" = "$(cat digest)" &&
    STRATA_ROOT=$TRASH/r2 strata inspect 127.0.0.1:5000/app:v1 >/dev/null &&
    test "$(ls "$TRASH/r2/blobs/sha256" | wc -l)" = 3 &&
    STRATA_ROOT=$TRASH/r2 strata prune >out && grep "reclaimed space: 0 B" out
'

test_expect_success 'save --format oci writes an OCI layout tar with the refs annotated' '
    strata save --format oci -o oci.tar demo/busybox 127.0.0.1:5000/app:v1 &&
    tar tf oci.tar >list &&
    grep -x oci-layout list && grep -x index.json list &&
    grep -x "blobs/sha256/$(cut -c8- digest)" list &&
    tar xOf oci.tar index.json | jq -r ".manifests[].annotations.\"org.opencontainers.image.ref.name\"" >refs &&
    grep -x docker.io/demo/busybox:latest refs && grep -x 127.0.0.1:5000/app:v1 refs
'

test_expect_success 'skopeo inspects the OCI archive' '
    skopeo inspect oci-archive:oci.tar:docker.io/demo/busybox:latest >sk2.json &&
    test "$(jq -r .Digest sk2.json)" = "$(cat digest)"
'

test_expect_success 'umoci unpacks the image from the OCI archive' '
    mkdir ocidir && tar -C ocidir -xf oci.tar &&
    umoci unpack --rootless --image ocidir:127.0.0.1:5000/app:v1 bundle >/dev/null &&
    test -x bundle/rootfs/bin/busybox &&
    cmp bundle/rootfs/bin/busybox /bin/busybox
'

test_expect_success 'load of the OCI archive into a fresh store keeps the digests' '
    STRATA_ROOT=$TRASH/r3 strata load -i oci.tar >out &&
    grep "Loaded image: demo/busybox:latest" out &&
    STRATA_ROOT=$TRASH/r3 strata inspect demo/busybox >i3.json &&
    test "$(jq -r ".[0].Digest" i3.json)" = "$(cat digest)" &&
    test "$(jq -r ".[0].Id" i3.json)" = "$(cat id)" &&
    test "$(ls "$TRASH/r3/blobs/sha256" | wc -l)" = 3 &&
    STRATA_ROOT=$TRASH/r3 strata prune >out && grep "reclaimed space: 0 B" out
'

test_expect_success 'a gzip-compressed archive loads too' '
    gzip -c img.tar >img.tar.gz &&
    STRATA_ROOT=$TRASH/r4 strata load -i img.tar.gz &&
    STRATA_ROOT=$TRASH/r4 strata inspect demo/busybox >/dev/null
'

test_expect_success 'a docker archive with gzip-compressed layers loads (diff_id checked)' '
    mkdir gz && tar -C gz -xf img.tar &&
    l=$(jq -r ".[0].Layers[0]" gz/manifest.json) &&
    gzip -n gz/$l && mv gz/$l.gz gz/$l &&
    tar -C gz -cf gz.tar . &&
    STRATA_ROOT=$TRASH/r6 strata load -i gz.tar &&
    STRATA_ROOT=$TRASH/r6 strata inspect demo/busybox >i6.json &&
    test "$(jq -r ".[0].Id" i6.json)" = "$(cat id)" &&
    test "$(jq -r ".[0].Manifest.layers[0].mediaType" i6.json)" = application/vnd.oci.image.layer.v1.tar+gzip &&
    test "$(jq -r ".[0].Manifest.layers[0].digest" i6.json)" = "sha256:$(sha256sum <gz/$l | cut -d" " -f1)" &&
    head -c 100000 gz/$l >gz/x && mv gz/x gz/$l && tar -C gz -cf gzbad.tar . &&
    test_exit_code 1 env STRATA_ROOT=$TRASH/r7 "$STRATA_BIN" load -i gzbad.tar 2>err &&
    grep "layer.tar: digest mismatch: uncompressed content" err
'

test_expect_success 'an archive written by skopeo loads' '
    skopeo copy -q oci:$STRATA_ROOT:docker.io/demo/busybox:latest docker-archive:sk.tar:other/name:t &&
    STRATA_ROOT=$TRASH/r5 strata load -i sk.tar >out &&
    grep "Loaded image: other/name:t" out &&
    STRATA_ROOT=$TRASH/r5 strata inspect other/name:t >i5.json &&
    test "$(jq -r ".[0].Id" i5.json)" = "$(cat id)"
'

test_expect_success 'save of a missing image fails and writes nothing' '
    test_exit_code 1 strata save -o none.tar demo/nope 2>err &&
    grep "not found" err && test ! -e none.tar &&
    test_exit_code 2 strata save demo/busybox &&
    test_exit_code 2 strata save --format zip -o x.tar demo/busybox
'

test_done

#!/bin/sh
# t1003: skopeo and umoci read the store directly (it is an OCI image layout,
# tags are full references in org.opencontainers.image.ref.name).
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup' '
    make_busybox_tar bb.tar &&
    strata import bb.tar demo/busybox:latest &&
    strata tag demo/busybox 127.0.0.1:5000/app:v1 &&
    strata inspect demo/busybox | jq -r ".[0].Digest" >digest
'

test_expect_success 'skopeo inspect oci:$STRATA_ROOT:REF' '
    skopeo inspect oci:$STRATA_ROOT:docker.io/demo/busybox:latest >a.json &&
    test "$(jq -r .Digest a.json)" = "$(cat digest)" &&
    skopeo inspect oci:$STRATA_ROOT:127.0.0.1:5000/app:v1 >b.json &&
    test "$(jq -r .Digest b.json)" = "$(cat digest)"
'

test_expect_success 'umoci ls lists the full references' '
    umoci ls --layout "$STRATA_ROOT" >tags &&
    grep -x docker.io/demo/busybox:latest tags &&
    grep -x 127.0.0.1:5000/app:v1 tags
'

test_expect_success 'umoci unpack of an image from the store' '
    umoci unpack --rootless --image "$STRATA_ROOT:127.0.0.1:5000/app:v1" bundle >/dev/null &&
    cmp bundle/rootfs/bin/busybox /bin/busybox &&
    test -L bundle/rootfs/bin/sh
'

test_expect_success 'an image copied in by skopeo is usable by strata' '
    skopeo copy -q oci:$STRATA_ROOT:docker.io/demo/busybox:latest oci:$STRATA_ROOT:docker.io/demo/copy:1 &&
    strata inspect demo/copy:1 >c.json &&
    test "$(jq -r ".[0].Id" c.json)" = "$(strata inspect demo/busybox | jq -r ".[0].Id")"
'

test_done

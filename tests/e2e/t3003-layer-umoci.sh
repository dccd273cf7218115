#!/bin/sh
# t3003: umoci (a peer implementation) unpacks an OCI layout built around
# our layers: a base layer and an upper-dir layer with whiteouts.
. "$(dirname "$0")/lib.sh"

manifest() { python3 "$SRC_DIR/tests/e2e/layer-manifest.py" "$@"; }
command -v umoci >/dev/null || test_skip_all "umoci is not installed"

# put_blob FILE: store FILE in the layout, print its digest
put_blob() {
    h=$(sha256sum <"$1" | cut -d" " -f1) &&
    cp "$1" "$TRASH/img/blobs/sha256/$h" && echo "sha256:$h"
}

test_expect_success 'setup: two layers and an OCI layout around them' '
    mkdir -p img/blobs/sha256 base up &&
    echo one >base/one && echo two >base/two && mkdir -p base/dir/sub && echo s >base/dir/sub/s &&
    echo keep >base/dir/keep && ln base/one base/hl && ln -s one base/sym && chown 7:8 base/two &&
    chmod 640 base/two &&
    mknod up/two c 0 0 && mkdir up/dir && echo fresh >up/dir/fresh &&
    python3 -c "import os; os.setxattr(\"up/dir\", \"trusted.overlay.opaque\", b\"y\")" &&
    SOURCE_DATE_EPOCH=1600000000 strata layer create base -o l1.gz >r1 &&
    SOURCE_DATE_EPOCH=1600000000 strata layer create up --upper -o l2.gz >r2 &&
    d1=$(put_blob l1.gz) && d2=$(put_blob l2.gz) &&
    test "$d1" = "$(grep ^digest r1 | cut -d" " -f2)" &&
    i1=$(grep ^diff_id r1 | cut -d" " -f2) && i2=$(grep ^diff_id r2 | cut -d" " -f2) &&
    jq -cn --arg i1 "$i1" --arg i2 "$i2" "{architecture:\"amd64\",os:\"linux\",config:{},rootfs:{type:\"layers\",diff_ids:[\$i1,\$i2]}}" >config.json &&
    dc=$(put_blob config.json) &&
    jq -cn --arg dc "$dc" --argjson sc "$(stat -c %s config.json)" \
        --arg d1 "$d1" --argjson s1 "$(stat -c %s l1.gz)" --arg d2 "$d2" --argjson s2 "$(stat -c %s l2.gz)" \
        "{schemaVersion:2,mediaType:\"application/vnd.oci.image.manifest.v1+json\",
          config:{mediaType:\"application/vnd.oci.image.config.v1+json\",digest:\$dc,size:\$sc},
          layers:[{mediaType:\"application/vnd.oci.image.layer.v1.tar+gzip\",digest:\$d1,size:\$s1},
                  {mediaType:\"application/vnd.oci.image.layer.v1.tar+gzip\",digest:\$d2,size:\$s2}]}" >manifest.json &&
    dm=$(put_blob manifest.json) &&
    jq -cn --arg dm "$dm" --argjson sm "$(stat -c %s manifest.json)" \
        "{schemaVersion:2,manifests:[{mediaType:\"application/vnd.oci.image.manifest.v1+json\",digest:\$dm,size:\$sm,
          annotations:{\"org.opencontainers.image.ref.name\":\"latest\"}}]}" >img/index.json &&
    echo "{\"imageLayoutVersion\":\"1.0.0\"}" >img/oci-layout
'

test_expect_success 'umoci unpacks it: whiteouts and opaque dir applied, metadata kept' '
    umoci unpack --image img:latest bundle >umoci.out 2>&1 || { cat umoci.out; false; } &&
    test "$(cat bundle/rootfs/one)" = one && test ! -e bundle/rootfs/two &&
    test "$(ls bundle/rootfs/dir)" = fresh &&
    test "$(stat -c %i bundle/rootfs/one)" = "$(stat -c %i bundle/rootfs/hl)" &&
    test "$(readlink bundle/rootfs/sym)" = one
'

test_expect_success 'strata applies the same two layers to the same tree' '
    strata layer apply l1.gz mine --digest "$(grep ^digest r1 | cut -d" " -f2)" >/dev/null &&
    strata layer apply l2.gz mine >/dev/null &&
    manifest mine >mine.m && manifest bundle/rootfs >umoci.m && diff umoci.m mine.m
'

test_done

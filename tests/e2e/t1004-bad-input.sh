#!/bin/sh
# t1004: bad input gets a clear error naming the thing, a non-zero exit, and
# the store is left exactly as it was.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup' '
    make_busybox_tar bb.tar &&
    strata import --compression none bb.tar demo/busybox:latest >id &&
    strata save -o good.tar demo/busybox &&
    strata save --format oci -o good-oci.tar demo/busybox &&
    strata inspect --format manifest demo/busybox >m.json &&
    jq -r ".layers[0].digest" m.json | cut -c8- >layer &&
    cut -c8- id >config &&
    store_snapshot >snap0
'

test_expect_success 'an invalid reference is rejected, store untouched' '
    test_exit_code 1 strata import bb.tar "Demo/Bad Ref" 2>err &&
    grep "invalid reference" err && grep "Bad Ref" err &&
    test_must_fail strata tag demo/busybox "a/b:bad tag!" 2>err && grep "invalid reference" err &&
    test_must_fail strata inspect "demo/UPPER" 2>err && grep "invalid reference" err &&
    store_snapshot >snap && cmp snap0 snap
'

test_expect_success 'an invalid digest is rejected, store untouched' '
    test_exit_code 1 strata inspect demo/busybox@sha256:abc 2>err &&
    grep "invalid digest" err &&
    test_exit_code 1 strata inspect sha256:xyz 2>err && grep "invalid" err &&
    store_snapshot >snap && cmp snap0 snap
'

test_expect_success 'not a tar, or a truncated gzip, is rejected by import, store untouched' '
    echo "hello" >notar &&
    test_exit_code 1 strata import notar demo/x 2>err && grep "not a tar archive" err &&
    gzip -c bb.tar | head -c 5000 >trunc.tar.gz &&
    test_exit_code 1 strata import trunc.tar.gz demo/x 2>err && grep "truncated gzip" err &&
    store_snapshot >snap && cmp snap0 snap
'

test_expect_success 'a truncated archive given to load leaves the store as it was' '
    for f in good.tar good-oci.tar; do
        head -c 1500000 $f >trunc.tar &&
        test_exit_code 1 strata load -i trunc.tar 2>err &&
        grep "trunc.tar.*truncated or corrupt archive" err || exit 1
    done &&
    store_snapshot >snap && cmp snap0 snap
'

test_expect_success 'a corrupt archive (blob content changed) is rejected, store untouched' '
    mkdir o && tar -C o -xf good-oci.tar &&
    printf x | dd of=o/blobs/sha256/$(cat layer) bs=1 seek=600 conv=notrunc 2>/dev/null &&
    tar -C o -cf bad-oci.tar . &&
    test_exit_code 1 strata load -i bad-oci.tar 2>err &&
    grep "blobs/sha256/$(cat layer): digest mismatch" err &&
    mkdir d && tar -C d -xf good.tar &&
    printf x | dd of=d/$(cat layer)/layer.tar bs=1 seek=600 conv=notrunc 2>/dev/null &&
    tar -C d -cf bad.tar . &&
    test_exit_code 1 strata load -i bad.tar 2>err &&
    grep "layer.tar: digest mismatch" err &&
    echo "{}" >nothing.json && tar -cf neither.tar nothing.json &&
    test_exit_code 1 strata load -i neither.tar 2>err && grep "neither a docker archive" err &&
    store_snapshot >snap && cmp snap0 snap
'

test_expect_success 'a malformed index.json is named with line and column' '
    cp "$STRATA_ROOT/index.json" index.good &&
    printf "{\"schemaVersion\":2,\n\"manifests\":[{]}\n" >"$STRATA_ROOT/index.json" &&
    store_snapshot >snap1 &&
    test_exit_code 1 strata images 2>err &&
    grep "index.json:2:[0-9]*: invalid JSON" err &&
    test_exit_code 1 strata tag demo/busybox demo/other 2>err &&
    grep "index.json:2:" err &&
    test_exit_code 1 strata import bb.tar demo/other 2>err &&
    grep "index.json:2:" err &&
    test_exit_code 1 strata prune 2>err && grep "index.json:2:" err &&
    store_snapshot >snap && cmp snap1 snap
'

test_expect_success 'a structurally invalid index.json names the field' '
    printf "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"size\":1}]}" >"$STRATA_ROOT/index.json" &&
    test_exit_code 1 strata images 2>err &&
    grep "index.json: manifests\[0\]: missing field .digest." err &&
    cp index.good "$STRATA_ROOT/index.json" &&
    strata images >/dev/null
'

test_expect_success 'a corrupt config blob: inspect names the blob, store untouched' '
    cfg="$STRATA_ROOT/blobs/sha256/$(cat config)" &&
    cp "$cfg" cfg.good &&
    sed -i "s/linux/LINUX/" "$cfg" &&
    store_snapshot >snap1 &&
    test_exit_code 1 strata inspect demo/busybox 2>err &&
    grep "blob .*$(cat config). is corrupt: digest mismatch" err &&
    test_exit_code 1 strata save -o out.tar demo/busybox 2>err && test ! -e out.tar &&
    store_snapshot >snap && cmp snap1 snap &&
    cp cfg.good "$cfg"
'

test_expect_success 'a truncated blob: save detects it and writes nothing, store untouched' '
    lay="$STRATA_ROOT/blobs/sha256/$(cat layer)" &&
    cp "$lay" layer.good &&
    truncate -s 1000 "$lay" &&
    store_snapshot >snap1 &&
    test_exit_code 1 strata save -o out.tar demo/busybox 2>err &&
    grep "$(cat layer). is corrupt: digest mismatch" err &&
    test ! -e out.tar && test -z "$(ls -A . | grep "^\.out\.tar")" &&
    test_exit_code 1 strata save --format oci -o out.tar demo/busybox 2>err &&
    grep "is corrupt" err && test ! -e out.tar &&
    store_snapshot >snap && cmp snap1 snap &&
    cp layer.good "$lay"
'

test_expect_success 'a truncated config blob is detected by images and inspect' '
    cfg="$STRATA_ROOT/blobs/sha256/$(cat config)" &&
    truncate -s 10 "$cfg" &&
    test_exit_code 1 strata inspect demo/busybox 2>err && grep "is corrupt" err &&
    test_exit_code 1 strata images >out 2>err && grep "demo/busybox:latest" err &&
    cp cfg.good "$cfg" &&
    store_snapshot >snap && cmp snap0 snap
'

test_done

#!/bin/sh
# t5102: strata build with the store — FROM an imported image, images
# written as OCI manifests + layers that umoci and skopeo read, COPY --from
# an image, layers extracted once, a pruned layer is a cache miss.
. "$(dirname "$0")/lib.sh"

require_builder

make_busybox_tar "$TRASH/bb.tar"
mkdir -p "$TRASH/ctx"
echo hello >"$TRASH/ctx/f"

test_expect_success 'FROM an imported image; RUN deletes a base file (whiteout)' '
    strata import bb.tar busybox:1 >/dev/null &&
    printf "FROM busybox:1\nRUN echo built >/built && rm /bin/cat\nCOPY f /app/f\nCMD [\"/bin/sh\", \"-c\", \"ls /bin/cat 2>&1; head -1 /app/f /built\"]\n" >ctx/Dockerfile &&
    strata build -t app:1 --iidfile iid ctx 2>log &&
    strata run app:1 >out &&
    grep "No such file" out && grep hello out && grep built out &&
    strata images >imgs && grep -E "^app +1 +$(sed "s/sha256://" iid | cut -c1-12)" imgs
'

test_expect_success 'the image is an OCI manifest with gzip layers and matching diff_ids' '
    id=$(sed s/sha256:// iid) &&
    jq -e ".rootfs.diff_ids | length == 3" root/blobs/sha256/$id &&
    jq -e "[.history[] | select(.empty_layer | not)] | length == 3" root/blobs/sha256/$id &&
    skopeo inspect oci:$STRATA_ROOT:docker.io/library/app:1 >insp &&
    jq -e ".Layers | length == 3" insp &&
    umoci unpack --image "$STRATA_ROOT:docker.io/library/app:1" bundle >/dev/null &&
    test -f bundle/rootfs/built && test -f bundle/rootfs/app/f && test ! -e bundle/rootfs/bin/cat
'

test_expect_success 'a no-op rebuild gives the same image id' '
    strata build -q -t app:1 ctx >id2 2>/dev/null &&
    test "$(cat id2)" = "$(cat iid)"
'

test_expect_success 'COPY --from an image; missing images are clear errors' '
    printf "FROM scratch\nCOPY --from=app:1 /app/f /bin/busybox /\nENTRYPOINT [\"/busybox\", \"cat\", \"/f\"]\n" >ctx/Dockerfile.from &&
    strata build -f ctx/Dockerfile.from -t fromimg ctx 2>log &&
    test "$(strata run fromimg)" = hello &&
    printf "FROM scratch\nCOPY --from=nosuch:2 /x /\n" >ctx/Dockerfile.bad &&
    test_must_fail strata build -f ctx/Dockerfile.bad ctx 2>err &&
    grep "Dockerfile.bad:2: COPY --from=nosuch:2 /x /: pull nosuch:2: " err
'

test_expect_success 'a base layer is extracted once, as an overlay-format snapshot' '
    test $(ls root/build/snapshots | wc -l) -ge 3 &&
    for d in $(jq -r ".rootfs.diff_ids[]" root/blobs/sha256/$(sed s/sha256:// iid) | sed s/sha256://); do
        test -d root/build/snapshots/$d || exit 1
    done &&
    find root/build/snapshots -type c | grep -q bin/cat
'

test_expect_success 'a layer removed by prune is rebuilt, not reused' '
    strata rmi app:1 fromimg >/dev/null &&
    strata prune --build-cache >/dev/null &&
    strata build --progress plain -t app:1 ctx 2>log &&
    grep "^strata: 0 steps cached, 2 run" log &&
    test "$(strata run app:1 busybox cat /built)" = built
'

test_done

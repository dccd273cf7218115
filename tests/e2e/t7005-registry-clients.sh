#!/bin/sh
# t7005: strata registry with real clients: podman pull/push and buildah
# push (vfs storage, --tls-verify=false), digests preserved.
. "$(dirname "$0")/lib.sh"

command -v podman >/dev/null || test_skip_all "podman not installed"
mkdir -p "$DOCKER_CONFIG" && echo "{}" >"$DOCKER_CONFIG/config.json"
start_strata_registry
PO="podman --root $TRASH/pr --runroot $TRASH/prr --storage-driver vfs --runtime runc"
BU="buildah --root $TRASH/pr --runroot $TRASH/prr --storage-driver vfs"

test_expect_success 'setup: an image in the registry (skopeo)' '
    mkdir -p l1 l2 && echo one >l1/one && head -c 300000 /dev/urandom >l2/two &&
    make_layer_tgz l1 l1.tgz && make_layer_tgz l2 l2.tgz &&
    make_oci_image lay img l1.tgz l2.tgz &&
    skopeo copy -q --dest-tls-verify=false oci:lay:img docker://$SREG/src/img:1
'

test_expect_success 'podman pull from the registry' '
    $PO pull -q --tls-verify=false $SREG/src/img:1 >id &&
    $PO image inspect --format "{{.Digest}}" $SREG/src/img:1 >dg &&
    test "$(cat dg)" = "$(jq -r ".manifests[0].digest" lay/index.json)"
'

test_expect_success 'podman push to another repository, pulled back by digest' '
    $PO tag $SREG/src/img:1 $SREG/pod/img:2 &&
    $PO push -q --tls-verify=false $SREG/pod/img:2 &&
    curl -sf "http://$SREG/v2/pod/img/tags/list" | jq -e ".tags == [\"2\"]" &&
    D=$(curl -sI -H "Accept: application/vnd.oci.image.manifest.v1+json" -H "Accept: application/vnd.docker.distribution.manifest.v2+json" \
        "http://$SREG/v2/pod/img/manifests/2" | tr -d "\r" | sed -n "s/^Docker-Content-Digest: //Ip") &&
    test -n "$D" &&
    skopeo copy -q --src-tls-verify=false docker://$SREG/pod/img@$D oci:back:x &&
    for l in l1 l2; do test -f "back/blobs/sha256/$(sha256sum $l.tgz | cut -d" " -f1)" || exit 1; done
'

test_expect_success 'buildah push to the registry' '
    $BU push -q --tls-verify=false $SREG/src/img:1 docker://$SREG/bud/img:3 &&
    curl -sf "http://$SREG/v2/bud/img/tags/list" | jq -e ".tags == [\"3\"]" &&
    skopeo inspect --tls-verify=false docker://$SREG/bud/img:3 >/dev/null
'

test_expect_success 'the shared layers are stored once' '
    registry_stored blobs >stored &&
    for l in l1 l2; do
        test "$(grep -cx "$(sha256sum $l.tgz | cut -d" " -f1)" stored)" = 1 || exit 1
    done
'

test_expect_success 'SIGTERM stops the server cleanly' '
    stop_strata_registry
'

test_done

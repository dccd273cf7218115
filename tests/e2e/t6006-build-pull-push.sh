#!/bin/sh
# t6006: strata build pulls missing base images (FROM, COPY --from=image)
# from a registry, --pull refreshes them, --push pushes every tag.
. "$(dirname "$0")/lib.sh"

start_strata_registry
start_docker_registry
OTHER="$TRASH/other-root"

test_expect_success 'a base image pushed from another store' '
    make_busybox_tar bb.tar &&
    STRATA_ROOT=$OTHER strata import bb.tar $SREG/base:1 >/dev/null &&
    STRATA_ROOT=$OTHER strata push $SREG/base:1 >/dev/null &&
    mkdir ctx && echo hello >ctx/msg &&
    printf "FROM %s/base:1\nCOPY msg /msg\nRUN cat /msg >/copied\n" $SREG >ctx/Dockerfile &&
    printf "FROM scratch\nCOPY --from=%s/base:1 /bin/busybox /bb\n" $SREG >ctx/Dockerfile.from
'

test_expect_success 'FROM a base missing locally is pulled, then the build runs' '
    strata build --progress plain -t app:1 ctx 2>err &&
    grep "pull $SREG/base:1" err &&
    grep "resolved $SREG/base:1 (manifest and config" err &&
    strata images >out && grep "base" out &&
    strata run app:1 cat /copied >got && echo hello >want && cmp got want
'

test_expect_success 'a second build does not pull again; --pull does' '
    strata build --progress plain -t app:1 ctx 2>err &&
    ! grep "resolved \|pulled " err &&
    strata build --pull --progress plain -t app:1 ctx 2>err &&
    grep "resolved $SREG/base:1" err
'

test_expect_success 'COPY --from=<image> pulls too' '
    STRATA_ROOT=$TRASH/r2 strata build --progress plain -f ctx/Dockerfile.from -t cf:1 ctx 2>err &&
    grep "resolved $SREG/base:1" err
'

test_expect_success 'a missing base is one clear error line' '
    printf "FROM %s/nothere:1\n" $SREG >ctx/Dockerfile.missing &&
    test_must_fail strata build -f ctx/Dockerfile.missing ctx 2>err &&
    grep "FROM $SREG/nothere:1" err && grep -i "not.found\|unknown" err &&
    printf "FROM 127.0.0.1:1/base:1\n" >ctx/Dockerfile.down &&
    test_must_fail strata build -f ctx/Dockerfile.down ctx 2>err &&
    grep "FROM 127.0.0.1:1/base:1" err
'

test_expect_success '--push without -t is a usage error' '
    test_exit_code 2 strata build --push ctx
'

test_expect_success '--push pushes every tag to strata registry; skopeo reads it' '
    strata build --progress plain -t $SREG/app:1 -t $SREG/app:latest --push ctx 2>err &&
    grep "pushed $SREG/app:1" err && grep "pushed $SREG/app:latest" err &&
    skopeo inspect --tls-verify=false docker://$SREG/app:1 >insp &&
    jq -e ".Layers | length == 3" insp &&
    skopeo inspect --tls-verify=false docker://$SREG/app:latest >insp2 &&
    test "$(jq -r .Digest insp)" = "$(jq -r .Digest insp2)"
'

test_expect_success '--push to docker-registry; the base layer is mounted or uploaded once' '
    strata build --progress plain -t $REG/app:1 --push ctx 2>err &&
    grep "pushed $REG/app:1" err &&
    skopeo inspect --tls-verify=false docker://$REG/app:1 >insp &&
    jq -e ".Layers | length == 3" insp &&
    strata build --progress plain -t $REG/app:2 --push ctx 2>err &&
    grep "pushed $REG/app:2: 0 blobs uploaded" err
'

test_done

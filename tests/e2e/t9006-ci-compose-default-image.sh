#!/bin/sh
# t9006: strata ci --compose pushes a service without image: as
# <project>-<service> under REGISTRY_URL[:REGISTRY_PORT] (docs/ci.md); it
# went to docker.io, the CI registry ignored.
. "$(dirname "$0")/lib.sh"
require_builder

start_strata_registry

test_expect_success 'a compose project whose service has no image:' '
    mkdir -p shop/web && make_busybox_rootfs shop/web/rootfs &&
    printf "FROM scratch\nCOPY rootfs/ /\n" >shop/web/Dockerfile &&
    printf "services:\n  web:\n    build: web\n" >shop/compose.yaml
'

test_expect_success 'ci --compose pushes it as shop-web under the CI registry' '
    ( cd shop && REGISTRY_URL=127.0.0.1 REGISTRY_PORT=$SREG_PORT REVISION=r BUILD_NUMBER=1 \
        strata ci --compose >../out 2>../err ) || { cat err; false; } &&
    grep "^web | pushed $SREG/shop-web:r_1" err &&
    grep "^web | pushed $SREG/shop-web:latest" err &&
    curl -sf "http://$SREG/v2/shop-web/tags/list" | jq -e ".tags | sort == [\"buildcache\", \"latest\", \"r_1\"]"
'

test_done

#!/bin/sh
# t9003: `strata compose build --push` with the engine: a two-service
# project built in parallel against strata registry, build.cache_from
# honoured by a fresh runner; `strata ci --compose` does the seed's job for
# every service.
. "$(dirname "$0")/lib.sh"
grep -q overlay /proc/filesystems || test_skip_all "overlayfs is not available"
unset COMPOSE_FILE COMPOSE_PROJECT_NAME COMPOSE_PROFILES

start_strata_registry

test_expect_success 'a two-service project' '
    mkdir -p proj/web proj/api &&
    make_busybox_rootfs proj/web/rootfs && cp -a proj/web/rootfs proj/api/rootfs &&
    printf "FROM scratch\nCOPY rootfs/ /\nRUN echo web >/who\n" >proj/web/Dockerfile &&
    printf "FROM scratch\nCOPY rootfs/ /\nARG V=1\nRUN echo api \$V >/who\n" >proj/api/Dockerfile &&
    cat >proj/compose.yaml <<-EOF
	services:
	  web:
	    image: $SREG/web:dev
	    build:
	      context: web
	      cache_from:
	        - $SREG/web:dev
	  api:
	    image: $SREG/api:dev
	    build:
	      context: api
	      args:
	        V: "2"
	      cache_from:
	        - $SREG/api:dev
	  db:
	    image: postgres
	EOF
'

test_expect_success 'compose build --push builds both (in parallel) and pushes them' '
    (cd proj && STRATA_ROOT=$TRASH/A strata compose build --push --parallel 2 2>../err) || { cat err; false; } &&
    cat err &&
    grep "^web | pushed $SREG/web:dev" err &&
    grep "^api | pushed $SREG/api:dev" err &&
    STRATA_ROOT=$TRASH/A strata run $SREG/api:dev cat /who >out && echo "api 2" >want && cmp out want &&
    curl -sf http://$SREG/v2/web/tags/list | jq -e ".tags | sort == [\"buildcache\", \"dev\"]"
'

test_expect_success 'a fresh runner: cache_from gives every step CACHED' '
    (cd proj && STRATA_ROOT=$TRASH/B strata compose build 2>../err) || { cat err; false; } &&
    grep "^web | strata: 2 steps cached, 0 run" err &&
    grep "^api | strata: 2 steps cached, 0 run" err
'

test_expect_success 'compose push pushes the built tags' '
    (cd proj && STRATA_ROOT=$TRASH/A strata compose push web 2>../err) && cat err
'

test_expect_success 'strata ci --compose: every service tagged REV_BUILD and latest, pushed' '
    (cd proj && STRATA_ROOT=$TRASH/C strata ci --compose --revision r1 --build-number 5 2>../err) || { cat err; false; } &&
    cat err &&
    grep "^web | pushed $SREG/web:r1_5" err && grep "^web | pushed $SREG/web:latest" err &&
    grep "^api | pushed $SREG/api:r1_5" err &&
    grep "strata ci: 2 services built and pushed as :r1_5 and :latest" err &&
    (cd proj && STRATA_ROOT=$TRASH/D strata ci --compose compose.yaml --revision r1 --build-number 6 2>../err) &&
    grep "^web | strata: 2 steps cached, 0 run" err &&
    grep "^api | strata: 2 steps cached, 0 run" err
'

test_expect_success 'strata ci --compose: a bad compose file is a configuration error (6)' '
    printf "services:\n  x: [\n" >bad.yaml &&
    test_exit_code 6 strata ci --compose bad.yaml --revision r --build-number 1
'

test_done

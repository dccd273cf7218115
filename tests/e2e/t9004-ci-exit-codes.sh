#!/bin/sh
# t9004: strata ci's exit codes for what CI users get wrong most: a missing
# Dockerfile or context and a bad compose context are bad configuration (6;
# they were 1, and 3 with --compose), a COPY of a missing file is a failed
# build step (3; it was 1).
. "$(dirname "$0")/lib.sh"
require_builder

# nothing listens here: --cache-from is a warning, no push is reached
export REGISTRY_URL=127.0.0.1 REGISTRY_PORT=$(free_port) DOCKER_IMAGE_NAME=app REVISION=r BUILD_NUMBER=1

test_expect_success 'a project' '
    mkdir -p proj && make_busybox_rootfs proj/rootfs &&
    printf "FROM scratch\nCOPY rootfs/ /\nCOPY nothere /x\n" >proj/Dockerfile.copy &&
    printf "FROM scratch\nCOPY rootfs/ /\nRUN exit 2\n" >proj/Dockerfile.run
'

test_expect_success 'a missing Dockerfile is bad configuration (6)' '
    ( cd proj && test_exit_code 6 strata ci -f Dockerfile.nothere 2>../err ) &&
    grep "Dockerfile.nothere" err
'

test_expect_success 'a missing context is bad configuration (6)' '
    test_exit_code 6 strata ci "$TRASH/nothere" 2>err &&
    grep "context .*nothere" err
'

test_expect_success 'a COPY of a missing file is a failed build step (3), like a failing RUN' '
    ( cd proj && test_exit_code 3 strata ci -f Dockerfile.copy 2>../err ) &&
    grep "Dockerfile.copy:3: COPY nothere /x" err &&
    ( cd proj && test_exit_code 3 strata ci -f Dockerfile.run 2>../err ) &&
    grep "Dockerfile.run:3: RUN exit 2: exit status 2" err
'

test_expect_success 'ci --compose: a service whose context is missing is bad configuration (6)' '
    printf "services:\n  web:\n    image: app/web\n    build: ./nothere\n" >compose.yaml &&
    test_exit_code 6 strata ci --compose compose.yaml 2>err &&
    grep "web" err && grep "nothere" err
'

test_done

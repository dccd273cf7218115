#!/bin/sh
# t9103: strata ci's words (issue 18): one revision rule, a tag needs both a
# revision and a build number, a missing base image exits 6; auth failures
# name the registry, what was sent and where it came from, and the fix;
# a registry that is down is one line naming the host and what failed.
. "$(dirname "$0")/lib.sh"
require_builder
command -v htpasswd >/dev/null || test_skip_all "htpasswd (apache2-utils) is not installed"

SHA=0123456789abcdef0123456789abcdef01234567
start_strata_registry
OPEN=$SREG

test_expect_success 'a project' '
    mkdir -p proj && make_busybox_rootfs proj/rootfs &&
    printf "FROM scratch\nCOPY rootfs/ /\nRUN echo hi >/hi\n" >proj/Dockerfile
'

test_expect_success 'the revision is used whole, in the implicit and the explicit form alike' '
    GITHUB_SHA=$SHA GITHUB_RUN_NUMBER=12 strata ci --image app --registry $OPEN --progress plain proj >/dev/null 2>err &&
    grep "^strata ci: building $OPEN/app:${SHA}_12 (image from flag, registry from flag, revision from GITHUB_SHA, build from GITHUB_RUN_NUMBER)$" err &&
    strata ci --image app --registry $OPEN --revision $SHA --build-number 13 --progress plain proj >/dev/null 2>err &&
    grep "^strata ci: $OPEN/app:${SHA}_13 and $OPEN/app:latest pushed: " err &&
    curl -sf http://$OPEN/v2/app/tags/list | jq -e ".tags | sort == [\"${SHA}_12\", \"${SHA}_13\", \"latest\"]"
'

test_expect_success 'a revision-only or build-number-only tag is refused (6), naming what is missing' '
    GITHUB_SHA=$SHA test_exit_code 6 strata ci --image app --registry $OPEN proj 2>err &&
    grep "^strata: error: a revision (from GITHUB_SHA) but no build number: the tag is REVISION_BUILD; pass --build-number or set one of SEMAPHORE_BUILD_NUMBER, GITHUB_RUN_NUMBER, CI_PIPELINE_IID, BUILD_NUMBER$" err &&
    test_exit_code 6 strata ci --image app --registry $OPEN --build-number 4 proj 2>err &&
    grep "^strata: error: a build number (from flag) but no revision: the tag is REVISION_BUILD; pass --revision or set one of SEMAPHORE_GIT_SHA, GITHUB_SHA, CI_COMMIT_SHA, REVISION$" err
'

test_expect_success 'a base image the registry does not have: exit 6, no internal words' '
    printf "FROM %s/base:nothere\nRUN true\n" $OPEN >proj/Dockerfile.nobase &&
    test_exit_code 6 strata ci --image app --registry $OPEN --revision r --build-number 1 -f proj/Dockerfile.nobase --progress plain proj 2>err &&
    grep "^strata: error: [a-z/]*Dockerfile.nobase:1: FROM $OPEN/base:nothere: pull $OPEN/base:nothere: NAME_UNKNOWN: " err &&
    ! grep -i "adopt\|local store" err
'

test_expect_success 'a registry that is down: one line, the host and what failed' '
    port=$(free_port) &&
    test_exit_code 4 strata ci --image app --registry 127.0.0.1:$port --revision r --build-number 1 --progress plain proj 2>err &&
    grep "^warning: --cache-from 127.0.0.1:$port/app:latest: registry 127.0.0.1:$port: connection refused (nothing listens there)" err &&
    grep "^strata: error: push 127.0.0.1:$port/app:r_1: blob .sha256:[0-9a-f]\{64\}.: registry 127.0.0.1:$port: connection refused (nothing listens there)$" err &&
    test "$(grep "^strata: error" err | grep -o sha256: | wc -l)" = 1 &&
    test "$(grep "^strata: error" err | wc -c)" -lt 200
'

test_expect_success 'a host that does not resolve: DNS named' '
    test_exit_code 1 strata pull nosuchhost.invalid/app:1 2>err &&
    grep "^strata: error: pull nosuchhost.invalid/app:1: registry nosuchhost.invalid: DNS lookup failed (no such host)$" err
'

htpasswd -B -b -c "$TRASH/htpasswd" alice secret1 2>/dev/null
SREG_ROOT=$TRASH/registry-auth start_strata_registry --htpasswd "$TRASH/htpasswd"

test_expect_success 'no credentials: exit 5, says none were sent, where it looked, and strata login HOST' '
    test_exit_code 5 strata ci --image app --registry $SREG --revision r --build-number 1 --progress plain proj 2>err &&
    grep "^strata: error: push $SREG/app:r_1: .*registry $SREG refused anonymous access: no credentials were sent (none for $SREG in $DOCKER_CONFIG/config.json (\$DOCKER_CONFIG)): UNAUTHORIZED: authentication required; run .strata login $SREG.$" err &&
    ! grep -i "adopt\|local store" err
'

test_expect_success 'strata login with a wrong password: refused, nothing saved' '
    echo wrong | test_exit_code 1 strata login -u alice --password-stdin $SREG 2>err &&
    grep "^strata: error: login $SREG: registry $SREG refused the credentials of user .alice. (given to this command): UNAUTHORIZED: " err &&
    grep "^strata: nothing was saved" err && test ! -e "$DOCKER_CONFIG/config.json"
'

test_expect_success 'wrong credentials in config.json: exit 5, names the user and the file' '
    mkdir -p "$DOCKER_CONFIG" &&
    printf "{\"auths\":{\"%s\":{\"auth\":\"%s\"}}}" $SREG "$(printf alice:wrong | base64)" >"$DOCKER_CONFIG/config.json" &&
    test_exit_code 5 strata ci --image app --registry $SREG --revision r --build-number 1 --progress plain proj 2>err &&
    grep "^strata: error: push $SREG/app:r_1: .*registry $SREG refused the credentials of user .alice. (from $DOCKER_CONFIG/config.json (\$DOCKER_CONFIG)): UNAUTHORIZED: .*; run .strata login $SREG. to replace them$" err
'

test_expect_success 'credentials from a credential helper are named as such' '
    mkdir -p bin && cat >bin/docker-credential-t9103 <<-\EOF &&
	#!/bin/sh
	read -r host
	printf "{\"ServerURL\":\"%s\",\"Username\":\"alice\",\"Secret\":\"wrong\"}\n" "$host"
	EOF
    chmod +x bin/docker-credential-t9103 &&
    printf "{\"credsStore\":\"t9103\"}" >"$DOCKER_CONFIG/config.json" &&
    PATH=$TRASH/bin:$PATH test_exit_code 5 strata ci --image app --registry $SREG --revision r --build-number 1 --progress plain proj 2>err &&
    grep "refused the credentials of user .alice. (from credential helper docker-credential-t9103, set in $DOCKER_CONFIG/config.json)" err
'

test_done

#!/bin/sh
# t9001: `strata compose` options and verbs: file discovery, -f -, YAML
# and JSON output, build/push argument parsing, --dry-run job lists, the
# error of a failed build, usage errors.
. "$(dirname "$0")/lib.sh"

unset COMPOSE_FILE COMPOSE_PROJECT_NAME COMPOSE_PROFILES COMPOSE_PATH_SEPARATOR

test_expect_success 'setup: a two-service project' '
    mkdir -p proj/base proj/app proj/sub/dir &&
    cat >proj/compose.yaml <<-\EOF &&
	services:
	  base:
	    build: base
	  app:
	    image: ${REGISTRY:-127.0.0.1:5000}/app:${REV:-dev}
	    build:
	      context: app
	      cache_from:
	        - ${REGISTRY:-127.0.0.1:5000}/app:latest
	  db:
	    image: postgres
	EOF
    echo "FROM busybox" >proj/base/Dockerfile &&
    printf "FROM proj-base\nRUN true\n" >proj/app/Dockerfile
'

test_expect_success 'config finds compose.yaml in the current directory and prints YAML' '
    (cd proj && strata compose config >../out) &&
    grep "^name: proj$" out &&
    grep "image: 127.0.0.1:5000/app:dev" out &&
    grep "context: $TRASH/proj/app" out
'

test_expect_success 'config finds the file from a subdirectory (nearest parent)' '
    (cd proj/sub/dir && strata compose config --format json >../../../out) &&
    jq -e ".name == \"proj\" and .services.base.build.context == \"$TRASH/proj/base\"" out
'

test_expect_success 'config --services lists the services' '
    (cd proj && strata compose config --services >../out) &&
    printf "app\nbase\ndb\n" >want && cmp want out
'

test_expect_success 'config -q only validates' '
    (cd proj && strata compose config -q >../out) && test ! -s out
'

test_expect_success 'the environment interpolates and wins over .env' '
    echo "REV=fromdotenv" >proj/.env &&
    (cd proj && strata compose config --format json >../out) &&
    jq -e ".services.app.image == \"127.0.0.1:5000/app:fromdotenv\"" out &&
    (cd proj && REV=fromenv strata compose config --format json >../out) &&
    jq -e ".services.app.image == \"127.0.0.1:5000/app:fromenv\"" out &&
    rm proj/.env
'

test_expect_success '-f - reads stdin (paths relative to the current directory)' '
    printf "services:\n  x:\n    build: ctx\n" | (cd proj && strata compose -p stdin -f - config --format json) >out &&
    jq -e ".name == \"stdin\" and .services.x.build.context == \"$TRASH/proj/ctx\"" out
'

test_expect_success '-f from another directory: paths are relative to the first file' '
    strata compose -f proj/compose.yaml config --format json >out &&
    jq -e ".services.base.build.context == \"$TRASH/proj/base\"" out
'

test_expect_success 'no compose file is an error' '
    mkdir empty &&
    (cd empty && test_exit_code 1 strata compose config 2>../err) &&
    grep "no configuration file provided" err
'

test_expect_success 'COMPOSE_FILE with a custom separator' '
    printf "services:\n  y:\n    image: y\n" >proj/extra.yaml &&
    (cd proj && COMPOSE_FILE="compose.yaml,extra.yaml" COMPOSE_PATH_SEPARATOR=, strata compose config --services >../out) &&
    grep "^y$" out && grep "^app$" out
'

test_expect_success 'build --dry-run: one job per built service, base before app' '
    (cd proj && strata compose build --dry-run >../out) &&
    [ "$(wc -l <out)" -eq 2 ] &&
    head -1 out | grep "^base: strata build -f $TRASH/proj/base/Dockerfile -t proj-base $TRASH/proj/base$" &&
    tail -1 out | grep "^app: strata build .* -t 127.0.0.1:5000/app:dev --cache-from 127.0.0.1:5000/app:latest $TRASH/proj/app   # after: base$"
'

test_expect_success 'build flags reach the jobs' '
    (cd proj && strata compose build --dry-run --format json --push --no-cache --pull app >../out) &&
    jq -e "length == 2 and .[1].service == \"app\" and .[1].push and .[1].no_cache and .[1].pull" out &&
    jq -e ".[1].after == [\"base\"] and .[0].service == \"base\"" out
'

test_expect_success 'options may follow the service names' '
    (cd proj && strata compose build base --dry-run --no-cache >../out) &&
    grep "^base: strata build .* --no-cache $TRASH/proj/base$" out
'

test_expect_success 'push --dry-run lists the tags to push' '
    (cd proj && strata compose push --dry-run >../out) &&
    grep "^app: strata push 127.0.0.1:5000/app:dev$" out &&
    grep "^base: strata push proj-base$" out
'

test_expect_success 'a build that fails names the service; app (depending on it) is skipped' '
    (cd proj && test_exit_code 1 strata compose build 2>../err) &&
    grep "^base | .*FROM busybox" err &&
    grep "strata: error: base: " err &&
    grep "strata: error: app: dependency .base. failed" err &&
    (cd proj && test_exit_code 1 strata compose push app 2>../err) &&
    grep "strata: error: app: " err
'

test_expect_success 'a project with nothing to build succeeds' '
    mkdir only-images &&
    printf "services:\n  db:\n    image: postgres\n" >only-images/compose.yaml &&
    (cd only-images && strata compose build 2>../err) &&
    grep "no service to build" err
'

test_expect_success 'unknown service names fail' '
    (cd proj && test_exit_code 1 strata compose build --dry-run nope 2>../err) &&
    grep "no such service: nope" err
'

test_expect_success 'usage errors exit 2' '
    (cd proj &&
     test_exit_code 2 strata compose 2>../err && grep "a command is required" ../err &&
     test_exit_code 2 strata compose frob 2>../err && grep "unknown command .frob." ../err &&
     test_exit_code 2 strata compose --bogus config 2>../err &&
     test_exit_code 2 strata compose config --format xml 2>../err &&
     test_exit_code 2 strata compose config extra 2>../err &&
     test_exit_code 2 strata compose build --parallel 0 2>../err &&
     grep "strata compose build: --parallel must be between 1 and 64, not .0." ../err &&
     test_exit_code 2 strata compose build --parallel 5x 2>../err &&
     grep "strata compose build: --parallel must be between 1 and 64, not .5x." ../err &&
     test_exit_code 2 strata compose build --format yaml 2>../err &&
     test_exit_code 2 strata compose push --no-cache 2>../err)
'

test_expect_success 'an invalid -p is an error' '
    (cd proj && test_exit_code 1 strata compose -p "Bad Name" config 2>../err) &&
    grep "invalid project name" err
'

test_expect_success 'compose --help lists every option and command' '
    strata compose --help >out &&
    for o in --file --project-name --env-file --profile --help config build push --push --no-cache --pull --parallel --dry-run --format --services; do
        grep -e "$o" out >/dev/null || { echo "missing $o"; exit 1; }
    done &&
    strata compose build --help | grep "^Usage"
'

test_done

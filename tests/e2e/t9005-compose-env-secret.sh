#!/bin/sh
# t9005: a compose build secret from the environment (secrets: {tok:
# {environment: VAR}}) reaches RUN --mount=type=secret; it was silently
# dropped (only file secrets were passed to the build), though --dry-run
# showed it.
. "$(dirname "$0")/lib.sh"
require_builder

test_expect_success 'setup' '
    mkdir -p proj && make_busybox_rootfs proj/rootfs &&
    printf "FROM scratch\nCOPY rootfs/ /\nRUN --mount=type=secret,id=tok cat /run/secrets/tok >/t\n" >proj/Dockerfile &&
    cat >proj/compose.yaml <<-\EOF
	services:
	  a:
	    image: sec/a
	    build:
	      context: .
	      secrets: [tok]
	secrets:
	  tok:
	    environment: MY_TOKEN
	EOF
'

test_expect_success 'the environment secret is mounted' '
    ( cd proj && MY_TOKEN=from-env strata compose build >../out 2>&1 ) &&
    test "$(strata run --rm sec/a cat /t)" = from-env
'

test_expect_success 'a value from .env is used too' '
    echo MY_TOKEN=from-dotenv >proj/.env &&
    ( cd proj && env -u MY_TOKEN "$STRATA_BIN" compose build --no-cache >../out 2>&1 ) &&
    test "$(strata run --rm sec/a cat /t)" = from-dotenv
'

test_done

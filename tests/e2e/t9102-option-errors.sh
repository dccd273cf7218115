#!/bin/sh
# t9102: option errors name the option (issue 18): docker habits on
# strata run are supported or refused with the reason; one error line.
. "$(dirname "$0")/lib.sh"

# usage_line VERB... : run, expect exit 2 and exactly the error line $WANT
# plus the --help hint
expect_usage() {
    want=$1
    shift
    "$@" </dev/null >out 2>err
    rc=$?
    [ $rc -eq 2 ] || { echo "exit $rc, want 2" >&2; cat err >&2; return 1; }
    printf "%s\n" "$want" >want
    head -1 err >got
    cmp want got || { cat err >&2; return 1; }
    test "$(wc -l <err)" = 2 && grep -q "^Run .strata [a-z ]*--help. for usage\.$" err
}

test_expect_success 'an unknown short option in a cluster is named (run -it)' '
    expect_usage "strata run: unknown option '\''-x'\''" strata run -xt img &&
    expect_usage "strata images: unknown option '\''-z'\''" strata images -z
'

test_expect_success 'images -a is accepted; a bad long option is named once' '
    strata images -a >out 2>err && test ! -s err &&
    expect_usage "strata images: unknown option '\''--bogus'\''" strata images --bogus
'

test_expect_success 'a missing value names the option' '
    expect_usage "strata build: option '\''--tag'\'' needs a value" strata build --tag &&
    expect_usage "strata build: option '\''-t'\'' needs a value" strata build -t &&
    expect_usage "strata inspect: option '\''-f'\'' needs a value" strata inspect -f &&
    expect_usage "strata ci: option '\''--image'\'' needs a value" strata ci --image &&
    expect_usage "strata build: option '\''--push'\'' takes no value" strata build --push=yes .
'

test_expect_success 'run -it: -t refused when stdin is not a terminal, saying why' '
    expect_usage "strata run: -t/--tty: stdin is not a terminal (the container uses strata'\''s own terminal; no new one is allocated)" strata run -it img
'

test_expect_success 'run -d, -v, -p, --name: refused naming the flag and why' '
    expect_usage "strata run: -d/--detach is not supported: strata has no daemon to keep a container running; use your shell'\''s & instead" strata run -d img &&
    expect_usage "strata run: -v/--volume is not supported: strata run does not mount host directories (COPY the files into the image instead)" strata run -v /a:/b img &&
    expect_usage "strata run: -p/--publish is not supported and not needed: the container shares the host'\''s network, so its ports are the host'\''s" strata run -p 80:80 img &&
    expect_usage "strata run: --name is not supported: strata keeps no containers to name (each run'\''s changes are thrown away)" strata run --name web img
'

if command -v script >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && grep -q overlay /proc/filesystems; then
    test_expect_success 'run -it on a terminal: the container reads it (interactive sh)' '
        make_busybox_tar bb.tar && strata import bb.tar bb:1 >/dev/null &&
        printf "echo from-\$((6*7))\nexit 3\n" >script.in &&
        script -qec "$STRATA_BIN run -it bb:1 sh" /dev/null <script.in >typescript 2>&1; rc=$?
        cat typescript && test $rc = 3 && grep "from-42" typescript
    '
fi

test_done

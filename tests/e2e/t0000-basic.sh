#!/bin/sh
# t0000: the binary runs, prints help and version, and uses the documented exit codes.
. "$(dirname "$0")/lib.sh"

test_expect_success 'strata --version prints the version' '
    strata --version >out &&
    grep -E "^strata version [0-9]+\.[0-9]+\.[0-9]+" out
'

test_expect_success 'strata --help lists the commands' '
    strata --help >out &&
    grep "^Usage: strata" out &&
    grep "version" out
'

test_expect_success 'no command is a usage error (exit 2)' '
    test_exit_code 2 strata 2>err &&
    grep "Usage" err
'

test_expect_success 'an unknown command is a usage error naming it' '
    test_exit_code 2 strata frobnicate 2>err &&
    grep "unknown command .frobnicate." err
'

test_expect_success 'an unknown global option is a usage error' '
    test_exit_code 2 strata --bogus version 2>err &&
    grep "unknown option" err
'

test_expect_success 'every command has --help that exits 0' '
    strata --help | sed -n "/^Commands:/,/^\$/p" | awk "NR>1 && NF {print \$1}" >cmds &&
    test -s cmds &&
    while read -r c; do
        strata "$c" --help >h 2>&1 || { echo "$c --help failed"; exit 1; }
        grep -qi "usage" h || { echo "$c --help has no usage"; exit 1; }
    done <cmds
'

test_done

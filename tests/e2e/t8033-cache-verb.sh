#!/bin/sh
# t8033: the `strata cache` verb is registered (strata --help lists it), its
# man page is generated (scripts/gen-man) and bash completion completes its
# subcommands and options; usage errors exit 2.
. "$(dirname "$0")/lib.sh"

test_expect_success 'strata --help lists cache; cache --help lists ls and prune' '
    strata --help | sed -n "/^Commands:/,/^\$/p" | grep -E "^  cache +List a build cache source" &&
    strata cache --help >h && grep -E "^  ls +List" h && grep -E "^  prune +Remove" h &&
    grep -- "--format" h && grep -- "--dry-run" h
'

test_expect_success 'usage errors exit 2' '
    test_exit_code 2 strata cache &&
    test_exit_code 2 strata cache frobnicate 2>err && grep "unknown command .frobnicate." err &&
    test_exit_code 2 strata cache ls 2>err && grep "needs one SOURCE" err &&
    test_exit_code 2 strata cache prune extra 2>err && grep "takes no arguments" err &&
    test_exit_code 2 strata cache ls --format xml x 2>err &&
    test_exit_code 2 strata cache ls type=gha 2>err && grep "unsupported cache type" err
'

command -v help2man >/dev/null || test_skip_next "help2man is not installed"
test_expect_success 'a man page for strata-cache' '
    "$SRC_DIR/scripts/gen-man" "$STRATA_BIN" man 9.9.9 &&
    man -l man/strata-cache.1 >cache.txt 2>/dev/null &&
    grep -q -- "--format" cache.txt && grep -q "prune" cache.txt &&
    grep -q "strata-cache(1)" man/strata.1
'

test_expect_success 'bash completion: cache subcommands and options' '
    command -v bash >/dev/null &&
    cat >comp.bash <<-EOF &&
	. "$SRC_DIR/contrib/completion/strata.bash"
	c() { COMP_WORDS=("\$@"); COMP_CWORD=\$((\$# - 1)); COMPREPLY=(); _strata; echo "\${COMPREPLY[*]}"; }
	c "$STRATA_BIN" cac
	c "$STRATA_BIN" cache p
	c "$STRATA_BIN" cache ls --fo
	c "$STRATA_BIN" registry se
	EOF
    bash comp.bash >got &&
    printf "cache\nprune\n--format\nserve\n" >want && diff want got
'

test_expect_success 'an empty store: prune removes nothing and says so' '
    strata cache prune >out && grep -x "removed 0 imported cache mounts, 0 B" out
'

test_done

#!/bin/sh
# t0001: the install path. Man pages (scripts/gen-man, help2man) exist for
# strata and every verb and list the verb's options; the bash completion
# completes verbs and options from --help; make install honours PREFIX and
# DESTDIR; debian/changelog carries VERSION. (Building, linting and
# installing the .deb is scripts/test-package, run by .ci/run.)
. "$(dirname "$0")/lib.sh"
command -v help2man >/dev/null || test_skip_all "help2man is not installed (scripts/install-deps)"

test_expect_success 'a man page for strata and for every verb' '
    "$SRC_DIR/scripts/gen-man" "$STRATA_BIN" man 9.9.9 &&
    strata --help | sed -n "/^Commands:/,/^\$/p" | awk "NR>1 && NF {print \$1}" >verbs &&
    test "$(wc -l <verbs)" -ge 15 &&
    while read -r v; do test -s "man/strata-$v.1" || { echo "no page for $v"; exit 1; }; done <verbs &&
    test -s man/strata.1 && test -s man/strata-registry-serve.1 && test -s man/strata-registry-gc.1 &&
    man -l man/strata-build.1 >build.txt 2>/dev/null &&
    for o in $(strata build --help | grep -o -- "--[a-z][a-z-]*" | sort -u); do
        grep -q -- "$o" build.txt || { echo "strata-build(1) lacks $o"; exit 1; }
    done &&
    grep -q "strata-build(1)" man/strata.1 && grep -q "9.9.9" man/strata-run.1
'

test_expect_success 'bash completion: verbs, options, registry subcommands' '
    command -v bash >/dev/null &&
    cat >comp.bash <<-EOF &&
	. "$SRC_DIR/contrib/completion/strata.bash"
	c() { COMP_WORDS=("\$@"); COMP_CWORD=\$((\$# - 1)); COMPREPLY=(); _strata; echo "\${COMPREPLY[*]}"; }
	c "$STRATA_BIN" bui
	c "$STRATA_BIN" build --cache-
	c "$STRATA_BIN" registry se
	c "$STRATA_BIN" build --progress p
	EOF
    bash comp.bash >got &&
    printf "build\n--cache-from --cache-to\nserve\nplain\n" >want && diff want got
'

test_expect_success 'make install: PREFIX and DESTDIR' '
    make -s -C "$SRC_DIR" -n install PREFIX=/opt/s DESTDIR=/dest >plan &&
    grep -q "/dest/opt/s/bin/strata" plan &&
    grep -q "/dest/opt/s/share/man/man1" plan &&
    grep -q "/dest/opt/s/share/bash-completion/completions/strata" plan
'

test_expect_success 'debian/changelog carries VERSION; Depends come from shlibs' '
    head -1 "$SRC_DIR/debian/changelog" | grep -F "strata ($(cat "$SRC_DIR/VERSION"))" &&
    grep -q "^Depends: .*\${shlibs:Depends}" "$SRC_DIR/debian/control"
'

test_done

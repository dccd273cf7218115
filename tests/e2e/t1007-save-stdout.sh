#!/bin/sh
# t1007: `strata save -o -` writes the archive to standard output, as
# `strata load -i -` reads one from standard input (it used to create a
# file named "-"); never to a terminal.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup' '
    make_busybox_tar bb.tar &&
    strata import bb.tar demo/busybox:1 >/dev/null
'

test_expect_success 'save -o - | load -i - round trips, no file named -' '
    strata save -o - demo/busybox:1 >out.tar &&
    test ! -e ./- &&
    tar -tf out.tar | grep -x manifest.json &&
    strata save -o - demo/busybox:1 | STRATA_ROOT=$TRASH/other strata load -i - >loaded &&
    grep "Loaded image: demo/busybox:1" loaded &&
    strata save --format oci -o - demo/busybox:1 >oci.tar &&
    tar -tf oci.tar | grep -x index.json
'

test_expect_success 'save -o - refuses a terminal' '
    command -v script >/dev/null || { echo "# no script(1): skipped"; exit 0; }
    script -qec "$STRATA_BIN save -o - demo/busybox:1" /dev/null >tty.out 2>&1;
    grep "refusing to write an archive to a terminal" tty.out
'

test_done

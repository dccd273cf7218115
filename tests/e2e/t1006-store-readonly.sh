#!/bin/sh
# t1006: a read-only STRATA_ROOT (a cache mounted read-only in CI): reading
# commands work (they used to fail opening gc.lock for their shared lock),
# writing ones fail with a clear "Read-only file system" error.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || test_skip_all "bind mounts need root"

test_expect_success 'setup: a store with an image, then mounted read-only' '
    make_busybox_tar bb.tar &&
    strata import bb.tar demo/busybox:1 >id &&
    mount --bind "$STRATA_ROOT" "$STRATA_ROOT" &&
    mount -o remount,bind,ro "$STRATA_ROOT" &&
    ! touch "$STRATA_ROOT/x" 2>/dev/null &&
    (cd "$STRATA_ROOT" && find . -exec ls -ld --time-style=+%s {} + | sort) >before
'

test_expect_success 'images, inspect and save read a read-only store' '
    strata images >out &&
    grep "demo/busybox" out &&
    strata inspect demo/busybox:1 >inspect.json &&
    jq -e ".[0].Id" inspect.json >/dev/null &&
    strata save -o saved.tar demo/busybox:1 &&
    test -s saved.tar
'

test_expect_success 'tag and import fail clearly, the store is unchanged' '
    test_exit_code 1 strata tag demo/busybox:1 demo/busybox:2 2>err &&
    grep "Read-only file system" err &&
    test_exit_code 1 strata import bb.tar demo/other:1 2>err &&
    grep "Read-only file system" err &&
    umount "$STRATA_ROOT" &&
    (cd "$STRATA_ROOT" && find . -exec ls -ld --time-style=+%s {} + | sort) >after &&
    cmp before after &&
    test_must_fail strata inspect demo/busybox:2 2>/dev/null &&
    test_must_fail strata inspect demo/other:1 2>/dev/null
'

test_done

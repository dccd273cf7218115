#!/bin/sh
# t5202-info: `strata info` (text and --format json) as root, as a rootless
# user with subordinate ids, as one without, and where rootless mode is
# refused: version, store path and size, isolation, overlay driver, kernel
# features, credentials.
. "$(dirname "$0")/lib.sh"
grep -q overlay /proc/filesystems || test_skip_all "overlayfs is not available"
rootless_setup
SUB="$TRASH/as-strata-rl-sub"
NOSUB="$TRASH/as-strata-rl-nosub"

test_expect_success 'root: text' '
    strata info >out && cat out &&
    grep "^version:     $(cat "$SRC_DIR/VERSION") " out &&
    grep "^store:       $STRATA_ROOT (not created yet)" out &&
    grep "^isolation:   root$" out &&
    grep "^overlay:     kernel overlayfs$" out &&
    grep "^kernel:      $(uname -r); overlayfs yes" out &&
    grep "^credentials: $DOCKER_CONFIG/config.json (absent)" out
'

test_expect_success 'root: json, with a store and credentials' '
    make_busybox_tar bb.tar && strata import bb.tar bb:1 >/dev/null &&
    mkdir -p "$DOCKER_CONFIG" &&
    echo "{\"auths\":{\"r.example\":{\"auth\":\"eDp5\"}},\"credHelpers\":{\"q.example\":\"pass\"}}" \
        >"$DOCKER_CONFIG/config.json" &&
    strata info --format json >j && cat j &&
    test "$(jq -r .isolation.mode j)" = root &&
    test "$(jq -r .store.path j)" = "$STRATA_ROOT" &&
    test "$(jq -r .store.bytes j)" -gt 1000000 &&
    test "$(jq -r .isolation.overlay j)" = "kernel overlayfs" &&
    test "$(jq -r .kernel.overlayfs j)" = true &&
    test "$(jq -c .credentials.auths j)" = "[\"r.example\"]" &&
    test "$(jq -r ".credentials.credHelpers[\"q.example\"]" j)" = pass &&
    strata info >out && grep "^credentials: .*(present), 1 registry in auths, 1 credHelpers" out
'

test_expect_success 'rootless with subordinate ids' '
    "$SUB" info >out 2>err && cat out err &&
    grep "^store:       $TRASH/home-strata-rl-sub/.local/share/strata " out &&
    grep "^isolation:   rootless (uid $(id -u strata-rl-sub), user namespace with 65536 subordinate uids and 65536 gids)" out &&
    grep "^overlay:     kernel overlayfs (userxattr)" out &&
    ! test -s err &&
    "$SUB" info --format json >j &&
    test "$(jq -r .isolation.mode j)" = rootless &&
    test "$(jq -r .isolation.subuids j)" = 65536
'

test_expect_success 'rootless without subordinate ids' '
    "$NOSUB" info >out 2>err && cat out err &&
    grep "^isolation:   rootless (uid $(id -u strata-rl-nosub), user namespace without subordinate ids: only uid 0 in builds)" out &&
    ! test -s err &&
    "$NOSUB" info --format json >j &&
    test "$(jq -r .isolation.subuids j)" = 0
'

test_expect_success 'rootless refused: one line says why' '
    STRATA_ROOTLESS=0 "$NOSUB" info >out && cat out &&
    grep "^isolation:   unavailable: not root (uid $(id -u strata-rl-nosub)) and STRATA_ROOTLESS=0" out &&
    ! grep "^overlay:" out
'

test_expect_success 'usage errors' '
    test_exit_code 2 strata info --format yaml 2>err && grep "text or json" err &&
    test_exit_code 2 strata info extra 2>err && grep "takes no arguments" err
'

test_done

#!/bin/sh
# t5206-userns-refused: where user namespaces are really refused, an ordinary
# user's build fails with one line saying exactly which setting refuses them
# and what to change — never a bare EPERM (issue #13). The refusals are made
# for real, for the test's processes only (tests run in parallel; nothing
# global changes): user.max_user_namespaces=0 set inside a fresh user
# namespace (the limit is per namespace: only that subtree is limited), and a
# seccomp filter failing unshare(CLONE_NEWUSER) with EPERM as a container
# runtime's default profile does (helpers/userns-deny.c). This kernel has no
# kernel.unprivileged_userns_clone (Debian's) nor AppArmor's
# apparmor_restrict_unprivileged_userns: those lines are checked by
# tests/unit/test_build_sandbox.c with a fake /proc.
. "$(dirname "$0")/lib.sh"
require_builder
rootless_setup
command -v cc >/dev/null || test_skip_all "no C compiler for the helper"
[ "$(uname -m)" = x86_64 ] || test_skip_all "the seccomp helper's filter is for x86_64"
cc -o "$TRASH/userns-deny" "$TEST_DIR/helpers/userns-deny.c" 2>cc.err ||
    test_skip_all "the helper does not build: $(head -1 cc.err)"

U=$(id -u strata-rl-sub)
G=$(id -g strata-rl-sub)
H="$TRASH/home-strata-rl-sub"
HOST_MAX=$(cat /proc/sys/user/max_user_namespaces)
# as_denied MODE CMD...: CMD as strata-rl-sub, user namespaces refused by MODE
as_denied() {
    _m=$1
    shift
    "$TRASH/userns-deny" "$_m" "$U" "$G" env -u STRATA_ROOT HOME="$H" XDG_DATA_HOME="$H/.local/share" \
        XDG_CONFIG_HOME="$H/.config" PATH=/usr/local/bin:/usr/bin:/bin "$TRASH/strata-rl" "$@"
}

test_expect_success 'setup: a COPY-only project' '
    mkdir -p ctx && make_busybox_rootfs ctx/rootfs &&
    printf "FROM scratch\nCOPY rootfs/ /\n" >ctx/Dockerfile && chmod -R a+rX ctx
'

test_expect_success 'the same user builds when nothing refuses (the control)' '
    "$TRASH/as-strata-rl-sub" build --progress plain -t ok ctx 2>err || { cat err; false; }
'

# refused MODE LINE: the build fails, and its one line about user namespaces
# is LINE (a grep pattern); no bare EPERM or ENOSPC message beside it
refused() {
    test_must_fail as_denied "$1" build --progress plain -t x ctx 2>err &&
    cat err &&
    test "$(grep -c "user namespace" err)" = 1 &&
    grep "^strata: error: rootless mode needs user namespaces, $2" err &&
    ! grep -i "operation not permitted\|EPERM\|No space left" err
}
# info_says MODE TEXT: strata info runs and names the refusal on its isolation line
info_says() {
    as_denied "$1" info >info 2>err &&
    grep "^isolation:   unavailable: rootless mode needs user namespaces, $2" info
}

test_expect_success 'user.max_user_namespaces=0 (in the enclosing user namespace): one line names it and the fix' '
    refused max0 "disabled by user.max_user_namespaces=0 in the user namespace strata runs in (a container.s, not the host.s): its root must run .sysctl -w user.max_user_namespaces=15000. there, or run strata where it is not 0 (or as root)$"
'

test_expect_success 'max_user_namespaces=0: strata info reports it; the host limit never changed' '
    info_says max0 "disabled by user.max_user_namespaces=0" &&
    grep "user.max_user_namespaces = 0" info &&
    test "$(cat /proc/sys/user/max_user_namespaces)" = "$HOST_MAX"
'

test_expect_success 'a seccomp filter refusing unshare(CLONE_NEWUSER): one line names it and the fix' '
    refused seccomp "forbidden by a seccomp filter (a container runtime.s default profile blocks unshare(CLONE_NEWUSER)): run the container with --security-opt seccomp=unconfined or a profile allowing it, or build as root$"
'

test_expect_success 'seccomp: strata info reports it; commands that need no sandbox still work' '
    info_says seccomp "forbidden by a seccomp filter" &&
    as_denied seccomp --version >v && grep "strata" v &&
    as_denied seccomp images >/dev/null 2>err || { cat err; false; }
'

test_done

#!/bin/sh
# test-timeout: 900
# t4008: foreign platforms rootless (#14 item 12). An ordinary user uses the
# host's binfmt_misc entries; where one is missing, on Linux >= 6.7, strata
# mounts a binfmt_misc of its own user namespace and registers qemu there:
# the build works and the host's binfmt_misc is left as it was. With
# STRATA_BINFMT_REGISTER=0 a missing entry is an error naming what to run.
. "$(dirname "$0")/lib.sh"
require_builder
[ "$(uname -m)" = x86_64 ] || test_skip_all "the test builds arm64 on an x86_64 host"
[ -x /usr/bin/qemu-aarch64-static ] && [ -x /usr/bin/qemu-s390x-static ] ||
    test_skip_all "qemu-user-static is not installed (scripts/install-deps)"
BB_ARM64=$("$SRC_DIR/tests/e2e/helpers/busybox-arm64.sh" 2>"$TRASH/bb.err")
case $? in
0) ;;
77) test_skip_all "$BB_ARM64" ;;
*) test_skip_all "no arm64 busybox: $(cat "$TRASH/bb.err")" ;;
esac
[ -e /proc/sys/fs/binfmt_misc/qemu-s390x ] &&
    test_skip_all "qemu-s390x is registered on this host: the own-instance case needs it missing"
rootless_setup
AS="$TRASH/as-strata-rl-sub"

# a context per target: the s390x "busybox" is the host's (it runs natively;
# what is checked is that the platform's check registers qemu-s390x)
test_expect_success 'setup' '
    mkdir -p ctx/s390x ctx/arm64 &&
    cp /bin/busybox ctx/s390x/busybox &&
    cp "$BB_ARM64" ctx/arm64/busybox &&
    printf "FROM scratch\nARG TARGETARCH\nCOPY \$TARGETARCH/busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox uname -m >/m\"]\n" >ctx/Dockerfile &&
    chmod -R a+rX ctx &&
    ls /proc/sys/fs/binfmt_misc >host.before
'

test_expect_success 'rootless, registration forbidden: qemu-s390x missing is an error that says what to run' '
    test_exit_code 1 env STRATA_BINFMT_REGISTER=0 "$AS" build --platform linux/s390x ctx 2>err &&
    grep "platform linux/s390x cannot run here: qemu-s390x is not registered in binfmt_misc and strata may not register it (STRATA_BINFMT_REGISTER=0)" err
'

test_expect_success 'rootless: s390x then arm64 in one process, registered in its own binfmt_misc' '
    if ! "$AS" build --progress plain --platform linux/s390x,linux/arm64 -t rl:1 ctx 2>log; then
        cat log
        grep "rootless, and this kernel has no binfmt_misc per user namespace" log && echo "# kernel older than 6.7" && exit 0
        false
    fi &&
    grep "emulated: linux/s390x through qemu-s390x-static" log &&
    grep "emulated: linux/arm64 through qemu-aarch64-static" log &&
    ls /proc/sys/fs/binfmt_misc >host.after &&
    diff host.before host.after &&
    ! ls -d /tmp/strata-binfmt-* 2>/dev/null
'

test_expect_success 'rootless: the arm64 image ran aarch64 programs (the own instance runs qemu)' '
    test "$("$AS" run --platform linux/arm64 rl:1 /bin/busybox cat /m)" = aarch64
'

test_done

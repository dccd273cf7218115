#!/bin/sh
# t5000: the build executor end to end, through the debugging verb
# `strata exec-debug` (the engine's RUN goes through the same executor_run).
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || test_skip_all "the executor needs root"
grep -q overlay /proc/filesystems || test_skip_all "overlayfs is not available"
[ -x /bin/busybox ] || test_skip_all "busybox-static is not installed"

make_busybox_rootfs "$TRASH/rootfs"
R="$TRASH/rootfs"

test_expect_success 'exec-debug --help documents every option' '
    strata exec-debug --help >out &&
    grep "^Usage: strata exec-debug" out &&
    for o in --rootfs --upper --sh --env --user --workdir --hostname --network --mount --timeout --repeat --run-dir; do
        grep -q -- "$o" out || { echo "missing $o"; exit 1; }
    done
'

test_expect_success 'a command runs and its output comes back' '
    strata exec-debug --rootfs "$R" -e PATH=/bin -- echo hello >out &&
    test "$(cat out)" = hello
'

test_expect_success 'the exit code is passed through, signals as 128+N' '
    test_exit_code 7 strata exec-debug --rootfs "$R" --sh "exit 7" &&
    test_exit_code 137 strata exec-debug --rootfs "$R" --sh "kill -9 \$\$"
'

test_expect_success 'changes land in --upper, mount points do not' '
    mkdir up &&
    strata exec-debug --rootfs "$R" --upper "$TRASH/up" -w /app --sh "echo x >/app/f; rm /bin/cp" &&
    test "$(cat up/app/f)" = x &&
    test -c up/bin/cp &&
    test ! -e up/etc/hosts && test ! -e up/proc && test ! -e up/dev
'

test_expect_success 'USER, ENV and network none' '
    strata exec-debug --rootfs "$R" -u nobody -e PATH=/bin -e A=b --network none \
        --sh "id -u; echo \$A; ls /proc/sys/net/ipv4/conf" >out &&
    printf "65534\nb\nall\ndefault\nlo\n" >want &&
    diff want out
'

test_expect_success 'a secret is readable in the run and never in the upper dir' '
    echo s3cret >sec && mkdir up2 &&
    strata exec-debug --rootfs "$R" --upper "$TRASH/up2" --mount type=secret,id=tok,src="$TRASH/sec" \
        --sh "cat /run/secrets/tok" >out &&
    test "$(cat out)" = s3cret &&
    test ! -e up2/run
'

test_expect_success 'errors are clear and leave nothing mounted' '
    test_must_fail strata exec-debug --rootfs "$R" -u nosuchuser --sh true 2>err &&
    grep "unable to find user .nosuchuser." err &&
    test_must_fail strata exec-debug --rootfs "$R" -- /no/such/tool 2>err &&
    grep "exec ./no/such/tool.: No such file or directory" err &&
    test_must_fail strata exec-debug --rootfs "$R" --mount type=ssh,target=/s --sh true 2>err &&
    grep "type=ssh is not supported" err &&
    ! grep -q "$TRASH" /proc/self/mountinfo
'

test_expect_success 'usage errors exit 2' '
    test_exit_code 2 strata exec-debug --rootfs "$R" 2>err &&
    grep "no command given" err &&
    test_exit_code 2 strata exec-debug --network bridge --rootfs "$R" -- true 2>err &&
    grep "host or none" err
'

test_expect_success 'not root and rootless mode turned off: a clear error' '
    command -v setpriv >/dev/null || exit 0
    rd=$(mktemp -d /tmp/strata-t5000-nobody.XXXXXX) && chmod 777 "$rd" &&
    STRATA_ROOTLESS=0 setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$STRATA_BIN" exec-debug --run-dir "$rd/r" --rootfs /nonexistent -- /bin/true 2>err
    rc=$?
    rm -rf "$rd"
    cat err
    # the binary may be out of reach of nobody (a private build dir): nothing to check then
    if grep -q "Permission denied" err; then exit 0; fi
    test $rc = 1 &&
    grep "running a build step: not root (uid 65534) and STRATA_ROOTLESS=0: builds need root or a user namespace" err
'

test_done

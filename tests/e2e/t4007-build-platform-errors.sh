#!/bin/sh
# test-timeout: 900
# t4007: platforms that cannot run here are errors that say why (#14 item
# 12): a made-up architecture, a non-linux OS, and qemu-s390x unregistered
# with registration forbidden (STRATA_BINFMT_REGISTER=0: what to run is
# named); bad --platform values are usage errors. Then the cross-compiling
# pattern: a `FROM --platform=$BUILDPLATFORM` stage runs natively and hands
# its output to the target's stage; and --cache-to of a two-platform build
# brings both platforms' steps to a fresh store.
. "$(dirname "$0")/lib.sh"
require_builder
[ "$(uname -m)" = x86_64 ] || test_skip_all "the test builds arm64 on an x86_64 host"

test_expect_success 'setup: a context with a RUN' '
    mkdir -p ctx &&
    cp /bin/busybox ctx/busybox &&
    printf "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"true\"]\n" >ctx/Dockerfile
'

test_expect_success 'a made-up architecture: an error naming it, nothing built' '
    test_exit_code 1 strata build --platform linux/foo64 -t x:1 ctx 2>err &&
    grep "Dockerfile:3: RUN .*: platform linux/foo64 cannot run here: no emulator is known for architecture .foo64." err &&
    test_must_fail strata inspect x:1
'

test_expect_success 'a non-linux platform: an error' '
    test_exit_code 1 strata build --platform windows/amd64 ctx 2>err &&
    grep "platform windows/amd64 cannot run here: only linux images run on this host" err
'

test_expect_success 'bad --platform values are usage errors' '
    test_exit_code 2 strata build --platform linux ctx 2>err &&
    grep "invalid --platform .linux.: expected os/arch" err &&
    test_exit_code 2 strata build --platform linux/arm64,linux/arm64/v8 ctx 2>err &&
    grep "given twice" err &&
    test_exit_code 2 strata run --platform arm64 x true 2>err &&
    grep "invalid --platform" err
'

if [ -e /proc/sys/fs/binfmt_misc/qemu-s390x ]; then
    echo "# qemu-s390x is registered on this machine: the unregistered case is not checked"
elif [ ! -x /usr/bin/qemu-s390x-static ]; then
    echo "# qemu-user-static is not installed: the unregistered case is not checked"
else
    test_expect_success 'qemu-s390x unregistered and registration forbidden: says what to run' '
        test_exit_code 1 env STRATA_BINFMT_REGISTER=0 "$STRATA_BIN" build --platform linux/s390x ctx 2>err &&
        grep "platform linux/s390x cannot run here: qemu-s390x is not registered in binfmt_misc" err &&
        grep "strata may not register it (STRATA_BINFMT_REGISTER=0); as root run: update-binfmts --enable qemu-s390x" err &&
        test ! -e /proc/sys/fs/binfmt_misc/qemu-s390x
    '
fi

# the rest runs arm64 programs
BB_ARM64=$("$SRC_DIR/tests/e2e/helpers/busybox-arm64.sh" 2>"$TRASH/bb.err")
case $? in
0) ;;
*) echo "# no arm64 busybox, the cross-compiling cases are skipped: $BB_ARM64 $(cat "$TRASH/bb.err")"; test_done ;;
esac
mkdir "$TRASH/probe" && cp "$BB_ARM64" "$TRASH/probe/busybox" &&
    printf 'FROM scratch\nCOPY busybox /busybox\nRUN ["/busybox", "true"]\n' >"$TRASH/probe/Dockerfile"
if ! STRATA_ROOT=$TRASH/probe-root strata build -q --platform linux/arm64 "$TRASH/probe" >/dev/null 2>"$TRASH/probe.err"; then
    echo "# binfmt_misc cannot be used here, the cross-compiling cases are skipped: $(tail -1 "$TRASH/probe.err")"
    test_done
fi

test_expect_success 'FROM --platform=$BUILDPLATFORM: the build stage runs natively for an arm64 target' '
    mkdir -p cross/amd64 cross/arm64 &&
    cp /bin/busybox cross/amd64/busybox && cp "$BB_ARM64" cross/arm64/busybox &&
    cat >cross/Dockerfile <<-\EOF &&
	FROM --platform=$BUILDPLATFORM scratch AS build
	ARG BUILDARCH
	COPY $BUILDARCH/busybox /bin/busybox
	RUN ["/bin/busybox", "--install", "-s", "/bin"]
	ARG TARGETARCH
	RUN uname -m >/built-on && echo "$TARGETARCH" >/for
	FROM scratch
	ARG TARGETARCH
	COPY $TARGETARCH/busybox /bin/busybox
	COPY --from=build /built-on /for /
	CMD ["/bin/busybox", "cat", "/built-on", "/for"]
	EOF
    strata build --platform linux/arm64 -t cross:1 cross 2>out &&
    ! grep emulated out &&
    test "$(strata inspect --format "{{.Architecture}}" cross:1)" = arm64 &&
    strata run cross:1 >got &&
    printf "x86_64\narm64\n" >want && cmp want got
'

test_expect_success 'two platforms: the build stage runs once per target (TARGETARCH is in its key)' '
    strata build --platform linux/amd64,linux/arm64 -t cross:2 cross 2>out &&
    test "$(grep -c "emulated" out)" = 0 &&
    test "$(strata run --platform linux/arm64 cross:2 /bin/busybox cat /for)" = arm64 &&
    test "$(strata run --platform linux/amd64 cross:2 /bin/busybox cat /for)" = amd64
'

test_expect_success '--cache-to of two platforms (mode=min): the final layers of both' '
    strata build --platform linux/amd64,linux/arm64 --cache-to type=local,dest=$TRASH/min cross 2>out &&
    grep "exported cache to type=local,dest=$TRASH/min: 4 blobs written" out
'

test_expect_success '--cache-to of two platforms (mode=max): a fresh store gets every step of both' '
    strata build --platform linux/amd64,linux/arm64 --cache-to type=local,dest=$TRASH/max,mode=max cross 2>out &&
    grep "exported cache" out &&
    STRATA_ROOT=$TRASH/fresh strata build --platform linux/amd64,linux/arm64 \
        --cache-from type=local,src=$TRASH/max cross 2>out2 &&
    grep "strata: 10 steps cached, 0 run" out2
'

test_done

#!/bin/sh
# t5103: regressions found using strata build as a CI user would (bad flags,
# interruptions, odd contexts); one test per defect fixed.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || test_skip_all "the builder needs root"
grep -q overlay /proc/filesystems || test_skip_all "overlayfs is not available"
[ -x /bin/busybox ] || test_skip_all "busybox-static is not installed"

mkdir -p "$TRASH/ctx"
make_busybox_rootfs "$TRASH/ctx/rootfs"

test_expect_success 'an invalid -t is a usage error before anything is built' '
    printf "FROM scratch\nCOPY rootfs/ /\nRUN echo ran >/marker\n" >ctx/Dockerfile &&
    test_exit_code 2 strata build --progress plain -t ok:1 -t "Bad:Ref" ctx >out 2>err &&
    grep "strata build: -t: invalid reference .Bad:Ref.: repository name must be lowercase" err &&
    ! grep "RUN echo" err &&
    strata images >out && ! grep "ok " out
'

test_expect_success 'EXPOSE of a port range lists every port in ExposedPorts, as docker' '
    printf "FROM scratch\nCOPY rootfs/ /\nEXPOSE 8080 9000-9002/udp\n" >ctx/Dockerfile &&
    strata build -q -t expose:1 ctx >id &&
    strata inspect expose:1 | jq -c ".[0].Config.config.ExposedPorts" >ports &&
    test "$(cat ports)" = "{\"8080/tcp\":{},\"9000/udp\":{},\"9001/udp\":{},\"9002/udp\":{}}"
'

test_done

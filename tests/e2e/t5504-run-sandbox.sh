#!/bin/sh
# t5504: the RUN sandbox is docker's default (issue #15 items 1 and 6),
# checked from inside RUN steps and `strata run`: Seccomp 2 (docker's
# profile), no_new_privs, CapEff = CapPrm = CapBnd = docker's default set
# (00000000a80425fb) and nothing inheritable or ambient; device nodes from a
# layer (block 7:0, a char node) and nodes the command makes cannot be
# opened, /dev's own can; a setuid file grants nothing; masked and
# read-only /proc paths; `--security insecure` + RUN --security=insecure is
# the one opt-out, refused without the flag.
. "$(dirname "$0")/lib.sh"

require_builder

DOCKER_CAPS=00000000a80425fb
# a base with device nodes, as a hostile image would ship them
make_busybox_rootfs "$TRASH/l1"
for a in mknod stat dd unshare; do ln -sf busybox "$TRASH/l1/bin/$a"; done
mkdir -p "$TRASH/l1/x" &&
mknod -m 0666 "$TRASH/l1/x/disk" b 7 0 &&
mknod -m 0666 "$TRASH/l1/x/null" c 1 3 &&
mkdir -p "$TRASH/l1/s" && cp /bin/busybox "$TRASH/l1/s/id" && chmod 4755 "$TRASH/l1/s/id"
make_layer_tgz "$TRASH/l1" "$TRASH/l1.tgz"
make_oci_image "$TRASH/layout" docker.io/library/devbase:1 "$TRASH/l1.tgz"
mkdir -p "$TRASH/ctx"

build() { strata build --progress plain --no-cache "$@" 2>"$TRASH/log"; }
status() { grep -E "^(Seccomp|NoNewPrivs|Cap(Inh|Prm|Eff|Bnd|Amb)):" "$1" | tr -d "\t" | tr "\n" " "; }

test_expect_success 'setup: a base image whose layer has device nodes and a setuid file' '
    tar -C layout -cf devbase.tar . && strata load -i devbase.tar >/dev/null &&
    printf "FROM devbase:1\nRUN cat /proc/self/status >/root.status\nUSER nobody\nRUN cat /proc/self/status >/tmp/nobody.status && /s/id -u >/tmp/suid.out\n" >ctx/Dockerfile &&
    build -t sbx ctx || { cat log; exit 1; }
'

test_expect_success 'RUN as root: docker seccomp, no_new_privs, docker capabilities' '
    strata run --rm sbx cat /root.status >st &&
    s=$(status st) && echo "$s" &&
    echo "$s" | grep "Seccomp:2 " && echo "$s" | grep "NoNewPrivs:1 " &&
    echo "$s" | grep "CapInh:0000000000000000 " && echo "$s" | grep "CapAmb:0000000000000000 " &&
    echo "$s" | grep "CapPrm:$DOCKER_CAPS " && echo "$s" | grep "CapEff:$DOCKER_CAPS " &&
    echo "$s" | grep "CapBnd:$DOCKER_CAPS "
'

test_expect_success 'RUN as another user: no capabilities, and a setuid file grants none' '
    strata run --rm sbx cat /tmp/nobody.status >st &&
    s=$(status st) && echo "$s" &&
    echo "$s" | grep "CapEff:0000000000000000 " && echo "$s" | grep "CapBnd:$DOCKER_CAPS " &&
    test "$(strata run --rm sbx cat /tmp/suid.out)" = 65534
'

test_expect_success 'strata run gets the same policy' '
    strata run --rm -u root sbx cat /proc/self/status >st &&
    s=$(status st) && echo "$s" | grep "Seccomp:2 " && echo "$s" | grep "CapEff:$DOCKER_CAPS "
'

test_expect_success 'device nodes from a layer cannot be opened; /dev works' '
    printf "FROM devbase:1\nRUN stat -c \"%%t:%%T\" /x/disk /x/null && ! dd if=/x/disk of=/dev/null bs=1 count=1 2>/tmp/e1 && cat /tmp/e1 && grep \"Permission denied\" /tmp/e1 && ! cat /x/null 2>/tmp/e2 && grep \"Permission denied\" /tmp/e2 && echo ok >/dev/null && test \$(dd if=/dev/urandom bs=4 count=1 2>/dev/null | wc -c) = 4\n" >ctx/Dockerfile &&
    build ctx || { cat log; exit 1; }
    grep "7:0" log && grep "1:3" log
'

test_expect_success 'nodes the command makes (it has CAP_MKNOD, as with docker) cannot be opened either' '
    printf "FROM devbase:1\nRUN mknod /tmp/n c 1 3 && mknod /dev/n2 c 1 3 && ! cat /tmp/n 2>/tmp/e && grep \"Permission denied\" /tmp/e && ! cat /dev/n2 2>/tmp/e && grep \"Permission denied\" /tmp/e\n" >ctx/Dockerfile &&
    build ctx || { cat log; exit 1; }
'

test_expect_success 'masked and read-only /proc paths; no namespaces, no mounts' '
    printf "FROM devbase:1\nRUN test ! -s /proc/timer_list && test ! -s /proc/sched_debug && test -z \"\$(ls -A /proc/scsi 2>/dev/null)\" && ! echo 1 >/proc/sysrq-trigger && ! echo x >/proc/sys/kernel/hostname && ! unshare -m true\n" >ctx/Dockerfile &&
    build ctx || { cat log; exit 1; }
'

test_expect_success 'RUN --security=insecure needs --security insecure, then has everything' '
    printf "FROM devbase:1\nRUN --security=insecure grep -E \"Seccomp|CapEff\" /proc/self/status\n" >ctx/Dockerfile &&
    test_exit_code 1 strata build --no-cache ctx 2>err &&
    grep "RUN --security=insecure is not allowed: build with --security insecure" err &&
    build --security insecure ctx && cat log &&
    grep -E "Seccomp:[[:space:]]+0" log && ! grep "CapEff:[[:space:]]*$DOCKER_CAPS" log &&
    test_exit_code 2 strata build --security nope ctx 2>/dev/null
'

test_done

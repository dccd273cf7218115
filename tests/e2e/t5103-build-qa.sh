#!/bin/sh
# t5103: regressions found using strata build as a CI user would (bad flags,
# interruptions, odd contexts); one test per defect fixed.
. "$(dirname "$0")/lib.sh"

require_builder

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

test_expect_success 'four builds at once on one store, repeatedly: none loses its work dir' '
    printf "FROM scratch\nCOPY rootfs/ /\n" >ctx/Dockerfile && strata build -q -t base:1 ctx >/dev/null &&
    mkdir -p par && fails=0 &&
    for i in $(seq 1 20); do
        printf "FROM base:1\nRUN echo $i >/r\n" >par/Dockerfile &&
        for j in 1 2 3 4; do
            { strata build -q --no-cache par >/dev/null 2>err.$j || echo "exit $?" >>err.$j; } &
        done &&
        wait &&
        for j in 1 2 3 4; do
            if [ -s err.$j ]; then cat err.$j; fails=$((fails + 1)); fi
        done || return 1
    done &&
    test $fails = 0 &&
    test -z "$(ls -A "$STRATA_ROOT/build/tmp")"
'

test_expect_success 'a killed build leaves a work dir the next build removes' '
    printf "FROM base:1\nRUN sleep 30\n" >par/Dockerfile &&
    { "$STRATA_BIN" build -q par >/dev/null 2>&1 & pid=$!; } &&
    n=50 && while [ $n -gt 0 ] && ! ls "$STRATA_ROOT/build/tmp" | grep -q "^build-"; do sleep 0.1; n=$((n - 1)); done &&
    ls "$STRATA_ROOT/build/tmp" | grep -q "^build-" &&
    sleep 0.3 && kill -9 $pid && { wait $pid; true; } &&
    d=$(ls -d "$STRATA_ROOT"/build/tmp/build-*) && test -n "$d" &&
    # the executor notices its parent died and ends the RUN: the lock goes with it
    n=50 && while [ $n -gt 0 ] && ! flock -n "$d/lock" true; do sleep 0.1; n=$((n - 1)); done &&
    printf "FROM base:1\nRUN true\n" >par/Dockerfile &&
    strata build -q par >/dev/null &&
    test -z "$(ls -A "$STRATA_ROOT/build/tmp")" &&
    ! grep -q "$STRATA_ROOT" /proc/self/mountinfo
'

test_expect_success 'a full disk while storing a layer names the step, leaves nothing behind' '
    mkdir small && mount -t tmpfs -o size=8m tmpfs small &&
    make_busybox_tar bb.tar &&
    STRATA_ROOT=$TRASH/small/root strata import bb.tar base:1 >/dev/null &&
    printf "FROM base:1\nRUN dd if=/dev/urandom of=/big bs=1M count=3 2>/dev/null\n" >par/Dockerfile &&
    test_exit_code 1 env STRATA_ROOT=$TRASH/small/root "$STRATA_BIN" build -q par 2>err &&
    cat err &&
    grep "Dockerfile:2: RUN dd if=/dev/urandom of=/big bs=1M count=3 2>/dev/null: create layer: .*No space left on device" err &&
    test -z "$(ls -A small/root/build/tmp)" && test -z "$(ls -A small/root/.strata/tmp)" &&
    umount small
'

test_expect_success 'ADD of a hostile local tar stays inside its destination, as BuildKit' '
    mkdir addctx &&
    python3 - <<-\PY &&
	import io, tarfile
	t = tarfile.open("addctx/evil.tar", "w")
	def add(name, data=None, link=None):
	    ti = tarfile.TarInfo(name)
	    if link is not None:
	        ti.type = tarfile.SYMTYPE; ti.linkname = link; t.addfile(ti)
	    else:
	        ti.size = len(data); t.addfile(ti, io.BytesIO(data))
	add("../../../etc/evil", b"dotdot")
	add("/abs.txt", b"abs")
	add("link", link="/etc")
	add("link/evil2", b"through a symlink")
	add("ok.txt", b"fine")
	t.close()
	PY
    printf "FROM base:1\nADD evil.tar /x/\n" >addctx/Dockerfile &&
    strata build -q -t add:1 addctx >/dev/null &&
    strata run --rm add:1 cat /x/ok.txt /x/abs.txt /x/etc/evil /x/etc/evil2 >out &&
    test "$(cat out)" = "fineabsdotdotthrough a symlink" &&
    test_must_fail strata run --rm add:1 cat /etc/evil &&
    test_must_fail strata run --rm add:1 cat /etc/evil2
'

test_expect_success 'COPY under a symlink that points out of the image never touches the host' '
    mkdir -p hostdir lctx && chmod 0700 hostdir && echo f >lctx/f &&
    printf "FROM base:1\nRUN ln -s $TRASH/hostdir /app\nCOPY f /app/sub/\n" >lctx/Dockerfile &&
    test_must_fail strata build -q -t outlink:1 lctx 2>err &&
    grep "open directory ./app." err &&
    test "$(stat -c %a hostdir)" = 700 && test -z "$(ls -A hostdir)"
'

test_expect_success '--secret id=ID,env=NAME exposes the variable, leaves nothing in the image' '
    mkdir sctx &&
    printf "FROM base:1\nRUN --mount=type=secret,id=tok cat /run/secrets/tok >/t\n" >sctx/Dockerfile &&
    MY_TOKEN=s3cr3t strata build -q --no-cache -t sec:1 --secret id=tok,env=MY_TOKEN sctx >/dev/null &&
    test "$(strata run --rm sec:1 cat /t)" = s3cr3t &&
    test_must_fail strata run --rm sec:1 ls /run/secrets/tok &&
    test_exit_code 2 strata build --secret id=tok,env=STRATA_TEST_UNSET sctx 2>err &&
    grep "the environment variable is not set" err
'

test_expect_success 'COPY --chown=UID without a group uses UID as the GID, as docker' '
    mkdir -p chctx && echo x >chctx/f &&
    printf "FROM base:1\nCOPY --chown=4321 f /num\nCOPY --chown=nobody f /name\nCOPY --chown=4321:7 f /both\n" >chctx/Dockerfile &&
    strata build -q -t chown:1 chctx >/dev/null &&
    strata run --rm chown:1 ls -ln /num /name /both >ls.out &&
    cat ls.out &&
    grep -E " 4321 +4321 .*/num$" ls.out &&
    grep -E " 65534 +65534 .*/name$" ls.out &&
    grep -E " 4321 +7 .*/both$" ls.out
'

test_done

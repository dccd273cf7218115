#!/bin/sh
# t5501: RUN --mount=type=bind of the context mounts the context as
# .dockerignore filters it, as BuildKit does (issue #15 item 3): excluded
# files are not visible (read-only and rw binds, the root and a source
# subdirectory, re-included paths inside an excluded directory), an excluded
# source is an error, and a change to an excluded file keeps the step cached.
. "$(dirname "$0")/lib.sh"

require_builder

mkdir -p "$TRASH/ctx/sub/deep" "$TRASH/ctx/docs" "$TRASH/basectx"
make_busybox_rootfs "$TRASH/basectx/rootfs"
printf 'FROM scratch\nCOPY rootfs/ /\n' >"$TRASH/basectx/Dockerfile"
cd "$TRASH/ctx" || exit 1
echo secret >secret.txt
echo key >key.pem
echo env >sub/.env
echo env >sub/deep/.env
echo keep >sub/keep
echo doc >docs/a.md
echo kept-doc >docs/keep.md
printf 'secret.txt\n*.pem\n**/.env\ndocs\n!docs/keep.md\n' >.dockerignore
cat >Dockerfile <<'EOF'
FROM base
ENV PATH=/bin
RUN --mount=type=bind,target=/ctx cd /ctx && find . | sort >/ro.list && stat -c "%a %u" sub docs >/ro.modes
RUN --mount=type=bind,target=/ctx,rw cd /ctx && find . | sort >/rw.list && touch /ctx/new
RUN --mount=type=bind,source=sub,target=/sub cd /sub && find . | sort >/sub.list
EOF
cd "$TRASH" || exit 1

test_expect_success 'setup: a base with the rootfs' '
    strata build -q -t base basectx >/dev/null &&
    chmod 750 ctx/sub
'

cat >expect.list <<'EOF'
.
./.dockerignore
./Dockerfile
./docs
./docs/keep.md
./sub
./sub/deep
./sub/keep
EOF
printf '.\n./deep\n./keep\n' >expect.sub

test_expect_success 'the bind mounts show the filtered context' '
    strata build --progress plain -t bound ctx 2>log &&
    strata run --rm bound cat /ro.list >ro.list &&
    diff -u expect.list ro.list &&
    strata run --rm bound cat /rw.list >rw.list &&
    diff -u expect.list rw.list &&
    strata run --rm bound cat /sub.list >sub.list &&
    diff -u expect.sub sub.list &&
    strata run --rm bound cat /ro.modes >modes &&
    printf "750 0\n755 0\n" >expect.modes &&
    diff -u expect.modes modes &&
    test ! -e ctx/new
'

test_expect_success 'a change to an excluded file keeps the steps cached' '
    echo changed >>ctx/secret.txt &&
    echo changed >>ctx/sub/.env &&
    echo changed >>ctx/docs/a.md &&
    strata build --progress plain -t bound ctx 2>log &&
    grep "^strata: 3 steps cached, 0 run" log
'

test_expect_success 'a change to a kept file makes them miss' '
    echo changed >>ctx/sub/keep &&
    strata build --progress plain -t bound ctx 2>log &&
    grep "^strata: 0 steps cached, 3 run" log
'

test_expect_success 'an excluded source is not found, as with BuildKit' '
    printf "FROM base\nRUN --mount=type=bind,source=secret.txt,target=/s cat /s\n" >ctx/Dockerfile.bad &&
    test_exit_code 1 strata build -f ctx/Dockerfile.bad ctx 2>err &&
    grep "secret.txt\": not found" err
'

test_done

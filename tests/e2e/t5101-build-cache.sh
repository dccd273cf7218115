#!/bin/sh
# t5101: strata build's cache — no-op rebuilds, exact invalidation with
# explained misses, .dockerignore, --no-cache, concurrent builds.
. "$(dirname "$0")/lib.sh"

require_builder

mkdir -p "$TRASH/ctx/src" "$TRASH/ctx/docs"
make_busybox_rootfs "$TRASH/ctx/rootfs"
echo 'int main(void) { return 0; }' >"$TRASH/ctx/src/main.c"
echo 'util' >"$TRASH/ctx/src/util.c"
echo 'readme' >"$TRASH/ctx/docs/README"
echo 'log' >"$TRASH/ctx/build.log"
printf '*.log\ndocs\nDockerfile\n' >"$TRASH/ctx/.dockerignore"
cat >"$TRASH/ctx/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
ENV PATH=/bin
ARG VERSION=1.0
RUN echo "version $VERSION" >/version
COPY src/util.c /app/
COPY src/main.c /app/
RUN cat /app/main.c >/app/built
COPY . /ctx/
LABEL stage=final
CMD ["cat", "/version"]
EOF

build() { strata build --progress plain -t cached "$@" ctx 2>log; }

test_expect_success 'a first build runs every step' '
    build && grep "^strata: 0 steps cached, 6 run" log &&
    test "$(strata run cached)" = "version 1.0" &&
    test "$(grep -c "MISS: no cache entry" log)" = 1 &&
    test "$(grep -c "MISS: parent step missed" log)" = 5
'

test_expect_success 'a no-op rebuild: every step CACHED, same image id' '
    strata build -q ctx >id1 2>/dev/null &&
    build && grep "^strata: 6 steps cached, 0 run" log &&
    test "$(grep -c "^#[0-9]* CACHED$" log)" = 6 &&
    ! grep MISS log &&
    grep "image $(cat id1)" log
'

test_expect_success 'editing one file invalidates exactly the steps that read it and those after' '
    echo "/* changed */" >>ctx/src/main.c &&
    build &&
    grep "^strata: 3 steps cached, 3 run" log &&
    grep -A1 "COPY src/util.c /app/" log | grep CACHED &&
    grep -A1 "COPY src/main.c /app/" log | grep "MISS: src/main.c changed" &&
    grep -A1 "RUN cat /app/main.c" log | grep "MISS: parent step missed" &&
    test "$(strata run cached cat /app/built | tail -1)" = "/* changed */"
'

test_expect_success 'a new and a removed file are named' '
    echo new >ctx/src/new.c && build &&
    grep -A1 "COPY \. /ctx/" log | grep "MISS: src/new.c added" &&
    rm ctx/src/new.c && echo other >ctx/src/other.c && build &&
    grep -A1 "COPY \. /ctx/" log | grep "MISS: src/new.c removed" &&
    rm ctx/src/other.c && build && grep "^strata: 6 steps cached, 0 run" log
'

test_expect_success 'files excluded by .dockerignore never invalidate (nor reach the image)' '
    build && echo more >>ctx/build.log && echo more >>ctx/docs/README && touch ctx/src/util.c &&
    build && grep "^strata: 6 steps cached, 0 run" log &&
    strata run cached ls /ctx >out &&
    ! grep -e build.log -e docs out && grep src out
'

test_expect_success 'a build arg change is explained on the RUN that sees it' '
    build --build-arg VERSION=2.0 &&
    grep -A1 "RUN echo \"version" log | grep "MISS: build arg VERSION changed" &&
    grep -A1 "COPY rootfs/ /" log | grep CACHED &&
    test "$(strata run cached)" = "version 2.0"
'

test_expect_success 'an instruction change is explained' '
    build &&
    sed -i "s|RUN cat /app/main.c >/app/built|RUN cat /app/main.c /app/util.c >/app/built|" ctx/Dockerfile &&
    build && grep -A1 "RUN cat /app/main.c /app/util.c" log | grep "MISS: instruction changed"
'

test_expect_success 'a metadata change (LABEL, CMD) keeps every layer cached' '
    sed -i "s|LABEL stage=final|LABEL stage=other|" ctx/Dockerfile &&
    build && grep "^strata: 6 steps cached, 0 run" log
'

test_expect_success 'an ENV change is explained' '
    build &&
    sed -i "s|^ENV PATH=/bin$|ENV PATH=/bin:/sbin|" ctx/Dockerfile &&
    build && grep -A1 "RUN echo \"version" log | grep "MISS: env PATH changed"
'

test_expect_success '--no-cache runs everything and does not explain' '
    build --no-cache && grep "^strata: 0 steps cached, 6 run" log && ! grep MISS log &&
    build && grep "^strata: 6 steps cached, 0 run" log
'

test_expect_success 'file content, not mtime, decides: touch keeps, same-size edit misses' '
    touch ctx/src/main.c && build && grep "^strata: 6 steps cached, 0 run" log &&
    sed -i "s/return 0/return 1/" ctx/src/main.c && build &&
    grep -A1 "COPY src/main.c /app/" log | grep "MISS: src/main.c changed"
'

test_expect_success 'two builds sharing a store at once both succeed' '
    echo x >>ctx/src/util.c &&
    (strata build -q -t par1 ctx >p1 2>e1 & strata build -q -t par2 ctx >p2 2>e2 & wait) &&
    test -s p1 && test -s p2 &&
    test "$(strata run par1)" = "version 1.0" && test "$(strata run par2)" = "version 1.0" &&
    build && grep "^strata: 6 steps cached, 0 run" log
'

test_expect_success 'nothing is left mounted or in the work area' '
    ! grep " $TRASH" /proc/self/mountinfo &&
    test -z "$(ls root/build/tmp)"
'

test_done

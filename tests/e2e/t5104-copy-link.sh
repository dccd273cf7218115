#!/bin/sh
# t5104: COPY --link (a layer made in an empty tree, keyed without its
# parent: reused whatever is below it, byte-identical across bases, locally
# and through --cache-from) and RUN --mount=type=bind|cache,from=<image>.
. "$(dirname "$0")/lib.sh"

require_builder

# base:1 is busybox; base:2 also has /marker, a user "app" and /app as a
# symlink to /opt/real (a --link destination must not follow it)
make_busybox_rootfs "$TRASH/b1"
cp -a "$TRASH/b1" "$TRASH/b2"
echo two >"$TRASH/b2/marker"
echo 'app:x:1234:2345::/:/bin/sh' >>"$TRASH/b2/etc/passwd"
mkdir -p "$TRASH/b2/opt/real"
echo real >"$TRASH/b2/opt/real/r"
ln -s /opt/real "$TRASH/b2/app"
tar -C "$TRASH/b1" --numeric-owner -cf "$TRASH/b1.tar" .
tar -C "$TRASH/b2" --numeric-owner -cf "$TRASH/b2.tar" .

mkdir -p "$TRASH/ctx/src"
echo hello >"$TRASH/ctx/src/a.txt"
echo world >"$TRASH/ctx/src/b.txt"
cat >"$TRASH/ctx/Dockerfile" <<'EOF'
ARG BASE=base:1
FROM $BASE
ENV PATH=/bin
RUN echo one >/one
COPY --link src/ /app/
RUN cat /app/a.txt /app/b.txt >/out
EOF

build() { strata build --progress plain "$@" ctx 2>log; }
# link_layer IMAGE: the digest of the COPY --link layer (base, RUN, COPY --link, RUN)
link_layer() { strata inspect --format manifest "$1" | jq -r '.layers[2].digest'; }
blob() { echo "$STRATA_ROOT/blobs/sha256/${1#sha256:}"; }

test_expect_success 'setup: two bases' '
    strata import b1.tar base:1 >/dev/null && strata import b2.tar base:2 >/dev/null
'

test_expect_success 'a first build runs every step; the linked layer holds only the copied files' '
    build -t l1 && grep "^strata: 0 steps cached, 3 run" log &&
    grep -A1 "COPY --link src/ /app/" log | grep "MISS: no cache entry" &&
    tar -tvzf "$(blob "$(link_layer l1)")" >list &&
    cat list &&
    test "$(wc -l <list)" = 3 &&
    grep "^drwxr-xr-x 0/0 .* 1970-01-01 00:00 app/$" list &&
    grep "^-rw-r--r-- 0/0 *6 1970-01-01 00:00 app/a.txt$" list &&
    grep " app/b.txt$" list &&
    test "$(strata run --rm l1 cat /out)" = "hello
world"
'

test_expect_success 'editing an earlier RUN: that RUN reruns, COPY --link is reused, the next RUN reruns' '
    sed -i "s/echo one/echo ONE/" ctx/Dockerfile &&
    build -t l2 &&
    grep "^strata: 1 step cached, 2 run" log &&
    grep -A1 "RUN echo ONE" log | grep "MISS: instruction changed" &&
    grep -A1 "COPY --link src/ /app/" log | grep "^#[0-9]* CACHED (linked layer reused)$" &&
    grep -A1 "RUN cat /app/a.txt" log | grep "MISS: parent step missed" &&
    test "$(link_layer l2)" = "$(link_layer l1)" &&
    test "$(strata run --rm l2 cat /one)" = ONE
'

test_expect_success 'a different base: the linked layer is reused and identical, the steps after it rerun' '
    build -t l3 --build-arg BASE=base:2 &&
    grep "^strata: 1 step cached, 2 run" log &&
    grep -A1 "COPY --link src/ /app/" log | grep "CACHED (linked layer reused)" &&
    grep -A1 "RUN cat /app/a.txt" log | grep "MISS: parent step missed" &&
    test "$(link_layer l3)" = "$(link_layer l1)"
'

test_expect_success 'rebuilt from scratch (--no-cache) on either base, the linked blob is byte-identical' '
    build -t l4 --no-cache --build-arg BASE=base:2 &&
    grep "^strata: 0 steps cached, 3 run" log &&
    test "$(link_layer l4)" = "$(link_layer l1)" &&
    build -t l5 --no-cache &&
    test "$(link_layer l5)" = "$(link_layer l1)"
'

test_expect_success 'strata run: the linked files on top of the base; a base symlink on the path is shadowed, not followed' '
    strata run --rm l3 sh -c "cat /marker /app/a.txt /out /opt/real/r; test -d /app && test ! -L /app && ls /opt/real" >out &&
    printf "two\nhello\nhello\nworld\nreal\nr\n" >want &&
    diff want out &&
    strata run --rm l1 sh -c "ls /app; test ! -e /marker" >out &&
    printf "a.txt\nb.txt\n" >want && diff want out
'

test_expect_success 'a later RUN sees the merged view and nothing below is deleted' '
    cat >ctx/Dockerfile.merge <<-\EOF &&
	FROM base:2
	ENV PATH=/bin
	RUN mkdir -p /data && echo below >/data/below
	COPY --link src/a.txt /data/
	RUN ls /data >/listing
	EOF
    strata build -f ctx/Dockerfile.merge -t merged ctx 2>log &&
    test "$(strata run --rm merged cat /listing)" = "a.txt
below"
'

test_expect_success '--chown/--chmod with --link: ids by number or by the name in the base, created dirs owned too' '
    cat >ctx/Dockerfile.own <<-\EOF &&
	FROM base:2
	COPY --link --chown=1234:2345 --chmod=0640 src/a.txt /opt/x/
	COPY --link --chown=app src/b.txt /opt/y/
	EOF
    strata build -f ctx/Dockerfile.own -t own ctx 2>log &&
    strata run --rm own /bin/busybox stat -c "%n %u:%g %a" /opt/x /opt/x/a.txt /opt/y /opt/y/b.txt >out &&
    printf "/opt/x 1234:2345 755\n/opt/x/a.txt 1234:2345 640\n/opt/y 1234:2345 755\n/opt/y/b.txt 1234:2345 644\n" >want &&
    diff want out &&
    strata inspect own | jq -e ".[0].Config[\"strata.cache.v1\"].steps[1].inputs.config == {\"chown\": \"app\", \"uid\": 1234, \"gid\": 2345}" &&
    strata inspect own | jq -e ".[0].Config[\"strata.cache.v1\"].steps[1].inputs | has(\"parent\") | not" &&
    printf "FROM base:1\nCOPY --link --chown=app src/b.txt /opt/y/\n" >ctx/Dockerfile.own2 &&
    test_must_fail strata build -f ctx/Dockerfile.own2 ctx 2>err &&
    grep "Dockerfile.own2:2: COPY --link --chown=app src/b.txt /opt/y/: --chown=app: .*app" err
'

test_expect_success 'ADD --link of a local archive, COPY --link --from a stage, a heredoc' '
    mkdir -p arch && echo inner >arch/inner.txt && tar -C arch -czf ctx/files.tar.gz inner.txt &&
    cat >ctx/Dockerfile.add <<-\EOF &&
	FROM base:1 AS src
	RUN mkdir -p /out && echo staged >/out/s
	FROM base:2
	ADD --link files.tar.gz /opt/arch/
	COPY --link --from=src /out/s /opt/s
	COPY --link <<EOT /opt/doc
	from a heredoc
	EOT
	EOF
    strata build -f ctx/Dockerfile.add -t added ctx 2>log &&
    strata run --rm added cat /opt/arch/inner.txt /opt/s /opt/doc /marker >out &&
    printf "inner\nstaged\nfrom a heredoc\ntwo\n" >want &&
    diff want out &&
    n=$(strata inspect --format manifest added | jq ".layers | length") &&
    test "$n" = 4 &&
    d=$(strata inspect --format manifest added | jq -r ".layers[1].digest") &&
    tar -tzf "$(blob "$d")" >list && printf "opt/\nopt/arch/\nopt/arch/inner.txt\n" >want && diff want list
'

test_expect_success 'a source named .wh.* is refused with --link (in a layer it would delete a file below)' '
    mkdir -p ctx/wh && echo x >ctx/wh/.wh.marker &&
    printf "FROM base:2\nCOPY --link wh/ /\n" >ctx/Dockerfile.wh &&
    test_must_fail strata build -f ctx/Dockerfile.wh ctx 2>err &&
    cat err &&
    grep "Dockerfile.wh:2: COPY --link wh/ /: ./.wh.marker.: a file named .wh.\* is a whiteout in a layer, refused with --link" err &&
    rm -r ctx/wh
'

# ---- RUN --mount from an image ----
mkdir -p "$TRASH/tools/x" "$TRASH/tools/etc"
echo "from image" >"$TRASH/tools/x/file"
echo mine >"$TRASH/tools/etc/marker"
ln -s /etc "$TRASH/tools/x/evil"
tar -C "$TRASH/tools" --numeric-owner -cf "$TRASH/tools.tar" .

test_expect_success 'RUN --mount=type=bind,from=IMAGE: the image subpath, read-only; rw writes are discarded' '
    strata import tools.tar tools:1 >/dev/null &&
    cat >ctx/Dockerfile.mnt <<-\EOF &&
	FROM base:1
	ENV PATH=/bin
	RUN --mount=type=bind,from=tools:1,source=/x,target=/y cat /y/file >/got
	RUN --mount=type=bind,from=tools:1,source=x/evil,target=/y ls /y >/evil
	RUN --mount=type=bind,from=tools:1,target=/y ! touch /y/ro 2>/dev/null && test -e /y/x/file
	RUN --mount=type=bind,from=tools:1,source=/x,target=/y,rw echo w >/y/new && cat /y/new >/rw
	RUN --mount=type=bind,from=tools:1,source=/x,target=/y test ! -e /y/new
	RUN --mount=type=cache,from=tools:1,source=/x,target=/c,id=t5104 cat /c/file >/cached
	EOF
    strata build --progress plain -f ctx/Dockerfile.mnt -t mnt ctx 2>log &&
    strata run --rm mnt sh -c "cat /got /evil /rw /cached; test ! -e /y" >out &&
    printf "from image\nmarker\nw\nfrom image\n" >want &&
    diff want out
'

test_expect_success 'the key includes the image config digest: a changed image reruns the step' '
    id=$(strata inspect tools:1 | jq -r ".[0].Id") &&
    strata inspect mnt | jq -e ".[0].Config[\"strata.cache.v1\"].steps[1].inputs.mounts[0].image == \"$id\"" &&
    strata build --progress plain -f ctx/Dockerfile.mnt -t mnt ctx 2>log &&
    grep "^strata: 6 steps cached, 0 run" log &&
    echo "changed" >tools/x/file &&
    tar -C tools --numeric-owner -cf tools.tar . &&
    strata import tools.tar tools:1 >/dev/null &&
    strata build --progress plain -f ctx/Dockerfile.mnt -t mnt ctx 2>log &&
    grep -A1 "source=/x,target=/y cat /y/file" log | grep "MISS: mounts changed" &&
    test "$(strata run --rm mnt cat /got)" = changed
'

test_expect_success 'RUN --mount from a missing image or a missing source: clear errors naming the step' '
    port=$(free_port) &&
    printf "FROM base:1\nRUN --mount=type=bind,from=127.0.0.1:%s/nosuch:1,target=/y true\n" "$port" >ctx/Dockerfile.bad &&
    test_must_fail strata build -f ctx/Dockerfile.bad ctx 2>err &&
    cat err &&
    grep "error: Dockerfile.bad:2: RUN --mount from=127.0.0.1:$port/nosuch:1: pull 127.0.0.1:$port/nosuch:1: registry 127.0.0.1:$port: connection refused (nothing listens there)$" err &&
    printf "FROM base:1\nRUN --mount=type=bind,from=tools:1,source=/nope,target=/y true\n" >ctx/Dockerfile.bad &&
    test_must_fail strata build -f ctx/Dockerfile.bad ctx 2>err &&
    grep "error: Dockerfile.bad:2: RUN --mount from=tools:1: source ./nope.: No such file or directory" err &&
    printf "FROM base:1\nRUN --mount=type=bind,from=tools:1,source=../x,target=/y true\n" >ctx/Dockerfile.bad &&
    test_must_fail strata build -f ctx/Dockerfile.bad ctx 2>err &&
    grep "Dockerfile.bad:2: RUN --mount source .../x. is outside its root" err
'

# ---- the remote cache: runner A pushes, runner B (another base) reuses the linked layer ----
start_strata_registry
A=$TRASH/runner-a
B=$TRASH/runner-b

test_expect_success 'runner A: bases and tools pushed; the app built on base:1 and pushed' '
    for i in 1 2; do
        STRATA_ROOT=$A strata import b$i.tar "$SREG/base:$i" >/dev/null &&
        STRATA_ROOT=$A strata push -q "$SREG/base:$i" >/dev/null || return 1
    done &&
    STRATA_ROOT=$A strata import tools.tar "$SREG/tools:1" >/dev/null &&
    STRATA_ROOT=$A strata push -q "$SREG/tools:1" >/dev/null &&
    sed -i "s/echo ONE/echo one/" ctx/Dockerfile &&
    STRATA_ROOT=$A strata build --progress plain --build-arg BASE="$SREG/base:1" -t "$SREG/app:a" --push \
        --cache-to "$SREG/cache:link,mode=max" ctx >a.out 2>&1 &&
    grep "0 steps cached, 3 run" a.out
'

test_expect_success 'runner B, base:2, --cache-from the app: the linked layer is a remote hit, the RUNs rerun' '
    STRATA_ROOT=$B strata build --progress plain --build-arg BASE="$SREG/base:2" --cache-from "$SREG/app:a" \
        -t "$SREG/app:b" --push ctx >b.out 2>&1 &&
    cat b.out &&
    grep "1 step cached, 2 run" b.out &&
    grep -A1 "COPY --link src/ /app/" b.out | grep "CACHED (linked layer reused)" &&
    a=$(STRATA_ROOT=$A strata inspect --format manifest "$SREG/app:a" | jq -r ".layers[2].digest") &&
    b=$(STRATA_ROOT=$B strata inspect --format manifest "$SREG/app:b" | jq -r ".layers[2].digest") &&
    test "$a" = "$b" &&
    q=".[0].Config[\"strata.cache.v1\"].steps[] | select(.insn == \"COPY --link src/ /app/\") | .key" &&
    ka=$(STRATA_ROOT=$A strata inspect "$SREG/app:a" | jq -r "$q") &&
    kb=$(STRATA_ROOT=$B strata inspect "$SREG/app:b" | jq -r "$q") &&
    echo "linked key: $ka" && test -n "$ka" && test "$ka" = "$kb" &&
    test "$(STRATA_ROOT=$B strata run --rm "$SREG/app:b" sh -c "cat /marker /out")" = "two
hello
world"
'

test_expect_success 'runner C, base:2, --cache-from the exported cache artifact: the linked layer is reused too' '
    STRATA_ROOT=$TRASH/runner-c strata build --progress plain --build-arg BASE="$SREG/base:2" \
        --cache-from "$SREG/cache:link" -t app:c ctx >c.out 2>&1 &&
    grep "1 step cached, 2 run" c.out &&
    grep -A1 "COPY --link src/ /app/" c.out | grep "CACHED (linked layer reused)" &&
    test "$(STRATA_ROOT=$TRASH/runner-c strata run --rm app:c cat /out)" = "hello
world"
'

test_expect_success 'runner B: RUN --mount from an image only in the registry (pulled lazily)' '
    printf "FROM %s/base:1\nRUN --mount=type=bind,from=%s/tools:1,source=/x,target=/y cat /y/file >/got\n" "$SREG" "$SREG" >ctx/Dockerfile.reg &&
    STRATA_ROOT=$B strata build -f ctx/Dockerfile.reg -t reg ctx >r.out 2>&1 &&
    test "$(STRATA_ROOT=$B strata run --rm reg /bin/cat /got)" = "changed"
'

test_expect_success 'the registry stopped cleanly; nothing is left mounted' '
    stop_strata_registry &&
    ! grep " $TRASH" /proc/self/mountinfo
'

test_done

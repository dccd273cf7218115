#!/bin/sh
# t5204-copy-snapshotter: the third snapshotter (issue #13). With
# STRATA_SNAPSHOTTER=copy every RUN and COPY works on a copy of its lowers and
# the layer is found by comparing against them; the layers are byte-identical
# (same diff_ids) to the kernel overlay's for a Dockerfile whose RUN steps
# chown to 1000, delete lower files and directories, replace a directory,
# append to one of two hardlinked lower files, add hardlinks, symlinks, a
# FIFO and change modes. Every RUN ends by setting the mtimes it changed to a
# fixed time (layers carry mtimes: two builds are otherwise never identical).
# Also: the mode is said in one line and by `strata info`; a bad value is an
# error naming it; a forced mode that cannot work fails naming why.
. "$(dirname "$0")/lib.sh"
require_builder

# pin: the mtimes this RUN changed (files and directories) to a fixed time
PIN='find / -xdev -newer /stamp -exec touch -h -d "2001-09-09 01:46:40" {} + 2>/dev/null || true'

test_expect_success 'setup: a context with hardlinks, symlinks, a directory tree, old mtimes' '
    mkdir -p ctx/data/dir1/sub ctx/data/dir2 ctx/data/sub && make_busybox_rootfs ctx/rootfs &&
    for f in a b c own gone keep; do echo "$f" >ctx/data/$f; done &&
    echo one >ctx/data/dir1/sub/x && echo two >ctx/data/dir2/y &&
    echo linked >ctx/data/h1 && ln ctx/data/h1 ctx/data/h2 &&
    ln -s a ctx/data/sym-a &&
    setfattr -n user.note -v kept ctx/data/c &&
    find ctx -exec touch -h -d "2000-01-01 00:00:00" {} + &&
    touch -d "2000-01-02 00:00:00" ctx/rootfs/stamp &&
    cat >ctx/Dockerfile <<-EOF
	FROM scratch
	COPY --link rootfs/ /
	COPY --link data/ /data/
	RUN set -ex; chown 1000:1000 /data/own; rm /data/gone; rm -rf /data/dir1; mkdir /data/dir1; \\
	    echo new >/data/dir1/f; ln /data/a /data/a-link; ln -s ../a /data/sub/sym; echo more >>/data/b; \\
	    chmod 600 /data/c; mkdir -p /new/deep; echo x >/new/deep/y; mkfifo /new/fifo; rm -rf /data/dir2; \\
	    ln /new/deep/y /new/hl; echo app >>/data/h1; rm /data/sym-a; chown -h 1000:1000 /data/sub/sym; \\
	    $PIN
	RUN set -ex; rm /data/own /new/hl; echo again >/data/b2; mkdir /data/dir2; rm -rf /data/dir1; \\
	    echo f >/data/dir1; $PIN
	EOF
    cp ctx/Dockerfile ctx/Dockerfile.plain &&
    echo "COPY data/ /data/" >>ctx/Dockerfile.plain
'

# diffs STORE IMAGE: the diff_ids of IMAGE, one a line
diffs() {
    id=$(STRATA_ROOT=$1 strata inspect "$2" | jq -r ".[0].Id" | sed s/sha256://) &&
    jq -r ".rootfs.diff_ids[]" "$1/blobs/sha256/$id"
}

test_expect_success 'overlay (the kernel): the reference build' '
    STRATA_ROOT=$TRASH/s-ovl STRATA_SNAPSHOTTER=overlay strata build --progress plain -t t ctx 2>err ||
        { cat err; false; } &&
    ! grep "snapshotter: copy" err &&
    diffs "$TRASH/s-ovl" t >ovl && test $(wc -l <ovl) = 4
'

test_expect_success 'copy: the same layers, byte for byte (diff_ids equal), and it says so in one line' '
    STRATA_ROOT=$TRASH/s-copy STRATA_SNAPSHOTTER=copy strata build --progress plain -t t ctx 2>err ||
        { cat err; false; } &&
    test "$(grep -c "snapshotter: copy" err)" = 1 &&
    grep "snapshotter: copy (STRATA_SNAPSHOTTER=copy)" err &&
    diffs "$TRASH/s-copy" t >copy && diff -u ovl copy
'

# layer_list STORE IMAGE N: "mode uid/gid path" of the N-th layer (1-based)
layer_list() {
    STRATA_ROOT=$1 strata save -o "$TRASH/l.tar" "$2" && rm -rf lx && mkdir lx && tar -C lx -xf "$TRASH/l.tar" &&
    tar -tvf "lx/$(jq -r ".[0].Layers[$(($3 - 1))]" lx/manifest.json)" |
        awk "{ s = \$1 \" \" \$2; for (i = 6; i <= NF; i++) s = s \" \" \$i; print s }"
}

test_expect_success 'copy: the RUN layer holds what overlayfs would (whiteouts, opaque dir, owners, links)' '
    layer_list "$TRASH/s-copy" t 3 >l3 && cat l3 &&
    grep "1000/1000 data/own" l3 &&
    grep "data/.wh.gone" l3 && grep "data/.wh.dir2" l3 && grep "data/.wh.sym-a" l3 &&
    grep "data/dir1/.wh..wh..opq" l3 && grep "data/dir1/f" l3 &&
    grep "data/a-link link to data/a" l3 && grep "new/hl link to new/deep/y" l3 &&
    grep "^lrwxrwxrwx 1000/1000 data/sub/sym -> ../a" l3 && grep "^p" l3 &&
    grep "data/h1" l3 && ! grep "data/h2" l3 && ! grep "data/keep" l3 &&
    layer_list "$TRASH/s-copy" t 4 >l4 && cat l4 &&
    grep "data/.wh.own" l4 && grep "new/.wh.hl" l4 && grep "^-.* data/dir1$" l4
'


test_expect_success 'a COPY without --link on top (its layer carries the time it was made): same entries in both modes' '
    for m in overlay copy; do
        STRATA_ROOT=$TRASH/p-$m STRATA_SNAPSHOTTER=$m strata build --progress plain -f ctx/Dockerfile.plain \
            -t p ctx 2>err || { cat err; false; }
        for n in 1 2 3 4 5; do layer_list "$TRASH/p-$m" p $n >p-$m-$n || return 1; done
    done &&
    for n in 1 2 3 4 5; do diff -u p-overlay-$n p-copy-$n || return 1; done &&
    grep "data/h2" p-copy-5
'

test_expect_success 'copy: RUN --mount binds (writable: writes vanish; read-only with .dockerignore hiding) and cache' '
    mkdir -p mctx && make_busybox_rootfs mctx/rootfs && echo s >mctx/secret && echo p >mctx/public &&
    echo secret >mctx/.dockerignore &&
    cat >mctx/Dockerfile <<-EOF &&
	FROM scratch
	COPY rootfs/ /
	RUN --mount=type=bind,target=/m,rw echo w >/m/written && cat /m/public /m/written >/seen && \\
	    test ! -e /m/secret
	RUN --mount=type=bind,target=/r test ! -e /r/secret && test ! -e /r/written && cat /r/public >>/seen
	RUN --mount=type=cache,target=/c echo c >>/c/log && cat /c/log >>/seen
	EOF
    STRATA_ROOT=$TRASH/s-m STRATA_SNAPSHOTTER=copy strata build --progress plain -t m mctx 2>err ||
        { cat err; false; } &&
    test ! -e mctx/written &&
    STRATA_ROOT=$TRASH/s-m strata run m cat /seen >seen &&
    printf "p\nw\np\nc\n" >want && diff -u want seen &&
    ! ls "$TRASH/s-m/run/exec" 2>/dev/null | grep .
'

test_expect_success 'copy: a rebuild is cached; the copies are gone from the store' '
    STRATA_ROOT=$TRASH/s-copy STRATA_SNAPSHOTTER=copy strata build --progress plain -t t ctx 2>err &&
    test "$(grep -c CACHED err)" -ge 4 &&
    ! find "$TRASH/s-copy" -name root.index | grep . &&
    ! find "$TRASH/s-copy" -path "*/work*/root" | grep .
'

test_expect_success 'copy: strata info says copy in the isolation line and names it' '
    STRATA_ROOT=$TRASH/s-copy STRATA_SNAPSHOTTER=copy strata info >info &&
    grep "^isolation:   root, copy$" info &&
    STRATA_ROOT=$TRASH/s-copy STRATA_SNAPSHOTTER=copy strata info --format json >info.json &&
    test "$(jq -r .isolation.snapshotter info.json)" = copy
'

test_expect_success 'a bad STRATA_SNAPSHOTTER is an error naming the value and the choices' '
    test_must_fail env STRATA_ROOT=$TRASH/s-bad STRATA_SNAPSHOTTER=vfs "$STRATA_BIN" build --progress plain ctx 2>err &&
    grep "STRATA_SNAPSHOTTER=.vfs. is not one of overlay, fuse-overlayfs, copy" err
'

test_expect_success 'a forced fuse-overlayfs that is not installed fails naming it (no silent fallback)' '
    mkdir -p nofuse && ln -s "$(command -v tar)" nofuse/tar &&
    test_must_fail env PATH="$TRASH/nofuse" STRATA_ROOT=$TRASH/s-nofuse STRATA_SNAPSHOTTER=fuse-overlayfs \
        "$STRATA_BIN" build --progress plain ctx 2>err &&
    grep "STRATA_SNAPSHOTTER=fuse-overlayfs: fuse-overlayfs failed" err
'

test_done

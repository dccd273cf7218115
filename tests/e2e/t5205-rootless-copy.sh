#!/bin/sh
# t5205-rootless-copy: the copy snapshotter as ordinary users (issue #13).
# The seed workflow (build, push, an empty store with --cache-from: every
# step CACHED, the image runs) with STRATA_SNAPSHOTTER=copy as a user with
# subordinate ids and one without; a RUN that chowns to 1000 keeps uid 1000 in
# the layer and its layers are the overlay's (same diff_ids, rootless); and
# the automatic fallback: where the kernel overlay is skipped and
# fuse-overlayfs is missing, builds copy and one line says why.
. "$(dirname "$0")/lib.sh"
require_builder
rootless_setup

PIN='find / -xdev -newer /stamp -exec touch -h -d "2001-09-09 01:46:40" {} + 2>/dev/null || true'

test_expect_success 'setup: the seed project and a chown project' '
    mkdir -p ctx/src && make_busybox_rootfs ctx/rootfs &&
    echo v1 >ctx/src/main.txt &&
    cat >ctx/Dockerfile <<-EOF &&
	FROM scratch
	COPY rootfs/ /
	RUN mkdir -p /app && echo built >/app/built && rm /etc/group
	COPY src/ /app/src/
	RUN cat /app/src/main.txt >/app/out
	CMD ["cat", "/app/out"]
	EOF
    mkdir -p own && make_busybox_rootfs own/rootfs && mkdir own/rootfs/data &&
    echo a >own/rootfs/data/a && ln own/rootfs/data/a own/rootfs/data/b && echo z >own/rootfs/data/gone &&
    find own -exec touch -h -d "2000-01-01 00:00:00" {} + &&
    touch -d "2000-01-02 00:00:00" own/rootfs/stamp &&
    cat >own/Dockerfile <<-EOF &&
	FROM scratch
	COPY --link rootfs/ /
	RUN echo x >/owned && chown 1000:1001 /owned && echo more >>/data/a && ln /data/a /data/c && \\
	    rm /data/gone && ln -s a /data/s && $PIN
	EOF
    chmod -R a+rX ctx own
'

# layer_owner IMAGE_TAR PATH: "uid/gid" of PATH in the last layer holding it
layer_owner() {
    rm -rf lo && mkdir lo && tar -C lo -xf "$1" &&
    for l in $(jq -r ".[0].Layers[]" lo/manifest.json); do
        tar -tvf "lo/$l" | awk -v p="$2" '$6 == p {print $2}'
    done | tail -1
}

for u in strata-rl-sub strata-rl-nosub; do
    AS="$TRASH/as-$u"
    H="$TRASH/home-$u"
    SREG_ROOT="$H/registry" STRATA_BIN="$AS" start_strata_registry
    R=$SREG

    test_expect_success "$u, copy: runner A builds and pushes; one line says copy" '
        STRATA_SNAPSHOTTER=copy "$AS" build --progress plain -t $R/app:1 -t $R/app:latest --push ctx 2>errA ||
            { cat errA; false; } &&
        test "$(grep -c "snapshotter: copy" errA)" = 1 &&
        grep "pushed $R/app:1" errA && grep "strata: 0 steps cached, 4 run" errA &&
        STRATA_SNAPSHOTTER=copy "$AS" run $R/app:1 >out 2>err || { cat err; false; } &&
        test "$(cat out)" = v1
    '

    test_expect_success "$u, copy: runner B (empty store) gets every step CACHED, and the image runs" '
        STRATA_SNAPSHOTTER=copy "$AS" --root "$H/storeB" build --progress plain --cache-from $R/app:latest \
            -t $R/app:2 --push ctx 2>errB || { cat errB; false; } &&
        test $(grep -c "^#[0-9]* CACHED" errB) = 4 && grep "strata: 4 steps cached, 0 run" errB &&
        STRATA_SNAPSHOTTER=copy "$AS" --root "$H/storeB" run $R/app:2 >out 2>err || { cat err; false; } &&
        test "$(cat out)" = v1
    '

    test_expect_success "$u, copy: a changed late file reruns the last steps; no copy is left behind" '
        echo v2 >ctx/src/main.txt &&
        STRATA_SNAPSHOTTER=copy "$AS" --root "$H/storeB" build --progress plain --cache-from $R/app:latest \
            -t b:3 ctx 2>errC || { cat errC; false; } &&
        grep "strata: 2 steps cached, 2 run" errC && echo v1 >ctx/src/main.txt &&
        STRATA_SNAPSHOTTER=copy "$AS" --root "$H/storeB" run b:3 >out && test "$(cat out)" = v2 &&
        ! find "$H/storeB" -name root.index | grep . &&
        test -z "$(ls "$H/storeB/build/tmp" 2>/dev/null)"
    '

    test_expect_success "$u, copy: strata info says copy in the isolation line" '
        STRATA_SNAPSHOTTER=copy "$AS" info >info 2>err &&
        grep "^isolation:   rootless (.*), copy$" info
    '
    stop_strata_registry
done

AS="$TRASH/as-strata-rl-sub"
H="$TRASH/home-strata-rl-sub"
# diffs STORE IMAGE: the diff_ids of IMAGE
diffs() {
    id=$("$AS" --root "$1" inspect "$2" | jq -r ".[0].Id" | sed s/sha256://) &&
    jq -r ".rootfs.diff_ids[]" "$1/blobs/sha256/$id"
}

test_expect_success 'rootless with subordinate ids: uid 1000 in the copy layer, the same layers as overlay' '
    for m in overlay copy; do
        STRATA_SNAPSHOTTER=$m "$AS" --root "$H/own-$m" build --progress plain -t own own 2>err ||
            { cat err; false; }
        "$AS" --root "$H/own-$m" save -o "$H/own-$m.tar" own || return 1
        diffs "$H/own-$m" own >"d-$m" || return 1
    done &&
    test "$(layer_owner "$H/own-copy.tar" owned)" = 1000/1001 &&
    cat d-overlay d-copy && diff -u d-overlay d-copy
'

test_expect_success 'no overlay filesystem works: builds copy, and one line names both refusals' '
    mkdir -p nofuse && ln -s "$(command -v newuidmap)" nofuse/newuidmap &&
    ln -s "$(command -v newgidmap)" nofuse/newgidmap && chmod -R a+rX nofuse &&
    sed "s|PATH=[^ ]*|PATH=$TRASH/nofuse|" "$AS" >as-nofuse && chmod 755 as-nofuse &&
    STRATA_OVERLAY=fuse ./as-nofuse --root "$H/fb" build --progress plain -t fb own 2>err ||
        { cat err; false; } &&
    test "$(grep -c "snapshotter:" err)" = 1 &&
    grep "warning: snapshotter: copy, no overlay filesystem works here (kernel overlayfs: skipped (STRATA_OVERLAY=fuse); fuse-overlayfs: fuse-overlayfs failed to mount .* (exit 127) (install Debian.s fuse-overlayfs and give access to /dev/fuse)): every RUN and COPY copies its base, which is slower" err &&
    STRATA_OVERLAY=fuse ./as-nofuse --root "$H/fb" info >info &&
    grep "^isolation:   rootless (.*), copy$" info &&
    grep "^overlay:     copy" info &&
    diffs "$H/fb" fb >d-fb && diff -u d-overlay d-fb
'

test_done

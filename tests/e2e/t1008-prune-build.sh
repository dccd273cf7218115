#!/bin/sh
# t1008: strata prune and build state — the build cache survives a plain
# prune, --build-cache empties it, dangling snapshots and entries go,
# --keep-storage / --filter until select least recently used records,
# --dry-run changes nothing, a prune during a build waits and breaks nothing,
# builder stages (layers no tag reaches) keep their cache,
# snapshots of a running `strata run` are kept, hostile trees are removed
# without following symlinks.
. "$(dirname "$0")/lib.sh"

require_builder

B=$STRATA_ROOT/build
mkdir -p "$TRASH/ctx" "$TRASH/small"
make_busybox_rootfs "$TRASH/ctx/rootfs"
cat >"$TRASH/ctx/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN echo one >/one && mkdir -p /ro/sub && echo x >/ro/sub/f && chmod 0555 /ro/sub /ro && ln -s /etc/passwd /link && rm /bin/sed
RUN --mount=type=cache,target=/cache echo hit >>/cache/count && cat /cache/count >/count
CMD ["cat", "/one"]
EOF
echo hello >"$TRASH/small/hello.txt"
printf 'FROM scratch\nCOPY hello.txt /\n' >"$TRASH/small/Dockerfile"

build() { strata build --progress plain "$@" 2>log; }
snaps() { ls "$B/snapshots" | grep -c . ; }
entries() { ls "$B/cache/keys" 2>/dev/null | grep -c . ; }
# the diff_ids (hex) of an image's layers
diffs() { jq -r ".rootfs.diff_ids[]" "$STRATA_ROOT/blobs/sha256/$(strata inspect "$1" | jq -r .[0].Id | sed s/sha256://)" | sed s/sha256://; }
# age DAYS IMAGE: make every record of IMAGE's layers look unused for DAYS days
age() {
    for d in $(diffs "$2"); do
        touch -d "$1 days ago" "$B/used/$d"
        for k in $(grep -l "$d" "$B"/cache/keys/*); do touch -d "$1 days ago" "$k"; done
    done
}

test_expect_success 'bad values are usage errors (exit 2) naming the value' '
    test_exit_code 2 strata prune --keep-storage 10XB 2>err && grep "invalid size .10XB." err &&
    test_exit_code 2 strata prune --filter foo=1 2>err && grep "invalid filter .foo=1." err &&
    test_exit_code 2 strata prune --filter until=yesterday 2>err && grep "invalid duration .yesterday." err &&
    test_exit_code 2 strata prune --filter until=0s 2>err && grep "must be positive" err &&
    test_exit_code 2 strata prune extra 2>err && grep "takes no arguments" err &&
    strata prune --help | grep -e "--keep-storage SIZE" &&
    strata prune --help | grep -e "--build-cache"
'

test_expect_success 'build two images' '
    build -t app ctx && grep "^strata: 0 steps cached, 3 run" log &&
    build -t small small && grep "^strata: 0 steps cached, 1 run" log &&
    test "$(snaps)" = 4 && test "$(entries)" = 4
'

test_expect_success 'a plain prune keeps the build cache: the rebuild is fully cached' '
    strata prune >out && grep "Build cache: 0 cache entries, 0 snapshots" out &&
    grep "Total reclaimed space: 0 B" out &&
    test "$(snaps)" = 4 &&
    build -t app ctx && grep "^strata: 3 steps cached, 0 run" log
'

test_expect_success 'after rmi the cache entries keep their blobs (roots) and snapshots' '
    l=$(diffs small) && k=$(grep -l "$l" "$B"/cache/keys/*) && b=$(jq -r .layer.digest "$k" | sed s/sha256://) &&
    strata rmi small >/dev/null && strata prune >out &&
    test "$(grep -c "^Deleted: sha256" out)" = 2 && test -f "$STRATA_ROOT/blobs/sha256/$b" &&
    test "$(snaps)" = 4 &&
    build -t small small && grep "^strata: 1 step cached, 0 run" log
'

test_expect_success 'a snapshot no image and no entry needs is dangling and removed' '
    mkdir -p "$B/snapshots/$(printf %064d 7)/etc" && echo x >"$B/snapshots/$(printf %064d 7)/etc/f" &&
    mkdir -p "$B/snapshots/.$(printf %064d 8).tmp-abc" &&
    strata prune >out &&
    grep "^Deleted snapshot: sha256:$(printf %064d 7)" out &&
    grep "^Deleted build/snapshots/.$(printf %064d 8).tmp-abc" out &&
    test "$(snaps)" = 4
'

test_expect_success 'an entry whose layer blob is gone is removed with its inputs and last' '
    k=$(ls "$B/cache/keys" | head -1) &&
    cp "$B/cache/keys/$k" "$TRASH/saved-entry" &&
    d=$(jq -r .layer.digest "$B/cache/keys/$k" | sed s/sha256://) &&
    mv "$STRATA_ROOT/blobs/sha256/$d" "$TRASH/saved-blob" &&
    strata prune >out &&
    grep "^Deleted cache entry: sha256:$k" out &&
    test ! -e "$B/cache/keys/$k" && test ! -e "$B/cache/inputs/$k" &&
    ! grep -l "$k" "$B"/cache/last/* &&
    mv "$TRASH/saved-blob" "$STRATA_ROOT/blobs/sha256/$d" &&
    cp "$TRASH/saved-entry" "$B/cache/keys/$k"
'

test_expect_success '--dry-run changes nothing' '
    (cd "$STRATA_ROOT" && find . -printf "%p %s %T@\n" | sort) >before &&
    strata prune --build-cache --dry-run >out &&
    grep "^Would delete snapshot: sha256:" out && grep "^Would delete cache entry: sha256:" out &&
    grep "^Would delete cache mount: " out &&
    grep "Total reclaimable space: [1-9]" out &&
    (cd "$STRATA_ROOT" && find . -printf "%p %s %T@\n" | sort) >after &&
    test_cmp() { cmp "$1" "$2"; } && test_cmp before after
'

test_expect_success '--filter until removes only records unused for that long' '
    build -t app ctx && build -t small small &&
    age 3 app &&
    touch -d "3 days ago" "$STRATA_ROOT"/cache/run-mounts/*/lock &&
    strata prune --filter until=48h >out &&
    test "$(grep -c "^Deleted snapshot" out)" = 3 &&
    test "$(grep -c "^Deleted cache entry" out)" = 3 &&
    grep -c "^Deleted cache mount" out &&
    build -t small small && grep "^strata: 1 step cached, 0 run" log &&
    build -t app ctx && grep "^strata: 0 steps cached, 3 run" log
'

test_expect_success '--keep-storage removes the least recently used first' '
    build -t app ctx && age 3 app && touch -d "3 days ago" "$STRATA_ROOT"/cache/run-mounts/*/lock &&
    strata prune --keep-storage 100GB >out && grep "Build cache: 0 cache entries" out &&
    strata prune --keep-storage 20kb >out &&
    test "$(grep -c "^Deleted snapshot" out)" = 3 && test "$(grep -c "^Deleted cache mount" out)" = 1 &&
    grep -E "; [0-9.]+ k?B left" out &&
    build -t small small && grep "^strata: 1 step cached, 0 run" log &&
    strata prune --keep-storage 0 >out &&
    test "$(entries)" = 0 && test "$(snaps)" = 0
'

test_expect_success '--build-cache empties it: every step runs again, build/ shrinks' '
    build -t app ctx && build -t small small &&
    du -sk "$B" | cut -f1 >before &&
    strata prune --build-cache >out &&
    grep "^Deleted snapshot" out && grep "^Deleted cache mount" out &&
    test "$(entries)" = 0 && test "$(snaps)" = 0 &&
    test -z "$(ls "$B/cache/last")" &&
    test "$(du -sk "$B" | cut -f1)" -lt "$(($(cat before) / 4))" &&
    strata run app cat /one | grep one &&
    build -t app ctx && grep "^strata: 0 steps cached, 3 run" log &&
    test "$(strata run app cat /count)" = hit
'

test_expect_success '-a also drops blobs only the cache kept' '
    strata rmi small >/dev/null && strata prune >/dev/null && build -t small small && l=$(diffs small) &&
    b=$(jq -r .layer.digest "$(grep -l "$l" "$B"/cache/keys/*)" | sed s/sha256://) &&
    strata rmi small >/dev/null && strata prune >out &&
    test "$(grep -c "^Deleted: sha256" out)" = 2 && test -f "$STRATA_ROOT/blobs/sha256/$b" &&
    strata prune -a >out && grep "^Deleted: sha256:$b" out && test ! -e "$STRATA_ROOT/blobs/sha256/$b"
'

test_expect_success 'a prune during a build waits for it; the build succeeds and a rebuild is cached' '
    build -t app ctx &&
    sed "s/^CMD/RUN sleep 2 \&\& echo slow >\/slow\nCMD/" ctx/Dockerfile >ctx/Dockerfile.slow &&
    ( strata build --progress plain -f ctx/Dockerfile.slow -t slow ctx 2>slowlog; echo $? >slowrc ) &
    for i in $(seq 50); do grep -q "sleep 2" slowlog 2>/dev/null && break; sleep 0.1; done &&
    strata prune --build-cache >out 2>perr &&
    wait &&
    test "$(cat slowrc)" = 0 && grep "waiting for other strata processes" perr &&
    test "$(strata run slow cat /slow)" = slow &&
    build -t slow -f ctx/Dockerfile.slow ctx && grep "^strata: 0 steps cached, 4 run" log &&
    strata prune >out &&
    build -t slow -f ctx/Dockerfile.slow ctx && grep "^strata: 4 steps cached, 0 run" log
'

test_expect_success 'snapshots of a running strata run are leased, not removed' '
    ( strata run slow sleep 3 >/dev/null 2>&1; echo $? >runrc ) &
    for i in $(seq 50); do test -s "$(ls -d "$B"/tmp/run-*/snapshots 2>/dev/null | head -1)" && break; sleep 0.1; done &&
    strata prune --build-cache >out &&
    grep "^Kept 4 snapshots or cache mounts in use" out &&
    test "$(snaps)" = 4 &&
    wait && test "$(cat runrc)" = 0 &&
    strata prune --build-cache >out && test "$(snaps)" = 0
'

test_expect_success 'removal never follows a symlink out of the tree, copes with devices and read-only dirs' '
    mkdir -p outside && echo keep >outside/file &&
    s="$B/snapshots/$(printf %064d 9)" && mkdir -p "$s/d" &&
    ln -s "$TRASH/outside" "$s/d/link" && ln -s "$TRASH/outside/file" "$s/flink" &&
    mknod "$s/wh" c 0 0 && mkdir "$s/ro" && touch "$s/ro/f" && chmod 0500 "$s/ro" &&
    strata prune >out && grep "^Deleted snapshot: sha256:$(printf %064d 9)" out &&
    test ! -e "$s" && test "$(cat outside/file)" = keep
'

test_expect_success 'a mount point inside a snapshot is refused; the half-removed tree is never a snapshot' '
    s="$B/snapshots/$(printf %064d 6)" && g="$B/snapshots/.gc-$(printf %064d 6)" &&
    mkdir -p "$s/m" && echo x >"$s/top" &&
    mount -t tmpfs none "$s/m" && echo inside >"$s/m/f" &&
    test_exit_code 1 strata prune 2>err && grep "another file system is mounted" err &&
    test ! -e "$s" && test "$(cat "$g/m/f")" = inside &&
    umount "$g/m" && strata prune >out && test ! -e "$g"
'

test_expect_success 'a builder stage (layers no tag reaches) survives a plain prune' '
    mkdir -p multi && cp small/hello.txt multi/ &&
    printf "FROM scratch AS builder\nCOPY hello.txt /a\nCOPY hello.txt /b\nFROM scratch\nCOPY --from=builder /b /out\n" >multi/Dockerfile &&
    build -t multi multi && grep "^strata: 0 steps cached, 3 run" log &&
    strata prune >out && ! grep "^Deleted: sha256" out &&
    build -t multi multi && grep "^strata: 3 steps cached, 0 run" log &&
    strata rmi multi >/dev/null && strata prune -a >/dev/null &&
    build -t multi multi && grep "^strata: 0 steps cached, 3 run" log &&
    strata rmi multi >/dev/null && strata prune -a >/dev/null
'

test_done

#!/bin/sh
# t5500: the store is private to its owner (issue #15 item 2): $STRATA_ROOT,
# build/, snapshots and blobs are 0700, the cache index files 0600; another
# local user can neither run a setuid binary kept in a snapshot nor read the
# inputs of a build; a store made 0755 by an older strata is tightened.
. "$(dirname "$0")/lib.sh"

require_builder
command -v setpriv >/dev/null || test_skip_all "setpriv is not installed"

# the trash dir is 0700 (mktemp): open it so that only the store's own modes protect it
chmod 755 "$TRASH"
OTHER=strata-sec-other
id -u "$OTHER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$OTHER" 2>/dev/null ||
    id -u "$OTHER" >/dev/null 2>&1 || test_skip_all "cannot create user $OTHER"
# setpriv keeps its capabilities until its execve: run the command from a shell without them
as_other() { setpriv --reuid="$OTHER" --regid="$OTHER" --clear-groups /bin/sh -c 'exec "$@"' sh "$@"; }

mkdir -p "$TRASH/ctx"
make_busybox_rootfs "$TRASH/ctx/rootfs"
cat >"$TRASH/ctx/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
ENV PATH=/bin
ARG TOKEN
RUN mkdir /s && cp /bin/busybox /s/id && chmod 4755 /s/id && echo "$TOKEN" | wc -c >/len
EOF

mode() { stat -c %a "$1"; }

test_expect_success 'a build makes a private store' '
    strata build -q -t priv --build-arg TOKEN=hunter2 ctx >/dev/null &&
    test "$(mode "$STRATA_ROOT")" = 700 &&
    test "$(mode "$STRATA_ROOT/build")" = 700 &&
    test "$(mode "$STRATA_ROOT/build/snapshots")" = 700 &&
    test "$(mode "$STRATA_ROOT/blobs")" = 700 &&
    test "$(mode "$STRATA_ROOT/blobs/sha256")" = 700 &&
    ls "$STRATA_ROOT/build/cache/inputs" | grep . >/dev/null &&
    for f in "$STRATA_ROOT"/build/cache/inputs/* "$STRATA_ROOT"/build/cache/keys/*; do
        test "$(mode "$f")" = 600 || { echo "$f: $(mode "$f")"; exit 1; }
    done
'

test_expect_success 'another user cannot run a setuid binary of a snapshot' '
    suid=$(find "$STRATA_ROOT/build/snapshots" -path "*/s/id" -perm -4000 | head -1) &&
    test -n "$suid" &&
    as_other /bin/busybox true &&
    ! as_other "$suid" -u >out 2>err &&
    ! grep -x 0 out &&
    grep "Permission denied" err
'

test_expect_success 'another user cannot read the inputs of a build' '
    f=$(ls "$STRATA_ROOT"/build/cache/inputs/* | head -1) &&
    ! as_other cat "$f" >/dev/null 2>&1 &&
    ! as_other ls "$STRATA_ROOT/build/cache" >/dev/null 2>&1
'

test_expect_success 'a store left open by an older strata is tightened on open' '
    chmod 755 "$STRATA_ROOT" "$STRATA_ROOT/build" "$STRATA_ROOT/build/snapshots" "$STRATA_ROOT/blobs" \
        "$STRATA_ROOT/blobs/sha256" "$STRATA_ROOT/build/cache" "$STRATA_ROOT/build/cache/inputs" &&
    chmod 644 "$STRATA_ROOT"/build/cache/inputs/* &&
    strata images >/dev/null &&
    test "$(mode "$STRATA_ROOT")" = 700 &&
    test "$(mode "$STRATA_ROOT/blobs/sha256")" = 700 &&
    strata build -q -t priv --build-arg TOKEN=hunter2 ctx >/dev/null &&
    test "$(mode "$STRATA_ROOT/build/snapshots")" = 700 &&
    test "$(mode "$STRATA_ROOT/build/cache/inputs")" = 700 &&
    for f in "$STRATA_ROOT"/build/cache/inputs/*; do
        test "$(mode "$f")" = 600 || { echo "$f: $(mode "$f")"; exit 1; }
    done
'

test_expect_success 'a store owned by another user is left as it is' '
    mkdir -p foreign && chown "$OTHER" foreign && chmod 755 foreign &&
    STRATA_ROOT=$TRASH/foreign strata images >/dev/null &&
    test "$(mode foreign)" = 755
'

test_done

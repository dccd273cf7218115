#!/bin/sh
# t5400: golden cache keys. The exact key of a fixed COPY, ADD and RUN step is
# pinned: every user's build cache (local index, inline metadata, --cache-to
# artifacts) is addressed by these bytes, so a change in what a key covers or
# in how its inputs are serialised (a jansson upgrade, a renamed member) would
# silently turn every cache into misses. A deliberate change bumps
# BUILD_CACHE_KEY_VERSION (src/build/build.h, docs/internals/cache.md "Key
# version") and updates the values below.
. "$(dirname "$0")/lib.sh"

require_builder
[ "$(uname -m)" = x86_64 ] || test_skip_all "the golden keys are for linux/amd64"

# the keys of BUILD_CACHE_KEY_VERSION 2
KEY_COPY=sha256:6619cb8ec151a84827eb311f25b61c9b1d7df5be6c28ccffc14c184bde7faa5e
KEY_ADD=sha256:5ac190769472cf554fe18e43fd04c7ff4f1d545cdb604c1b338935c54f4eeb17
KEY_RUN=sha256:5d87bff1ffc6ff9a9cbeed0952dd44321ae26d33d6a6243277fe83625c7ab81a

mkdir -p "$TRASH/ctx"
# a 129-byte static x86-64 ELF that exits 0 (no shell, no libc): RUN has a
# program to execute whose bytes never change with the host's busybox
printf '\177\105\114\106\2\1\1\0\0\0\0\0\0\0\0\0\2\0\76\0\1\0\0\0\170\0\100\0\0\0\0\0\100\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\100\0\70\0\1\0\0\0\0\0\0\0\1\0\0\0\5\0\0\0\0\0\0\0\0\0\0\0\0\0\100\0\0\0\0\0\0\0\100\0\0\0\0\0\201\0\0\0\0\0\0\0\201\0\0\0\0\0\0\0\0\20\0\0\0\0\0\0\270\74\0\0\0\61\377\17\5' >"$TRASH/ctx/true"
printf 'golden\n' >"$TRASH/ctx/data.txt"
chmod 0755 "$TRASH/ctx/true"
chmod 0644 "$TRASH/ctx/data.txt"
cat >"$TRASH/ctx/Dockerfile" <<'DF'
FROM scratch
COPY true /bin/true
ADD data.txt /data/
ENV PATH=/bin
RUN ["/bin/true"]
DF

keys() { ls "$STRATA_ROOT/build/cache/keys" | sort; }

# key_of KIND: the key whose recorded inputs are those of a KIND step
key_of() {
    grep -l "\"kind\":\"$1\"" "$STRATA_ROOT"/build/cache/inputs/* | sed "s|.*/|sha256:|"
}

test_expect_success 'the build runs the three keyed steps' '
    strata build --progress plain -t golden ctx 2>log || { cat log; false; }
    grep "^strata: 0 steps cached, 3 run" log &&
    test "$(keys | wc -l)" = 3
'

test_expect_success 'COPY has its golden key' '
    k=$(key_of COPY) && echo "COPY $k" &&
    cat "$STRATA_ROOT/build/cache/inputs/${k#sha256:}" && echo &&
    test "$k" = "$KEY_COPY"
'

test_expect_success 'ADD has its golden key' '
    k=$(key_of ADD) && echo "ADD $k" &&
    cat "$STRATA_ROOT/build/cache/inputs/${k#sha256:}" && echo &&
    test "$k" = "$KEY_ADD"
'

test_expect_success 'RUN has its golden key' '
    k=$(key_of RUN) && echo "RUN $k" &&
    cat "$STRATA_ROOT/build/cache/inputs/${k#sha256:}" && echo &&
    test "$k" = "$KEY_RUN"
'

test_expect_success 'the inline cache metadata records the same keys' '
    cfg=$(grep -l "strata.cache.v1" "$STRATA_ROOT"/blobs/sha256/*) &&
    test "$(echo "$cfg" | wc -l)" = 1 &&
    grep -q "\"key\":\"$KEY_COPY\"" "$cfg" &&
    grep -q "\"key\":\"$KEY_ADD\"" "$cfg" &&
    grep -q "\"key\":\"$KEY_RUN\"" "$cfg"
'

test_done

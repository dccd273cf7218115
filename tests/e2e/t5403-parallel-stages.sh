#!/bin/sh
# t5403: two independent stages overlap where they used to serialise on the
# engine lock: cache hits that extract a large layer (a store whose
# snapshots are gone), and ADD of URLs from a slow server. Each pair must
# finish in about the time of one stage alone (generous bounds: the machine
# is shared); serialised, a pair takes twice as long.
. "$(dirname "$0")/lib.sh"

require_builder
export STRATA_BUILD_JOBS=2

mkdir -p "$TRASH/ctx" "$TRASH/www"
head -c $((96 << 20)) /dev/urandom >"$TRASH/ctx/a.bin"
head -c $((96 << 20)) /dev/urandom >"$TRASH/ctx/b.bin"
echo small >"$TRASH/ctx/s.txt"
head -c $((3 << 20)) /dev/urandom >"$TRASH/www/a.bin"
head -c $((3 << 20)) /dev/urandom >"$TRASH/www/b.bin"

# stages: a (and b): a large layer, then a small one the final stage copies
stage() { printf 'FROM scratch AS %s\n%s\nCOPY s.txt /%s.txt\n' "$1" "$2" "$1"; }
final() {
    printf 'FROM scratch\n'
    for s in "$@"; do printf 'COPY --from=%s /%s.txt /%s.txt\n' "$s" "$s" "$s"; done
}
{ stage a "COPY a.bin /a.bin"; final a; } >"$TRASH/ctx/Dockerfile.one"
{ stage a "COPY a.bin /a.bin"; stage b "COPY b.bin /b.bin"; final a b; } >"$TRASH/ctx/Dockerfile.two"

now_ms() { date +%s%3N; }
# timed FILE [options]: build ctx with FILE; T: milliseconds
timed() {
    f=$1; shift
    t0=$(now_ms)
    strata build --progress plain -f "ctx/$f" "$@" ctx >out 2>log || { cat log; return 1; }
    T=$(( $(now_ms) - t0 ))
}
# best_of N extract|keep FILE [options]: the fastest of N timed builds, the
# snapshots removed before each (extract: every hit extracts its layer
# again) or kept (the same build without extraction); B: milliseconds
best_of() {
    n=$1 how=$2; shift 2; B=""
    for i in $(seq "$n"); do
        if [ "$how" = extract ]; then rm -rf "$STRATA_ROOT/build/snapshots"; fi
        timed "$@" || return 1
        if [ -z "$B" ] || [ "$T" -lt "$B" ]; then B=$T; fi
    done
}

test_expect_success 'first builds make the cache' '
    timed Dockerfile.two && timed Dockerfile.one
'

test_expect_success 'a hit whose snapshot is gone extracts it again (CACHED, not run)' '
    rm -rf "$STRATA_ROOT/build/snapshots" && timed Dockerfile.two &&
    grep "^strata: 6 steps cached, 0 run" log &&
    test -f "$(ls -d "$STRATA_ROOT"/build/snapshots/*/a.bin)" &&
    test -f "$(ls -d "$STRATA_ROOT"/build/snapshots/*/b.bin)"
'

# the time the extractions add to a cached build: two layers extracted in
# parallel add about what one adds (serialised: twice as much)
test_expect_success 'two stages extracting a large layer each take about the time of one' '
    best_of 3 keep Dockerfile.one && base1=$B && best_of 3 extract Dockerfile.one && one=$((B - base1)) &&
    best_of 3 keep Dockerfile.two && base2=$B && best_of 3 extract Dockerfile.two && two=$((B - base2)) &&
    echo "extraction adds: one stage ${one} ms (build ${base1} ms), two stages ${two} ms (build ${base2} ms)" &&
    test "$one" -gt 50 && test $((two * 100)) -lt $((one * 180))
'

test_expect_success 'a hit whose layer cannot be extracted is an error, not a silent miss' '
    rm -rf "$STRATA_ROOT/build/snapshots" &&
    for f in $(find "$STRATA_ROOT/blobs/sha256" -type f -size +1M); do
        printf x | dd of="$f" bs=1 seek=1000 conv=notrunc 2>/dev/null || return 1
    done &&
    ! strata build --progress plain -f ctx/Dockerfile.one ctx >out 2>log &&
    cat log &&
    grep "ERROR: cache hit sha256:[0-9a-f]*: extract layer" log && ! grep "MISS" log
'

spawn env RATE=$((1 << 20)) python3 "$TEST_DIR/helpers/urlserver.py" "$TRASH/srv" "$TRASH/www"
n=200; until [ -s "$TRASH/srv" ] || [ $n = 0 ]; do sleep 0.1; n=$((n - 1)); done
P=$(cat "$TRASH/srv")
{ stage a "ADD http://127.0.0.1:$P/a.bin /a.bin"; final a; } >"$TRASH/ctx/Dockerfile.url1"
{ stage a "ADD http://127.0.0.1:$P/a.bin /a.bin"; stage b "ADD http://127.0.0.1:$P/b.bin /b.bin"; final a b; } \
    >"$TRASH/ctx/Dockerfile.url2"

test_expect_success 'two stages downloading an ADD URL each take about the time of one' '
    timed Dockerfile.url1 --no-cache && one=$T &&
    timed Dockerfile.url2 --no-cache && two=$T &&
    echo "one download: ${one} ms, two: ${two} ms" &&
    test "$(grep -c "GET /[ab].bin - -> 200" "$TRASH/srv.log")" = 3 &&
    test $((two * 100)) -lt $((one * 150))
'

test_done

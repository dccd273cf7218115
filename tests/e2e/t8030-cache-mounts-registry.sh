#!/bin/sh
# t8030: RUN --mount=type=cache contents travel with --cache-to/--cache-from
# through a registry (issue #17): runner A fills a mount and exports it
# (mode=max); runner B (empty store) must run that RUN and finds A's files;
# an unchanged mount uploads nothing the second time; a RUN that hits the
# cache never downloads the mount; cache-mounts=none and max-mount-size skip
# with a note; `strata cache ls` (text and json) lists the mount.
. "$(dirname "$0")/lib.sh"

require_builder
start_strata_registry
L="$TRASH/strata-registry.log"
A="$TRASH/a" B="$TRASH/b" C="$TRASH/c"
log_mark() { stat -c %s "$L" >"$L.mark"; }
log_since() { wait_log "$L" "GET /v2/ " >/dev/null; tail -c +$(( $(cat "$L.mark") + 1 )) "$L"; }
# mount_hexes TAG: the hex digests of the cache mount parts of the artifact at cache:TAG
mount_hexes() {
    curl -fsS -H "Accept: application/vnd.oci.image.manifest.v1+json" "http://$SREG/v2/cache/manifests/$1" >"$1.man" &&
    curl -fsS "http://$SREG/v2/cache/blobs/$(jq -r .config.digest "$1.man")" >"$1.cfg" &&
    jq -r ".[\"strata.cache.v1\"].mounts[].parts[].layer" "$1.cfg" | while read -r i; do
        jq -r ".layers[$i].digest" "$1.man" | cut -d: -f2
    done
}

cd "$TRASH" || exit 1
mkdir -p ctx
make_busybox_rootfs ctx/rootfs
cat >ctx/Dockerfile <<-\EOF
	FROM scratch
	COPY rootfs/ /
	ENV PATH=/bin
	ARG V=1
	RUN --mount=type=cache,target=/var/cache/x,id=xc,sharing=locked \
	    if [ -f /var/cache/x/a/file1 ]; then echo "found $V" >/seen; else echo "filled $V" >/seen; \
	    mkdir -p /var/cache/x/a /var/cache/x/b; echo one >/var/cache/x/a/file1; \
	    echo two >/var/cache/x/b/file2; echo top >/var/cache/x/top; fi
	EOF

test_expect_success 'runner A fills the mount and exports it with mode=max' '
    STRATA_ROOT=$A strata build -t app --cache-to "$SREG/cache:main,mode=max" ctx >a.out 2>&1 &&
    cat a.out &&
    STRATA_ROOT=$A strata run --rm app cat /seen >seen && echo "filled 1" >want && diff want seen &&
    grep "exported cache to $SREG/cache:main,mode=max: .*; 1 cache mount, [1-9][0-9]* mount bytes uploaded" a.out &&
    curl -fsS -H "Accept: application/vnd.oci.image.manifest.v1+json" "http://$SREG/v2/cache/manifests/main" >man &&
    cfg=$(jq -r .config.digest man) &&
    curl -fsS "http://$SREG/v2/cache/blobs/$cfg" >cfg.json &&
    jq -e ".[\"strata.cache.v1\"].mounts | length == 1" cfg.json &&
    jq -e ".[\"strata.cache.v1\"].mounts[0] | .id == \"xc\" and .target == \"/var/cache/x\" and .sharing == \"locked\" and .size == 12" cfg.json &&
    jq -e "[.[\"strata.cache.v1\"].mounts[0].parts[].path] == [\"a\", \"b\", \".\"]" cfg.json &&
    jq -e ".layers | length == 5" man
'

test_expect_success 'runner B (empty store) must run the RUN and finds A'"'"'s files in the mount' '
    log_mark &&
    STRATA_ROOT=$B strata build -t app --build-arg V=2 --progress plain --cache-from "$SREG/cache:main" ctx >b.out 2>&1 &&
    cat b.out &&
    grep "importing cache from $SREG/cache:main: cache artifact, 2 entries, 1 cache mount" b.out &&
    grep "imported cache mount xc (/var/cache/x) from $SREG/cache:main: filled the empty mount, 3 blobs fetched" b.out &&
    STRATA_ROOT=$B strata run --rm app cat /seen >seen && echo "found 2" >want && diff want seen &&
    d=$(ls -d "$B"/cache/run-mounts/*/data) && cat "$d/a/file1" "$d/b/file2" "$d/top" >got &&
    printf "one\ntwo\ntop\n" >want && diff want got &&
    jq -e ".id == \"xc\" and .source == \"$SREG/cache:main\"" "$(dirname "$d")/import.json"
'

test_expect_success 'exporting again with the mount unchanged uploads no mount bytes' '
    log_mark &&
    STRATA_ROOT=$B strata build -t app --build-arg V=2 --cache-from "$SREG/cache:main" \
        --cache-to "$SREG/cache:main,mode=max" ctx >b2.out 2>&1 &&
    cat b2.out &&
    grep "; 1 cache mount, 0 mount bytes uploaded" b2.out &&
    STRATA_ROOT=$A strata build -t app --cache-to "$SREG/cache:main,mode=max" ctx >a2.out 2>&1 &&
    grep "; 1 cache mount, 0 mount bytes uploaded" a2.out &&
    mount_hexes main >hexes && test $(wc -l <hexes) = 3 &&
    log_since >log && test $(grep -c "PUT /v2/cache/manifests/main" log) = 2 &&
    for h in $(cat hexes); do
        test $(grep -c "HEAD /v2/cache/blobs/sha256:$h\" 200" log) = 2 &&
        ! grep "/blobs/sha256:$h\" 404" log || return 1
    done &&
    up=$(sed -n "s/^exported cache to .*: \([0-9]*\) blobs uploaded.*/\1/p" b2.out a2.out | awk "{s += \$1} END {print s}") &&
    test "$(grep -c "POST /v2/cache/blobs/uploads/" log)" = "$up"
'

test_expect_success 'a small change re-uploads only its part' '
    cat >ctx/Dockerfile.change <<-\EOF &&
	FROM scratch
	COPY rootfs/ /
	ENV PATH=/bin
	RUN --mount=type=cache,target=/var/cache/x,id=xc,sharing=locked echo changed >/var/cache/x/b/file3
	EOF
    STRATA_ROOT=$A strata build -f ctx/Dockerfile.change --cache-to "$SREG/cache:change,mode=max" ctx >a3.out 2>&1 &&
    cat a3.out &&
    grep "; 1 cache mount, [1-9][0-9]* mount bytes uploaded" a3.out &&
    grep -E "exported cache to .*: 3 blobs uploaded, 0 mounted, 3 already there" a3.out &&
    mount_hexes main >h.main && mount_hexes change >h.change &&
    test "$(sed -n 1p h.main)" = "$(sed -n 1p h.change)" &&
    test "$(sed -n 2p h.main)" != "$(sed -n 2p h.change)" &&
    test "$(sed -n 3p h.main)" = "$(sed -n 3p h.change)" &&
    jq -e "[.[\"strata.cache.v1\"].mounts[0].parts[].path] == [\"a\", \"b\", \".\"]" change.cfg
'

test_expect_success 'a RUN that hits the cache never downloads the mount' '
    log_mark &&
    STRATA_ROOT=$C strata build -t app --progress plain --cache-from "$SREG/cache:main" ctx >c.out 2>&1 &&
    cat c.out &&
    grep "importing cache from $SREG/cache:main: cache artifact, .* 1 cache mount" c.out &&
    ! grep "imported cache mount" c.out &&
    grep "CACHED" c.out &&
    test ! -d "$C/cache/run-mounts" -o -z "$(ls "$C/cache/run-mounts" 2>/dev/null)" &&
    wait_log "$L" "GET /v2/cache/manifests/main" >/dev/null &&
    log_since >log && test "$(grep -c "GET /v2/cache/blobs/" log)" = 1
'

test_expect_success 'a fully cached build passes the imported mount through to its own export' '
    STRATA_ROOT=$C strata build -t app --cache-from "$SREG/cache:main" --cache-to "$SREG/cache:copy,mode=max" ctx >c2.out 2>&1 &&
    cat c2.out &&
    grep "; 1 cache mount, 0 mount bytes uploaded" c2.out &&
    test ! -d "$C/cache/run-mounts" -o -z "$(ls "$C/cache/run-mounts" 2>/dev/null)" &&
    strata cache ls --format json "$SREG/cache:copy" >ls.json &&
    jq -e ".mounts[0].id == \"xc\"" ls.json
'

test_expect_success 'cache-mounts=none and max-mount-size skip the mount with a note' '
    STRATA_ROOT=$A strata build -t app --cache-to "$SREG/cache:none,mode=max,cache-mounts=none" ctx >n.out 2>&1 &&
    grep -x "note: --cache-to: cache mounts not exported (cache-mounts=none)" n.out &&
    strata cache ls --format json "$SREG/cache:none" | jq -e ".mounts == []" &&
    STRATA_ROOT=$A strata build -t app --cache-to "$SREG/cache:cap,mode=max,max-mount-size=4b" ctx >m.out 2>&1 &&
    grep -x "note: --cache-to: cache mount xc (/var/cache/x) not exported: 0.0 MB, over max-mount-size (0.0 MB)" m.out &&
    strata cache ls --format json "$SREG/cache:cap" | jq -e ".mounts == []" &&
    STRATA_ROOT=$A strata build -t app --cache-to "$SREG/cache:ids,mode=min,cache-mounts=other+xc" ctx >i.out 2>&1 &&
    strata cache ls --format json "$SREG/cache:ids" | jq -e "[.mounts[].id] == [\"xc\"]" &&
    test_exit_code 2 strata build --cache-to "$SREG/x,cache-mounts=" ctx 2>err && grep "cache-mounts must be" err &&
    test_exit_code 2 strata build --cache-to "$SREG/x,max-mount-size=lots" ctx 2>err && grep "max-mount-size must be a size" err
'

test_expect_success 'strata cache ls lists steps, layers and mounts (text and json)' '
    strata cache ls "$SREG/cache:main" >ls.txt &&
    cat ls.txt &&
    grep -x "source: $SREG/cache:main" ls.txt &&
    grep -x "kind: cache artifact" ls.txt &&
    grep "^STEPS (2)" ls.txt && grep "^CACHE MOUNTS (1)" ls.txt &&
    grep -E "^xc +/var/cache/x +locked +[0-9]+ B " ls.txt &&
    strata cache ls --format json "$SREG/cache:main" >ls.json &&
    jq -e ".kind == \"cache artifact\" and (.steps | length) == 2 and (.mounts | length) == 1" ls.json &&
    jq -e ".mounts[0].created | test(\"^20[0-9][0-9]-\")" ls.json &&
    jq -e "[.layers[] | select(.used_by == \"mount\")] | length == 3" ls.json &&
    test_exit_code 1 strata cache ls "$SREG/nothing:here" 2>err && grep "not found" err &&
    test_exit_code 2 strata cache ls --format yaml "$SREG/cache:main"
'

test_expect_success 'strata cache prune removes the imported copies only and says so' '
    STRATA_ROOT=$B strata cache prune --dry-run >p.out && grep "would remove cache mount xc (/var/cache/x) imported from $SREG/cache:main" p.out &&
    test -n "$(ls "$B/cache/run-mounts")" &&
    STRATA_ROOT=$B strata cache prune >p.out && cat p.out &&
    grep "^removed cache mount xc (/var/cache/x) imported from $SREG/cache:main: " p.out &&
    grep "^removed 1 imported cache mount, " p.out &&
    test -z "$(ls "$B/cache/run-mounts")" &&
    STRATA_ROOT=$A strata cache prune >p.out && grep -x "removed 0 imported cache mounts, 0 B" p.out &&
    test -n "$(ls "$A/cache/run-mounts")"
'

test_done

#!/bin/sh
# t8032: cache mounts and older caches (issue #17): a source without mounts
# (cache-mounts=none, an image's inline cache), an artifact in the format
# before mounts (what `cache-debug export` still writes: no "mounts" field)
# work as before; a malformed "mounts" field is one warning naming the
# field, and the build goes on. With STRATA_OLD_BIN (a strata from before
# issue #17) the new artifact is also read by the old reader.
. "$(dirname "$0")/lib.sh"

require_builder
start_strata_registry
cd "$TRASH" || exit 1
A="$TRASH/a"
mkdir -p ctx
make_busybox_rootfs ctx/rootfs
cat >ctx/Dockerfile <<-\EOF
	FROM scratch
	COPY rootfs/ /
	ENV PATH=/bin
	ARG V=1
	RUN --mount=type=cache,target=/var/cache/x \
	    if [ -f /var/cache/x/f ]; then echo "found $V" >/seen; else echo "filled $V" >/seen; echo x >/var/cache/x/f; fi
	EOF

test_expect_success 'setup: runner A builds, pushes the image and exports with and without mounts' '
    STRATA_ROOT=$A strata build -t "$SREG/app:latest" --push --cache-to "$SREG/cache:none,mode=max,cache-mounts=none" \
        ctx >a.out 2>&1 &&
    cat a.out && grep -x "note: --cache-to: cache mounts not exported (cache-mounts=none)" a.out &&
    STRATA_ROOT=$A strata build -t app --cache-to type=local,dest=full,mode=max ctx >a2.out 2>&1 &&
    strata cache-debug export --to "$SREG/cache:old,mode=max" "$SREG/app:latest" >old.out 2>&1 &&
    cat old.out
'

for src in "$SREG/cache:none" "$SREG/app:latest" "$SREG/cache:old"; do
    test_expect_success "a source without mounts ($src): the RUN runs on an empty mount, no warning" '
        R="$TRASH/r$(echo "$src" | tr -c "a-z0-9" _)" &&
        STRATA_ROOT=$R strata build -t app --build-arg V=2 --progress plain --cache-from "$src" ctx >b.out 2>&1 &&
        cat b.out &&
        grep "importing cache from $src: .*, 2 entries$" b.out &&
        ! grep -E "warning|imported cache mount" b.out &&
        grep "#4 CACHED" b.out &&
        STRATA_ROOT=$R strata run --rm app cat /seen >seen && echo "filled 2" >want && diff want seen &&
        strata cache ls --format json "$src" | jq -e ".mounts == [] and (.steps | length) == 2"
    '
done

test_expect_success 'a malformed mounts field is one warning naming the field; the build goes on' '
    cp -r full bad &&
    man=$(jq -r ".manifests[0].digest" bad/index.json | cut -d: -f2) &&
    cfg=$(jq -r ".config.digest" "bad/blobs/sha256/$man" | cut -d: -f2) &&
    jq -c ".[\"strata.cache.v1\"].mounts[0].parts[0].layer = 99" "bad/blobs/sha256/$cfg" >newcfg &&
    ncfg=$(sha256sum newcfg | cut -d" " -f1) && cp newcfg "bad/blobs/sha256/$ncfg" &&
    jq -c ".config.digest = \"sha256:$ncfg\" | .config.size = $(stat -c %s newcfg)" "bad/blobs/sha256/$man" >newman &&
    nman=$(sha256sum newman | cut -d" " -f1) && cp newman "bad/blobs/sha256/$nman" &&
    jq -c ".manifests[0].digest = \"sha256:$nman\" | .manifests[0].size = $(stat -c %s newman)" bad/index.json >idx &&
    mv idx bad/index.json &&
    STRATA_ROOT="$TRASH/m" strata build --build-arg V=3 --cache-from type=local,src=bad ctx >m.out 2>&1 &&
    cat m.out &&
    grep -x "warning: --cache-from type=local,src=bad: cache artifact config: strata.cache.v1.mounts\[0\].parts\[0\]: layer 99 out of range or invalid" m.out &&
    test_exit_code 1 strata cache ls type=local,src=bad 2>err && grep "layer 99 out of range" err
'

[ -n "${STRATA_OLD_BIN:-}" ] && [ -x "$STRATA_OLD_BIN" ] || test_skip_next "no STRATA_OLD_BIN (a strata from before issue #17) given"
test_expect_success 'the new artifact, read by a strata from before issue #17 (STRATA_OLD_BIN), still hits' '
    STRATA_ROOT="$TRASH/o" "$STRATA_OLD_BIN" build -t app --progress plain --cache-from type=local,src=full ctx >o.out 2>&1 &&
    cat o.out &&
    grep "importing cache from type=local,src=full: cache artifact, 2 entries" o.out &&
    grep "2 steps cached, 0 run" o.out
'

test_done

#!/bin/sh
# t8031: cache mounts through a directory cache (--cache-to type=local,
# dest=DIR,mode=max / --cache-from type=local,src=DIR), the import rule
# "fill when empty or older" (a newer local copy is kept, an older one gets
# the imported files merged over it), two builds importing the same mount at
# once on one store, and `strata cache ls type=local,src=DIR`.
. "$(dirname "$0")/lib.sh"

require_builder
cd "$TRASH" || exit 1
A="$TRASH/a" B="$TRASH/b" C="$TRASH/c" D="$TRASH/d"
mkdir -p ctx
make_busybox_rootfs ctx/rootfs
cat >ctx/Dockerfile <<-\EOF
	FROM scratch
	COPY rootfs/ /
	ENV PATH=/bin
	ARG V=1
	RUN --mount=type=cache,target=/root/.cache/dl,mode=0750 \
	    if [ -f /root/.cache/dl/pkg/one.bin ]; then echo "found $V" >/seen; else echo "filled $V" >/seen; \
	    mkdir -p /root/.cache/dl/pkg /root/.cache/dl/idx; echo one >/root/.cache/dl/pkg/one.bin; \
	    echo idx >/root/.cache/dl/idx/list; ln -s pkg/one.bin /root/.cache/dl/latest; fi
	EOF
mdir() { ls -d "$1"/cache/run-mounts/*/data; }

test_expect_success 'runner A exports the mount into a directory cache' '
    STRATA_ROOT=$A strata build -t app --cache-to type=local,dest=cachedir,mode=max ctx >a.out 2>&1 &&
    cat a.out &&
    grep "exported cache to type=local,dest=cachedir,mode=max: [0-9]* blobs written, 0 mounted, 0 already there; 1 cache mount, [1-9][0-9]* mount bytes written" a.out &&
    strata cache ls --format json type=local,src=cachedir >ls.json &&
    jq -e ".mounts[0] | .id == \"/root/.cache/dl\" and .target == \"/root/.cache/dl\" and .mode == 488 and .sharing == \"shared\"" ls.json &&
    jq -e "[.mounts[0].parts[].path] == [\"idx\", \"pkg\", \".\"]" ls.json &&
    strata cache ls type=local,src=cachedir >ls.txt && grep -x "kind: cache artifact" ls.txt
'

test_expect_success 'runner B (empty store) imports it lazily when its RUN runs: content, owner, mode, symlink' '
    STRATA_ROOT=$B strata build -t app --build-arg V=2 --progress plain --cache-from type=local,src=cachedir ctx >b.out 2>&1 &&
    cat b.out &&
    grep "imported cache mount /root/.cache/dl (/root/.cache/dl) from type=local,src=cachedir: filled the empty mount, 3 blobs fetched" b.out &&
    STRATA_ROOT=$B strata run --rm app cat /seen >seen && echo "found 2" >want && diff want seen &&
    d=$(mdir "$B") && test "$(stat -c %a "$d")" = 750 && test "$(readlink "$d/latest")" = pkg/one.bin &&
    test "$(cat "$d/idx/list")" = idx
'

test_expect_success 'a second export to the same directory writes no mount blob' '
    STRATA_ROOT=$B strata build -t app --build-arg V=2 --cache-from type=local,src=cachedir \
        --cache-to type=local,dest=cachedir,mode=max ctx >b2.out 2>&1 &&
    grep "; 1 cache mount, 0 mount bytes written" b2.out
'

test_expect_success 'a fresh store whose RUN hits copies no mount blob; max-mount-size skips with a note' '
    F="$TRASH/f" &&
    STRATA_ROOT=$F strata build -t app --build-arg V=2 --progress plain --cache-from type=local,src=cachedir ctx >f.out 2>&1 &&
    grep "2 steps cached, 0 run" f.out && ! grep "imported cache mount" f.out &&
    test ! -d "$F/cache/run-mounts" -o -z "$(ls "$F/cache/run-mounts" 2>/dev/null)" &&
    for h in $(strata cache ls --format json type=local,src=cachedir | jq -r ".mounts[0].parts[].digest" | cut -d: -f2); do
        test ! -e "$F/blobs/sha256/$h" || return 1
    done &&
    STRATA_ROOT=$A strata build -t app --cache-to type=local,dest=capdir,mode=max,max-mount-size=4 ctx >cap.out 2>&1 &&
    grep -x "note: --cache-to: cache mount /root/.cache/dl (/root/.cache/dl) not exported: 0.0 MB, over max-mount-size (0.0 MB)" cap.out &&
    strata cache ls --format json type=local,src=capdir | jq -e ".mounts == []"
'

test_expect_success 'a newer local copy is kept (fill when empty or older)' '
    STRATA_ROOT=$C strata build --build-arg V=3 -f - ctx >c0.out 2>&1 <<-\EOF &&
	FROM scratch
	COPY rootfs/ /
	ENV PATH=/bin
	RUN --mount=type=cache,target=/root/.cache/dl echo mine >/root/.cache/dl/local
	EOF
    touch "$(dirname "$(mdir "$C")")/lock" &&
    STRATA_ROOT=$C strata build --build-arg V=3 --progress plain --cache-from type=local,src=cachedir ctx >c.out 2>&1 &&
    cat c.out &&
    grep "cache mount /root/.cache/dl (/root/.cache/dl): the local copy (last used .*) is newer than type=local,src=cachedir.s (made .*): kept" c.out &&
    ! grep "imported cache mount" c.out && test -f "$(mdir "$C")/local" &&
    test "$(cat "$(dirname "$(mdir "$C")")/import.json" 2>/dev/null)" = ""
'

test_expect_success 'an older local copy gets the imported files merged over it' '
    STRATA_ROOT=$D strata build --build-arg V=4 -f - ctx >d0.out 2>&1 <<-\EOF &&
	FROM scratch
	COPY rootfs/ /
	ENV PATH=/bin
	RUN --mount=type=cache,target=/root/.cache/dl echo mine >/root/.cache/dl/local
	EOF
    touch -d "2001-01-01" "$(dirname "$(mdir "$D")")/lock" &&
    STRATA_ROOT=$D strata build --build-arg V=4 --progress plain --cache-from type=local,src=cachedir ctx >d.out 2>&1 &&
    cat d.out &&
    grep "imported cache mount .* merged over the older local copy" d.out &&
    d=$(mdir "$D") && test -f "$d/local" && test -f "$d/pkg/one.bin"
'

test_expect_success 'two builds importing the same mount at once on one store take turns' '
    E="$TRASH/e"
    { STRATA_ROOT=$E strata build --build-arg V=5 --progress plain --cache-from type=local,src=cachedir ctx >e1.out 2>&1; echo $? >e1.rc; } &
    p1=$!
    { STRATA_ROOT=$E strata build --build-arg V=6 --progress plain --cache-from type=local,src=cachedir ctx >e2.out 2>&1; echo $? >e2.rc; } &
    p2=$!
    wait $p1 && wait $p2 &&
    cat e1.out e2.out &&
    test "$(cat e1.rc e2.rc)" = "$(printf "0\n0")" &&
    test $(cat e1.out e2.out | grep -c "filled the empty mount") = 1 &&
    test $(cat e1.out e2.out | grep -c "already imported from type=local,src=cachedir") = 1 &&
    test "$(cat "$(mdir "$E")/pkg/one.bin")" = one
'

test_expect_success 'strata cache prune removes the imported copies' '
    STRATA_ROOT=$B strata cache prune >p.out && cat p.out &&
    grep "^removed cache mount /root/.cache/dl (/root/.cache/dl) imported from type=local,src=cachedir: " p.out &&
    test -z "$(ls "$B/cache/run-mounts")"
'

test_done

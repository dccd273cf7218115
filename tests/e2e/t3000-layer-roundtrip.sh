#!/bin/sh
# t3000: layer create/apply round trips (modes, owners, xattrs, hardlinks,
# symlinks, devices, fifos, sparse files, long names), every compression,
# readable by GNU tar, gzip and zstd; reproducible digests.
. "$(dirname "$0")/lib.sh"

manifest() { python3 "$SRC_DIR/tests/e2e/layer-manifest.py" "$@"; }

# make_tree DIR [reverse]: the reference tree, created in either order
make_tree() {
    d=$1
    mkdir -p "$d" && (
        cd "$d" || exit 1
        if [ "${2:-}" = reverse ]; then order="z m a"; else order="a m z"; fi
        for n in $order; do
            mkdir -p "dir-$n/sub" && printf "content %s\n" "$n" >"dir-$n/sub/file-$n"
        done
        printf 'hello\n' >a && chown 1234:5678 a && chmod 4751 a
        ln a hardlink-to-a
        ln -s a sym && ln -s /nonexistent/abs dangling
        mkfifo fifo && chmod 640 fifo
        mknod null c 1 3 && mknod blk b 7 0
        long=$(printf "n%.0s" $(seq 1 200)) && mkdir -p "deep/$long/$long" && echo long >"deep/$long/$long/$long"
        truncate -s 8M sparse && printf x | dd of=sparse bs=1 seek=4000000 conv=notrunc 2>/dev/null
        truncate -s 3M allholes && ln -s sym symsym && ln symsym hardlinked-symlink
        mkdir ro && echo r >ro/f && chmod 555 ro
        cp "$TRASH/rnd" random
        python3 -c "import os; os.setxattr(\"a\", \"user.note\", b\"v1\"); os.setxattr(\"dir-a\", \"user.d\", b\"\\x00\\x01\"); os.setxattr(\"random\", \"security.capability\", bytes.fromhex(\"0100000200200000000000000000000000000000\"))"
        chown -h 42:43 sym
    )
}

test_expect_success 'setup: a reference tree' '
    head -c 300000 /dev/urandom >rnd &&
    make_tree src &&
    manifest src >src.m && test -s src.m && grep -q sparse src.m && grep -q security.capability src.m
'

for comp in gzip zstd none; do
    test_expect_success "round trip through a $comp layer" '
        strata layer create src -o l.'$comp' -c '$comp' >res &&
        grep "^diff_id sha256:" res && grep "^media_type " res &&
        strata layer apply l.'$comp' out-'$comp' >ares &&
        test "$(grep ^digest res)" = "$(grep ^digest ares)" &&
        test "$(grep ^diff_id res)" = "$(grep ^diff_id ares)" &&
        manifest out-'$comp' >out.m && diff src.m out.m &&
        test "$(strata layer treehash src)" = "$(strata layer treehash out-'$comp')"
    '
done

test_expect_success 'digest and size printed are the blob, diff_id the tar' '
    test "$(grep ^digest res | cut -d" " -f2)" = "sha256:$(sha256sum <l.none | cut -d" " -f1)" &&
    test "$(grep ^size res | cut -d" " -f2)" = "$(stat -c %s l.none)" &&
    strata layer create src -o l.gz >gres &&
    test "$(grep ^diff_id gres | cut -d" " -f2)" = "sha256:$(gzip -dc l.gz | sha256sum | cut -d" " -f1)" &&
    test "$(grep ^diff_id gres | cut -d" " -f2)" = "sha256:$(sha256sum <l.none | cut -d" " -f1)" &&
    strata layer create src -o l.zst -c zstd >zres &&
    test "$(grep ^diff_id zres | cut -d" " -f2)" = "sha256:$(zstd -dc l.zst | sha256sum | cut -d" " -f1)"
'

test_expect_success 'zlib and igzip gzip both decode to the same tar' '
    strata layer create src -o l.zlib --gzip-impl zlib -l 9 >r1 &&
    strata layer create src -o l.isal --gzip-impl isal >r2 &&
    gzip -t l.zlib && gzip -t l.isal &&
    test "$(grep ^diff_id r1)" = "$(grep ^diff_id r2)"
'

test_expect_success 'GNU tar lists and extracts our layer identically' '
    tar -tzf l.gz >list && grep -q "^hardlink-to-a$" list && grep -q "^deep/" list &&
    ! grep -q PaxHeader list &&
    mkdir gx && tar --xattrs --xattrs-include="*" --numeric-owner -xpzf l.gz -C gx &&
    manifest gx >gx.m && diff src.m gx.m
'

test_expect_success 'tar entries: sorted, parents first, no user names, numeric owners' '
    tar -tvzf l.gz >v &&
    ! grep -q " root/" v &&
    grep -q " 1234/5678 " v &&
    tar -tzf l.gz | sed "s,/$,," >order &&
    python3 -c "
import sys
names = [l.rstrip(\"\\n\") for l in open(\"order\")]
seen = set()
for n in names:
    p = n.rsplit(\"/\", 1)[0] if \"/\" in n else None
    assert p is None or p in seen, (\"child before parent\", n)
    seen.add(n)
"
'

test_expect_success 'reproducible: two trees built in different orders at different times' '
    make_tree t1 && sleep 1.1 && make_tree t2 reverse &&
    SOURCE_DATE_EPOCH=1700000000 strata layer create t1 -o r1.gz >d1 &&
    SOURCE_DATE_EPOCH=1700000000 strata layer create t2 -o r2.gz >d2 &&
    diff d1 d2 && cmp r1.gz r2.gz &&
    SOURCE_DATE_EPOCH=1700000000 strata layer create t1 -o z1 -c zstd >z1 &&
    SOURCE_DATE_EPOCH=1700000000 strata layer create t2 -o z2 -c zstd >z2 &&
    diff z1 z2 &&
    tar -tvzf r1.gz | grep -q "2023-11-14"
'

test_expect_success 'reproducible without SOURCE_DATE_EPOCH when mtimes match' '
    find t1 t2 -exec touch -h -d "2021-01-02 03:04:05" {} + &&
    strata layer create t1 -o n1.gz >e1 && strata layer create t2 -o n2.gz >e2 && diff e1 e2 &&
    test "$(strata layer treehash t1)" = "$(strata layer treehash t2)"
'

test_expect_success 'treehash ignores mtimes but sees modes, owners and content' '
    h0=$(strata layer treehash t1) &&
    touch t1/a && test "$(strata layer treehash t1)" = "$h0" &&
    chmod 4750 t1/a && h1=$(strata layer treehash t1) && test "$h1" != "$h0" &&
    chmod 4751 t1/a && test "$(strata layer treehash t1)" = "$h0" &&
    chown 1:1 t1/dir-a && test "$(strata layer treehash t1)" != "$h0" &&
    chown 0:0 t1/dir-a && echo x >>t1/dir-m/sub/file-m && test "$(strata layer treehash t1)" != "$h0" &&
    test "$(strata layer treehash t1 a dir-a)" = "$(strata layer treehash t2 a dir-a)" &&
    test "$(strata layer treehash t1 a)" != "$(strata layer treehash t1 dir-a)" &&
    test_must_fail strata layer treehash t1 ../etc 2>err && grep "leaves" err
'

test_expect_success 'COPY options: --prefix, --chown, --chmod' '
    mkdir c && echo one >c/f && mkdir c/d &&
    strata layer create c -o p.gz --prefix usr/src/app --chown 1000:1001 --chmod 640 &&
    tar -tvzf p.gz >pv && cat pv &&
    grep -q " 0/0 .* usr/$" pv && grep -q " 0/0 .* usr/src/$" pv &&
    grep -q "^drw-r----- 1000/1001 .* usr/src/app/$" pv &&
    grep -q "^-rw-r----- 1000/1001 .* usr/src/app/f$" pv &&
    test_must_fail strata layer create c -o bad.gz --prefix ../x 2>err && grep "invalid layer path prefix" err
'

test_expect_success 'apply onto an existing tree replaces entries (file<->dir) in place' '
    mkdir base && mkdir base/x && echo old >base/x/f && echo old >base/y &&
    mkdir up && echo new >up/x && mkdir up/y && echo in >up/y/z &&
    strata layer create up -o up.gz >/dev/null &&
    strata layer apply up.gz base >/dev/null &&
    test "$(cat base/x)" = new && test "$(cat base/y/z)" = in
'

test_expect_success 'multi-member gzip and pigz blobs apply, diff_id checked' '
    tar -cf mm.tar -C c . &&
    head -c 1536 mm.tar | gzip >mm.gz && tail -c +1537 mm.tar | gzip >>mm.gz &&
    strata layer apply mm.gz mm-out --diff-id "sha256:$(sha256sum <mm.tar | cut -d" " -f1)" >/dev/null &&
    test "$(cat mm-out/f)" = one &&
    pigz -c mm.tar >mm.pigz && strata layer apply mm.pigz mm-out2 >/dev/null && test "$(cat mm-out2/f)" = one
'

test_expect_success 'bad usage and bad input are clear errors' '
    test_exit_code 2 strata layer create src 2>err && grep "\-o FILE is required" err &&
    test_exit_code 2 strata layer create src -o x -c lz4 2>err && grep "unknown compression" err &&
    test_exit_code 1 strata layer create nowhere -o x 2>err && grep "open directory .nowhere." err &&
    test ! -e x &&
    test_exit_code 1 strata layer apply missing.tar out2 2>err && grep "open .missing.tar." err &&
    test_exit_code 1 strata layer apply l.gz out3 --media-type application/json 2>err &&
    grep "not a layer media type" err && test ! -e out3 &&
    test_exit_code 2 strata layer frob 2>err && grep "unknown sub-command" err
'

test_done

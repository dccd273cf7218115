#!/bin/sh
# t3004: names are bytes. Files and symlink targets named with UTF-8 (NFC
# and NFD), Latin-1 and invalid UTF-8 (byte 0xFF) round-trip exactly through
# RUN, COPY from the context, .dockerignore, the cache, push, pull into a
# fresh store, strata run, save/load, and GNU tar / umoci reading the layers.
. "$(dirname "$0")/lib.sh"
require_builder

CERT='NetLock_Arany_=Class_Gold=_Főtanúsítvány.pem'
E=$(printf 'caf\303\251')          # café, NFC
NFD=$(printf 'cafe\314\201')       # café, NFD
FF=$(printf 'bad\377name')         # not UTF-8
L1=$(printf 'latin1-\351t\351')    # "été" in Latin-1

# names_list DIR: every path under DIR with its type and link target, bytes as octal escapes
names_list() {
    (cd "$1" && find . -path ./proc -prune -o -path ./sys -prune -o -path ./dev -prune -o \
        -printf '%y %p -> %l\n' | LC_ALL=C sort | od -An -c | tr -s ' ')
}

start_strata_registry
OTHER="$TRASH/other-root"

test_expect_success 'setup: a context with such names, a Dockerfile creating more' '
    make_busybox_tar bb.tar &&
    strata import bb.tar bb:1 >/dev/null &&
    mkdir -p ctx/src &&
    echo cert >"ctx/src/$CERT" && ln -s "$CERT" ctx/src/988a38cb.0 &&
    echo e >"ctx/src/$E" && echo n >"ctx/src/$NFD" && echo f >"ctx/src/$FF" &&
    echo l >"ctx/src/$L1" && ln -s "$FF" "ctx/src/link-$E" &&
    mkdir "ctx/src/dir-$FF" && echo inner >"ctx/src/dir-$FF/$L1" &&
    echo ignored >"ctx/src/ignored-$E" &&
    printf "src/ignored-%s\n" "$E" >ctx/.dockerignore &&
    printf "%s\n" "FROM bb:1" \
        "COPY src /names/" \
        "RUN mkdir /made && cd /made && echo x >\"\$(printf '"'"'caf\\303\\251'"'"')\" && echo y >\"\$(printf '"'"'bad\\377'"'"')\" && ln -s \"$CERT\" cert.0 && echo c >\"$CERT\" && ln -s \"\$(printf '"'"'bad\\377'"'"')\" \"\$(printf '"'"'lnk\\351'"'"')\"" \
        >ctx/Dockerfile &&
    cat ctx/Dockerfile
'

test_expect_success 'build: RUN and COPY keep every name' '
    strata build --progress plain -t $SREG/names:1 ctx 2>err || { cat err; false; }
'

# expected: the context's names (minus the ignored one) under /names, the RUN's under /made
test_expect_success 'setup: the expected listing' '
    mkdir -p want/names want/made &&
    (cd ctx/src && tar -cf - --exclude "ignored-$E" .) | tar -C want/names -xf - &&
    (cd want/made && echo x >"$E" && echo y >"$(printf "bad\377")" && ln -s "$CERT" cert.0 &&
        echo c >"$CERT" && ln -s "$(printf "bad\377")" "$(printf "lnk\351")") &&
    names_list want/names >want.names && names_list want/made >want.made &&
    grep -q "377" want.names && grep -q "351" want.made
'

# run_list IMAGE DIR: the listing of DIR inside IMAGE, as names_list prints it
run_list() {
    mkdir -p "run$3" && strata run "$1" /bin/busybox tar -C "$2" -cf - . >"run$3.tar" &&
    tar -C "run$3" -xf "run$3.tar" &&
    names_list "run$3"
}

test_expect_success 'strata run sees every name byte for byte' '
    run_list $SREG/names:1 /names 1 >got.names && cmp want.names got.names &&
    run_list $SREG/names:1 /made 2 >got.made && cmp want.made got.made &&
    test "$(strata run $SREG/names:1 cat "/names/dir-$FF/$L1")" = inner &&
    test "$(strata run $SREG/names:1 /bin/busybox readlink /made/cert.0)" = "$CERT" &&
    test "$(strata run $SREG/names:1 cat /names/988a38cb.0)" = cert &&
    ! strata run $SREG/names:1 ls "/names/ignored-$E" 2>/dev/null
'

test_expect_success 'a rebuild is fully cached; a renamed file is a miss' '
    strata build --progress plain -t $SREG/names:1 ctx 2>err &&
    grep -a "2 steps cached, 0 run" err &&
    mv "ctx/src/$FF" "ctx/src/$(printf "bad\376name")" &&
    strata build --progress plain -t names:2 ctx 2>err2 &&
    grep -a "0 steps cached, 2 run" err2 &&
    mv "ctx/src/$(printf "bad\376name")" "ctx/src/$FF"
'

test_expect_success 'GNU tar and python read the same bytes from every layer' '
    strata save -o img.tar $SREG/names:1 &&
    mkdir img && tar -C img -xf img.tar &&
    for l in $(jq -r ".[0].Layers[]" img/manifest.json); do
        mkdir -p "lay/$l" && tar -C "lay/$l" -xf "img/$l" 2>>tarerr || exit 1
    done &&
    n=$(ls -d lay/*/* | wc -l) && test "$n" -ge 3 &&
    for d in lay/*/*; do
        if test -d "$d/names"; then names_list "$d/names" >tar.names && cmp want.names tar.names; fi
        if test -d "$d/made"; then names_list "$d/made" >tar.made && cmp want.made tar.made; fi
    done &&
    test -f tar.names && test -f tar.made
'

test_expect_success 'push, pull into a fresh store, run' '
    strata push $SREG/names:1 >/dev/null &&
    STRATA_ROOT=$OTHER strata pull $SREG/names:1 >/dev/null &&
    STRATA_ROOT=$OTHER run_list $SREG/names:1 /names 3 >got3 && cmp want.names got3 &&
    STRATA_ROOT=$OTHER run_list $SREG/names:1 /made 4 >got4 && cmp want.made got4
'

test_expect_success 'save and load into a fresh store' '
    STRATA_ROOT=$TRASH/r3 strata load -i img.tar >/dev/null &&
    STRATA_ROOT=$TRASH/r3 run_list $SREG/names:1 /names 5 >got5 && cmp want.names got5 &&
    STRATA_ROOT=$TRASH/r3 run_list $SREG/names:1 /made 6 >got6 && cmp want.made got6
'

test_expect_success 'skopeo + umoci unpack the pushed image with the same bytes' '
    skopeo copy --quiet --src-tls-verify=false docker://$SREG/names:1 oci:ol:names &&
    umoci unpack --rootless --image ol:names bundle >/dev/null 2>&1 &&
    names_list bundle/rootfs/names >um.names && cmp want.names um.names &&
    names_list bundle/rootfs/made >um.made && cmp want.made um.made
'

test_expect_success 'non-UTF-8 Dockerfile text: valid JSON everywhere, exact cache keys' '
    printf "FROM bb:1\nCOPY src/%s /x/\nRUN echo 1 >/tmp/\377\nLABEL l=\377\nENV E=\351\n" "$FF" >ctx/Dockerfile.ff &&
    printf "FROM bb:1\nCOPY src/%s /x/\nRUN echo 1 >/tmp/\376\nLABEL l=\377\nENV E=\351\n" "$FF" >ctx/Dockerfile.fe &&
    strata build --progress plain -f ctx/Dockerfile.ff -t ff:1 ctx 2>err1 &&
    strata inspect ff:1 >insp && jq -e ".[0].Config.config.Labels.l == \"\\ufffd\"" insp >/dev/null &&
    jq -e "[.[0].Config.history[] | select(.empty_layer != true)] | length == 3" insp >/dev/null &&
    jq -e ".[0].Config.config.Env | index(\"E=\\ufffd\")" insp >/dev/null &&
    strata parse -f ctx/Dockerfile.ff >parsed && jq -e . parsed >/dev/null &&
    strata build --progress plain -f ctx/Dockerfile.fe -t fe:1 ctx 2>err2 &&
    grep -a "1 step cached, 1 run" err2 &&
    strata run fe:1 /bin/busybox sh -c "for f in /tmp/*; do printf %s \"\$f\"; done" >tmpnames &&
    printf "/tmp/\376" >want.tmp && cmp want.tmp tmpnames
'

test_expect_success 'a CESU-8 name is refused with a clear error' '
    printf "FROM bb:1\nRUN touch \"\$(printf '"'"'x\\355\\240\\275\\355\\270\\200'"'"')\"\n" >ctx/Dockerfile.cesu &&
    test_must_fail strata build -f ctx/Dockerfile.cesu ctx 2>err &&
    grep "CESU-8" err
'

test_done

#!/bin/sh
# t4009: hostile --build-context NAME=oci-layout://PATH directories: symlinked
# blobs and index.json, blobs named in index.json but missing, a descriptor
# size that lies, content that does not match its digest, odd platforms in
# the image config. Each fails (exit 1) naming the problem, but for a
# platform string that is not one (ignored, as for any base image); none
# reads outside the layout.
. "$(dirname "$0")/lib.sh"

require_builder

mkdir -p "$TRASH/ctx"
printf 'FROM base\nCOPY --from=base /etc/which /copied\n' >"$TRASH/ctx/Dockerfile"

test_expect_success 'a good layout builds (the cases below differ from it in one thing)' '
    make_busybox_rootfs l1 && echo layout-one >l1/etc/which && make_layer_tgz l1 l1.tgz &&
    make_oci_image good v1 l1.tgz &&
    strata build -t hl:good --build-context base=oci-layout://good ctx 2>log &&
    strata run hl:good cat /copied >out && echo layout-one >want && diff want out
'

# fresh NAME: a copy of the good layout, writable (each case builds with a
# store of its own: the good build's store holds the blobs already)
fresh() { rm -rf "$1" && cp -r good "$1" && chmod -R u+w "$1"; }
man() { jq -r ".manifests[0].digest" "$1/index.json" | sed "s/^sha256://"; }
layer() { jq -r ".layers[0].digest" "$1/blobs/sha256/$(man "$1")" | sed "s/^sha256://"; }

test_expect_success 'a layer blob that is a symlink (to the very content, outside) is not followed' '
    fresh sym && d=$(layer sym) && mv sym/blobs/sha256/$d outside-blob &&
    ln -s "$PWD/outside-blob" sym/blobs/sha256/$d &&
    STRATA_ROOT=$PWD/root-sym strata build -t hl:sym --build-context base=oci-layout://sym ctx 2>err; test $? = 1 &&
    grep "$d" err
'

test_expect_success 'an index.json that is a symlink is not followed' '
    fresh symidx && mv symidx/index.json outside-index.json &&
    ln -s "$PWD/outside-index.json" symidx/index.json &&
    STRATA_ROOT=$PWD/root-symidx strata build -t hl:symidx --build-context base=oci-layout://symidx ctx 2>err; test $? = 1 &&
    grep "no index.json" err
'

test_expect_success 'index.json naming a manifest blob that is missing' '
    fresh miss && rm miss/blobs/sha256/$(man miss) &&
    STRATA_ROOT=$PWD/root-miss strata build -t hl:miss --build-context base=oci-layout://miss ctx 2>err; test $? = 1 &&
    grep "$(man miss)" err
'

test_expect_success 'a descriptor whose size is larger than its blob' '
    fresh big && jq ".manifests[0].size = 1099511627776" good/index.json >big/index.json &&
    STRATA_ROOT=$PWD/root-big strata build -t hl:big --build-context base=oci-layout://big ctx 2>err; test $? = 1 &&
    grep -i "size" err
'

test_expect_success 'a layer blob whose content does not match its digest' '
    fresh bad && d=$(layer bad) && echo "not the layer" >bad/blobs/sha256/$d &&
    STRATA_ROOT=$PWD/root-bad strata build -t hl:bad --build-context base=oci-layout://bad ctx 2>err; test $? = 1 &&
    grep "digest mismatch" err && grep "$d" err
'

# odd NAME JQ: the good layout with its config rewritten by JQ (manifest and
# index.json updated to the new digests)
odd() {
    fresh "$1" && _m=$(man "$1") &&
    _c=$(jq -r .config.digest "$1/blobs/sha256/$_m" | sed "s/^sha256://") &&
    jq -c "$2" "$1/blobs/sha256/$_c" >"$1/cfg" && _nc=$(sha256sum "$1/cfg" | cut -d" " -f1) &&
    mv "$1/cfg" "$1/blobs/sha256/$_nc" &&
    jq -c --arg d "sha256:$_nc" --argjson s "$(stat -c %s "$1/blobs/sha256/$_nc")" \
        ".config.digest = \$d | .config.size = \$s" "$1/blobs/sha256/$_m" >"$1/man" &&
    _nm=$(sha256sum "$1/man" | cut -d" " -f1) && mv "$1/man" "$1/blobs/sha256/$_nm" &&
    jq --arg d "sha256:$_nm" --argjson s "$(stat -c %s "$1/blobs/sha256/$_nm")" \
        ".manifests[0].digest = \$d | .manifests[0].size = \$s" good/index.json >"$1/index.json"
}

test_expect_success 'an image config whose platform is not a platform: not one, never a path or an emulator' '
    odd plat ".architecture = \"../../etc\" | .os = \"\"" &&
    STRATA_ROOT=$PWD/root-plat strata build -t hl:plat --build-context base=oci-layout://plat ctx 2>err &&
    ! grep -i "qemu\|emulat" err && test ! -e "$TRASH/etc" &&
    STRATA_ROOT=$PWD/root-plat strata run hl:plat cat /copied >out && echo layout-one >want && diff want out
'

test_expect_success 'an image config whose architecture is not a string' '
    odd platn ".architecture = 7" &&
    STRATA_ROOT=$PWD/root-platn strata build -t hl:platn --build-context base=oci-layout://platn ctx 2>err; test $? = 1 &&
    grep -i "architecture" err
'

test_done

#!/bin/sh
# t5201-rootless-owner: layers keep real ownership in every mode. A RUN that
# chowns a file to 1000 gives a layer entry with uid 1000 as root and as a
# rootless user with subordinate ids (the snapshot on disk holds the shifted
# id); without subordinate ids that RUN fails with a message naming
# /etc/subuid. A base image whose files belong to ids outside the map
# (200000) is extracted rootless and a layer made on top keeps those ids.
. "$(dirname "$0")/lib.sh"
require_builder
rootless_setup
SUB="$TRASH/as-strata-rl-sub"
NOSUB="$TRASH/as-strata-rl-nosub"

# layer_owner IMAGE_TAR PATH: "uid/gid" of PATH in the last layer holding it
layer_owner() {
    rm -rf lo && mkdir lo && tar -C lo -xf "$1" &&
    for l in $(jq -r ".[0].Layers[]" lo/manifest.json); do
        tar -tvf "lo/$l" | awk -v p="$2" '$6 == p {print $2}'
    done | tail -1
}

test_expect_success 'setup: a chown context and a base image with foreign ids' '
    mkdir -p ctx && make_busybox_rootfs ctx/rootfs &&
    cat >ctx/Dockerfile <<-EOF &&
	FROM scratch
	COPY rootfs/ /
	RUN echo x >/owned && chown 1000:1001 /owned
	EOF
    make_busybox_rootfs base && mkdir -p base/data && echo old >base/data/f &&
    tar -C base --numeric-owner -cf base.tar . &&
    mkdir -p extra/data && echo far >extra/data/far &&
    tar -C extra --numeric-owner --owner=200000 --group=200001 -rf base.tar ./data/far &&
    chmod a+r base.tar &&
    mkdir -p ctx2 && cat >ctx2/Dockerfile <<-EOF &&
	FROM base:1
	RUN echo more >>/data/far && echo new >/data/new && chown 1000:1000 /data/new
	EOF
    chmod -R a+rX ctx ctx2
'

test_expect_success 'root: the RUN layer has uid 1000' '
    strata build --progress plain -t own ctx 2>err || { cat err; false; } &&
    strata save -o root.tar own &&
    test "$(layer_owner root.tar owned)" = 1000/1001
'

test_expect_success 'rootless with subordinate ids: the layer has uid 1000 too' '
    "$SUB" build --progress plain -t own ctx 2>err || { cat err; false; } &&
    "$SUB" save -o "$TRASH/home-strata-rl-sub/sub.tar" own &&
    test "$(layer_owner "$TRASH/home-strata-rl-sub/sub.tar" owned)" = 1000/1001
'

test_expect_success 'rootless: on disk the snapshot holds the id shifted by the map (300000 + 999)' '
    f=$(ls -d "$TRASH"/home-strata-rl-sub/.local/share/strata/build/snapshots/*/owned) &&
    test "$(stat -c %u:%g $f)" = 300999:301000
'

test_expect_success 'rootless without subordinate ids: the chown fails naming /etc/subuid' '
    test_must_fail "$NOSUB" build --progress plain -t own ctx 2>err &&
    grep "rootless without subordinate ids" err &&
    grep "exit status 1 (rootless without subordinate ids: only uid 0 exists in builds; add a range for strata-rl-nosub to /etc/subuid and /etc/subgid" err
'

for u in sub nosub; do
    AS="$TRASH/as-strata-rl-$u"
    H="$TRASH/home-strata-rl-$u"
    test_expect_success "rootless $u: a base with ids outside the map is extracted and keeps them in new layers" '
        cp base.tar "$H/" && { "$AS" import "$H/base.tar" base:1 2>err || { cat err; false; }; } &&
        if [ $u = sub ]; then
            df=ctx2/Dockerfile want=1000/1000
        else
            sed "s/ && chown 1000:1000 \/data\/new//" ctx2/Dockerfile >"$H/Dockerfile" &&
            df="$H/Dockerfile" want=0/0
        fi &&
        { "$AS" build --progress plain -f "$df" -t top ctx2 2>err || { cat err; false; }; } &&
        "$AS" save -o "$H/top.tar" top &&
        echo "# far: $(layer_owner "$H/top.tar" data/far) new: $(layer_owner "$H/top.tar" data/new)" &&
        test "$(layer_owner "$H/top.tar" data/far)" = 200000/200001 &&
        test "$(layer_owner "$H/top.tar" data/new)" = $want
    '
done

test_done

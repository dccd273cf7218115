#!/bin/sh
# t5503: a base image whose config has no history (optional in OCI) gives
# a valid image (issue #15 item 5): strata reads it back, runs it, pushes
# it and pulls it again; the missing entries are synthesised first, as
# BuildKit does.
. "$(dirname "$0")/lib.sh"

require_builder

make_busybox_rootfs "$TRASH/l1"
mkdir -p "$TRASH/l2/etc" && echo two >"$TRASH/l2/etc/two"
make_layer_tgz "$TRASH/l1" "$TRASH/l1.tgz"
make_layer_tgz "$TRASH/l2" "$TRASH/l2.tgz"
make_oci_image "$TRASH/layout" docker.io/library/nohist:1 "$TRASH/l1.tgz" "$TRASH/l2.tgz"
mkdir -p "$TRASH/ctx"
cat >"$TRASH/ctx/Dockerfile" <<'EOF'
FROM nohist:1
ENV PATH=/bin
RUN cat /etc/two >/three
LABEL x=y
EOF
start_strata_registry

test_expect_success 'setup: the base has two layers and no history' '
    tar -C layout -cf nohist.tar . &&
    strata load -i nohist.tar &&
    strata inspect nohist:1 >base.json &&
    cfg=$STRATA_ROOT/blobs/sha256/$(jq -r ".[0].Id" base.json | cut -d: -f2) &&
    jq -e "(.rootfs.diff_ids | length) == 2 and (has(\"history\") | not)" "$cfg"
'

test_expect_success 'the built image is valid: 3 history entries for 3 layers' '
    strata build -q -t built ctx >/dev/null &&
    strata inspect built >built.json &&
    cfg=$STRATA_ROOT/blobs/sha256/$(jq -r ".[0].Id" built.json | cut -d: -f2) &&
    jq -e "(.rootfs.diff_ids | length) == 3" "$cfg" &&
    jq -e "(.history | map(select(.empty_layer != true)) | length) == 3 and (.history | length) == 5" "$cfg" &&
    jq -e ".history[0].comment and .history[1].comment and (.history[2].created_by | test(\"ENV\"))" "$cfg" &&
    test "$(strata run --rm built cat /three)" = two
'

test_expect_success 'it is pushed, pulled and run again' '
    strata push built $SREG/built:1 >/dev/null 2>&1 &&
    rm -rf "$STRATA_ROOT" &&
    strata pull $SREG/built:1 >/dev/null 2>&1 &&
    test "$(strata run --rm $SREG/built:1 cat /three)" = two
'

stop_strata_registry
test_done

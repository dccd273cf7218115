#!/bin/sh
# t7007: strata registry on a full disk (a 20 MiB tmpfs as --root): an
# upload that does not fit fails with 507 and a spec error body, leaves no
# bytes behind (the disk is usable again at once), and strata's client
# reports it in one line without sending the blob again and again.
. "$(dirname "$0")/lib.sh"

registry_backend_is fs || test_skip_all "a full tmpfs as --root applies to the filesystem backend only"

mkdir -p "$TRASH/small"
mount -t tmpfs -o size=20m tmpfs "$TRASH/small" 2>/dev/null || test_skip_all "cannot mount a tmpfs"
SREG_ROOT="$TRASH/small/reg"
start_strata_registry
R="http://$SREG"

used_kb() { df -k --output=used "$TRASH/small" | tail -1 | tr -d " "; }
upload_bytes() { find "$SREG_ROOT/uploads" -type f -printf "%s\n" | awk "{s += \$1} END {print s + 0}"; }
location() { tr -d "\r" | sed -n "s/^Location: //p"; }

test_expect_success 'setup: 30 MB of data' '
    head -c 30000000 /dev/urandom >big &&
    echo "sha256:$(sha256sum big | cut -d" " -f1)" >digest
'

test_expect_success 'a monolithic upload that does not fit: 507 BLOB_UPLOAD_INVALID, nothing left' '
    curl -s -o body -w "%{http_code}" -X POST --data-binary @big \
        "$R/v2/a/blobs/uploads/?digest=$(cat digest)" >status &&
    test "$(cat status)" = 507 &&
    jq -e ".errors[0].code == \"BLOB_UPLOAD_INVALID\"" body &&
    jq -r ".errors[0].message" body | grep "no space left" &&
    test "$(upload_bytes)" = 0 &&
    test "$(used_kb)" -lt 2048
'

test_expect_success 'a chunk that does not fit is taken back: the session stays at its offset' '
    curl -si -X POST "$R/v2/a/blobs/uploads/" | location >loc &&
    head -c 1000 big >c1 &&
    test "$(http_status -X PATCH -H "Content-Range: 0-999" --data-binary @c1 "$R$(cat loc)")" = 202 &&
    test "$(http_status -X PATCH --data-binary @big "$R$(cat loc)")" = 507 &&
    test "$(upload_bytes)" = 1000 &&
    test "$(used_kb)" -lt 2048 &&
    curl -si "$R$(cat loc)" | tr -d "\r" | grep -x "Range: 0-999"
'

test_expect_success 'the last chunk of a PUT that does not fit: 507, taken back too' '
    test "$(http_status -X PUT --data-binary @big "$R$(cat loc)?digest=$(cat digest)")" = 507 &&
    test "$(upload_bytes)" = 1000 &&
    test "$(used_kb)" -lt 2048
'

test_expect_success 'the registry still takes what fits' '
    head -c 100000 /dev/urandom >little &&
    push_blob "$SREG" a little >d &&
    curl -sf "$R/v2/a/blobs/$(cat d)" | cmp - little
'

test_expect_success 'strata push: one line, and the blob is not sent again' '
    mkdir -p rootfs && cp big rootfs/data && tar -C rootfs -cf rootfs.tar . &&
    strata import rootfs.tar big:1 >/dev/null &&
    : >"$TRASH/strata-registry.log" &&
    test_must_fail strata push big:1 "$SREG/big:1" >out 2>err &&
    test "$(grep -c error err)" = 1 &&
    grep "^strata: error: push $SREG/big:1: blob .sha256:[0-9a-f]*.: BLOB_UPLOAD_INVALID: no space left on the registry.s storage$" err &&
    curl -s -o /dev/null "$R/v2/sentinel-507/tags/list" &&
    wait_log "$TRASH/strata-registry.log" "sentinel-507" &&
    test "$(grep -c "\" 507 " "$TRASH/strata-registry.log")" = 1 &&
    test "$(upload_bytes)" = 1000 &&
    test "$(used_kb)" -lt 2048
'

test_expect_success 'the server stops cleanly' '
    stop_strata_registry
'

test_done

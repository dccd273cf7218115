#!/bin/sh
# t7002: strata registry — kill -9 during uploads and restart (no partial
# blob visible, metadata consistent, sessions resumable), concurrent pushes
# of one blob, shared base layers stored once, graceful SIGTERM during a
# slow upload, 429 when too many uploads run.
. "$(dirname "$0")/lib.sh"

start_strata_registry
R="http://$SREG"
DB="$TRASH/registry/meta.db"

test_expect_success 'setup: a resumable session with 3 bytes, and a slow upload in flight' '
    head -c 1500000 /dev/urandom >slow &&
    printf "abcdef" >six &&
    L=$(curl -si -X POST "$R/v2/d/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    echo "$L" >session &&
    test "$(http_status -X PATCH --data-binary abc "$R$L")" = 202 &&
    D=sha256:$(sha256sum slow | cut -d" " -f1) &&
    { curl -s --limit-rate 300k -X POST --data-binary @slow "$R/v2/d/blobs/uploads/?digest=$D" >/dev/null 2>&1 & } &&
    sleep 1.5
'

test_expect_success 'kill -9 in the middle of the upload' '
    kill -9 $SREG_PID &&
    test "$(wait_strata_registry_exit)" = 137
'

start_strata_registry
R="http://$SREG"

test_expect_success 'after restart: the partial blob is not visible, metadata is consistent' '
    D=sha256:$(sha256sum slow | cut -d" " -f1) &&
    test "$(http_status -I "$R/v2/d/blobs/$D")" = 404 &&
    registry_stored blobs >stored && ! grep -x "${D#sha256:}" stored &&
    { registry_backend_is s3pg || test "$(sqlite3 "$DB" "PRAGMA integrity_check")" = ok; } &&
    test "$(registry_sql "SELECT count(*) FROM blobs WHERE digest = \"$D\"")" = 0 &&
    n_rows=$(registry_sql "SELECT count(*) FROM blobs") &&
    n_files=$(wc -l <stored) &&
    test "$n_rows" = "$n_files"
'

test_expect_success 'after restart: the session resumes where it was (state re-hashed from disk)' '
    L=$(cat session) &&
    curl -si "$R$L" | tr -d "\r" | grep -i "^Range: 0-2" &&
    test "$(http_status -X PATCH -H "Content-Range: 3-5" --data-binary def "$R$L")" = 202 &&
    D=sha256:$(sha256sum six | cut -d" " -f1) &&
    test "$(http_status -X PUT "$R$L?digest=$D")" = 201 &&
    curl -sf "$R/v2/d/blobs/$D" | cmp - six
'

test_expect_success 'two clients pushing the same blob at once both succeed; stored once' '
    head -c 3000000 /dev/urandom >same &&
    D=sha256:$(sha256sum same | cut -d" " -f1) &&
    for i in 1 2 3; do
        curl -s -o /dev/null -w "%{http_code}\n" -X POST --data-binary @same "$R/v2/c$i/blobs/uploads/?digest=$D" >st$i &
    done &&
    wait &&
    test "$(cat st1 st2 st3 | sort -u)" = 201 &&
    for i in 1 2 3; do curl -sf "$R/v2/c$i/blobs/$D" | cmp - same || exit 1; done &&
    registry_stored blobs >stored && test "$(grep -cx "${D#sha256:}" stored)" = 1 &&
    test "$(registry_sql "SELECT count(*) FROM links WHERE digest = \"$D\"")" = 3
'

test_expect_success 'the same blob through two chunked sessions at once' '
    head -c 2000000 /dev/urandom >same2 &&
    D=sha256:$(sha256sum same2 | cut -d" " -f1) &&
    L1=$(curl -si -X POST "$R/v2/e1/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    L2=$(curl -si -X POST "$R/v2/e2/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    { curl -s -o /dev/null -w "%{http_code}" -X PUT --data-binary @same2 "$R$L1?digest=$D" >s1 & } &&
    { curl -s -o /dev/null -w "%{http_code}" -X PUT --data-binary @same2 "$R$L2?digest=$D" >s2 & } &&
    wait &&
    test "$(cat s1)" = 201 && test "$(cat s2)" = 201 &&
    registry_stored blobs >stored && test "$(grep -cx "${D#sha256:}" stored)" = 1
'

test_expect_success 'N images sharing a base layer store the base once (disk usage)' '
    mkdir -p base && head -c 4000000 /dev/urandom >base/big && make_layer_tgz base base.tgz &&
    usage() {
        if registry_backend_is fs; then du -sk "$TRASH/registry/blobs" | cut -f1; return; fi
        s3_curl -sf "$S3_ENDPOINT/$S3_BUCKET?list-type=2&prefix=blobs%2F" >list || return 1
        grep -o "<Size>[0-9]*</Size>" list | tr -dc "0-9\n" | awk "{s += \$1} END {print int(s / 1024)}"
    } &&
    before=$(usage) &&
    for i in 1 2 3 4; do
        mkdir -p top$i && echo $i >top$i/f && make_layer_tgz top$i top$i.tgz &&
        make_oci_image lay img$i base.tgz top$i.tgz &&
        skopeo copy -q --dest-tls-verify=false oci:lay:img$i docker://$SREG/shared/app$i:latest || exit 1
    done &&
    after=$(usage) &&
    base_kb=$(( $(stat -c %s base.tgz) / 1024 )) &&
    echo "before=$before after=$after base=$base_kb" &&
    test $((after - before)) -lt $((base_kb + base_kb / 2)) &&
    BD=$(sha256sum base.tgz | cut -d" " -f1) &&
    registry_stored blobs >stored && test "$(grep -cx "$BD" stored)" = 1 &&
    test "$(registry_sql "SELECT count(*) FROM links WHERE digest = \"sha256:$BD\"")" = 4
'

test_expect_success 'SIGTERM during a slow upload: the upload finishes, the server exits 0' '
    head -c 800000 /dev/urandom >slow2 &&
    D=sha256:$(sha256sum slow2 | cut -d" " -f1) &&
    { curl -s -o /dev/null -w "%{http_code}" --limit-rate 250k -X POST --data-binary @slow2 "$R/v2/g/blobs/uploads/?digest=$D" >slowst & } &&
    sleep 1 &&
    stop_strata_registry &&
    wait &&
    test "$(cat slowst)" = 201 &&
    test "$(registry_sql "SELECT count(*) FROM blobs WHERE digest = \"$D\"")" = 1 &&
    registry_blob_bytes "$D" >stored.blob &&
    test "$(sha256sum stored.blob | cut -d" " -f1)" = "${D#sha256:}"
'

start_strata_registry --max-uploads 1
R="http://$SREG"

test_expect_success 'too many uploads at once: 429; the slot is freed when a client goes away' '
    D=sha256:$(sha256sum slow | cut -d" " -f1) &&
    { curl -s -o /dev/null --limit-rate 200k -X POST --data-binary @slow "$R/v2/h/blobs/uploads/?digest=$D" & } &&
    cpid=$! &&
    sleep 1 &&
    S6=sha256:$(sha256sum six | cut -d" " -f1) &&
    curl -s -o body -w "%{http_code}" -X POST --data-binary @six "$R/v2/h/blobs/uploads/?digest=$S6" >st &&
    test "$(cat st)" = 429 && jq -e ".errors[0].code == \"TOO_MANY_REQUESTS\"" body &&
    kill $cpid && wait &&
    sleep 0.3 &&
    test "$(http_status -I "$R/v2/h/blobs/$D")" = 404 &&
    test "$(http_status -X POST --data-binary @six "$R/v2/h/blobs/uploads/?digest=$S6")" = 201
'

test_expect_success 'SIGTERM with an idle keep-alive connection open: prompt, clean exit' '
    { python3 -c "
import socket, time
s = socket.create_connection((\"127.0.0.1\", $SREG_PORT))
s.sendall(b\"GET /v2/ HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\")
s.recv(1000)
open(\"connected\", \"w\").close()
time.sleep(4)
" & } &&
    wait_until 30 test -e connected &&
    start=$(date +%s) &&
    stop_strata_registry &&
    test $(( $(date +%s) - start )) -le 3
'

test_done

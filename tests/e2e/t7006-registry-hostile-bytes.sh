#!/bin/sh
# t7006: strata registry — request paths and arguments are client bytes.
# Bytes that are not UTF-8 must not take the server down (jansson refuses
# them in an error body), and newlines or quotes must not forge access log
# lines (text) or drop them (JSON).
. "$(dirname "$0")/lib.sh"

start_strata_registry
R="http://$SREG"

alive() {
    test "$(http_status "$R/v2/")" = 200 && kill -0 "$SREG_PID"
}

test_expect_success 'non-UTF-8 bytes in a digest, a tag, a path: a 4xx each, the server lives' '
    test "$(http_status "$R/v2/a/blobs/md5:%ff")" = 400 && alive &&
    test "$(http_status "$R/v2/a/manifests/x%ff")" = 404 && alive &&
    test "$(http_status -X DELETE "$R/v2/a/manifests/sha256:%c3%28")" = 400 && alive &&
    test "$(http_status "$R/%ff%fe")" = 404 && alive &&
    test "$(http_status -X POST "$R/v2/a/blobs/uploads/?mount=%ff&from=b")" = 400 && alive &&
    test "$(http_status -X POST --data-binary x "$R/v2/a/blobs/uploads/?digest=sha256:%80")" = 400 && alive
'

test_expect_success 'the error body is JSON and shows the bytes escaped' '
    curl -s "$R/v2/a/blobs/md5:%ff" >body &&
    jq -e ".errors[0].code == \"DIGEST_INVALID\"" body &&
    jq -r ".errors[0].message" body >msg &&
    grep -F "invalid digest '\''md5:\\xff'\''" msg
'

test_expect_success 'an https probe of the plain-http port is answered 400 without a warning' '
    test_must_fail curl -sk -o /dev/null "https://$SREG/v2/" &&
    curl -sf -o /dev/null "$R/v2/" &&
    ! grep -i "warning" "$TRASH/strata-registry.log"
'

test_expect_success 'a newline and quotes in the path do not forge a text log line' '
    curl -s -o /dev/null "$R/v2/a%0a127.0.0.1%20-%20%22GET%20/forged%22%20200/tags/list" &&
    curl -s -o /dev/null "$R/v2/x%22y/tags/list" &&
    stop_strata_registry &&
    ! grep "^127.0.0.1 - \"GET /forged\"" "$TRASH/strata-registry.log" &&
    grep -F "\"GET /v2/a\\x0a127.0.0.1 - \\x22GET /forged\\x22 200/tags/list\" 400" "$TRASH/strata-registry.log" &&
    grep -F "\"GET /v2/x\\x22y/tags/list\" 400" "$TRASH/strata-registry.log"
'

start_strata_registry --log-format json
R="http://$SREG"
test_expect_success 'the JSON log keeps one valid line per request, bytes not UTF-8 included' '
    : >"$TRASH/strata-registry.log" &&
    curl -s -o /dev/null "$R/v2/a%ff/tags/list" &&
    curl -s -o /dev/null "$R/v2/a%0ab/tags/list" &&
    curl -s -o /dev/null "$R/v2/" &&
    stop_strata_registry &&
    grep "^{" "$TRASH/strata-registry.log" >lines &&
    jq -e . lines >/dev/null &&
    jq -r .path lines >paths &&
    test "$(grep -cFx "/v2/a\\xff/tags/list" paths)" = 1 &&
    test "$(grep -cFx "/v2/a\\x0ab/tags/list" paths)" = 1 &&
    test "$(grep -cFx "/v2/" paths)" -ge 1
'

test_done

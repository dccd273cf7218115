#!/bin/sh
# t7200: strata registry hardening (issue #15 items 7 and 8): an unknown
# htpasswd user takes as long as a wrong password of a known one (no user
# enumeration by timing); a Range whose last position is >= 2^64-6 is
# clamped (RFC 9110), not 416; a manifest PUT announcing a huge
# Content-Length gets 413 at once; a refused upload chunk is answered 416
# after its body is read, so a client that keeps writing a 1 MiB body reads
# the 416 instead of a broken pipe.
. "$(dirname "$0")/lib.sh"

command -v htpasswd >/dev/null || test_skip_all "htpasswd (apache2-utils) not installed"
BW="$TEST_DIR/helpers/body-writer.py"

# cost 10: ~70 ms per check, far above the noise of a loopback request
htpasswd -B -C 10 -b -c "$TRASH/htpasswd" alice secret1 2>/dev/null
start_strata_registry --htpasswd "$TRASH/htpasswd"
R="http://$SREG"

# median_time USER: the median of 5 failed logins' durations, in ms
median_time() {
    for i in 1 2 3 4 5; do
        curl -s -o /dev/null -w '%{time_total}\n' -u "$1:wrong$i" "$R/v2/"
    done | sort -n | sed -n 3p | awk '{ printf "%d\n", $1 * 1000 }'
}

test_expect_success 'an unknown user takes as long as a wrong password' '
    known=$(median_time alice) && unknown=$(median_time mallory) &&
    echo "known ${known} ms, unknown ${unknown} ms" &&
    test "$known" -ge 10 &&
    test $((unknown * 3)) -ge "$known" && test "$unknown" -le $((known * 3))
'

test_expect_success 'a Range past 2^64-6 is clamped to the blob' '
    printf "0123456789" >blob &&
    D=$(push_blob "alice:secret1@$SREG" a/b blob) &&
    for last in 18446744073709551610 18446744073709551615 18446744073709551616 99999999999999999999999; do
        curl -s -u alice:secret1 -D h -o body -H "Range: bytes=2-$last" "$R/v2/a/b/blobs/$D" &&
        tr -d "\r" <h >hh && grep "^HTTP/1.1 206" hh && grep -i "^Content-Range: bytes 2-9/10" hh &&
        test "$(cat body)" = 23456789 || exit 1
    done &&
    test "$(http_status -u alice:secret1 -H "Range: bytes=-99999999999999999999" "$R/v2/a/b/blobs/$D")" = 206 &&
    test "$(http_status -u alice:secret1 -H "Range: bytes=18446744073709551615-" "$R/v2/a/b/blobs/$D")" = 416
'

test_expect_success 'a manifest PUT announcing a huge Content-Length gets 413 at once' '
    for cl in 5000000 18446744073709551610 18446744073709551615 99999999999999999999; do
        st=$(timeout 10 curl -s -o /dev/null -w "%{http_code}" -u alice:secret1 -X PUT \
            -H "Content-Type: application/vnd.oci.image.manifest.v1+json" -H "Content-Length: $cl" \
            --data-binary x "$R/v2/a/b/manifests/t") &&
        test "$st" = 413 || { echo "Content-Length $cl: $st"; exit 1; }
    done
'

test_expect_success 'a refused 1 MiB chunk is read: the writer gets 416, then the session goes on' '
    curl -s -D h -o /dev/null -u alice:secret1 -X POST "$R/v2/a/b/blobs/uploads/" &&
    loc=$(tr -d "\r" <h | sed -n "s/^[Ll]ocation: //p") && test -n "$loc" &&
    auth="Authorization: Basic $(printf alice:secret1 | base64)" &&
    for i in 1 2 3; do
        python3 "$BW" "$SREG" PATCH "$loc" 1048576 "$auth" "Content-Range: 5-1048580" \
            "Content-Type: application/octet-stream" >out &&
        cat out && grep "^HTTP/1.1 416" out || exit 1
    done &&
    printf "abc" >c1 &&
    test "$(http_status -u alice:secret1 -X PATCH -H "Content-Range: 0-2" --data-binary @c1 "$R$loc")" = 202
'

test_expect_success 'an unauthenticated 1 MiB upload reads its 401' '
    python3 "$BW" "$SREG" POST "/v2/a/b/blobs/uploads/?digest=sha256:0000" 1048576 >out &&
    grep "^HTTP/1.1 401" out
'

stop_strata_registry
test_done

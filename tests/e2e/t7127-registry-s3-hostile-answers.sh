#!/bin/sh
# t7127: an S3 endpoint that answers listings with hostile or broken XML
# (tests/e2e/helpers/hostiles3.py): not XML, an entry without Key or Size,
# truncated without a continuation token or with the same one again (and
# the same for the multipart-upload listing's markers) fail `registry gc`
# with an error naming the listing, in bounded time; keys that escape the
# prefix, bad digests, huge or negative sizes and garbage dates are skipped:
# gc succeeds and writes or deletes nothing.
. "$(dirname "$0")/lib.sh"

export AWS_ACCESS_KEY_ID=hostile AWS_SECRET_ACCESS_KEY=hostile
unset AWS_SESSION_TOKEN AWS_PROFILE
echo empty >"$TRASH/mode"
spawn python3 "$TEST_DIR/helpers/hostiles3.py" "$TRASH/port" "$TRASH/mode" "$TRASH/writes"
wait_until 10 test -s "$TRASH/port"
URL="s3://bkt?endpoint=http://127.0.0.1:$(cat "$TRASH/port")&region=us-east-1"
R="$TRASH/reg"

gc() {
    echo "$1" >"$TRASH/mode" &&
    timeout 30 "$STRATA_BIN" registry gc --root "$R" --storage "$URL" --grace 0 --upload-ttl 0 2>err
}
gc_fails() {
    gc "$1"
    rc=$?
    [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -lt 128 ] && grep -F -- "$2" err ||
        { echo "gc in mode $1 exited $rc:"; cat err; false; } >&2
}

test_expect_success 'a registry over the fake S3 (serve creates the metadata)' '
    PORT=$(free_port) &&
    spawn "$STRATA_BIN" registry serve --root "$R" --storage "$URL" --addr 127.0.0.1:$PORT 2>serve.log &&
    SP=$! &&
    wait_until 60 grep -q "serving" serve.log &&
    kill $SP && wait $SP;
    test -f "$R/meta.db" &&
    gc empty
'

test_expect_success 'listings that are not XML or lack Key or Size fail gc, naming the listing' '
    gc_fails notxml "the answer is not a ListBucketResult" &&
    gc_fails nokey "an entry without Key or Size" &&
    gc_fails nosize "an entry without Key or Size"
'

test_expect_success 'a truncated listing without a token, or with the same token again, fails (no endless loop)' '
    gc_fails notoken "truncated without a continuation token" &&
    gc_fails sametoken "truncated without a new continuation token" &&
    gc_fails up-notoken "S3 list multipart uploads: truncated without new markers" &&
    gc_fails up-sametoken "S3 list multipart uploads: truncated without new markers"
'

test_expect_success 'keys outside the prefix, bad digests, odd sizes and dates: skipped, nothing written or deleted' '
    rm -f "$TRASH/writes" &&
    gc junk &&
    test ! -e "$TRASH/writes"
'

test_done

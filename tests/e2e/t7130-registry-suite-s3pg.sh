#!/bin/sh
# t7130: the registry's e2e suite (t7000-t7011) again over S3 + PostgreSQL:
# each file runs with STRATA_TEST_REGISTRY=s3pg (lib.sh: every registry it
# starts, and its gc/retention runs, get --storage s3://... --metadata
# postgres://...); one TAP line per file, with the tail of its output when it
# fails. One Ceph (RGW) and one PostgreSQL serve all the files (started here
# once; each file gets a fresh bucket and a fresh database in them:
# STRATA_TEST_S3PG_SHARED). The tests of a file that look at the filesystem
# layout or SQLite directly report "# skip" lines there (registry_fs_only);
# they run in the default pass. Skipped with the reason when Ceph or
# PostgreSQL cannot start here.
#
# STRATA_TEST_S3PG_FILES="t7000 t7004" runs only those files.
. "$(dirname "$0")/lib.sh"
# test-timeout: 900

# the files, in order; t7007 (a full tmpfs as --root) does not apply to S3
# and is not run: nothing of it would remain
FILES="t7000 t7001 t7002 t7003 t7004 t7005 t7006 t7008 t7009 t7010 t7011"
FILES=${STRATA_TEST_S3PG_FILES:-$FILES}

SHARED="$TRASH/s3pg"
mkdir -p "$SHARED"
_stop_shared() {
    "$TEST_DIR/helpers/postgres.sh" stop "$SHARED/pg" >/dev/null 2>&1
    "$TEST_DIR/helpers/ceph.sh" stop "$SHARED/ceph" >/dev/null 2>&1
    test_cleanup
}
trap _stop_shared EXIT
"$TEST_DIR/helpers/ceph.sh" start "$SHARED/ceph" >/dev/null 2>"$TRASH/.ceph-reason" ||
    test_skip_all "Ceph cannot start: $(cat "$TRASH/.ceph-reason")"
"$TEST_DIR/helpers/postgres.sh" start "$SHARED/pg" >/dev/null 2>"$TRASH/.pg-reason" ||
    test_skip_all "PostgreSQL cannot start: $(cat "$TRASH/.pg-reason")"
_ceph_vars "$SHARED/ceph"
PG_BASE=$(cat "$SHARED/pg/url")

for t in $FILES; do
    f=$(ls "$TEST_DIR/$t"-*.sh 2>/dev/null | head -1)
    test_count=$((test_count + 1))
    if [ -z "$f" ]; then
        test_failed=$((test_failed + 1))
        echo "not ok $test_count - $t: no such test file"
        continue
    fi
    name=$(basename "$f" .sh)
    _test_status "$test_count - $name over s3pg"
    start=$(date +%s)
    STRATA_TEST_REGISTRY=s3pg STRATA_TEST_S3PG_SHARED="$SHARED" \
        timeout -k 10 300 sh "$f" >"$TRASH/$name.out" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    oks=$(grep -c "^ok " "$TRASH/$name.out")
    skips=$(grep -c "^ok .*# skip " "$TRASH/$name.out")
    plan=$(grep -E "^1\.\.[0-9]+" "$TRASH/$name.out" | tail -1)
    # the file ran over this Ceph and PostgreSQL: its database has the
    # registry schema and its bucket objects (t7006 and t7009 store nothing)
    used=$(grep "^$name " "$SHARED/used" 2>/dev/null | tail -1)
    bucket=$(echo "$used" | cut -d" " -f2) db=$(echo "$used" | cut -d" " -f3)
    objects=$(s3_curl -sf "$S3_ENDPOINT/$bucket?list-type=2" | grep -o "<Key>" | wc -l)
    schema=$(psql -qAt "${PG_BASE%/*}/$db" -c "SELECT max(version) FROM strata_schema" 2>/dev/null)
    if grep -q "^1\.\.0 # SKIP" "$TRASH/$name.out"; then
        test_failed=$((test_failed + 1))
        echo "not ok $test_count - $name over s3pg skipped itself: $(sed -n 's/^1\.\.0 # SKIP //p' "$TRASH/$name.out")"
    elif [ $rc -eq 0 ] && [ -n "$plan" ] && ! grep -q "^not ok" "$TRASH/$name.out" &&
        [ "${plan#1..}" -eq "$oks" ]; then
        if [ -z "$used" ] || [ -z "$schema" ] || { [ "$objects" -eq 0 ] && [ "$t" != t7006 ] && [ "$t" != t7009 ]; }; then
            test_failed=$((test_failed + 1))
            echo "not ok $test_count - $name passed but not over s3pg: bucket '$bucket' has $objects objects, database '$db' schema '$schema'"
            continue
        fi
        echo "ok $test_count - $name over s3pg: $((oks - skips)) passed, $skips skipped (fs only), $objects objects, schema $schema, ${secs}s"
    else
        test_failed=$((test_failed + 1))
        echo "not ok $test_count - $name over s3pg (exit $rc, ${secs}s)"
        tail -40 "$TRASH/$name.out" | sed 's/^/#   /'
    fi
done

test_done

#!/bin/sh
# t7010: strata registry — the storage seams (blob store + metadata
# interfaces): a blob the blob store cannot read for another reason than
# absence is a 500, not 404 BLOB_UNKNOWN; an upload session's hash state is
# saved with its metadata (not in the process), so a chunk after a restart
# continues from it; a database of the previous schema is upgraded.
. "$(dirname "$0")/lib.sh"

DB="$TRASH/registry/meta.db"
registry_backend_start

registry_fs_only "a SQLite database of schema version 0"
test_expect_success 'setup: a database of schema version 0 (uploads without hash state)' '
    mkdir -p registry &&
    sqlite3 "$DB" "CREATE TABLE uploads(uuid TEXT PRIMARY KEY, repo TEXT NOT NULL,
        created INTEGER NOT NULL, updated INTEGER NOT NULL) WITHOUT ROWID;
        INSERT INTO uploads VALUES(\"0123456789abcdef0123456789abcdef\", \"old\", 1, 1);" &&
    test "$(sqlite3 "$DB" "PRAGMA user_version")" = 0
'

start_strata_registry
R="http://$SREG"

registry_fs_only "the SQLite schema upgrade"
test_expect_success 'the old database is upgraded at start: version 1, rows kept' '
    test "$(sqlite3 "$DB" "PRAGMA user_version")" = 1 &&
    test "$(sqlite3 "$DB" "SELECT repo || \"/\" || hash_offset || \"/\" || bs_state FROM uploads")" = "old/0/"
'

registry_fs_only "it replaces a blob file with a symlink loop"
test_expect_success 'an unreadable blob (ELOOP) is 500 on GET and HEAD, an absent one 404' '
    printf "blob bytes" >b1 &&
    D=$(push_blob "$SREG" s/one b1) &&
    H=${D#sha256:} &&
    F="$TRASH/registry/blobs/sha256/$(echo "$H" | cut -c1-2)/$H" &&
    test -f "$F" &&
    mv "$F" "$F.saved" && ln -s "$F" "$F" &&
    test "$(http_status "$R/v2/s/one/blobs/$D")" = 500 &&
    test "$(http_status -I "$R/v2/s/one/blobs/$D")" = 500 &&
    rm "$F" &&
    curl -s "$R/v2/s/one/blobs/$D" >body &&
    grep BLOB_UNKNOWN body &&
    mv "$F.saved" "$F" &&
    curl -sf "$R/v2/s/one/blobs/$D" | cmp - b1
'

test_expect_success 'a PATCH saves the session hash state at its offset in the metadata' '
    head -c 300000 /dev/urandom >big &&
    head -c 100000 big >part1 && tail -c +100001 big >part2 &&
    L=$(curl -si -X POST "$R/v2/s/two/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    echo "$L" >session &&
    test "$(http_status -X PATCH -H "Content-Range: 0-99999" --data-binary @part1 "$R$L")" = 202 &&
    U=${L##*/} &&
    test "$(registry_sql "SELECT hash_offset, CASE WHEN length(hash_state) > 0 THEN 1 ELSE 0 END FROM uploads WHERE uuid = \"$U\"")" = "100000|1"
'

stop_strata_registry
start_strata_registry
R="http://$SREG"

test_expect_success 'after a restart the next chunk continues from the saved state and the digest is right' '
    L=$(cat session) &&
    test "$(http_status -X PATCH -H "Content-Range: 100000-299999" --data-binary @part2 "$R$L")" = 202 &&
    D=sha256:$(sha256sum big | cut -d" " -f1) &&
    test "$(http_status -X PUT "$R$L?digest=$D")" = 201 &&
    curl -sf "$R/v2/s/two/blobs/$D" | cmp - big
'

test_expect_success 'a saved state of another layout is refused: the bytes are re-hashed from the blob store' '
    L=$(curl -si -X POST "$R/v2/s/three/blobs/uploads/" | tr -d "\r" | sed -n "s/^Location: //Ip") &&
    U=${L##*/} &&
    test "$(http_status -X PATCH -H "Content-Range: 0-99999" --data-binary @part1 "$R$L")" = 202 &&
    if registry_backend_is s3pg; then
        registry_sql "UPDATE uploads SET hash_state = decode(\"00000000\", \"hex\") WHERE uuid = \"$U\""
    else
        sqlite3 "$DB" "UPDATE uploads SET hash_state = zeroblob(4) WHERE uuid = \"$U\""
    fi &&
    test "$(registry_sql "SELECT length(hash_state) FROM uploads WHERE uuid = \"$U\"")" = 4 &&
    test "$(http_status -X PATCH -H "Content-Range: 100000-299999" --data-binary @part2 "$R$L")" = 202 &&
    D=sha256:$(sha256sum big | cut -d" " -f1) &&
    test "$(http_status -X PUT "$R$L?digest=$D")" = 201
'

test_expect_success 'the registry stops cleanly' '
    stop_strata_registry
'

test_done

#!/bin/sh
# t5401: scripts/check-includes keeps docs/architecture.md's include direction
# (module ranks, the documented same-rank exceptions, private internal
# headers): the tree passes, and each kind of violation planted in a copy of
# it fails naming the file, the line and the rule.
. "$(dirname "$0")/lib.sh"

check="$SRC_DIR/scripts/check-includes"

# plant FILE TEXT: a copy of the tree with TEXT appended to src/FILE
plant() {
    rm -rf tree && mkdir -p tree/docs && cp -r "$SRC_DIR/src" tree/ &&
    cp "$SRC_DIR/docs/architecture.md" tree/docs/ &&
    printf '%s\n' "$2" >>"tree/src/$1"
}

test_expect_success 'the tree keeps the documented direction' '
    "$check" "$SRC_DIR"
'

test_expect_success 'build including the registry client fails (hooks only)' '
    plant build/fetch.c "#include \"registry/client.h\"" &&
    test_exit_code 1 "$check" tree >out 2>&1 && cat out &&
    grep "^src/build/fetch.c:[0-9]*: build (rank 3) includes \"registry/client.h\" of registry/client (rank 3): same rank, not a listed exception" out
'

test_expect_success 'build including the cache fails' '
    plant build/engine.c "#include \"cache/cache.h\"" &&
    test_exit_code 1 "$check" tree >out 2>&1 && grep "^src/build/engine.c:[0-9]*: build .*cache/cache.h" out
'

test_expect_success 'an upward include fails (store -> build)' '
    plant store/blob.c "#include \"build/build.h\"" &&
    test_exit_code 1 "$check" tree >out 2>&1 &&
    grep "^src/store/blob.c:[0-9]*: store (rank 2) includes \"build/build.h\" of build (rank 3): upwards" out
'

test_expect_success 'util including oci fails; oci including util passes' '
    plant util/buf.c "#include \"oci/digest.h\"" &&
    test_exit_code 1 "$check" tree >out 2>&1 && grep "^src/util/buf.c:.*upwards" out &&
    plant oci/digest.c "#include \"util/buf.h\"" && "$check" tree
'

test_expect_success 'the registry server and client never include each other' '
    plant registry/server/blobs.c "#include \"registry/client.h\"" &&
    test_exit_code 1 "$check" tree >out 2>&1 && grep "^src/registry/server/blobs.c:" out &&
    plant registry/client/http.c "#include \"registry/server/server.h\"" &&
    test_exit_code 1 "$check" tree >out 2>&1 && grep "^src/registry/client/http.c:" out
'

test_expect_success 'documented exceptions pass: cache -> registry client, cli -> anything' '
    plant cache/push.c "#include \"registry/transfer.h\"" && "$check" tree &&
    plant cli/tag.c "#include \"registry/server/server.h\"" && "$check" tree
'

test_expect_success "another module's internal header fails" '
    plant cli/tag.c "#include \"store/internal.h\"" &&
    test_exit_code 1 "$check" tree >out 2>&1 &&
    grep "^src/cli/tag.c:[0-9]*: cli includes \"store/internal.h\", private to store" out
'

test_expect_success 'a module missing from the table fails' '
    plant util/buf.c "" && mkdir tree/src/newmod && echo "#include \"util/util.h\"" >tree/src/newmod/x.c &&
    test_exit_code 1 "$check" tree >out 2>&1 && grep "^src/newmod/x.c:1: not in the include-ranks table" out
'

test_expect_success 'libcurl in build fails (ADD <url> goes through the fetch_url hook)' '
    plant build/fetch.c "#include <curl/curl.h>" &&
    test_exit_code 1 "$check" tree >out 2>&1 &&
    grep "^src/build/fetch.c:[0-9]*: build includes <curl/curl.h>, which only registry/client or s3 may use" out &&
    plant registry/server/meta.c "#include <sqlite3.h>" && "$check" tree &&
    plant cache/push.c "#include <sqlite3.h>" && test_exit_code 1 "$check" tree
'

test_expect_success 'the table is read from docs/architecture.md' '
    plant build/fetch.c "#include \"registry/client.h\"" &&
    sed -i "s/^| build | 3 | |/| build | 3 | registry\\/client |/" tree/docs/architecture.md &&
    "$check" tree
'

test_done

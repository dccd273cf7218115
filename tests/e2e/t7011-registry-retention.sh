#!/bin/sh
# t7011: strata registry retention — keeps exactly the newest N tags
# matching the regex in each repository matching the glob, never touches
# other tags or repositories, --dry-run changes nothing, --older-than spares
# recent tags, a bad regex is a usage error; the next gc frees what only
# the deleted tags referenced.
. "$(dirname "$0")/lib.sh"

start_strata_registry
R="http://$SREG"

# put_manifest REPO TAG CONTENT: an image with one config blob
put_manifest() {
    printf "%s" "$3" >cfg.$2
    C=$(push_blob "$SREG" "$1" cfg.$2) &&
    S=$(stat -c %s cfg.$2) &&
    printf "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%s},\"layers\":[]}" "$C" "$S" >man.$2 &&
    test "$(http_status -X PUT -H "Content-Type: application/vnd.oci.image.manifest.v1+json" --data-binary @man.$2 "$R/v2/$1/manifests/$2")" = 201
}

test_expect_success 'setup: ci/app with tags run-1..run-5 (distinct ages) and stable, ci/other, keep/app' '
    for i in 1 2 3 4 5; do put_manifest ci/app run-$i "{\"run\":$i}" || exit 1; done &&
    put_manifest ci/app stable "{\"stable\":1}" &&
    put_manifest ci/other run-1 "{\"other\":1}" && put_manifest ci/other run-2 "{\"other\":2}" &&
    put_manifest keep/app run-1 "{\"keep\":1}" &&
    for i in 1 2 3 4 5; do
        registry_sql "UPDATE tags SET updated = 1000 + $i WHERE name = \"run-$i\" AND repo = (SELECT id FROM repos WHERE name = \"ci/app\")" || exit 1
    done
'

test_expect_success '--dry-run lists and changes nothing' '
    strata_registry retention --root "$TRASH/registry" --repository "ci/*" --match "^run-[0-9]+$" \
        --keep-last 2 --dry-run >out &&
    grep -x "would delete 3 tags" out &&
    grep "^would delete ci/app:run-1 " out && grep "^keep ci/app:run-5 " out &&
    curl -sf "$R/v2/ci/app/tags/list" | jq -e ".tags | length == 6"
'

test_expect_success '--older-than spares tags set more recently' '
    strata_registry retention --root "$TRASH/registry" --repository "ci/other" --match "^run-" \
        --keep-last 0 --older-than 30d >out &&
    grep -x "deleted 0 tags" out &&
    strata_registry retention --root "$TRASH/registry" --repository "ci/app" --match "^run-" \
        --keep-last 0 --older-than 30d --dry-run >out &&
    grep -x "would delete 5 tags" out
'

test_expect_success 'keeps exactly the newest N matching tags, other tags and repositories untouched' '
    strata_registry retention --root "$TRASH/registry" --repository "ci/*" --match "^run-[0-9]+$" \
        --keep-last 2 >out &&
    grep -x "deleted 3 tags" out &&
    curl -sf "$R/v2/ci/app/tags/list" | jq -ce .tags >t && test "$(cat t)" = "[\"run-4\",\"run-5\",\"stable\"]" &&
    curl -sf "$R/v2/ci/other/tags/list" | jq -ce .tags >t && test "$(cat t)" = "[\"run-1\",\"run-2\"]" &&
    curl -sf "$R/v2/keep/app/tags/list" | jq -ce .tags >t && test "$(cat t)" = "[\"run-1\"]"
'

test_expect_success 'the next gc removes the manifests only the deleted tags referenced' '
    strata_registry gc --root "$TRASH/registry" --grace 0 >gc.out &&
    test "$(grep -c "^removed manifest ci/app@" gc.out)" = 3 &&
    test "$(http_status "$R/v2/ci/app/manifests/run-4")" = 200
'

test_expect_success 'a bad regex and a missing --keep-last are usage errors' '
    test_exit_code 2 strata registry retention --root "$TRASH/registry" --repository "*" --match "(" --keep-last 1 2>err &&
    grep -- "--match" err &&
    test_exit_code 2 strata registry retention --root "$TRASH/registry" --repository "*" --match x 2>err &&
    grep -- "--keep-last" err
'

test_expect_success 'the registry stops cleanly' '
    stop_strata_registry
'

test_done

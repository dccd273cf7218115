#!/bin/sh
# t7121: retention as a policy file the server applies (`strata registry
# serve --retention-policy FILE --retention-interval AGE`): at start, on the
# schedule and at once on SIGHUP; the file is read again each time (YAML or
# JSON); every deleted tag and each run are logged; a policy that no longer
# reads is logged with FILE:LINE: rule N: FIELD and not applied while the
# server keeps serving; a bad policy at start is an error before anything
# is served; `strata registry retention --policy FILE` applies the same file
# once.
. "$(dirname "$0")/lib.sh"

LOG=$TRASH/strata-registry.log

# put_manifest REPO TAG: a small image with its own config blob
put_manifest() {
    printf '{"repo":"%s","tag":"%s"}' "$1" "$2" >cfg.$2
    C=$(push_blob "$SREG" "$1" cfg.$2) &&
    S=$(stat -c %s cfg.$2) &&
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[]}' "$C" "$S" >man.$2 &&
    test "$(http_status -X PUT -H "Content-Type: application/vnd.oci.image.manifest.v1+json" --data-binary @man.$2 "http://$SREG/v2/$1/manifests/$2")" = 201
}

# tags_are REPO JSON: the repository's tags (sorted) are exactly JSON
tags_are() {
    test "$(curl -sf "http://$SREG/v2/$1/tags/list" | jq -c ".tags | sort")" = "$2"
}

cat >"$TRASH/policy.yaml" <<'EOF'
# CI tags: the newest two of each ci/ repository
- repository: "ci/*"
  match: "^run-[0-9]+$"
  keep-last: 2
EOF

test_expect_success 'a bad policy at start is an error naming FILE:LINE: rule: field, nothing served' '
    printf -- "- repository: \"ci/*\"\n  match: \"^run-\"\n  keep_last: 2\n" >bad.yaml &&
    P=$(free_port) &&
    test_exit_code 1 strata registry serve --root "$TRASH/registry" --addr 127.0.0.1:$P \
        --retention-policy bad.yaml 2>err &&
    grep "bad.yaml:3: rule 1: keep_last: unknown key" err &&
    test "$(http_status "http://127.0.0.1:$P/v2/")" = 000 &&
    test_exit_code 1 strata registry serve --root "$TRASH/registry" --addr 127.0.0.1:$P \
        --retention-policy nosuch.yaml 2>err &&
    grep "nosuch.yaml" err
'

test_expect_success 'a bad --retention-interval, or one without a policy, is a usage error' '
    test_exit_code 2 strata registry serve --root "$TRASH/registry" --retention-policy "$TRASH/policy.yaml" \
        --retention-interval 0 2>err &&
    grep -- "--retention-interval" err &&
    test_exit_code 2 strata registry serve --root "$TRASH/registry" --retention-policy "$TRASH/policy.yaml" \
        --retention-interval 3w 2>err &&
    grep -- "3w" err &&
    test_exit_code 2 strata registry serve --root "$TRASH/registry" --retention-interval 1h 2>err &&
    grep -- "needs --retention-policy" err
'

start_strata_registry --retention-policy "$TRASH/policy.yaml" --retention-interval 1h

test_expect_success 'the policy is applied at start and the run is logged' '
    wait_log "$LOG" "retention: .*policy.yaml applied \(1 rules\): deleted 0 tags"
'

test_expect_success 'setup: ci/app run-1..run-5 and stable, ci/lib run-1..run-3, other/app run-1..run-3' '
    for i in 1 2 3 4 5; do put_manifest ci/app run-$i || exit 1; done &&
    put_manifest ci/app stable &&
    for i in 1 2 3; do put_manifest ci/lib run-$i && put_manifest other/app run-$i || exit 1; done &&
    tags_are ci/app "[\"run-1\",\"run-2\",\"run-3\",\"run-4\",\"run-5\",\"stable\"]"
'

test_expect_success 'SIGHUP applies it now: exactly the newest 2 matching tags kept per repository, each deletion logged' '
    kill -HUP "$SREG_PID" &&
    wait_log "$LOG" "SIGHUP, applying the retention policy" &&
    wait_log "$LOG" "applied \(1 rules\): deleted 4 tags" &&
    tags_are ci/app "[\"run-4\",\"run-5\",\"stable\"]" &&
    tags_are ci/lib "[\"run-2\",\"run-3\"]" &&
    tags_are other/app "[\"run-1\",\"run-2\",\"run-3\"]" &&
    for t in ci/app:run-1 ci/app:run-2 ci/app:run-3 ci/lib:run-1; do
        grep -q "retention: .*policy.yaml rule 1: deleted $t (sha256:" "$LOG" || exit 1
    done &&
    ! grep -E "deleted (ci/app:(run-4|run-5|stable)|other/app)" "$LOG"
'

test_expect_success 'a policy that no longer reads is logged with FILE:LINE: rule: field and not applied' '
    cp "$TRASH/policy.yaml" good.yaml &&
    sed -i "s/keep-last: 2/keep-last: two/" "$TRASH/policy.yaml" &&
    put_manifest ci/app run-6 && put_manifest ci/app run-7 &&
    kill -HUP "$SREG_PID" &&
    wait_log "$LOG" "retention: policy not applied: .*policy.yaml:4: rule 1: keep-last: expected a whole number" &&
    tags_are ci/app "[\"run-4\",\"run-5\",\"run-6\",\"run-7\",\"stable\"]" &&
    test "$(http_status "http://$SREG/v2/")" = 200
'

test_expect_success 'the file is read again each run: now JSON, keep-last 1' '
    cat >"$TRASH/policy.yaml" <<-EOF &&
	[{"repository": "ci/app", "match": "^run-", "keep-last": 1},
	 {"repository": "other/*", "match": "^run-[12]$", "keep-last": 0}]
	EOF
    kill -HUP "$SREG_PID" &&
    wait_log "$LOG" "applied \(2 rules\)" &&
    tags_are ci/app "[\"run-7\",\"stable\"]" &&
    tags_are ci/lib "[\"run-2\",\"run-3\"]" &&
    tags_are other/app "[\"run-3\"]"
'

test_expect_success 'strata registry retention --policy applies the same file once (dry run first)' '
    put_manifest ci/app run-8 &&
    strata registry retention --root "$TRASH/registry" --policy "$TRASH/policy.yaml" --dry-run >out &&
    grep -x "would delete 1 tags" out && grep "^would delete ci/app:run-7 " out && grep "^keep ci/app:run-8 " out &&
    tags_are ci/app "[\"run-7\",\"run-8\",\"stable\"]" &&
    strata registry retention --root "$TRASH/registry" --policy "$TRASH/policy.yaml" >out &&
    grep -x "deleted 1 tags" out &&
    tags_are ci/app "[\"run-8\",\"stable\"]" &&
    test_exit_code 2 strata registry retention --root "$TRASH/registry" --policy "$TRASH/policy.yaml" \
        --keep-last 1 2>err &&
    grep -- "--policy goes without" err
'

test_expect_success 'the registry stops cleanly' '
    stop_strata_registry
'

# the schedule: no SIGHUP, a 1 s interval
wc -l <"$LOG" >"$TRASH/log.before"
start_strata_registry --retention-policy "$TRASH/policy.yaml" --retention-interval 1s

test_expect_success 'on the schedule: tags pushed after start go at a later run, unasked' '
    put_manifest ci/app run-9 &&
    wait_until 15 tags_are ci/app "[\"run-9\",\"stable\"]" &&
    tail -n +$(($(cat log.before) + 1)) "$LOG" >since &&
    grep "retention: .*policy.yaml rule 1: deleted ci/app:run-8 " since &&
    test "$(grep -c "applied (2 rules)" since)" -ge 2 &&
    ! grep SIGHUP since
'

test_expect_success 'the registry with a schedule stops cleanly' '
    stop_strata_registry
'

test_done

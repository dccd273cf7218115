#!/bin/sh
# t7125: retention over S3 + PostgreSQL with two instances: tags pushed
# through A and B alternately; instance A applies a retention policy
# (--retention-policy, SIGHUP to run it now) that keeps exactly the newest N
# matching tags of each matching repository — B sees the result at once;
# older-than spares recent tags; other tags and repositories are untouched;
# the next gc removes the images only the deleted tags held, from the
# metadata and from the bucket, and the kept images stay whole.
. "$(dirname "$0")/lib.sh"
# test-timeout: 300

start_ceph
start_postgres

cat >"$TRASH/policy.yaml" <<'EOF'
- repository: "ci/*"
  match: "^run-[0-9]+$"
  keep-last: 3
- repository: "old/app"
  match: "^x-"
  keep-last: 0
  older-than: 1h
EOF

start_sreg_instance A --root "$TRASH/a" --storage "$S3_URL" --metadata "$PG_URL" \
    --retention-policy "$TRASH/policy.yaml" --retention-interval 1h
start_sreg_instance B --root "$TRASH/b" --storage "$S3_URL" --metadata "$PG_URL"

# push ADDR REPO TAG: an image whose layer is unique to REPO:TAG (its
# layout is $TAG-$REPO with / as _, the layer digest in .layer)
push() {
    _pd=$(echo "$2-$3" | tr / _)
    mkdir -p "$_pd.d" && head -c 100000 /dev/urandom >"$_pd.d/f" && make_layer_tgz "$_pd.d" "$_pd.tgz" &&
    make_oci_image "$_pd" "$3" "$_pd.tgz" && echo "$OCI_MANIFEST_DIGEST" >"$_pd.digest" &&
    jq -r ".layers[0].digest" "$_pd/blobs/sha256/${OCI_MANIFEST_DIGEST#sha256:}" >"$_pd.layer" &&
    skopeo copy --dest-tls-verify=false "oci:$_pd:$3" "docker://$1/$2:$3" >/dev/null
}

tags_are() {
    test "$(curl -sf "http://$1/v2/$2/tags/list" | jq -c ".tags | sort")" = "$3"
}

test_expect_success 'the policy ran at start on A (nothing to delete)' '
    wait_log "$TRASH/A.log" "retention: .*policy.yaml applied \(2 rules\): deleted 0 tags"
'

test_expect_success 'setup: ci/app run-1..run-7 and stable, ci/lib run-1..run-4 through A and B in turn, old/app x-1..x-3' '
    for i in 1 2 3 4 5 6 7; do
        if [ $((i % 2)) = 1 ]; then X=$A_ADDR; else X=$B_ADDR; fi
        push $X ci/app run-$i || exit 1
    done &&
    push $B_ADDR ci/app stable &&
    for i in 1 2 3 4; do push $A_ADDR ci/lib run-$i || exit 1; done &&
    for i in 1 2 3; do push $B_ADDR old/app x-$i || exit 1; done &&
    psql -q "$PG_URL" -c "UPDATE tags SET updated = updated - 7200 WHERE name IN ('"'"'x-1'"'"', '"'"'x-2'"'"')" &&
    tags_are $A_ADDR ci/app "[\"run-1\",\"run-2\",\"run-3\",\"run-4\",\"run-5\",\"run-6\",\"run-7\",\"stable\"]"
'

test_expect_success 'A applies the policy (SIGHUP): exactly the newest 3 matching tags kept, seen through B' '
    kill -HUP "$A_PID" &&
    wait_log "$TRASH/A.log" "applied \(2 rules\): deleted 7 tags" &&
    tags_are $B_ADDR ci/app "[\"run-5\",\"run-6\",\"run-7\",\"stable\"]" &&
    tags_are $B_ADDR ci/lib "[\"run-2\",\"run-3\",\"run-4\"]" &&
    tags_are $B_ADDR old/app "[\"x-3\"]" &&
    for t in ci/app:run-1 ci/app:run-2 ci/app:run-3 ci/app:run-4 ci/lib:run-1 old/app:x-1 old/app:x-2; do
        grep -q "retention: .*policy.yaml rule [12]: deleted $t (sha256:" "$TRASH/A.log" || exit 1
    done
'

test_expect_success 'the next gc removes what only the deleted tags held, from the bucket too' '
    strata registry gc --root "$TRASH/b" --storage "$S3_URL" --metadata "$PG_URL" --grace 0 >gc.out &&
    test "$(grep -c "^removed manifest " gc.out)" = 7 &&
    bucket_keys blobs%2F >keys &&
    for d in ci_app-run-1 ci_app-run-4 ci_lib-run-1 old_app-x-2; do
        L=$(cat $d.layer) && ! grep -x "blobs/sha256/${L#sha256:}" keys || exit 1
    done &&
    for d in ci_app-run-5 ci_app-run-7 ci_app-stable ci_lib-run-4 old_app-x-3; do
        L=$(cat $d.layer) && grep -x "blobs/sha256/${L#sha256:}" keys || exit 1
    done
'

test_expect_success 'the kept images are whole through both instances' '
    for t in run-5 run-6 run-7 stable; do
        for X in $A_ADDR $B_ADDR; do
            rm -rf back && skopeo copy --src-tls-verify=false docker://$X/ci/app:$t oci:back:$t >/dev/null &&
            test "$(jq -r ".manifests[0].digest" back/index.json)" = "$(cat ci_app-$t.digest)" &&
            cmp "back/blobs/sha256/$(cut -d: -f2 ci_app-$t.layer)" ci_app-$t.tgz || exit 1
        done
    done
'

test_expect_success 'strata registry retention --policy --storage --metadata agrees: nothing left to delete' '
    strata registry retention --root "$TRASH/b" --storage "$S3_URL" --metadata "$PG_URL" \
        --policy "$TRASH/policy.yaml" --dry-run >out &&
    grep -x "would delete 0 tags" out && grep -c "^keep " out >n && test "$(cat n)" = 7
'

test_expect_success 'no sanitizer report in either instance log' '
    sreg_logs_clean A B
'

test_done

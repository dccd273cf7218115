#!/bin/sh
# t7111: the --storage s3:// option without a bucket to talk to: every bad
# URL is a usage error (exit 2) naming the field, before any request;
# credentials from the environment or the shared credentials file (profile,
# missing file, missing key) with errors naming the file and profile;
# --storage-redirect needs --storage; --help documents the options.
. "$(dirname "$0")/lib.sh"

# an endpoint where nothing listens: anything that gets past the checks fails to connect
P=$(free_port)
GOOD="s3://bkt?endpoint=http://127.0.0.1:$P&region=us-east-1"
export HOME="$TRASH/home"
mkdir -p "$HOME"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE

bad_url() {
    test_exit_code 2 strata registry gc --storage "$1" --metadata postgres://u@127.0.0.1:1/db 2>err &&
    grep -F -- "$2" err
}

test_expect_success 'bad s3:// URLs are usage errors naming the field' '
    bad_url "s3://?endpoint=http://h&region=r" "the bucket is missing" &&
    bad_url "s3://No_Such?endpoint=http://h&region=r" "bucket '"'"'No_Such'"'"' is not a valid bucket name" &&
    bad_url "s3://bkt?region=r" "endpoint is required" &&
    bad_url "s3://bkt?endpoint=ftp://h&region=r" "endpoint '"'"'ftp://h'"'"' must start with http:// or https://" &&
    bad_url "s3://bkt?endpoint=http://h/x&region=r" "no path, query or user" &&
    bad_url "s3://bkt?endpoint=http://h:0&region=r" "has a bad port" &&
    bad_url "s3://bkt?endpoint=http://h" "region is required" &&
    bad_url "s3://bkt?endpoint=http://h&region=r&bucket=x" "unknown parameter '"'"'bucket'"'"'" &&
    bad_url "s3://bkt?endpoint=http://h&region=r&prefix=../x" "prefix" &&
    bad_url "file:///srv" "expected s3://BUCKET?endpoint=URL&region=R"
'

test_expect_success 'serve and retention check the URL the same way' '
    test_exit_code 2 strata registry serve --root srv --storage "s3://bkt?region=r" --addr 127.0.0.1:0 2>e1 &&
    grep "endpoint is required" e1 &&
    test_exit_code 2 strata registry retention --storage "s3://bkt?endpoint=http://h" --repository "*" \
        --match . --keep-last 1 2>e2 &&
    grep "region is required" e2
'

test_expect_success '--storage-redirect needs --storage' '
    test_exit_code 2 strata registry serve --root srv --storage-redirect 2>e &&
    grep -- "--storage-redirect needs --storage" e
'

test_expect_success 'no credentials anywhere: the error says where it looked' '
    test_exit_code 2 strata registry gc --storage "$GOOD" --metadata postgres://u@127.0.0.1:1/db 2>e &&
    grep "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or write profile .default. in $HOME/.aws/credentials" e
'

test_expect_success 'half the environment is an error naming the missing variable' '
    AWS_ACCESS_KEY_ID=AK test_exit_code 2 strata registry gc --storage "$GOOD" --metadata postgres://u@127.0.0.1:1/db 2>e &&
    grep "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not" e
'

test_expect_success 'the shared credentials file: profile chosen by AWS_PROFILE, errors name file and profile' '
    mkdir -p "$HOME/.aws" &&
    printf "[default]\naws_access_key_id = AK\naws_secret_access_key = SK\n[ci]\naws_access_key_id = AK2\n" >"$HOME/.aws/credentials" &&
    test_must_fail strata registry gc --storage "$GOOD" --metadata postgres://u@127.0.0.1:1/db 2>e1 &&
    grep "S3 HEAD http://127.0.0.1:$P/bkt: Couldn.t connect to server (after retries)" e1 &&
    AWS_PROFILE=ci test_must_fail strata registry gc --storage "$GOOD" --metadata postgres://u@127.0.0.1:1/db 2>e2 &&
    grep "$HOME/.aws/credentials: profile .ci. lacks aws_secret_access_key" e2 &&
    AWS_PROFILE=nope test_must_fail strata registry gc --storage "$GOOD" --metadata postgres://u@127.0.0.1:1/db 2>e3 &&
    grep "$HOME/.aws/credentials: no profile .nope. (AWS_PROFILE)" e3 &&
    printf "[x]\naws_access_key_id = A\naws_secret_access_key = S\n" >other &&
    AWS_SHARED_CREDENTIALS_FILE=$TRASH/other AWS_PROFILE=x test_must_fail strata registry gc --storage "$GOOD" \
        --metadata postgres://u@127.0.0.1:1/db 2>e4 &&
    grep "Couldn.t connect" e4
'

test_expect_success '--help documents --storage and --storage-redirect' '
    strata registry serve --help >h &&
    grep -- "--storage URL" h && grep -- "s3://BUCKET?endpoint=URL&region=R\[&prefix=P\]" h &&
    grep -- "--storage-redirect" h &&
    strata registry gc --help | grep -- "--storage URL" &&
    strata registry retention --help | grep -- "--storage URL"
'

test_done

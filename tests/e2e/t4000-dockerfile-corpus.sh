#!/bin/sh
# t4000: the Dockerfile corpus (tests/dockerfile/<case>/): `strata parse` on
# each case must print exactly expected.json, or fail with exactly
# expected.err on stderr. Plus the parse verb's own options.
. "$(dirname "$0")/lib.sh"

CORPUS="$SRC_DIR/tests/dockerfile"
for d in "$CORPUS"/*/; do
    name=$(basename "$d")
    test_expect_success "corpus: $name" "STRATA_BIN='$STRATA_BIN' '$CORPUS/run-case' '$d'"
done

test_expect_success 'every case has exactly one expected file' '
    for d in "$CORPUS"/*/; do
        n=$(ls "$d" | grep -c "^expected\.\(json\|err\)$")
        [ "$n" = 1 ] || { echo "$d: $n expected files"; exit 1; }
    done
'

test_expect_success 'parse -f - reads stdin' '
    printf "FROM alpine\nRUN echo hi\n" | strata parse -f - --platform linux/amd64 >out &&
    jq -e ".stages[0].steps[0].command.script == \"echo hi\"" out &&
    jq -e ".file == \"Dockerfile\"" out
'

test_expect_success 'parse reads ./Dockerfile by default' '
    mkdir ctx && printf "FROM busybox\n" >ctx/Dockerfile &&
    (cd ctx && strata parse >../out) &&
    jq -e ".stages[0].base.ref == \"busybox\"" out
'

test_expect_success 'errors name the file given with -f' '
    printf "FROM a\nRUNN x\n" >My.Dockerfile &&
    test_exit_code 1 strata parse -f My.Dockerfile 2>err &&
    grep -F "My.Dockerfile:2: unknown instruction: RUNN (did you mean RUN?)" err
'

test_expect_success 'a missing file is an error naming it' '
    test_exit_code 1 strata parse -f nope/Dockerfile 2>err &&
    grep "nope/Dockerfile" err
'

test_expect_success 'unused build args: one warning on stderr, JSON still printed' '
    printf "FROM a\n" >Dockerfile &&
    strata parse --build-arg B=1 --build-arg=A=2 >out 2>err &&
    grep -F "[Warning] One or more build-args [A B] were not consumed" err &&
    jq -e ".warnings | length == 1" out
'

test_expect_success 'a build arg without a value comes from the environment' '
    printf "FROM a\nARG FROMENV\nRUN true\n" >Dockerfile &&
    FROMENV=hello strata parse --build-arg FROMENV >out &&
    jq -e ".stages[0].steps[1].args[0].value == \"hello\"" out
'

test_expect_success 'usage errors exit 2' '
    test_exit_code 2 strata parse --bogus 2>err &&
    grep "unknown option" err &&
    test_exit_code 2 strata parse extra 2>err &&
    grep "unexpected argument" err &&
    test_exit_code 2 strata parse --build-arg =x 2>err &&
    test_exit_code 2 strata parse --platform "a/b/c/d" 2>err
'

test_expect_success 'parse --help lists every option' '
    strata parse --help >out &&
    for o in --file --build-arg --target --platform --build-platform --help; do
        grep -e "$o" out || exit 1
    done
'

test_done

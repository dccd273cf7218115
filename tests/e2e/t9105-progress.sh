#!/bin/sh
# t9105: progress (issue 18): on a terminal a running step shows its elapsed
# time and RUN output lines do not overwrite each other; a failed step's
# output keeps the order of stdout and stderr; build --push and strata ci
# show upload progress as strata push does; summaries in MB/kB, one decimal.
. "$(dirname "$0")/lib.sh"
require_builder
command -v script >/dev/null || test_skip_all "script (util-linux) is not installed"

mkdir -p "$TRASH/ctx"
make_busybox_rootfs "$TRASH/ctx/rootfs"

test_expect_success 'on a terminal: a live line with the running step and its elapsed time' '
    printf "FROM scratch\nCOPY rootfs/ /\nRUN echo line-a; sleep 1.2; echo line-b\n" >ctx/Dockerfile &&
    script -qec "$STRATA_BIN build --no-cache ctx" /dev/null >tty.out 2>&1 </dev/null &&
    tr "\r" "\n" <tty.out >lines &&
    grep -E "^(.\[K)?#[0-9]+ \[3/3\] RUN echo line-a; sleep 1.2; echo line-b [01]\.[0-9]s$" lines &&
    grep -E "^(.\[K)?#[0-9]+ \[3/3\] RUN echo line-a; sleep 1.2; echo line-b 1\.[0-9]s$" lines
'

test_expect_success 'on a terminal: RUN lines stay, one per line, in order' '
    grep -E "^(.\[K)?#[0-9]+ [0-9]\.[0-9]{3} line-a" lines &&
    grep -E "^(.\[K)?#[0-9]+ [0-9]\.[0-9]{3} line-b" lines &&
    test "$(grep -nE " [0-9]\.[0-9]{3} line-a$" lines | head -1 | cut -d: -f1)" -lt "$(grep -nE " [0-9]\.[0-9]{3} line-b$" lines | head -1 | cut -d: -f1)"
'

test_expect_success 'a failed step: its stdout and stderr lines in the order written' '
    printf "FROM scratch\nCOPY rootfs/ /\nRUN for i in 1 2 3 4 5 6 7 8; do echo out\$i; echo err\$i >&2; done; exit 1\n" >ctx/Dockerfile.ord &&
    test_must_fail strata build --progress plain -f ctx/Dockerfile.ord ctx 2>log &&
    grep -o "\(out\|err\)[0-9]$" log | tr "\n" " " >order &&
    printf "out1 err1 out2 err2 out3 err3 out4 err4 out5 err5 out6 err6 out7 err7 out8 err8 " >want &&
    cmp want order
'

start_strata_registry

test_expect_success 'build --push: per-blob upload lines and a summary in MB' '
    head -c 2000000 /dev/urandom >ctx/big &&
    printf "FROM scratch\nCOPY rootfs/ /\nCOPY big /big\n" >ctx/Dockerfile.push &&
    strata build --progress plain -f ctx/Dockerfile.push -t $SREG/p:1 --push ctx 2>log &&
    grep -E "^sha256:[0-9a-f]{12}: pushed \(2\.0 MB\)$" log &&
    grep -E "^pushed $SREG/p:1: 3 blobs uploaded \([0-9]+\.[0-9] MB\), 0 mounted, 0 already there; digest sha256:" log &&
    grep -E "^strata: registry traffic: [0-9.]+ [kM]?B down, [0-9]+\.[0-9] MB up, [0-9]+ requests$" log
'

test_expect_success 'build --push on a terminal: the bars of strata push' '
    # new content: an unchanged file now makes the same layer (its mtime is kept), already there
    head -c 2000000 /dev/urandom >ctx/big &&
    script -qec "$STRATA_BIN build -f ctx/Dockerfile.push -t $SREG/p:2 --push --no-cache ctx" /dev/null >tty2 2>&1 </dev/null &&
    tr "\r" "\n" <tty2 | grep -E "sha256:[0-9a-f]{12} (uploading|pushed|exists) +\[[= ]{30}\] [0-9.]+ [kM]?B / [0-9.]+ [kM]?B"
'

test_expect_success 'strata ci: upload lines, and the summary in kB/MB with one decimal' '
    echo changed >ctx/new && printf "FROM scratch\nCOPY rootfs/ /\nCOPY new /new\n" >ctx/Dockerfile.ci &&
    strata ci --image ci --registry $SREG --revision r --build-number 1 -f ctx/Dockerfile.ci --progress plain ctx >/dev/null 2>log &&
    grep -E "^sha256:[0-9a-f]{12}: pushed \([0-9.]+ [kM]?B\)$" log &&
    grep "^strata ci: .* pushed: " log &&
    grep -E "^strata ci: $SREG/ci:r_1 and $SREG/ci:latest pushed: [0-9]+ steps? cached, [0-9]+ run; [0-9]+(\.[0-9])? [kM]?B pulled, [0-9]+\.[0-9] [kM]B pushed \([0-9]+ requests\); [0-9.]+s$" log
'

test_done

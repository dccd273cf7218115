#!/bin/sh
# test-timeout: 2400 (cold builds with apt-get; a loaded machine)
# t8020: a real-world project on a real Debian base. A Debian 12 minbase made
# with debootstrap from this machine's Debian mirror (cached between runs by
# tests/e2e/helpers/debian-base.sh; the test is skipped, with the reason,
# when the mirror cannot be reached or debootstrap is missing) is imported
# and a multi-stage Dockerfile of the common kind is built as root:
# apt-get install of gcc, libc6-dev and ca-certificates (whose certificate
# names are not ASCII: issue #19 item 1), a C program compiled from the
# context, COPY --from into a slim final stage, RUN --mount=type=bind. Then
# the two-runner flow with strata ci: runner B, with an empty store, is all
# cached and moves kilobytes. The build again as an ordinary user (rootless,
# #13). STRATA_TEST_DEBIAN_MIRROR overrides the mirror.
. "$(dirname "$0")/lib.sh"
require_builder
case "${STRATA_BUILD:-}" in
*-san) test_skip_all "the real-world build runs in the plain pass only (apt-get under the sanitizer build adds time, not coverage)" ;;
esac

BASE_TAR=$("$SRC_DIR/tests/e2e/helpers/debian-base.sh" 2>"$TRASH/base.err")
case $? in
0) ;;
77) test_skip_all "$BASE_TAR" ;;
*) echo "# $(cat "$TRASH/base.err")"; BASE_TAR= ;;
esac

start_strata_registry
SLOG="$TRASH/strata-registry.log"
log_mark() { stat -c %s "$1" >"$1.mark"; }
log_since() { tail -c +$(( $(cat "$1.mark") + 1 )) "$1"; }
strata_log_bytes() {
    log_since "$1" | sed -n 's/.* in=\([0-9]*\) out=\([0-9]*\) .*/\1 \2/p' | awk '{s += $1 + $2} END {print s + 0}'
}
CERT='NetLock_Arany_=Class_Gold=_Főtanúsítvány.pem'

test_expect_success 'the Debian 12 base is imported and pushed' '
    test -s "$BASE_TAR" &&
    strata import "$BASE_TAR" $SREG/debian:12 >/dev/null &&
    strata run $SREG/debian:12 cat /etc/debian_version | grep "^12\." &&
    strata push $SREG/debian:12 >/dev/null
'

test_expect_success 'the project: a C program, a multi-stage Dockerfile' '
    mkdir -p proj/src proj/data &&
    cat >proj/src/hello.c <<-EOF &&
	#include <stdio.h>
	int main(void) { FILE *f = fopen("/msg", "r"); char b[64] = ""; if (f && fgets(b, sizeof b, f)) fputs(b, stdout); puts("hello from C"); return 0; }
	EOF
    echo "bound at build time" >proj/data/msg &&
    cat >proj/Dockerfile <<-EOF
	ARG BASE=$SREG/debian:12
	FROM \$BASE AS build
	RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev ca-certificates && rm -rf /var/lib/apt/lists/*
	WORKDIR /src
	COPY src/hello.c .
	RUN gcc -O2 -o /hello hello.c
	FROM \$BASE
	COPY --from=build /hello /usr/local/bin/hello
	COPY --from=build /etc/ssl/certs/ /etc/ssl/certs/
	RUN --mount=type=bind,source=data,target=/data cp /data/msg /msg
	CMD ["/usr/local/bin/hello"]
	EOF
'

test_expect_success 'as root: the build runs (apt-get, gcc), the result runs' '
    start=$(date +%s) &&
    strata build --progress plain -t app:1 proj 2>build.log || { tail -30 build.log; false; } &&
    echo "# cold build: $(( $(date +%s) - start )) s" &&
    strata run app:1 >out && printf "bound at build time\nhello from C\n" >want && cmp want out &&
    strata run app:1 ls /etc/ssl/certs >certs && grep -F "$CERT" certs &&
    strata run app:1 sh -c "test -L /etc/ssl/certs/988a38cb.0 && readlink /etc/ssl/certs/988a38cb.0" >t &&
    grep -F "$CERT" t &&
    ! strata run app:1 sh -c "command -v gcc" >/dev/null
'

test_expect_success 'a rebuild is fully cached' '
    strata build --progress plain -t app:1 proj 2>again.log &&
    grep "steps cached, 0 run" again.log
'

test_expect_success 'strata ci, runner A (the store that built it): push with the registry cache' '
    strata ci --progress plain --image app --registry $SREG --revision aaa \
        --build-number 1 proj >ida 2>erra || { tail -30 erra; false; } &&
    grep "strata ci: $SREG/app:aaa_1 and $SREG/app:latest pushed" erra
'

# Runner B needs #19 items 2-3 (helper "lazy"): strata ci caching every
# stage (a mode=max cache beside the image) and COPY --from of a cached stage
# downloading nothing. Until `strata ci --help` tells of that cache (mode=max),
# the case is reported as a known breakage (TODO), not run and not a failure.
runner_b='
    log_mark "$SLOG" &&
    STRATA_ROOT=$TRASH/rb strata ci --progress plain --image app --registry $SREG --revision bbb \
        --build-number 2 proj >idb 2>errb || { tail -30 errb; false; } &&
    grep "strata ci:" errb && grep "pushed: [0-9]* steps cached, 0 run" errb &&
    cmp ida idb &&
    wait_log "$SLOG" "PUT /v2/app/manifests/latest" &&
    moved=$(strata_log_bytes "$SLOG") && echo "# runner B moved $moved bytes" &&
    test "$moved" -lt 2097152
'
if strata ci --help | grep -q "mode=max"; then
    test_expect_success 'strata ci, runner B (empty store): every step cached, under 2 MB moved' "$runner_b"
else
    # not run: it would rebuild the builder stage (apt-get, minutes) to fail
    test_count=$((test_count + 1))
    echo "not ok $test_count - strata ci, runner B: every step cached, under 2 MB moved # TODO needs issue 19 items 2-3 (strata ci caching every stage)"
fi

# The rootless variant (#13): the same build as an ordinary user with
# subordinate ids (lib.sh's strata-rl-sub), its own store; apt-get drops to
# the _apt user inside the build, so the subordinate range is needed.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && command -v newuidmap >/dev/null &&
    command -v useradd >/dev/null; then
    rootless_setup
    test_expect_success 'rootless (a user with subordinate ids): the same build, the result runs' '
        AS="$TRASH/as-strata-rl-sub" &&
        chmod -R a+rX proj &&
        "$AS" import "$BASE_TAR" debian:12 >/dev/null &&
        start=$(date +%s) &&
        "$AS" build --progress plain --build-arg BASE=debian:12 -t app:rl proj 2>rl.log ||
            { tail -30 rl.log; false; } &&
        echo "# rootless cold build: $(( $(date +%s) - start )) s" &&
        "$AS" run app:rl >out && printf "bound at build time\nhello from C\n" >want && cmp want out &&
        "$AS" run app:rl ls /etc/ssl/certs >certs && grep -F "$CERT" certs
    '
else
    test_count=$((test_count + 1))
    echo "ok $test_count # SKIP rootless variant: needs root to create the test user, setpriv and newuidmap (#13)"
fi

test_done

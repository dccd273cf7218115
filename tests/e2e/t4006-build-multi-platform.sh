#!/bin/sh
# test-timeout: 900
# t4006: --platform builds for a foreign platform as buildx does (issue #14
# item 12; it was silently ignored: an amd64 image, exit 0). FROM scratch
# with Debian's busybox-static for the target's architecture (arm64 from
# tests/e2e/helpers/busybox-arm64.sh), RUN through qemu-user-static in
# binfmt_misc: `--platform linux/arm64` gives an arm64 image whose RUN saw
# `uname -m` aarch64; `--platform linux/amd64,linux/arm64 --push` gives an
# OCI index that `skopeo inspect --raw` shows with both platforms, and
# `strata run --platform linux/arm64 IMG uname -m` prints aarch64. Skipped,
# with the reason, when binfmt_misc cannot be used here.
. "$(dirname "$0")/lib.sh"
require_builder
command -v skopeo >/dev/null || test_skip_all "skopeo is not installed"
[ -x /usr/bin/qemu-aarch64-static ] || test_skip_all "qemu-user-static is not installed (scripts/install-deps)"
[ "$(uname -m)" = x86_64 ] || test_skip_all "the test builds arm64 on an x86_64 host"
BB_ARM64=$("$SRC_DIR/tests/e2e/helpers/busybox-arm64.sh" 2>"$TRASH/bb.err")
case $? in
0) ;;
77) test_skip_all "$BB_ARM64" ;;
*) test_skip_all "no arm64 busybox: $(cat "$TRASH/bb.err")" ;;
esac
# binfmt_misc usable: strata registers qemu-aarch64 itself as root; probe it
# with a one-step build so that the skip says why
mkdir "$TRASH/probe" && cp "$BB_ARM64" "$TRASH/probe/busybox" &&
    printf 'FROM scratch\nCOPY busybox /busybox\nRUN ["/busybox", "true"]\n' >"$TRASH/probe/Dockerfile"
if ! STRATA_ROOT=$TRASH/probe-root strata build -q --platform linux/arm64 "$TRASH/probe" >/dev/null 2>"$TRASH/probe.err"; then
    test_skip_all "binfmt_misc cannot be used here: $(tail -1 "$TRASH/probe.err")"
fi

start_strata_registry

test_expect_success 'setup: a context with a busybox per architecture' '
    mkdir -p ctx/amd64 ctx/arm64 &&
    cp /bin/busybox ctx/amd64/busybox &&
    cp "$BB_ARM64" ctx/arm64/busybox &&
    cat >ctx/Dockerfile <<-\EOF
	FROM scratch
	ARG TARGETARCH
	COPY $TARGETARCH/busybox /bin/busybox
	RUN ["/bin/busybox", "--install", "-s", "/bin"]
	ARG TARGETPLATFORM TARGETOS TARGETVARIANT BUILDPLATFORM BUILDARCH
	RUN echo "$(uname -m) $TARGETPLATFORM $TARGETOS $TARGETARCH [$TARGETVARIANT] $BUILDPLATFORM $BUILDARCH" >/info
	CMD ["cat", "/info"]
	EOF
'

test_expect_success '--platform linux/arm64: an arm64 image, its RUN emulated' '
    strata build --platform linux/arm64 -t one:arm ctx 2>out &&
    grep "emulated: linux/arm64 through qemu-aarch64-static" out &&
    test "$(strata inspect --format "{{.Architecture}} {{.Os}}" one:arm)" = "arm64 linux" &&
    test "$(strata run one:arm)" = "aarch64 linux/arm64 linux arm64 [] linux/amd64 amd64"
'

test_expect_success 'rebuilt: every step cached (the key holds the platform)' '
    strata build --platform linux/arm64 -t one:arm ctx 2>out &&
    grep "3 steps cached, 0 run" out &&
    strata build -t one:amd ctx 2>out &&
    grep "0 steps cached, 3 run" out &&
    test "$(strata run one:amd)" = "x86_64 linux/amd64 linux amd64 [] linux/amd64 amd64"
'

test_expect_success 'two platforms, pushed: an OCI index with both' '
    strata build --platform linux/amd64,linux/arm64 -t $SREG/multi:1 --push \
        --metadata-file meta.json ctx 2>out &&
    grep "building for linux/arm64 (2/2)" out &&
    grep "pushed $SREG/multi:1" out &&
    skopeo inspect --tls-verify=false --raw docker://$SREG/multi:1 >raw &&
    python3 - raw <<-\PY
	import json, sys
	x = json.load(open(sys.argv[1]))
	assert x["mediaType"] == "application/vnd.oci.image.index.v1+json", x
	got = sorted((m["platform"]["os"], m["platform"]["architecture"]) for m in x["manifests"])
	assert got == [("linux", "amd64"), ("linux", "arm64")], got
	PY
    grep "application/vnd.oci.image.index.v1+json" meta.json &&
    ! grep containerimage.config.digest meta.json
'

test_expect_success 'each platform pulls back as its own image' '
    for a in amd64 arm64; do
        skopeo inspect --tls-verify=false --override-arch $a docker://$SREG/multi:1 >i.$a &&
        grep "\"Architecture\": \"$a\"" i.$a || return 1
    done
'

test_expect_success 'a fresh runner, --cache-from the index: every step of both platforms cached' '
    STRATA_ROOT=$TRASH/runner2 strata build --platform linux/amd64,linux/arm64 --cache-from $SREG/multi:1 \
        -t $SREG/multi:2 ctx 2>out &&
    grep "strata: 6 steps cached, 0 run" out
'

test_expect_success 'FROM the index for arm64 on a fresh runner: its layers stay in the registry until run' '
    mkdir -p ctx2 && printf "FROM %s/multi:1\nLABEL lazy=1\n" "$SREG" >ctx2/Dockerfile &&
    STRATA_ROOT=$TRASH/lazy strata build --platform linux/arm64 -t lz:1 ctx2 2>out &&
    grep "resolved $SREG/multi:1 for linux/arm64 (manifest and config" out &&
    test "$(STRATA_ROOT=$TRASH/lazy strata inspect --format "{{.Architecture}}" lz:1)" = arm64 &&
    test "$(STRATA_ROOT=$TRASH/lazy strata run lz:1 uname -m 2>err)" = aarch64 &&
    grep "fetched layer" err
'

test_expect_success 'a RUN on the lazily adopted arm64 base: its layers fetched, the RUN emulated' '
    mkdir -p ctx3 && printf "FROM %s/multi:1\nRUN uname -m >/m\n" "$SREG" >ctx3/Dockerfile &&
    STRATA_ROOT=$TRASH/lazy2 strata build --platform linux/arm64 -t lz:2 ctx3 2>out &&
    grep "emulated: linux/arm64" out &&
    test "$(STRATA_ROOT=$TRASH/lazy2 strata run lz:2 cat /m)" = aarch64
'

test_expect_success 'strata run --platform linux/arm64 on the index: aarch64 through qemu' '
    test "$(strata run --platform linux/arm64 $SREG/multi:1 uname -m)" = aarch64 &&
    test "$(strata run $SREG/multi:1 uname -m)" = x86_64 &&
    test "$(strata run --platform linux/amd64 $SREG/multi:1 uname -m)" = x86_64
'

test_expect_success 'images and inspect show the index tag (once: its platforms are not <none> images)' '
    strata images >imgs &&
    cat imgs &&
    test "$(grep -c "$SREG/multi" imgs)" = 1 &&
    ! grep "<none>" imgs &&
    test "$(strata inspect --format "{{.Architecture}}" $SREG/multi:1)" = amd64
'

test_expect_success 'prune keeps both platforms of the index; it pushes again whole' '
    strata prune >/dev/null &&
    test "$(strata run --platform linux/arm64 $SREG/multi:1 uname -m)" = aarch64 &&
    strata push $SREG/multi:1 $SREG/again:1 >/dev/null &&
    skopeo inspect --tls-verify=false --raw docker://$SREG/again:1 | grep -o "\"architecture\":\"arm64\""
'

test_expect_success 'a platform the index lacks: an error naming it' '
    test_exit_code 1 strata run --platform linux/s390x $SREG/multi:1 true 2>err &&
    grep "no manifest for platform linux/s390x" err
'

test_expect_success 'a fresh store pulls the index back and runs both' '
    STRATA_ROOT=$TRASH/fresh strata pull --platform linux/arm64 $SREG/multi:1 >/dev/null &&
    test "$(STRATA_ROOT=$TRASH/fresh strata run $SREG/multi:1 uname -m)" = aarch64
'

test_expect_success '-o type=oci of a two-platform build: an OCI layout with the index' '
    strata build -q --platform linux/amd64,linux/arm64 -o type=oci,dest=out.tar ctx >id &&
    mkdir lay && tar -C lay -xf out.tar &&
    skopeo inspect --raw oci:lay >raw2 &&
    test "$(grep -o "\"architecture\"" raw2 | wc -l)" = 2 &&
    grep "$(cut -d: -f2 id)" lay/index.json
'

test_expect_success '-o type=local and type=tar of two platforms: a directory per platform (buildx layout)' '
    strata build -q --platform linux/amd64,linux/arm64 -o type=local,dest=fs ctx >/dev/null &&
    grep "^x86_64 linux/amd64 " fs/linux_amd64/info &&
    grep "^aarch64 linux/arm64 " fs/linux_arm64/info &&
    strata build -q --platform linux/amd64,linux/arm64 -o type=tar,dest=fs.tar ctx >/dev/null &&
    tar -tf fs.tar >list &&
    grep "^\(\./\)\?linux_arm64/info$" list && grep "^\(\./\)\?linux_amd64/bin/busybox$" list
'

test_done

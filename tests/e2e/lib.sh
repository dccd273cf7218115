# lib.sh — the end-to-end test library (TAP output, run through prove).
#
#   . "$(dirname "$0")/lib.sh"
#   test_expect_success 'what it checks' '
#       strata images >out &&
#       grep busybox out
#   '
#   test_done
#
# Each script gets a private trash directory ($TRASH, removed at exit unless
# STRATA_TEST_KEEP=1) and its own store (STRATA_ROOT=$TRASH/root). Anything
# started with `spawn` is killed at exit; mounts under $TRASH are unmounted.
# Set STRATA_TEST_VERBOSE=1 to see the output of every command.

set -u
: "${STRATA_BIN:?STRATA_BIN must point at the strata binary (run through make test)}"
TEST_DIR=$(cd "$(dirname "$0")" && pwd)
SRC_DIR=$(cd "$TEST_DIR/../.." && pwd)
TEST_NAME=$(basename "$0" .sh)
TRASH=$(mktemp -d "${TMPDIR:-/tmp}/strata-$TEST_NAME.XXXXXX")
export STRATA_ROOT="$TRASH/root"
export HOME="$TRASH/home"
export DOCKER_CONFIG="$TRASH/home/.docker"
mkdir -p "$HOME"
unset STRATA_LOG
test_count=0
test_failed=0
SPAWNED=""

strata() { "$STRATA_BIN" "$@"; }

test_cleanup() {
    for p in $SPAWNED; do
        kill "$p" 2>/dev/null
    done
    for p in $SPAWNED; do
        wait "$p" 2>/dev/null
    done
    # unmount anything a test left below the trash directory, deepest first
    grep -o " $TRASH[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do
        umount -l "$m" 2>/dev/null
    done
    if [ "${STRATA_TEST_KEEP:-0}" = 1 ]; then
        echo "# kept $TRASH"
    else
        rm -rf "$TRASH"
    fi
}
trap test_cleanup EXIT
trap 'exit 130' INT TERM

# spawn CMD...: start a background process that is killed at exit; its pid is in $!
spawn() {
    "$@" &
    SPAWNED="$SPAWNED $!"
}

# _test_status TEXT: what is running, for tests/run-test to name on a timeout
_test_status() {
    [ -n "${STRATA_TEST_STATUS:-}" ] && echo "$1" >"$STRATA_TEST_STATUS"
    return 0
}

_run_body() {
    ( cd "$TRASH" && eval "$1" )
}

test_expect_success() {
    test_count=$((test_count + 1))
    desc=$1
    if [ -n "${_skip_next:-}" ]; then
        echo "ok $test_count - $desc # skip $_skip_next"
        _skip_next=
        return 0
    fi
    out="$TRASH/.out.$test_count"
    _test_status "$test_count - '$desc'"
    if [ "${STRATA_TEST_VERBOSE:-0}" = 1 ]; then
        _run_body "$2"
    else
        _run_body "$2" >"$out" 2>&1
    fi
    rc=$?
    _test_status "(between tests, after $test_count - '$desc')"
    if [ $rc -eq 0 ]; then
        echo "ok $test_count - $desc"
    else
        test_failed=$((test_failed + 1))
        echo "not ok $test_count - $desc"
        [ -f "$out" ] && sed 's/^/#   /' "$out" | tail -40
    fi
}

test_expect_failure() {
    # a known, documented bug: reported as TODO, does not fail the run
    test_count=$((test_count + 1))
    if _run_body "$2" >/dev/null 2>&1; then
        echo "ok $test_count - $1 # TODO known breakage vanished"
    else
        echo "not ok $test_count - $1 # TODO known breakage"
    fi
}

# test_skip_next REASON: report the next test_expect_success as skipped
# (TAP "ok N - DESC # skip REASON", which prove counts and shows) instead of
# running it. Call it at top level, right before the test.
test_skip_next() {
    _skip_next=$1
}

test_skip_all() {
    echo "1..0 # SKIP $1"
    exit 0
}

test_done() {
    echo "1..$test_count"
    [ "$test_failed" -eq 0 ]
    exit $?
}

# test_must_fail CMD...: CMD fails with a normal exit code (not a crash/signal)
test_must_fail() {
    "$@"
    rc=$?
    if [ $rc -eq 0 ]; then
        echo "test_must_fail: '$*' succeeded" >&2
        return 1
    elif [ $rc -gt 128 ]; then
        echo "test_must_fail: '$*' died with signal $((rc - 128))" >&2
        return 1
    fi
    return 0
}

# test_exit_code N CMD...: CMD exits with exactly N
test_exit_code() {
    want=$1
    shift
    "$@"
    rc=$?
    [ $rc -eq "$want" ] || { echo "test_exit_code: '$*' exited $rc, expected $want" >&2; return 1; }
}

# free_port: print a TCP port free on 127.0.0.1
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL [SECONDS]: wait until URL answers (any HTTP status)
wait_http() {
    n=$(( ${2:-10} * 10 ))
    while [ $n -gt 0 ]; do
        curl -s -o /dev/null "$1" && return 0
        sleep 0.1
        n=$((n - 1))
    done
    echo "wait_http: $1 did not answer" >&2
    return 1
}

# start_docker_registry [EXTRA_ENV...]: start Debian's docker-registry on
# 127.0.0.1:$REG_PORT with its storage in $TRASH/docker-registry; sets REG.
start_docker_registry() {
    REG_PORT=$(free_port)
    REG="127.0.0.1:$REG_PORT"
    mkdir -p "$TRASH/docker-registry"
    cat >"$TRASH/docker-registry.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $TRASH/docker-registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REG_PORT
YML
    spawn env "$@" docker-registry serve "$TRASH/docker-registry.yml" >"$TRASH/docker-registry.log" 2>&1
    REG_PID=$!
    wait_http "http://$REG/v2/"
}

# make_busybox_rootfs DIR: a minimal rootfs with busybox-static and its applets
make_busybox_rootfs() {
    d=$1
    mkdir -p "$d/bin" "$d/etc" "$d/tmp" "$d/root" "$d/usr/bin" "$d/sbin"
    cp /bin/busybox "$d/bin/busybox"
    for a in sh ls cat echo mkdir rm cp mv true false env id sleep touch chmod grep sed wc head test printf; do
        ln -sf busybox "$d/bin/$a"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$d/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$d/etc/group"
    chmod 1777 "$d/tmp"
}

# make_busybox_tar FILE: the busybox rootfs as a tarball (for strata import)
make_busybox_tar() {
    make_busybox_rootfs "$TRASH/.bbroot"
    tar -C "$TRASH/.bbroot" --numeric-owner -cf "$1" .
    rm -rf "$TRASH/.bbroot"
}

# start_strata_registry [ARGS...]: run `strata registry serve` on a free port
# with its storage in ${SREG_ROOT:-$TRASH/registry}; sets SREG (host:port),
# SREG_PID; the access log and messages go to $TRASH/strata-registry.log and
# the exit code, once it exits, to $TRASH/sreg.rc. Call it outside test
# bodies (they run in subshells).
start_strata_registry() {
    SREG_PORT=$(free_port)
    SREG="127.0.0.1:$SREG_PORT"
    rm -f "$TRASH/sreg.pid" "$TRASH/sreg.rc"
    registry_backend_start
    spawn sh -c '"$@" & echo $! >"$0.pid"; wait $!; echo $? >"$0.rc"' "$TRASH/sreg" \
        "$STRATA_BIN" registry serve --root "${SREG_ROOT:-$TRASH/registry}" --addr "$SREG" "$@" \
        ${REG_BACKEND_READY:+--storage "$S3_URL" --metadata "$PG_URL"} >>"$TRASH/strata-registry.log" 2>&1
    _n=50
    while [ ! -s "$TRASH/sreg.pid" ] && [ $_n -gt 0 ]; do sleep 0.1; _n=$((_n - 1)); done
    SREG_PID=$(cat "$TRASH/sreg.pid")
    SPAWNED="$SPAWNED $SREG_PID"
    wait_http "http://$SREG/v2/"
}

# wait_strata_registry_exit [SECONDS]: wait for the registry to exit; print its exit code
wait_strata_registry_exit() {
    _n=$(( ${1:-20} * 10 ))
    while [ ! -s "$TRASH/sreg.rc" ] && [ $_n -gt 0 ]; do sleep 0.1; _n=$((_n - 1)); done
    [ -s "$TRASH/sreg.rc" ] || { echo "registry did not exit" >&2; return 1; }
    cat "$TRASH/sreg.rc"
}

# make_layer_tgz DIR OUT: a deterministic gzip layer of DIR
make_layer_tgz() {
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$1" -cf - . | gzip -n >"$2"
}

# make_oci_image LAYOUT TAG LAYER.tgz...: add an image made of these gzip
# layers to an OCI image layout (created if missing), tagged TAG.
make_oci_image() {
    _l=$1 _tag=$2
    shift 2
    mkdir -p "$_l/blobs/sha256"
    [ -f "$_l/oci-layout" ] || echo '{"imageLayoutVersion":"1.0.0"}' >"$_l/oci-layout"
    [ -f "$_l/index.json" ] || echo '{"schemaVersion":2,"manifests":[]}' >"$_l/index.json"
    _layers='[]' _ids='[]'
    for _f in "$@"; do
        _d=$(sha256sum "$_f" | cut -d" " -f1)
        _s=$(stat -c %s "$_f")
        cp "$_f" "$_l/blobs/sha256/$_d"
        _u=$(gzip -dc "$_f" | sha256sum | cut -d" " -f1)
        _layers=$(echo "$_layers" | jq -c --arg d "sha256:$_d" --argjson s "$_s" \
            '. + [{mediaType:"application/vnd.oci.image.layer.v1.tar+gzip",digest:$d,size:$s}]')
        _ids=$(echo "$_ids" | jq -c --arg u "sha256:$_u" '. + [$u]')
    done
    jq -nc --argjson ids "$_ids" --arg t "$_tag" \
        '{architecture:"amd64",os:"linux",config:{Labels:{tag:$t}},rootfs:{type:"layers",diff_ids:$ids}}' >"$_l/.cfg"
    _cd=$(sha256sum "$_l/.cfg" | cut -d" " -f1)
    _cs=$(stat -c %s "$_l/.cfg")
    mv "$_l/.cfg" "$_l/blobs/sha256/$_cd"
    jq -nc --argjson layers "$_layers" --arg cd "sha256:$_cd" --argjson cs "$_cs" \
        '{schemaVersion:2,mediaType:"application/vnd.oci.image.manifest.v1+json",config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$cd,size:$cs},layers:$layers}' >"$_l/.man"
    _md=$(sha256sum "$_l/.man" | cut -d" " -f1)
    _ms=$(stat -c %s "$_l/.man")
    mv "$_l/.man" "$_l/blobs/sha256/$_md"
    jq -c --arg md "sha256:$_md" --argjson ms "$_ms" --arg t "$_tag" \
        '.manifests += [{mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$md,size:$ms,annotations:{"org.opencontainers.image.ref.name":$t}}]' \
        "$_l/index.json" >"$_l/.idx" && mv "$_l/.idx" "$_l/index.json"
    OCI_MANIFEST_DIGEST="sha256:$_md"
}

# push_blob HOSTPORT REPO FILE: monolithic blob upload with curl; prints the digest
push_blob() {
    _d="sha256:$(sha256sum "$3" | cut -d" " -f1)"
    curl -sf -X POST --data-binary @"$3" -H "Content-Type: application/octet-stream" \
        "http://$1/v2/$2/blobs/uploads/?digest=$_d" >/dev/null || return 1
    echo "$_d"
}

# http_status [CURL ARGS...]: print only the HTTP status code of a request
http_status() {
    curl -s -o /dev/null -w '%{http_code}' "$@"
}

# stop_strata_registry: SIGTERM the registry started by start_strata_registry
# and check that it exited 0 (under ASan, leaks make that fail) without
# sanitizer reports in its log.
stop_strata_registry() {
    kill -TERM "$SREG_PID" 2>/dev/null
    _rc=$(wait_strata_registry_exit) || return 1
    if grep -q "Sanitizer" "$TRASH/strata-registry.log"; then
        sed -n "/Sanitizer/,\$p" "$TRASH/strata-registry.log" | head -40 >&2
        return 1
    fi
    [ "$_rc" -eq 0 ] || { echo "registry exited $_rc" >&2; return 1; }
}

# store_snapshot [ROOT]: a listing of every file of the store with its
# checksum (default $STRATA_ROOT), to compare a store before and after a
# command that must leave it untouched.
store_snapshot() {
    ( cd "${1:-$STRATA_ROOT}" && find . -type f -print | LC_ALL=C sort | while read -r f; do
        printf '%s %s\n' "$(sha256sum <"$f" | cut -d" " -f1)" "$f"
    done )
}

# make_cached_oci_image LAYOUT TAG STEPS_JSON LAYER.tgz...: like
# make_oci_image, with strata's inline cache metadata in the config
# ({"strata.cache.v1": {"steps": STEPS_JSON}}, docs/internals/cache.md).
make_cached_oci_image() {
    _l=$1 _tag=$2 _steps=$3
    shift 3
    mkdir -p "$_l/blobs/sha256"
    [ -f "$_l/oci-layout" ] || echo '{"imageLayoutVersion":"1.0.0"}' >"$_l/oci-layout"
    [ -f "$_l/index.json" ] || echo '{"schemaVersion":2,"manifests":[]}' >"$_l/index.json"
    _layers='[]' _ids='[]'
    for _f in "$@"; do
        _d=$(sha256sum "$_f" | cut -d" " -f1)
        _s=$(stat -c %s "$_f")
        cp "$_f" "$_l/blobs/sha256/$_d"
        _u=$(gzip -dc "$_f" | sha256sum | cut -d" " -f1)
        _layers=$(echo "$_layers" | jq -c --arg d "sha256:$_d" --argjson s "$_s" \
            '. + [{mediaType:"application/vnd.oci.image.layer.v1.tar+gzip",digest:$d,size:$s}]')
        _ids=$(echo "$_ids" | jq -c --arg u "sha256:$_u" '. + [$u]')
    done
    jq -nc --argjson ids "$_ids" --arg t "$_tag" --argjson steps "$_steps" \
        '{created:"2026-01-01T00:00:00Z",architecture:"amd64",os:"linux",config:{Labels:{tag:$t}},rootfs:{type:"layers",diff_ids:$ids},"strata.cache.v1":{steps:$steps}}' >"$_l/.cfg"
    _cd=$(sha256sum "$_l/.cfg" | cut -d" " -f1)
    _cs=$(stat -c %s "$_l/.cfg")
    mv "$_l/.cfg" "$_l/blobs/sha256/$_cd"
    jq -nc --argjson layers "$_layers" --arg cd "sha256:$_cd" --argjson cs "$_cs" \
        '{schemaVersion:2,mediaType:"application/vnd.oci.image.manifest.v1+json",config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$cd,size:$cs},layers:$layers}' >"$_l/.man"
    _md=$(sha256sum "$_l/.man" | cut -d" " -f1)
    _ms=$(stat -c %s "$_l/.man")
    mv "$_l/.man" "$_l/blobs/sha256/$_md"
    jq -c --arg md "sha256:$_md" --argjson ms "$_ms" --arg t "$_tag" \
        '.manifests += [{mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$md,size:$ms,annotations:{"org.opencontainers.image.ref.name":$t}}]' \
        "$_l/index.json" >"$_l/.idx" && mv "$_l/.idx" "$_l/index.json"
    OCI_MANIFEST_DIGEST="sha256:$_md"
    OCI_CONFIG_SIZE=$_cs
    OCI_MANIFEST_SIZE=$_ms
}

# wait_log FILE PATTERN [SECS]: wait until a line of FILE matches the extended
# regexp PATTERN (a server may write its access log line after answering)
wait_log() {
    _n=$(( ${3:-10} * 10 ))
    until grep -qE "$2" "$1" 2>/dev/null; do
        [ $_n -gt 0 ] || { echo "wait_log: no '$2' in $1" >&2; return 1; }
        sleep 0.1; _n=$((_n - 1))
    done
}

# require_builder: skip the whole script unless strata can build here (root,
# overlayfs, busybox-static for the FROM scratch base images)
require_builder() {
    [ "$(id -u)" = 0 ] || test_skip_all "the builder needs root"
    grep -q overlay /proc/filesystems || test_skip_all "overlayfs is not available"
    [ -x /bin/busybox ] || test_skip_all "busybox-static is not installed"
}

# wait_until SECS CMD...: run CMD every 0.1 s until it succeeds; fail after
# SECS seconds (wait for a condition, never for a guessed time: a process
# start may take seconds, e.g. a python3 version-manager shim)
wait_until() {
    _n=$(( $1 * 10 ))
    shift
    until "$@"; do
        [ $_n -gt 0 ] || { echo "wait_until: '$*' still false" >&2; return 1; }
        sleep 0.1; _n=$((_n - 1))
    done
}

# hold_port PORT READYFILE: listen on 127.0.0.1:PORT in the background (60 s
# at most; its pid in $!), touching READYFILE once the port is bound
hold_port() {
    python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen()
open(sys.argv[2],"w").close(); time.sleep(60)' "$1" "$2" &
}
# rootless_setup: the rootless tests' users, made idempotently: strata-rl-sub
# (a range in /etc/subuid and /etc/subgid) and strata-rl-nosub (none); $TRASH
# made traversable and the binary copied into it (the build tree may be out of
# their reach); for each user U a wrapper $TRASH/as-U runs that copy as U with
# HOME, XDG dirs and DOCKER_CONFIG of its own under $TRASH/home-U and no
# STRATA_ROOT (the default store, $XDG_DATA_HOME/strata, is used).
rootless_setup() {
    [ "$(id -u)" = 0 ] || test_skip_all "creating the test users needs root"
    command -v setpriv >/dev/null || test_skip_all "setpriv (util-linux) is missing"
    command -v newuidmap >/dev/null || test_skip_all "newuidmap (Debian's uidmap) is missing"
    command -v useradd >/dev/null || test_skip_all "useradd is missing"
    for _u in strata-rl-sub strata-rl-nosub; do
        id "$_u" >/dev/null 2>&1 || useradd -r -M -d /nonexistent -s /usr/sbin/nologin "$_u" 2>/dev/null ||
            id "$_u" >/dev/null 2>&1 || test_skip_all "cannot create the user $_u"
    done
    (
        flock 9
        for _f in /etc/subuid /etc/subgid; do
            touch "$_f"
            grep -q '^strata-rl-sub:' "$_f" || echo 'strata-rl-sub:300000:65536' >>"$_f"
            if grep -q '^strata-rl-nosub:' "$_f"; then sed -i '/^strata-rl-nosub:/d' "$_f"; fi
        done
    ) 9>/tmp/strata-rl-users.lock
    chmod 755 "$TRASH"
    cp "$STRATA_BIN" "$TRASH/strata-rl" && chmod 755 "$TRASH/strata-rl"
    for _u in strata-rl-sub strata-rl-nosub; do
        _h="$TRASH/home-$_u"
        mkdir -p "$_h" && chown "$_u:" "$_h"
        cat >"$TRASH/as-$_u" <<-WRAP
	#!/bin/sh
	exec setpriv --reuid=$_u --regid=$_u --clear-groups env -u STRATA_ROOT HOME=$_h \\
	    XDG_DATA_HOME=$_h/.local/share XDG_CONFIG_HOME=$_h/.config DOCKER_CONFIG=$_h/.docker \\
	    PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin "$TRASH/strata-rl" "\$@"
	WRAP
        chmod 755 "$TRASH/as-$_u"
    done
}

# start_postgres: a throwaway PostgreSQL (tests/e2e/helpers/postgres.sh) on
# 127.0.0.1; sets PG_URL, stopped when the test exits. Skips the whole test
# with the reason when PostgreSQL cannot start here. Call it at top level.
start_postgres() {
    PG_URL=$("$TEST_DIR/helpers/postgres.sh" start "$TRASH/.pg" 2>"$TRASH/.pg-reason") || {
        _why=$(cat "$TRASH/.pg-reason" 2>/dev/null)
        "$TEST_DIR/helpers/postgres.sh" stop "$TRASH/.pg" >/dev/null 2>&1
        test_skip_all "PostgreSQL cannot start: ${_why:-unknown reason}"
    }
    trap _stop_helpers EXIT
}

# _stop_helpers: at exit, stop the PostgreSQL and Ceph that start_postgres and
# start_ceph started (by their PIDs), then the usual cleanup
_stop_helpers() {
    [ ! -d "$TRASH/.pg" ] || "$TEST_DIR/helpers/postgres.sh" stop "$TRASH/.pg" >/dev/null 2>&1
    [ ! -d "$TRASH/.ceph" ] || "$TEST_DIR/helpers/ceph.sh" stop "$TRASH/.ceph" >/dev/null 2>&1
    test_cleanup
}

# start_ceph: a throwaway Ceph cluster with radosgw (tests/e2e/helpers/ceph.sh)
# on 127.0.0.1; sets S3_URL (the --storage URL s3://BUCKET?endpoint=..&region=..),
# S3_ENDPOINT, S3_BUCKET, S3_REGION, exports AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY; stopped when the test exits. Skips the whole test
# with the reason when Ceph cannot start here. Call it at top level.
start_ceph() {
    S3_URL=$("$TEST_DIR/helpers/ceph.sh" start "$TRASH/.ceph" 2>"$TRASH/.ceph-reason") || {
        _why=$(cat "$TRASH/.ceph-reason" 2>/dev/null)
        "$TEST_DIR/helpers/ceph.sh" stop "$TRASH/.ceph" >/dev/null 2>&1
        test_skip_all "Ceph cannot start: ${_why:-unknown reason}"
    }
    trap _stop_helpers EXIT
    _ceph_vars "$TRASH/.ceph"
}

# _ceph_vars DIR: S3_* and the AWS keys of the cluster ceph.sh started in DIR
_ceph_vars() {
    S3_ENDPOINT=$(cat "$1/endpoint")
    S3_BUCKET=$(cat "$1/bucket")
    S3_REGION=$(cat "$1/region")
    AWS_ACCESS_KEY_ID=$(cat "$1/access_key")
    AWS_SECRET_ACCESS_KEY=$(cat "$1/secret_key")
    export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
}

# s3_curl [CURL ARGS...]: curl signed (SigV4) with the start_ceph keys; the
# payload is not signed (x-amz-content-sha256: UNSIGNED-PAYLOAD). curl 7.88
# signs the query string as written: give its parameters sorted by name and
# percent-encoded (?list-type=2&prefix=a%2F), or the signature does not match.
s3_curl() {
    curl --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
        -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

# bucket_keys PREFIX: the keys under PREFIX in the test bucket, one a line
bucket_keys() {
    s3_curl -sf "$S3_ENDPOINT/$S3_BUCKET?list-type=2&prefix=$1" >"$TRASH/.s3keys" || {
        echo "bucket_keys: cannot list $1 in the bucket $S3_BUCKET" >&2; return 1; }
    grep -o "<Key>[^<]*</Key>" "$TRASH/.s3keys" | sed "s/<Key>//; s/<\/Key>//"
    return 0
}

# sreg_logs_clean NAME...: no sanitizer report (ASan, LeakSanitizer, UBSan's
# "runtime error") in the logs of the instances start_sreg_instance started
sreg_logs_clean() {
    for _i in "$@"; do
        if grep -qE "Sanitizer|runtime error" "$TRASH/$_i.log"; then
            grep -E -A20 "Sanitizer|runtime error" "$TRASH/$_i.log" | head -40 >&2
            return 1
        fi
    done
}

# start_sreg_instance NAME [ARGS...]: one more `strata registry serve` on a
# free port (for multi-instance tests); sets <NAME>_ADDR and <NAME>_PID;
# its log is $TRASH/NAME.log.
start_sreg_instance() {
    _name=$1
    shift
    _port=$(free_port)
    spawn "$STRATA_BIN" registry serve --addr "127.0.0.1:$_port" "$@" >>"$TRASH/$_name.log" 2>&1
    eval "${_name}_PID=$!; ${_name}_ADDR=127.0.0.1:$_port"
    wait_http "http://127.0.0.1:$_port/v2/" 30
}

# --- the registry e2e suite's backend switch --------------------------------
#
# STRATA_TEST_REGISTRY=fs (the default) runs the registry tests (t70xx) over
# the embedded storage: blobs in --root, metadata in SQLite (ROOT/meta.db).
# STRATA_TEST_REGISTRY=s3pg runs them over S3 (Ceph RGW) + PostgreSQL: one
# Ceph and one PostgreSQL per test file, started by the first
# start_strata_registry (or registry_backend_start) and reused by every server
# of the file; each server keeps its --root but gets
# --storage "$S3_URL" --metadata "$PG_URL" (strata_registry adds them to
# the other registry commands). When
# STRATA_TEST_S3PG_SHARED names a directory where helpers/ceph.sh and
# helpers/postgres.sh already run (DIR/ceph, DIR/pg: t7130 starts them once
# for all the files it runs), the file gets a fresh bucket and a fresh
# database there instead of a cluster of its own.

REG_BACKEND_READY=

# registry_backend_is fs|s3pg: the backend the registry tests run against
registry_backend_is() {
    [ "${STRATA_TEST_REGISTRY:-fs}" = "$1" ]
}

# registry_fs_only REASON: skip the next test unless the backend is fs (it
# looks at the filesystem layout or SQLite directly); the TAP line says why
registry_fs_only() {
    registry_backend_is fs || test_skip_next "needs the filesystem backend: $1"
}

# registry_backend_start: set up the backend of the registry tests (nothing
# for fs). Call it at top level: it may skip the whole file (test_skip_all)
# when Ceph or PostgreSQL cannot start, so before the first test.
registry_backend_start() {
    case ${STRATA_TEST_REGISTRY:-fs} in
    fs) return 0 ;;
    s3pg) ;;
    *) echo "Bail out! STRATA_TEST_REGISTRY must be fs or s3pg, not '$STRATA_TEST_REGISTRY'"; exit 1 ;;
    esac
    [ -z "$REG_BACKEND_READY" ] || return 0
    if [ "$test_count" -gt 0 ]; then
        echo "Bail out! registry_backend_start after test $test_count: call it before the first test"
        exit 1
    fi
    if [ -n "${STRATA_TEST_S3PG_SHARED:-}" ]; then
        _registry_backend_shared "$STRATA_TEST_S3PG_SHARED"
    else
        start_ceph
        start_postgres
    fi
    REG_BACKEND_READY=1
}

# _registry_backend_shared DIR: a fresh bucket and database of this file in
# the Ceph and PostgreSQL running in DIR/ceph and DIR/pg
_registry_backend_shared() {
    [ -s "$1/ceph/url" ] && [ -s "$1/pg/url" ] ||
        test_skip_all "STRATA_TEST_S3PG_SHARED=$1 has no running Ceph and PostgreSQL"
    _ceph_vars "$1/ceph"
    _name=$(echo "$TEST_NAME" | cut -d- -f1)-$$
    S3_BUCKET=$_name
    s3_curl -sf -X PUT -o /dev/null "$S3_ENDPOINT/$S3_BUCKET" ||
        test_skip_all "cannot create the bucket $S3_BUCKET at $S3_ENDPOINT"
    S3_URL="s3://$S3_BUCKET?endpoint=$S3_ENDPOINT&region=$S3_REGION"
    _base=$(cat "$1/pg/url")
    _db=$(echo "$_name" | tr - _)
    psql -q "$_base" -c "CREATE DATABASE $_db" >/dev/null 2>"$TRASH/.pg-reason" ||
        test_skip_all "cannot create the database $_db: $(cat "$TRASH/.pg-reason")"
    PG_URL=${_base%/*}/$_db
    echo "$TEST_NAME $S3_BUCKET $_db" >>"$1/used"
}

# strata_registry SUBCOMMAND [ARGS...]: `strata registry SUBCOMMAND ARGS...`
# over the backend of the file (for gc, retention and extra servers; the
# backend options go last)
strata_registry() {
    _sub=$1
    shift
    "$STRATA_BIN" registry "$_sub" "$@" ${REG_BACKEND_READY:+--storage "$S3_URL" --metadata "$PG_URL"}
}

# registry_sql QUERY: run QUERY on the metadata of the file's registry
# (sqlite3 on ${SREG_ROOT:-$TRASH/registry}/meta.db, or psql on $PG_URL,
# where the double-quoted strings of the query become single-quoted ones);
# prints the rows, columns separated by '|'
registry_sql() {
    if registry_backend_is s3pg; then
        psql -qAt "$PG_URL" -c "$(echo "$1" | tr '"' "'")"
    else
        sqlite3 "${SREG_ROOT:-$TRASH/registry}/meta.db" "$1"
    fi
}

# registry_stored blobs|uploads: what the registry stores there, one name a
# line (a blob stored twice twice): the names of the files below ROOT/KIND,
# or the last part of the keys below KIND/ in the bucket. Fails when the
# place cannot be listed (a check of "nothing stored" must not pass on a
# wrong path).
registry_stored() {
    if registry_backend_is s3pg; then
        s3_curl -sf "$S3_ENDPOINT/$S3_BUCKET?list-type=2&max-keys=1000&prefix=$1%2F" >"$TRASH/.s3list" || {
            echo "registry_stored: cannot list $1/ in the bucket $S3_BUCKET" >&2; return 1; }
        grep -o "<Key>[^<]*</Key>" "$TRASH/.s3list" | sed "s/<Key>//; s/<\/Key>//; s|.*/||"
        return 0
    fi
    find "${SREG_ROOT:-$TRASH/registry}/$1" -type f -printf "%f\n"
}

# registry_blob_bytes DIGEST: the bytes of a blob read straight from the
# store (ROOT/blobs/sha256/XX/HEX, or the object blobs/sha256/HEX), not
# through a server
registry_blob_bytes() {
    _h=${1#sha256:}
    if registry_backend_is s3pg; then
        s3_curl -sf "$S3_ENDPOINT/$S3_BUCKET/blobs/sha256/$_h"
    else
        cat "${SREG_ROOT:-$TRASH/registry}/blobs/sha256/$(echo "$_h" | cut -c1-2)/$_h"
    fi
}

# registry_trash_blob DIGEST: move a blob into the store's trash by hand, as
# a gc killed before its COMMIT leaves it (ROOT/trash/<alg>-<hex>, or the
# object trash/<alg>-<hex>: a server-side copy, then the DELETE)
registry_trash_blob() {
    _h=${1#sha256:}
    if registry_backend_is s3pg; then
        s3_curl -sf -o /dev/null -X PUT -H "x-amz-copy-source: /$S3_BUCKET/blobs/sha256/$_h" \
            "$S3_ENDPOINT/$S3_BUCKET/trash/sha256-$_h" &&
            s3_curl -sf -o /dev/null -X DELETE "$S3_ENDPOINT/$S3_BUCKET/blobs/sha256/$_h"
    else
        _r=${SREG_ROOT:-$TRASH/registry}
        mkdir -p "$_r/trash" && mv "$_r/blobs/sha256/$(echo "$_h" | cut -c1-2)/$_h" "$_r/trash/sha256-$_h"
    fi
}

# registry_trash_put NAME FILE: FILE as NAME in the store's trash
registry_trash_put() {
    if registry_backend_is s3pg; then
        s3_curl -sf -o /dev/null -X PUT --data-binary @"$2" "$S3_ENDPOINT/$S3_BUCKET/trash/$1"
    else
        mkdir -p "${SREG_ROOT:-$TRASH/registry}/trash" && cp "$2" "${SREG_ROOT:-$TRASH/registry}/trash/$1"
    fi
}

#!/bin/sh
# tests/e2e/helpers/ceph.sh — a throwaway Ceph cluster with an S3 gateway for tests.
#
#   helpers/ceph.sh start DIR   one ceph-mon, one ceph-osd (memstore: the
#                               objects live in the OSD's memory) and radosgw
#                               (beast) on 127.0.0.1, free ports, auth none,
#                               every file in a fresh /tmp/strata-ceph.*;
#                               an S3 user with known keys and one bucket.
#                               Writes DIR/endpoint (http://127.0.0.1:PORT),
#                               DIR/access_key, DIR/secret_key, DIR/bucket,
#                               DIR/region, DIR/url (the strata --storage URL
#                               s3://BUCKET?endpoint=...&region=...), DIR/pids
#                               (one PID a line), DIR/cephdir, DIR/conf; prints
#                               the URL.
#   helpers/ceph.sh stop DIR    stop those processes by their PIDs (TERM, then
#                               KILL after 2 s) and remove the cluster's files
#
# Every step waits for a condition (the monitor answers, the OSD is up in the
# OSD map, the gateway answers HTTP, the bucket answers a signed HEAD), each
# with a deadline (CEPH_START_TIMEOUT seconds, default 60); a start takes
# about 10-15 s, mostly radosgw creating its pools.
#
# Exit 2 with the reason on stderr when Ceph cannot start here (not
# installed, a daemon exits or misses its deadline): tests skip with it.
#
# Root is not needed (checked as nobody): the daemons only bind unprivileged ports on 127.0.0.1
# and write below the temp dir (memstore needs no block device). Nothing in
# /etc/ceph or /var/lib/ceph is read or written (every path is in DIR/conf,
# the keyring is /dev/null). CEPH_MEMSTORE_BYTES (default 4 GiB) is the size
# the OSD reports; memstore allocates only what is stored, but the OSD goes
# read-only (full) past 95 % of it.
set -eu

cmd=${1:?usage: ceph.sh start|stop DIR}
dir=${2:?usage: ceph.sh start|stop DIR}

ACCESS_KEY=STRATATESTACCESSKEY0
SECRET_KEY=stratatestsecretkey00000000000000000000
BUCKET=strata
REGION=default
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# fail REASON [LOG]: exit 2 with the reason (and the last lines of LOG)
fail() {
    echo "$1" >&2
    [ -z "${2:-}" ] || [ ! -s "$2" ] || tail -5 "$2" | sed 's/^/  /' >&2
    exit 2
}

# alive PID: the process runs (a zombie, exited but not yet reaped by
# whoever inherited it, does not)
alive() {
    [ -r "/proc/$1/stat" ] && [ "$(sed 's/^.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# started NAME PID: remember a daemon's PID (for stop, also after a failure)
started() {
    echo "$2" >>"$dir/pids"
}

# wait_for WHAT PID LOG CMD...: run CMD every 0.2 s until it succeeds; fail
# at once when the daemon PID exits, or after the deadline
wait_for() {
    _what=$1 _pid=$2 _log=$3
    shift 3
    _n=$(( ${CEPH_START_TIMEOUT:-60} * 5 ))
    until "$@" >/dev/null 2>&1; do
        alive "$_pid" || fail "$_what exited" "$_log"
        [ $_n -gt 0 ] || fail "$_what: not ready after ${CEPH_START_TIMEOUT:-60} s" "$_log"
        sleep 0.2
        _n=$((_n - 1))
    done
}

ceph_cli() {
    ceph -c "$conf" --connect-timeout 5 "$@"
}

osd_up() {
    ceph_cli osd dump | grep -q '^osd\.0 up'
}

s3() {
    curl -sf -o /dev/null --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
        -H "x-amz-content-sha256: $EMPTY_SHA256" "$@"
}

case $cmd in
start)
    for b in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph curl python3; do
        command -v "$b" >/dev/null 2>&1 || fail "Ceph is not installed here (no $b)"
    done
    mkdir -p "$dir"
    rm -f "$dir/pids"
    c=$(mktemp -d /tmp/strata-ceph.XXXXXX)
    echo "$c" >"$dir/cephdir"
    conf=$c/ceph.conf
    echo "$conf" >"$dir/conf"
    mkdir -p "$c/run" "$c/log" "$c/mon" "$c/osd" "$c/rgw" "$c/crash"
    fsid=$(cat /proc/sys/kernel/random/uuid)
    mon_port=$(free_port)
    rgw_port=$(free_port)
    cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
ms mon client mode = crc secure
ms bind msgr1 = false
keyring = /dev/null
run dir = $c/run
admin socket = $c/run/\$name.asok
log file = $c/log/\$name.log
pid file = $c/run/\$name.pid
crash dir = $c/crash
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 0
mon data avail crit = 0
# quicker osdmap proposals: radosgw waits for each pool it creates
paxos propose interval = 0.05
paxos min wait = 0.01
[mon]
mon data = $c/mon
[osd]
osd data = $c/osd
osd objectstore = memstore
memstore device bytes = ${CEPH_MEMSTORE_BYTES:-4294967296}
[client.rgw]
rgw data = $c/rgw
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw enable usage log = false
EOF

    # the monitor
    monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$c/monmap" \
        >"$c/log/monmaptool.out" 2>&1 || fail "monmaptool failed" "$c/log/monmaptool.out"
    ceph-mon -c "$conf" --mkfs -i a --monmap "$c/monmap" >"$c/log/mon-mkfs.out" 2>&1 ||
        fail "ceph-mon --mkfs failed" "$c/log/mon-mkfs.out"
    ceph-mon -c "$conf" -f -i a </dev/null >"$c/log/mon.out" 2>&1 &
    mon_pid=$!
    started mon "$mon_pid"
    wait_for ceph-mon "$mon_pid" "$c/log/mon.a.log" ceph_cli mon stat

    # the OSD (memstore)
    osd_uuid=$(cat /proc/sys/kernel/random/uuid)
    id=$(ceph_cli osd new "$osd_uuid" 2>"$c/log/osd-new.out") || fail "ceph osd new failed" "$c/log/osd-new.out"
    [ "$id" = 0 ] || fail "ceph osd new gave id '$id', expected 0"
    ceph-osd -c "$conf" --mkfs -i 0 --osd-uuid "$osd_uuid" >"$c/log/osd-mkfs.out" 2>&1 ||
        fail "ceph-osd --mkfs failed" "$c/log/osd-mkfs.out"
    ceph-osd -c "$conf" -f -i 0 </dev/null >"$c/log/osd.out" 2>&1 &
    osd_pid=$!
    started osd "$osd_pid"
    wait_for ceph-osd "$osd_pid" "$c/log/osd.0.log" osd_up

    # the gateway, its user and bucket
    radosgw -c "$conf" -f -n client.rgw </dev/null >"$c/log/rgw.out" 2>&1 &
    rgw_pid=$!
    started rgw "$rgw_pid"
    endpoint=http://127.0.0.1:$rgw_port
    wait_for radosgw "$rgw_pid" "$c/log/client.rgw.log" curl -s -o /dev/null "$endpoint/"
    radosgw-admin -c "$conf" -n client.admin user create --uid strata --display-name strata \
        --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" >"$c/log/user.json" 2>"$c/log/user.err" ||
        fail "radosgw-admin user create failed" "$c/log/user.err"
    s3 -X PUT "$endpoint/$BUCKET" || fail "creating the bucket $BUCKET failed" "$c/log/client.rgw.log"
    wait_for "the bucket $BUCKET" "$rgw_pid" "$c/log/client.rgw.log" s3 -I "$endpoint/$BUCKET"

    echo "$endpoint" >"$dir/endpoint"
    echo "$ACCESS_KEY" >"$dir/access_key"
    echo "$SECRET_KEY" >"$dir/secret_key"
    echo "$BUCKET" >"$dir/bucket"
    echo "$REGION" >"$dir/region"
    echo "s3://$BUCKET?endpoint=$endpoint&region=$REGION" | tee "$dir/url"
    ;;
stop)
    if [ -s "$dir/pids" ]; then
        pids=$(cat "$dir/pids")
        for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
        n=20
        for p in $pids; do
            while alive "$p" && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
            kill -KILL "$p" 2>/dev/null || true
        done
    fi
    [ ! -s "$dir/cephdir" ] || rm -rf "$(cat "$dir/cephdir")"
    rm -f "$dir/pids" "$dir/cephdir" "$dir/conf" "$dir/endpoint" "$dir/access_key" \
        "$dir/secret_key" "$dir/bucket" "$dir/region" "$dir/url"
    ;;
*)
    echo "usage: ceph.sh start|stop DIR" >&2; exit 64 ;;
esac

#!/bin/sh
# t5105: FROM --platform=P selects P's image of a multi-platform base (it
# used to build on the host's variant silently; then it was an error: #14
# item 12 builds foreign platforms); a base that has no image of P is an
# error that names both platforms and the way out.
. "$(dirname "$0")/lib.sh"

require_builder
command -v skopeo >/dev/null || test_skip_all "skopeo is not installed"

start_strata_registry

host_arch() {
    case $(uname -m) in x86_64) echo amd64 ;; aarch64) echo arm64 ;; *) uname -m ;; esac
}
HOST=$(host_arch)
OTHER=riscv64

test_expect_success 'setup: a two-platform index (host and riscv64) in the registry' '
    make_busybox_tar bb.tar &&
    strata import bb.tar demo/bb:1 >/dev/null &&
    strata save --format oci -o bb-oci.tar demo/bb:1 &&
    mkdir one && tar -C one -xf bb-oci.tar &&
    python3 - "$HOST" "$OTHER" <<-\PY &&
	import hashlib, json, shutil, sys, os
	src = "one"; dst = "multi"
	os.makedirs(dst + "/blobs/sha256")
	idx = json.load(open(src + "/index.json"))
	blob = lambda d: src + "/blobs/sha256/" + d[7:]
	m = json.load(open(blob(idx["manifests"][0]["digest"])))
	cfg = json.load(open(blob(m["config"]["digest"])))
	def put(b):
	    d = hashlib.sha256(b).hexdigest()
	    open(dst + "/blobs/sha256/" + d, "wb").write(b)
	    return "sha256:" + d
	for l in m["layers"]:
	    shutil.copy(blob(l["digest"]), dst + "/blobs/sha256/")
	mans = []
	for arch in sys.argv[1:]:
	    c = dict(cfg); c["architecture"] = arch
	    c["config"] = dict(c.get("config") or {}); c["config"]["Env"] = ["ARCH=" + arch]
	    cb = json.dumps(c).encode()
	    mm = dict(m); mm["config"] = {"mediaType": m["config"]["mediaType"], "digest": put(cb), "size": len(cb)}
	    mb = json.dumps(mm).encode()
	    mans.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(mb),
	                 "size": len(mb), "platform": {"os": "linux", "architecture": arch}})
	ib = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
	                 "manifests": mans}).encode()
	json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
	           "digest": put(ib), "size": len(ib),
	           "annotations": {"org.opencontainers.image.ref.name": "multi"}}]}, open(dst + "/index.json", "w"))
	open(dst + "/oci-layout", "w").write("{\"imageLayoutVersion\":\"1.0.0\"}")
	PY
    skopeo copy -q --all --dest-tls-verify=false oci:multi:multi "docker://$SREG/multi:1" &&
    mkdir ctx
'

test_expect_success 'FROM --platform of the host: built on the host variant' '
    printf "FROM --platform=linux/%s %s/multi:1\nRUN echo \$ARCH >/arch\n" "$HOST" "$SREG" >ctx/Dockerfile &&
    STRATA_ROOT=$TRASH/a strata build -q -t app:1 ctx >/dev/null &&
    test "$(STRATA_ROOT=$TRASH/a strata run --rm app:1 cat /arch)" = "$HOST"
'

test_expect_success 'FROM --platform of another platform: that platform is pulled, not the host variant' '
    printf "FROM --platform=linux/%s %s/multi:1\nLABEL built=1\n" "$OTHER" "$SREG" >ctx/Dockerfile &&
    STRATA_ROOT=$TRASH/b strata build -q -t app:2 ctx >/dev/null &&
    test "$(STRATA_ROOT=$TRASH/b strata inspect --format "{{.Architecture}} {{.Config.Env}}" app:2)" = "$OTHER [ARCH=$OTHER]"
'

test_expect_success 'an image of another platform only: a clear error naming both' '
    strata push demo/bb:1 $SREG/single:1 >/dev/null &&
    printf "FROM --platform=linux/%s %s/single:1\nRUN true\n" "$OTHER" "$SREG" >ctx/Dockerfile &&
    test_exit_code 1 env STRATA_ROOT=$TRASH/c "$STRATA_BIN" build -q ctx 2>err &&
    cat err &&
    grep "Dockerfile:1: FROM --platform=linux/$OTHER $SREG/single:1: the image is linux/$HOST, not linux/$OTHER" err &&
    grep -- "strata pull --platform linux/$OTHER" err
'

test_done

#!/usr/bin/env python3
"""mkimage.py DIR TAG [--layers N] [--size BYTES] [--index] [--seed S] [--uncompressed]

Write an OCI image layout at DIR with an image tagged TAG: N gzip layers
(each a tar holding one file of BYTES pseudo-random, incompressible bytes),
a config and a manifest. --index adds an image index over two platforms
(linux/amd64 and linux/arm64) under TAG instead. Deterministic for a seed.
"""
import argparse, gzip, hashlib, io, json, os, random, tarfile

def put_blob(d, data):
    h = hashlib.sha256(data).hexdigest()
    p = os.path.join(d, "blobs", "sha256")
    os.makedirs(p, exist_ok=True)
    with open(os.path.join(p, h), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + h, "size": len(data)}

UNCOMPRESSED = False

def layer(rng, i, size):
    content = rng.randbytes(size)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        ti = tarfile.TarInfo("file%d" % i)
        ti.size = len(content)
        ti.mtime = 0
        t.addfile(ti, io.BytesIO(content))
    tar = raw.getvalue()
    if UNCOMPRESSED:
        return tar, "sha256:" + hashlib.sha256(tar).hexdigest()
    gz = gzip.compress(tar, compresslevel=1, mtime=0)
    return gz, "sha256:" + hashlib.sha256(tar).hexdigest()

def image(d, rng, n, size, arch):
    layers, diffs = [], []
    for i in range(n):
        gz, diff = layer(rng, i, size)
        desc = put_blob(d, gz)
        desc["mediaType"] = "application/vnd.oci.image.layer.v1.tar" + ("" if UNCOMPRESSED else "+gzip")
        layers.append(desc)
        diffs.append(diff)
    cfg = {"architecture": arch, "os": "linux", "config": {"Cmd": ["/bin/sh"]},
           "rootfs": {"type": "layers", "diff_ids": diffs}}
    c = put_blob(d, json.dumps(cfg, separators=(",", ":")).encode())
    c["mediaType"] = "application/vnd.oci.image.config.v1+json"
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": c, "layers": layers}
    md = put_blob(d, json.dumps(m, separators=(",", ":")).encode())
    md["mediaType"] = m["mediaType"]
    return md

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("tag")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--index", action="store_true")
    ap.add_argument("--seed", default="strata")
    ap.add_argument("--uncompressed", action="store_true")
    a = ap.parse_args()
    global UNCOMPRESSED
    UNCOMPRESSED = a.uncompressed
    rng = random.Random(a.seed)
    os.makedirs(a.dir, exist_ok=True)
    with open(os.path.join(a.dir, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    if a.index:
        ms = []
        for arch in ("amd64", "arm64"):
            md = image(a.dir, rng, a.layers, a.size, arch)
            md["platform"] = {"os": "linux", "architecture": arch}
            ms.append(md)
        idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": ms}
        top = put_blob(a.dir, json.dumps(idx, separators=(",", ":")).encode())
        top["mediaType"] = idx["mediaType"]
    else:
        top = image(a.dir, rng, a.layers, a.size, "amd64")
    ip = os.path.join(a.dir, "index.json")
    index = {"schemaVersion": 2, "manifests": []}
    if os.path.exists(ip):
        index = json.load(open(ip))
        index["manifests"] = [m for m in index["manifests"]
                              if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != a.tag]
    top["annotations"] = {"org.opencontainers.image.ref.name": a.tag}
    index["manifests"].append(top)
    with open(ip, "w") as f:
        json.dump(index, f)
    print(top["digest"])

main()

#!/usr/bin/env python3
"""fakereg.py DIR — a small registry demanding Bearer tokens, its token
server, and a blob storage server that blob GETs are redirected to; all on
127.0.0.1 with free ports written to DIR/ports ("REG TOKEN STORAGE").

- token server: GET /token?service=fake&scope=...; Basic alice:s3cret grants
  pull,push everywhere; anonymous gets pull on repository "public" only;
  a wrong password gets 401. Answers {"token"} or, with FAKEREG_ACCESS_TOKEN=1,
  {"access_token"}. Each token is good for FAKEREG_TOKEN_USES requests
  (default 1000), then the registry answers 401 (the client must refresh).
- registry: /v2/, manifests, blobs (GET redirects to the storage server),
  uploads (POST, PATCH with Content-Range checks and OCI-Chunk-Min-Length,
  PUT ?digest=), tags/list with n/last pagination and Link headers.
- every request is logged to DIR/log as "server METHOD PATH auth=SCHEME [extra]".
"""
import base64, hashlib, json, os, sys, threading, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs, quote

D = sys.argv[1]
LOCK = threading.Lock()
TOKENS = {}      # token -> [scopes set, uses left]
BLOBS = {}       # digest -> bytes
REPO_BLOBS = {}  # repo -> set(digest)
MANIFESTS = {}   # (repo, ref) -> (mediatype, bytes)
UPLOADS = {}     # id -> bytearray
MIN_CHUNK = 20000
USES = int(os.environ.get("FAKEREG_TOKEN_USES", "1000"))
PORTS = {}

def log(line):
    with LOCK, open(os.path.join(D, "log"), "a") as f:
        f.write(line + "\n")

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_name = "?"
    def log_message(self, *a):
        pass
    def authscheme(self):
        a = self.headers.get("Authorization")
        return a.split(" ")[0] if a else "none"
    def send(self, code, body=b"", headers=None, ctype="application/json"):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body or code not in (201, 202, 307):
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
    def err(self, code, ecode, msg, headers=None):
        body = json.dumps({"errors": [{"code": ecode, "message": msg}]}).encode()
        self.send(code, body, headers)
    def body(self):
        if getattr(self, "_body", None) is not None:
            return self._body
        n = int(self.headers.get("Content-Length") or 0)
        self._body = self.rfile.read(n) if n else b""
        return self._body

class Token(H):
    def do_GET(self):
        u = urlparse(self.path)
        q = parse_qs(u.query)
        log("token GET %s auth=%s" % (self.path, self.authscheme()))
        user = None
        a = self.headers.get("Authorization")
        if a and a.startswith("Basic "):
            up = base64.b64decode(a[6:]).decode()
            if up != "alice:s3cret":
                return self.err(401, "UNAUTHORIZED", "invalid username or password")
            user = "alice"
        granted = set()
        for s in q.get("scope", []):
            _, repo, actions = s.split(":")
            for act in actions.split(","):
                if user or (repo == "public" and act == "pull"):
                    granted.add((repo, act))
        tok = "tok-" + uuid.uuid4().hex
        with LOCK:
            TOKENS[tok] = [granted, USES]
        field = "access_token" if os.environ.get("FAKEREG_ACCESS_TOKEN") else "token"
        self.send(200, json.dumps({field: tok, "expires_in": 300}).encode())

class Storage(H):
    def do_GET(self):
        log("storage GET %s auth=%s" % (self.path, self.authscheme()))
        dg = urlparse(self.path).path.split("/")[-1]
        data = BLOBS.get(dg)
        if data is None:
            return self.err(404, "BLOB_UNKNOWN", "blob unknown")
        self.send(200, data, ctype="application/octet-stream")

class Reg(H):
    def check(self, repo, act):
        a = self.headers.get("Authorization", "")
        chal = 'Bearer realm="http://127.0.0.1:%d/token",service="fake"' % PORTS["token"]
        if repo:
            chal += ',scope="repository:%s:%s"' % (repo, act)
        with LOCK:
            t = TOKENS.get(a[7:]) if a.startswith("Bearer ") else None
            if t is not None:
                t[1] -= 1
            ok = t is not None and t[1] >= 0 and (repo is None or (repo, act) in t[0])
        if not ok:
            self.err(401, "UNAUTHORIZED", "authentication required", {"WWW-Authenticate": chal})
        return ok
    def route(self):
        u = urlparse(self.path)
        p = u.path
        q = parse_qs(u.query)
        extra = ""
        if self.headers.get("Content-Range"):
            extra = " range=" + self.headers["Content-Range"]
        log("reg %s %s auth=%s%s" % (self.command, p, self.authscheme(), extra))
        self._body = None
        self.body()  # always consume the request body, even when refusing it
        if p == "/v2/":
            if self.check(None, None):
                self.send(200, b"{}")
            return
        parts = p[4:].split("/")
        for i, w in enumerate(parts):
            if w in ("manifests", "blobs", "tags") and i > 0:
                repo, kind, rest = "/".join(parts[:i]), w, parts[i + 1:]
                break
        else:
            return self.err(404, "NOT_FOUND", "no route")
        write = self.command in ("PUT", "POST", "PATCH", "DELETE")
        if not self.check(repo, "push" if write else "pull"):
            return
        getattr(self, "h_" + kind)(repo, rest, q)
    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = route

    def h_tags(self, repo, rest, q):
        tags = sorted(t for (r, t) in MANIFESTS if r == repo and not t.startswith("sha256:"))
        if not tags:
            return self.err(404, "NAME_UNKNOWN", "repository name not known to registry")
        last = q.get("last", [""])[0]
        n = int(q.get("n", ["1000"])[0])
        page = [t for t in tags if t > last][:n]
        hdr = {}
        if page and page[-1] != tags[-1]:
            hdr["Link"] = '</v2/%s/tags/list?n=%d&last=%s>; rel="next"' % (repo, n, page[-1])
        self.send(200, json.dumps({"name": repo, "tags": page}).encode(), hdr)

    def h_manifests(self, repo, rest, q):
        ref = rest[0]
        if self.command == "PUT":
            data = self.body()
            dg = "sha256:" + hashlib.sha256(data).hexdigest()
            mt = self.headers.get("Content-Type")
            MANIFESTS[(repo, ref)] = MANIFESTS[(repo, dg)] = (mt, data)
            return self.send(201, b"", {"Docker-Content-Digest": dg, "Location": "/v2/%s/manifests/%s" % (repo, dg)})
        m = MANIFESTS.get((repo, ref))
        if not m:
            return self.err(404, "MANIFEST_UNKNOWN", "manifest unknown")
        dg = "sha256:" + hashlib.sha256(m[1]).hexdigest()
        self.send(200, m[1], {"Docker-Content-Digest": dg}, ctype=m[0])

    def h_blobs(self, repo, rest, q):
        if rest and rest[0] == "uploads":
            return self.upload(repo, rest[1:], q)
        dg = rest[0]
        if dg not in REPO_BLOBS.get(repo, set()):
            return self.err(404, "BLOB_UNKNOWN", "blob unknown to registry")
        if self.command == "HEAD":
            self.send_response(200)
            self.send_header("Content-Length", str(len(BLOBS[dg])))
            self.send_header("Docker-Content-Digest", dg)
            self.end_headers()
            return
        self.send(307, b"", {"Location": "http://127.0.0.1:%d/blob/%s?sig=x" % (PORTS["storage"], dg)})

    def upload(self, repo, rest, q):
        if self.command == "POST":
            if "mount" in q:
                dg, frm = q["mount"][0], q["from"][0]
                if dg in REPO_BLOBS.get(frm, set()):
                    REPO_BLOBS.setdefault(repo, set()).add(dg)
                    return self.send(201, b"", {"Location": "/v2/%s/blobs/%s" % (repo, dg)})
            uid = uuid.uuid4().hex
            UPLOADS[uid] = bytearray()
            return self.send(202, b"", {"Location": "/v2/%s/blobs/uploads/%s" % (repo, uid),
                                        "OCI-Chunk-Min-Length": str(MIN_CHUNK), "Range": "0-0"})
        uid = rest[0]
        buf = UPLOADS.get(uid)
        if buf is None:
            return self.err(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown")
        data = self.body()
        if self.command == "PATCH":
            cr = self.headers.get("Content-Range")
            if cr:
                a, b = map(int, cr.split("-"))
                if a != len(buf) or b - a + 1 != len(data):
                    return self.err(416, "BLOB_UPLOAD_INVALID", "bad range")
            log("reg chunk %d" % len(data))
            buf += data
            # an absolute Location this time
            return self.send(202, b"", {"Location": "http://127.0.0.1:%d/v2/%s/blobs/uploads/%s" % (PORTS["reg"], repo, uid),
                                        "Range": "0-%d" % (len(buf) - 1)})
        buf += data
        dg = q.get("digest", [""])[0]
        if "sha256:" + hashlib.sha256(buf).hexdigest() != dg:
            return self.err(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
        BLOBS[dg] = bytes(buf)
        REPO_BLOBS.setdefault(repo, set()).add(dg)
        del UPLOADS[uid]
        self.send(201, b"", {"Docker-Content-Digest": dg, "Location": "/v2/%s/blobs/%s" % (repo, dg)})

class Quiet(ThreadingHTTPServer):
    daemon_threads = True
    def handle_error(self, request, client_address):
        pass  # clients that hang up (TLS probes, cut transfers) are expected

servers = {}
for name, cls in (("reg", Reg), ("token", Token), ("storage", Storage)):
    s = Quiet(("127.0.0.1", 0), cls)
    servers[name] = s
    PORTS[name] = s.server_address[1]
with open(os.path.join(D, "ports.tmp"), "w") as f:
    f.write("%d %d %d\n" % (PORTS["reg"], PORTS["token"], PORTS["storage"]))
os.rename(os.path.join(D, "ports.tmp"), os.path.join(D, "ports"))
for name in ("token", "storage"):
    threading.Thread(target=servers[name].serve_forever, daemon=True).start()
servers["reg"].serve_forever()

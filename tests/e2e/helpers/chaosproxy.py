#!/usr/bin/env python3
"""chaosproxy.py PORTFILE TARGET_PORT — an HTTP proxy on 127.0.0.1 in front
of a registry that misbehaves at the HTTP level, configured by the
environment:

  FLAKY=N          every Nth request is answered 429 (odd ones) or 503
                   (even ones) without reaching the registry
  REDIRECT=abs|rel blob GETs are answered 307 to the registry's own port
                   (abs: an absolute URL on another port; rel: a relative
                   Location "../blobs/<digest>?redirected=1" back here)
  LIE=N            the first N blob GETs and manifest responses carry a
                   wrong Docker-Content-Digest
  LIEBODY=N        the first N blob GETs get one byte flipped, with the
                   registry's (true) Docker-Content-Digest
  STATUS=CODE      uploads (POST/PATCH/PUT of blobs) are answered CODE
                   with a registry error body
  LOCATION=abs     upload Locations are rewritten to absolute URLs

It writes its port to PORTFILE and logs one line per request
("METHOD PATH -> STATUS [fault]") to PORTFILE.log.
"""
import http.client, os, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

portfile, target = sys.argv[1], int(sys.argv[2])
FLAKY = int(os.environ.get("FLAKY", "0"))
REDIRECT = os.environ.get("REDIRECT", "")
STATUS = int(os.environ.get("STATUS", "0"))
LOCATION = os.environ.get("LOCATION", "")
lock = threading.Lock()
state = {"n": 0, "LIE": int(os.environ.get("LIE", "0")), "LIEBODY": int(os.environ.get("LIEBODY", "0"))}
WRONG = "sha256:" + "0" * 64


def take(kind):
    with lock:
        if state[kind] > 0:
            state[kind] -= 1
            return True
    return False


def log(line):
    with lock:
        with open(portfile + ".log", "a") as f:
            f.write(line + "\n")


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body=b"", headers=None, fault=""):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        log("%s %s -> %d %s" % (self.command, self.path, code, fault))

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        with lock:
            state["n"] += 1
            k = state["n"]
        path = self.path.split("?")[0]
        is_blob_get = self.command == "GET" and "/blobs/sha256:" in path
        is_upload = "/blobs/uploads" in path
        if FLAKY and k % FLAKY == 0:
            code = 429 if (k // FLAKY) % 2 else 503
            eb = b'{"errors":[{"code":"TOO_MANY_REQUESTS","message":"slow down"}]}'
            return self.reply(code, eb, {"Content-Type": "application/json", "Retry-After": "0"}, "flaky")
        if STATUS and is_upload:
            eb = b'{"errors":[{"code":"UNKNOWN","message":"storage is on fire"}]}'
            return self.reply(STATUS, eb, {"Content-Type": "application/json"}, "status")
        if REDIRECT and is_blob_get and "redirected=1" not in self.path:
            if REDIRECT == "abs":
                loc = "http://127.0.0.1:%d%s" % (target, path)
            else:
                loc = "../blobs/%s?redirected=1" % path.rsplit("/", 1)[1]
            return self.reply(307, b"", {"Location": loc}, "redirect")
        c = http.client.HTTPConnection("127.0.0.1", target, timeout=60)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        c.request(self.command, self.path, body=body if (body or self.command in ("PUT", "PATCH", "POST")) else None,
                  headers=hdrs)
        r = c.getresponse()
        data = r.read()
        headers = {}
        for k, v in r.getheaders():
            if k.lower() in ("content-length", "connection", "transfer-encoding", "date", "server"):
                continue
            headers[k] = v
        fault = ""
        if "Docker-Content-Digest" in headers and (is_blob_get or "/manifests/" in path) and take("LIE"):
            headers["Docker-Content-Digest"] = WRONG
            fault = "lie"
        if is_blob_get and data and r.status in (200, 206) and take("LIEBODY"):
            data = bytes([data[0] ^ 0xFF]) + data[1:]
            fault = "liebody"
        if LOCATION == "abs" and headers.get("Location", "").startswith("/"):
            headers["Location"] = "http://127.0.0.1:%d%s" % (self.server.server_address[1], headers["Location"])
        if self.command == "HEAD":
            self.send_response(r.status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", r.getheader("Content-Length") or "0")
            self.end_headers()
            log("%s %s -> %d %s" % (self.command, self.path, r.status, fault))
            return
        self.reply(r.status, data, headers, fault)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()

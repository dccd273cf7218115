#!/usr/bin/env python3
"""urlserver.py PORTFILE DIR — a static file server on 127.0.0.1 for ADD <url>
tests, misbehaving on demand (environment):

  TLS=CERT:KEY   serve https with this certificate
  FAIL=N         the first N GETs of each path are answered 503
                 (Retry-After: 0)
  CUT=N          the first GET of each path sends N bytes of the body and
                 closes the connection (the client must resume with Range)
  RATE=BYTES     send at most BYTES per second per request (slow downloads)

Range requests ("bytes=N-") are answered 206. It writes its port to PORTFILE
once listening and logs "GET PATH RANGE -> STATUS" lines to PORTFILE.log.
"""
import os, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

portfile, root = sys.argv[1], sys.argv[2]
FAIL = int(os.environ.get("FAIL", "0"))
CUT = int(os.environ.get("CUT", "0"))
RATE = int(os.environ.get("RATE", "0"))
lock = threading.Lock()
seen = {}
log = open(portfile + ".log", "a", buffering=1)


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def note(self, status):
        log.write("GET %s %s -> %d\n" % (self.path, self.headers.get("Range", "-"), status))

    def do_GET(self):
        with lock:
            n = seen.get(self.path, 0)
            seen[self.path] = n + 1
        path = os.path.join(root, self.path.lstrip("/").split("?")[0])
        if n < FAIL:
            self.note(503)
            self.send_response(503)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        try:
            data = open(path, "rb").read()
        except OSError:
            self.note(404)
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start = 0
        rng = self.headers.get("Range", "")
        if rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            self.note(206)
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        else:
            self.note(200)
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if CUT and n == FAIL and not rng:
            self.wfile.write(body[:CUT])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        step = max(RATE // 20, 1) if RATE else len(body) or 1
        for i in range(0, len(body), step):
            self.wfile.write(body[i:i + step])
            if RATE:
                time.sleep(step / RATE)


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
if os.environ.get("TLS"):
    cert, key = os.environ["TLS"].split(":")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()

#!/usr/bin/env python3
"""hostiles3.py PORTFILE MODEFILE LOG: a fake S3 for t7127 that answers
HEAD bucket 200 and every listing with the answer named by MODEFILE's
text (read on each request); PUT/DELETE are answered 200/204 and logged
("METHOD path") to LOG. The port it bound goes to PORTFILE."""
import http.server
import sys

portfile, modefile, log = sys.argv[1:4]

LIST = {
    "empty": "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>",
    "notxml": "this is not XML at all <<<",
    "nokey": "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
    "nosize": "<ListBucketResult><Contents><Key>blobs/sha256/aa</Key></Contents></ListBucketResult>",
    "notoken": "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
    "sametoken": "<ListBucketResult><IsTruncated>true</IsTruncated>"
                 "<NextContinuationToken>again</NextContinuationToken></ListBucketResult>",
    "junk": "<ListBucketResult>"
            "<Contents><Key>blobs/../../etc/passwd</Key><Size>9</Size><LastModified>2001-01-01T00:00:00Z</LastModified></Contents>"
            "<Contents><Key>blobs/sha256/zz</Key><Size>-1</Size><LastModified>garbage</LastModified></Contents>"
            "<Contents><Key>blobs/sha256/" + "a" * 64 + "/x</Key><Size>1</Size></Contents>"
            "<Contents><Key>elsewhere/sha256/" + "b" * 64 + "</Key><Size>1</Size></Contents>"
            "<Contents><Key>blobs/sha256/&lt;" + "c" * 63 + "</Key><Size>99999999999999999999999</Size></Contents>"
            "<Contents><Key><![CDATA[blobs/sha256/\x01]]></Key><Size>1</Size></Contents>"
            "<IsTruncated>false</IsTruncated></ListBucketResult>",
}
UPLOADS = {
    "notoken": "<ListMultipartUploadsResult><IsTruncated>true</IsTruncated></ListMultipartUploadsResult>",
    "sametoken": "<ListMultipartUploadsResult><IsTruncated>true</IsTruncated><NextKeyMarker>k</NextKeyMarker>"
                 "<NextUploadIdMarker>u</NextUploadIdMarker></ListMultipartUploadsResult>",
}


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)

    def record(self):
        with open(log, "a") as f:
            f.write("%s %s\n" % (self.command, self.path))

    def do_HEAD(self):
        self.answer(200 if "/" not in self.path.strip("/") else 404)

    def do_GET(self):
        mode = open(modefile).read().strip()
        if {"uploads", "uploads="} & set(self.path.split("?", 1)[-1].split("&")):
            # the listing of multipart uploads: hostile only in the "up-" modes
            ans = UPLOADS.get(mode[3:], "") if mode.startswith("up-") else ""
            self.answer(200, (ans or "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>"
                              "</ListMultipartUploadsResult>").encode())
            return
        if "list-type=2" in self.path:
            ans = LIST.get(mode, LIST["empty"])
            self.answer(200, ans.encode("utf-8", "surrogateescape"))
            return
        self.answer(404, b"<Error><Code>NoSuchKey</Code></Error>")

    def do_PUT(self):
        self.body()
        self.record()
        self.answer(200)

    def do_DELETE(self):
        self.record()
        self.answer(204)

    def do_POST(self):
        self.body()
        self.record()
        self.answer(500, b"<Error><Code>InternalError</Code></Error>")


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()

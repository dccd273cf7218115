#!/bin/sh
# t7008: strata registry — a chunk whose connection is cut mid-body (the
# body's last bytes and the FIN arrive together) is noticed at once: the
# request ends (499), the session keeps the bytes received and the client's
# next chunk, from the offset the registry reports, is accepted. (With
# libmicrohttpd 0.9.75's epoll loop the FIN went unnoticed until the
# connection timeout: the session stayed busy and every retry got 416.)
. "$(dirname "$0")/lib.sh"

start_strata_registry
export STRATA_RETRY_BASE_MS=20

test_expect_success 'a chunk cut mid-body: 499, the session resumes from what arrived' '
    cat >cut.py <<PY &&
import http.client, socket, sys, time
H = ("127.0.0.1", int(sys.argv[1]))
c = http.client.HTTPConnection(*H)
c.request("POST", "/v2/cut/blobs/uploads/")
r = c.getresponse(); r.read()
loc = r.getheader("Location")
body = bytes(range(256)) * 4096
s = socket.create_connection(H)
def patch(start, data, total):
    return (b"PATCH %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Range: %d-%d\r\nContent-Length: %d\r\n\r\n" % (loc.encode(), start, start + total - 1, total)) + data
s.sendall(patch(0, body, len(body)))
print(s.recv(4096).split(b"\r\n")[0].decode())
s.sendall(patch(len(body), body[:400000], len(body)))
s.shutdown(socket.SHUT_RDWR)
time.sleep(0.5)
c = http.client.HTTPConnection(*H)
c.request("GET", loc)
r = c.getresponse(); r.read()
rng = r.getheader("Range")
print("status", r.status, rng)
at = int(rng.split("-")[1]) + 1
rest = (body + body)[at:]
c.request("PATCH", loc, body=rest, headers={"Content-Range": "%d-%d" % (at, at + len(rest) - 1),
                                            "Content-Type": "application/octet-stream"})
r = c.getresponse(); r.read()
print("patch", r.status, r.getheader("Range"))
s.close()
PY
    python3 cut.py "$SREG_PORT" >out &&
    cat out &&
    grep -x "HTTP/1.1 202 Accepted" out &&
    grep -x "status 204 0-1448575" out &&
    grep -x "patch 202 0-2097151" out &&
    grep "\"PATCH /v2/cut/blobs/uploads/[0-9a-f]*\" 499 in=400000 " "$TRASH/strata-registry.log"
'

test_expect_success 'no connection is left half-closed' '
    ! ss -tn state close-wait "( sport = :$SREG_PORT )" | grep -q "127.0.0.1:$SREG_PORT"
'

test_expect_success 'the registry stops at once' '
    start=$(date +%s) &&
    stop_strata_registry &&
    test $(( $(date +%s) - start )) -lt 5
'

test_done

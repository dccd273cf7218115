#!/usr/bin/env python3
"""faultproxy.py PORTFILE TARGET_PORT — a TCP proxy on 127.0.0.1 that
injects faults, configured by the environment:

  CUTS=N CUT_AFTER=B      the first N connections whose server->client
                          stream passes B bytes are cut there
  UPCUTS=N UPCUT_AFTER=B  the same for the client->server stream
  CORRUPTS=N CORRUPT_AT=B the first N connections passing B bytes
                          server->client get that byte flipped

It writes its port to PORTFILE and logs each fault ("cut", "upcut",
"corrupt") to PORTFILE.log.
"""
import os, socket, sys, threading

portfile, target = sys.argv[1], int(sys.argv[2])
lock = threading.Lock()
left = {k: int(os.environ.get(k, "0")) for k in ("CUTS", "UPCUTS", "CORRUPTS")}
CUT_AFTER = int(os.environ.get("CUT_AFTER", "0"))
UPCUT_AFTER = int(os.environ.get("UPCUT_AFTER", "0"))
CORRUPT_AT = int(os.environ.get("CORRUPT_AT", "0"))

def take(kind):
    with lock:
        if left[kind] > 0:
            left[kind] -= 1
            with open(portfile + ".log", "a") as f:
                f.write({"CUTS": "cut", "UPCUTS": "upcut", "CORRUPTS": "corrupt"}[kind] + "\n")
            return True
    return False

def pump(src, dst, down, pair):
    total = 0
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if down and CORRUPT_AT and total <= CORRUPT_AT < total + len(data) and take("CORRUPTS"):
                i = CORRUPT_AT - total
                data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
            limit = CUT_AFTER if down else UPCUT_AFTER
            if limit and total <= limit < total + len(data) and take("CUTS" if down else "UPCUTS"):
                dst.sendall(data[:limit - total])
                raise ConnectionError("cut")
            dst.sendall(data)
            total += len(data)
    except OSError:
        pass
    for s in pair:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

def serve(c):
    try:
        u = socket.create_connection(("127.0.0.1", target))
    except OSError:
        c.close()
        return
    pair = (c, u)
    t = threading.Thread(target=pump, args=(u, c, True, pair), daemon=True)
    t.start()
    pump(c, u, False, pair)
    t.join()
    c.close()
    u.close()

ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0))
ls.listen(64)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % ls.getsockname()[1])
os.rename(portfile + ".tmp", portfile)
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()

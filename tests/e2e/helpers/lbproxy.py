#!/usr/bin/env python3
"""lbproxy.py PORTFILE MODE PORT... — a TCP load balancer on 127.0.0.1 in
front of several registry instances (127.0.0.1:PORT each):

  MODE failover   each new connection goes to the first backend that
                  accepts it (a killed instance refuses: the next one
                  takes over)
  MODE rr         each new connection goes to the next backend in turn,
                  skipping those that refuse

RATE=BYTES (environment) caps the client->server bytes of each connection
per second (a slow upload, to act in the middle of it).

It writes its port to PORTFILE once listening; logs one line per connection
("conn N -> PORT", or "conn N -> none") to PORTFILE.log; and keeps in
PORTFILE.up the total of client->server bytes forwarded so far (rewritten
as they pass), so a test can wait for an upload to be under way.
"""
import os, socket, sys, threading, time

portfile, mode, ports = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3:]]
if mode not in ("failover", "rr") or not ports:
    sys.exit("usage: lbproxy.py PORTFILE failover|rr PORT...")
RATE = int(os.environ.get("RATE", "0"))
lock = threading.Lock()
state = {"conn": 0, "next": 0, "up": 0}


def log(line):
    with lock:
        with open(portfile + ".log", "a") as f:
            f.write(line + "\n")


def add_up(n):
    with lock:
        state["up"] += n
        total = state["up"]
        tmp = portfile + ".up.tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % total)
        os.replace(tmp, portfile + ".up")


def connect(order):
    for p in order:
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", p))
            return s, p
        except OSError:
            s.close()
    return None, None


def pump(src, dst, up):
    start, sent = time.monotonic(), 0
    try:
        while True:
            data = src.recv(65536 if not RATE else min(65536, max(1024, RATE // 10)))
            if not data:
                break
            dst.sendall(data)
            if up:
                add_up(len(data))
                sent += len(data)
                if RATE:
                    ahead = sent / RATE - (time.monotonic() - start)
                    if ahead > 0:
                        time.sleep(ahead)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(client):
    with lock:
        state["conn"] += 1
        n = state["conn"]
        if mode == "rr":
            i = state["next"]
            state["next"] = (i + 1) % len(ports)
            order = ports[i:] + ports[:i]
        else:
            order = list(ports)
    upstream, port = connect(order)
    log("conn %d -> %s" % (n, port if port else "none"))
    if not upstream:
        client.close()
        return
    t = threading.Thread(target=pump, args=(upstream, client, False), daemon=True)
    t.start()
    pump(client, upstream, True)
    t.join()
    client.close()
    upstream.close()


ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0))
ls.listen(128)
add_up(0)
tmp = portfile + ".tmp"
with open(tmp, "w") as f:
    f.write("%d\n" % ls.getsockname()[1])
os.replace(tmp, portfile)
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()

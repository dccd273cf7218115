#!/usr/bin/env python3
"""body-writer.py HOST:PORT METHOD PATH SIZE [HEADER: VALUE]...

Send one HTTP/1.1 request with a SIZE-byte body, written to the end
whatever the server answers meanwhile (as Go's client does), then print
the status line of the answer. A server that answers and closes over the
unread body makes the kernel send RST: the write or the read then fails,
and this prints "error: ..." and exits 1.
"""
import select
import socket
import sys


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    method, path, size = sys.argv[2], sys.argv[3], int(sys.argv[4])
    headers = sys.argv[5:]
    s = socket.create_connection((host, int(port)), timeout=30)
    head = "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n" % (method, path, sys.argv[1], size)
    for h in headers:
        head += h + "\r\n"
    head += "\r\n"
    try:
        s.sendall(head.encode())
        chunk = b"x" * 65536
        left = size
        first = True
        while left > 0:
            n = min(left, len(chunk))
            s.sendall(chunk[:n])
            left -= n
            if first:
                # a slow writer: the server has time to answer (and, if
                # it does not wait for the body, to close) before the rest
                select.select([s], [], [], 1.0)
                first = False
        data = b""
        while b"\r\n" not in data:
            got = s.recv(4096)
            if not got:
                break
            data += got
    except OSError as e:
        print("error: %s" % e)
        return 1
    if not data:
        print("error: no answer")
        return 1
    print(data.split(b"\r\n", 1)[0].decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())

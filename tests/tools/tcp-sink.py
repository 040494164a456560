#!/usr/bin/python3
"""A server that takes one connection of numbered lines (tcp-client.py
stream) and checks that none is lost, repeated or out of order.

Usage: tcp-sink.py PORT
On END it answers "ok N" (N lines, 0 to N-1, in order) or "bad ..." and
exits.
"""
import socket
import sys


def main():
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(sys.argv[1])))
    ls.listen(1)
    sk, _ = ls.accept()
    buf, n, bad = b"", 0, None
    while True:
        chunk = sk.recv(65536)
        if not chunk:
            return
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line == b"END":
                sk.sendall(b"ok %d\n" % n if bad is None else bad + b"\n")
                return
            if bad is None and line != b"%d" % n:
                bad = b"bad: line %d is %r" % (n, line[:20])
            n += 1


main()

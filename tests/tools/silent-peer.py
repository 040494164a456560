#!/usr/bin/python3
"""A peer that says nothing, for the tests of criu-lite's timeouts.

Usage:
  silent-peer.py listen HOST PORT
      takes every connection and then neither reads nor answers (a page
      server or migrate --incoming that hangs, or is not criu-lite)
  silent-peer.py full HOST PORT
      a listener whose accept queue is full (one connection of its own,
      never accepted): the kernel drops the SYN of any other, whose
      connect() then waits (SYN retries, ~2 min)
  silent-peer.py connect HOST PORT [MODE]
      connects, sends a criu-lite hello of MODE (1 pull, 2 push,
      3 migrate) if given, then says and reads nothing more
Prints READY once set up, then holds its sockets until killed.
"""
import os
import re
import socket
import struct
import sys
import time

XP_MAGIC = 0x58504C43  # "CLPX", criu-lite/xfer-proto.h


def xp_version():
    """The protocol version of the criu-lite beside us (a hello of another
    version is refused before the silence this tests)."""
    h = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                     "..", "..", "criu-lite", "xfer-proto.h")
    with open(h) as f:
        return int(re.search(r"#define XP_VERSION\s+(\d+)", f.read()).group(1))


XP_VERSION = xp_version()


def listener(host, port, backlog):
    ls = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(backlog)
    return ls


def main():
    what, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    held = []
    if what == "listen":
        ls = listener(host, port, 16)
        print("READY", flush=True)
        while True:
            held.append(ls.accept()[0])
    elif what == "full":
        ls = listener(host, port, 0)
        # backlog 0: one completed connection fills the accept queue
        held.append(socket.create_connection((host, port)))
        print("READY", flush=True)
    elif what == "connect":
        sk = socket.create_connection((host, port))
        if len(sys.argv) > 4:
            sk.sendall(struct.pack("<IHH", XP_MAGIC, XP_VERSION,
                                   int(sys.argv[4])))
        held.append(sk)
        print("READY", flush=True)
    else:
        sys.exit(__doc__)
    while True:
        time.sleep(3600)


main()

#!/usr/bin/python3
"""Clients that hold one TCP connection across a checkpoint.

Usage: tcp-client.py MODE HOST PORT PATH WANT_FILE DIR
  hold     HTTP/1.1 keep-alive: one GET, DIR/ready, wait for DIR/go, a
           second GET on the same socket (no reconnect)
  partial  HTTP/1.0: send the request line only, DIR/ready, wait for
           DIR/go, end the headers, read the answer up to EOF
  stream   a tcp-sink.py server: numbered lines, one every 2 ms, DIR/ready
           after 200 of them, on until DIR/go, then END; its answer must
           count every line (PATH and WANT_FILE unused)
  rfb      a VNC server: read its version line, DIR/ready, wait for
           DIR/go, answer with the same version, read its security types
           (PATH and WANT_FILE unused)
Each HTTP answer's body must be WANT_FILE's contents. Exit 0 and "ok ..." in
DIR/result, or exit 1 and the reason there.
"""
import os
import socket
import sys
import time


def read_answer(sk, until_eof):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sk.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed before the headers (%d bytes)"
                               % len(data))
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    status = head.split(b"\r\n")[0]
    if b" 200 " not in status + b" ":
        raise RuntimeError("answer: %r" % status)
    length = None
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while (until_eof or length is None) or len(body) < length:
        chunk = sk.recv(65536)
        if not chunk:
            break
        body += chunk
        if not until_eof and length is not None and len(body) >= length:
            break
    return body


def wait_go(d):
    open(os.path.join(d, "ready"), "w").close()
    for _ in range(1200):
        if os.path.exists(os.path.join(d, "go")):
            return
        time.sleep(0.05)
    raise RuntimeError("no go within 60 s")


def main():
    mode, host, port, path, want_file, d = sys.argv[1:7]
    want = open(want_file, "rb").read() if mode != "rfb" else b""
    sk = socket.create_connection((host, int(port)), timeout=30)
    local = sk.getsockname()
    if mode == "hold":
        req = ("GET /%s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, host)).encode()
        sk.sendall(req)
        if read_answer(sk, False) != want:
            raise RuntimeError("first answer: wrong body")
        wait_go(d)
        sk.sendall(req)
        if read_answer(sk, False) != want:
            raise RuntimeError("second answer: wrong body")
        if sk.getsockname() != local:
            raise RuntimeError("not the same connection")
    elif mode == "partial":
        sk.sendall(("GET /%s HTTP/1.0\r\n" % path).encode())
        wait_go(d)
        sk.sendall(b"Host: x\r\n\r\n")
        if read_answer(sk, True) != want:
            raise RuntimeError("answer: wrong body")
    elif mode == "stream":
        n = 0
        go = os.path.join(d, "go")
        while not os.path.exists(go):
            sk.sendall(b"%d\n" % n)
            n += 1
            if n == 200:
                open(os.path.join(d, "ready"), "w").close()
            time.sleep(0.002)
        sk.sendall(b"END\n")
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = sk.recv(100)
            if not chunk:
                raise RuntimeError("closed before the sink's answer")
            answer += chunk
        if answer != b"ok %d\n" % n:
            raise RuntimeError("sink: %r, sent %d lines" % (answer, n))
        return "ok stream: %d lines, none lost" % n
    elif mode == "rfb":
        version = b""
        while not version.endswith(b"\n"):
            chunk = sk.recv(12 - len(version))
            if not chunk:
                raise RuntimeError("closed before the RFB version")
            version += chunk
        if not version.startswith(b"RFB "):
            raise RuntimeError("not a VNC server: %r" % version)
        wait_go(d)
        sk.sendall(version)
        n = sk.recv(1)
        if not n or n[0] == 0:
            raise RuntimeError("no security types after the version")
        types = sk.recv(n[0])
        if len(types) < 1:
            raise RuntimeError("security types cut short")
    else:
        raise RuntimeError("unknown mode " + mode)
    return "ok %s local port %d" % (mode, local[1])


if __name__ == "__main__":
    out = os.path.join(sys.argv[6], "result")
    try:
        msg, rc = main(), 0
    except Exception as e:  # the reason goes to the result file
        msg, rc = "error: %s" % e, 1
    with open(out + ".tmp", "w") as f:
        f.write(msg + "\n")
    os.rename(out + ".tmp", out)
    sys.exit(rc)

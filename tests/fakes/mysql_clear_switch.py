#!/usr/bin/env python3
"""A hostile MariaDB server for one test: it greets a client as MariaDB does, then asks it to
switch to the mysql_clear_password plugin, which would send the password in clear. It writes
what each client answered to the file given, as hex, and then closes the connection.

Run: mysql_clear_switch.py --out FILE [--port 0] [--socket PATH]; the bound port (127.0.0.1)
is printed on stdout, alone on its line. With --socket it also listens on that unix socket."""
import argparse
import socket
import struct
import threading


def packet(seq, payload):
    return struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload


def read_packet(conn):
    head = b""
    while len(head) < 4:
        chunk = conn.recv(4 - len(head))
        if not chunk:
            return None, None
        head += chunk
    n = head[0] | head[1] << 8 | head[2] << 16
    body = b""
    while len(body) < n:
        chunk = conn.recv(n - len(body))
        if not chunk:
            break
        body += chunk
    return head[3], body


def greeting():
    salt = b"abcdefghijklmnopqrst"
    caps = 0xF7FF | (0x81BF << 16)  # protocol 4.1, secure connection, plugin auth
    return (bytes([10]) + b"5.5.5-10.11.0-MariaDB\0" + struct.pack("<I", 1) + salt[:8] + b"\0"
            + struct.pack("<H", caps & 0xFFFF) + bytes([45]) + struct.pack("<H", 2)
            + struct.pack("<H", caps >> 16) + bytes([21]) + b"\0" * 10 + salt[8:] + b"\0"
            + b"mysql_native_password\0")


def serve(conn, out):
    with conn:
        conn.sendall(packet(0, greeting()))
        seq, _ = read_packet(conn)
        if seq is None:
            return
        # AuthSwitchRequest: 0xFE, plugin name, plugin data.
        conn.sendall(packet(seq + 1, b"\xfe" + b"mysql_clear_password\0"))
        _, answer = read_packet(conn)
        with open(out, "a") as f:
            f.write((answer or b"").hex() + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--socket")
    args = ap.parse_args()
    out = args.out
    srv = socket.socket()
    srv.bind(("127.0.0.1", args.port))
    srv.listen(8)
    servers = [srv]
    if args.socket:
        unix = socket.socket(socket.AF_UNIX)
        unix.bind(args.socket)
        unix.listen(8)
        servers.append(unix)
    for s in servers:
        threading.Thread(target=accept, args=(s, out), daemon=True).start()
    print(srv.getsockname()[1], flush=True)
    threading.Event().wait()


def accept(srv, out):
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, out), daemon=True).start()


if __name__ == "__main__":
    main()

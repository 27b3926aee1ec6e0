#!/usr/bin/env python3
"""A hostile MariaDB server for one test: it greets a client as MariaDB does (offering no TLS),
then asks it to switch to a login plugin that would let it read the password:
mysql_clear_password (sent as it is), or with --plugin caching_sha2_password (after "perform
full authentication") or sha256_password, which send it as it is to a client that believes its
line is TLS. It writes what each client answered to the file given, as hex, and then closes the
connection.

--greet names the plugin of the greeting (caching_sha2_password, as MySQL 8's does).

Run: mysql_clear_switch.py --out FILE [--port 0] [--socket PATH] [--plugin NAME] [--greet NAME];
the bound port (127.0.0.1) is printed on stdout, alone on its line. With --socket it also
listens on that unix socket. Each connection writes one line to FILE, empty when the client sent
nothing after the switch."""
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


def greeting(plugin):
    salt = b"abcdefghijklmnopqrst"
    caps = 0xF7FF | (0x81BF << 16)  # protocol 4.1, secure connection, plugin auth
    return (bytes([10]) + b"5.5.5-10.11.0-MariaDB\0" + struct.pack("<I", 1) + salt[:8] + b"\0"
            + struct.pack("<H", caps & 0xFFFF) + bytes([45]) + struct.pack("<H", 2)
            + struct.pack("<H", caps >> 16) + bytes([21]) + b"\0" * 10 + salt[8:] + b"\0"
            + plugin.encode() + b"\0")


def serve(conn, out, plugin, greet):
    with conn:
        answers = b""
        conn.sendall(packet(0, greeting(greet)))
        seq, _ = read_packet(conn)
        if seq is not None:
            # AuthSwitchRequest: 0xFE, plugin name, plugin data (a scramble, but for clear).
            data = b"" if plugin == "mysql_clear_password" else b"abcdefghijklmnopqrst\0"
            conn.sendall(packet(seq + 1, b"\xfe" + plugin.encode() + b"\0" + data))
            seq, answer = read_packet(conn)
            answers = answer or b""
            if plugin == "caching_sha2_password" and seq is not None:
                conn.sendall(packet(seq + 1, b"\x01\x04"))  # perform full authentication
                _, more = read_packet(conn)
                answers += more or b""
        with open(out, "a") as f:
            f.write(answers.hex() + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--socket")
    ap.add_argument("--plugin", default="mysql_clear_password",
                    choices=["mysql_clear_password", "caching_sha2_password", "sha256_password"])
    ap.add_argument("--greet", default="mysql_native_password")
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
        threading.Thread(target=accept, args=(s, out, args.plugin, args.greet), daemon=True).start()
    print(srv.getsockname()[1], flush=True)
    threading.Event().wait()


def accept(srv, out, plugin, greet):
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, out, plugin, greet), daemon=True).start()


if __name__ == "__main__":
    main()

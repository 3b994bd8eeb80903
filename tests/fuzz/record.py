#!/usr/bin/env python3
"""Records what initiators send: a TCP proxy that forwards 127.0.0.1:LISTEN
to 127.0.0.1:TARGET and writes each connection's initiator-to-target byte
stream to OUTDIR/<n>.bin when the connection ends. The streams are seeds
for the fuzz_pdu harness (see make-seeds.sh).

usage: record.py LISTEN_PORT TARGET_PORT OUTDIR   (runs until killed)
"""
import os
import socket
import sys
import threading

MAX_STREAM = 64 * 1024  # what the fuzzer takes (-max_len in run.sh)


def pump(src, dst, record):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if record is not None and len(record) < MAX_STREAM:
                record.extend(data[:MAX_STREAM - len(record)])
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(client, target_port, path):
    upstream = socket.create_connection(("127.0.0.1", target_port))
    record = bytearray()
    back = threading.Thread(target=pump, args=(upstream, client, None))
    back.start()
    pump(client, upstream, record)
    back.join()
    client.close()
    upstream.close()
    if record:
        with open(path, "wb") as f:
            f.write(record)


def main():
    listen_port, target_port, outdir = (int(sys.argv[1]), int(sys.argv[2]),
                                        sys.argv[3])
    os.makedirs(outdir, exist_ok=True)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", listen_port))
    srv.listen(64)
    n = 0
    while True:
        client, _ = srv.accept()
        n += 1
        path = os.path.join(outdir, "%04d.bin" % n)
        threading.Thread(target=serve, args=(client, target_port, path),
                         daemon=True).start()


if __name__ == "__main__":
    main()

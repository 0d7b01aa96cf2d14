#!/usr/bin/python3
"""kafka_capture.py - a loopback TCP proxy that records Kafka frames.

Sits between Kafka clients and one broker (brook, or librdkafka's mock cluster),
forwards bytes unchanged in both directions and saves every request frame and
every response frame (size prefix included) as

    OUT/<seq>-<api>-v<version>-req.bin   and   OUT/<seq>-<api>-v<version>-resp.bin

where seq numbers the requests in arrival order. Responses are matched to their
request by correlation id, per connection.

Clients learn broker addresses from Metadata and FindCoordinator responses and
would then bypass the proxy; so in responses (only in what is forwarded, never in
what is saved) the upstream's "127.0.0.1" + int32 port is replaced by the proxy's
port, a same-length patch that leaves frame sizes alone.

With --advertise KEY:MAX (repeatable) the forwarded copy of non-flexible
ApiVersions responses claims support for api KEY up to version MAX, so clients
send versions the upstream lacks (librdkafka's mock stops below the flexible
versions). The upstream then usually drops the connection: such runs are for
capturing requests.

Listens on 127.0.0.1, port 0 (the chosen port is printed as the first stdout
line), and exits after --seconds. Python 3 standard library only.

    kafka_capture.py --upstream 127.0.0.1:PORT --out DIR [--seconds 60]
                     [--advertise KEY:MAX ...]
"""

import argparse
import os
import socket
import struct
import sys
import threading
import time

API_NAMES = {
    0: "produce",
    1: "fetch",
    2: "list_offsets",
    3: "metadata",
    8: "offset_commit",
    9: "offset_fetch",
    10: "find_coordinator",
    11: "join_group",
    12: "heartbeat",
    13: "leave_group",
    14: "sync_group",
    15: "describe_groups",
    16: "list_groups",
    17: "sasl_handshake",
    18: "api_versions",
    19: "create_topics",
    20: "delete_topics",
    21: "delete_records",
    22: "init_producer_id",
    32: "describe_configs",
    36: "sasl_authenticate",
    37: "create_partitions",
    42: "delete_groups",
}


class Capture:
    """Numbering and file writing shared by all connections."""

    def __init__(self, out):
        self.out = out
        self.lock = threading.Lock()
        self.seq = 0

    def save_request(self, frame):
        """Save a request; returns (correlation id, (file stem, api key, version))."""
        key, version, corr = struct.unpack(">hhi", frame[4:12])
        name = API_NAMES.get(key, "key%d" % key)
        with self.lock:
            self.seq += 1
            stem = "%05d-%s-v%d" % (self.seq, name, version)
        self.write(stem + "-req.bin", frame)
        return corr, (stem, key, version)

    def write(self, name, frame):
        with open(os.path.join(self.out, name), "wb") as fp:
            fp.write(frame)


def frames(sock):
    """Yield whole size-prefixed frames read from sock until it closes."""
    buf = b""
    while True:
        while len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">i", buf[:4])[0]:
            size = 4 + struct.unpack(">i", buf[:4])[0]
            yield buf[:size]
            buf = buf[size:]
        try:
            data = sock.recv(65536)
        except OSError:
            return
        if not data:
            return
        buf += data


def advertise(frame, extra):
    """An ApiVersions v0-v2 response frame with the max versions in extra."""
    corr, err, n = struct.unpack(">ihi", frame[4:14])
    apis = {}
    for i in range(n):
        key, lo, hi = struct.unpack(">hhh", frame[14 + 6 * i : 20 + 6 * i])
        apis[key] = (lo, hi)
    rest = frame[14 + 6 * n :]  # throttle_time_ms from v1
    for key, hi in extra.items():
        apis[key] = (apis.get(key, (0, 0))[0], hi)
    body = struct.pack(">ihi", corr, err, len(apis))
    body += b"".join(struct.pack(">hhh", k, lo, hi) for k, (lo, hi) in sorted(apis.items()))
    body += rest
    return struct.pack(">i", len(body)) + body


def pump_requests(client, upstream, cap, pending):
    for frame in frames(client):
        corr, req = cap.save_request(frame)
        pending[corr] = req
        upstream.sendall(frame)
    try:
        upstream.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # the upstream already closed


def pump_responses(upstream, client, cap, pending, patch, extra):
    for frame in frames(upstream):
        corr = struct.unpack(">i", frame[4:8])[0]
        stem, key, version = pending.pop(corr, ("unmatched-%d" % corr, -1, -1))
        cap.write("%s-resp.bin" % stem, frame)
        if key == 18 and version <= 2 and extra:
            frame = advertise(frame, extra)
        client.sendall(frame.replace(patch[0], patch[1]))
    try:
        client.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve_connection(client, upstream_addr, cap, patch, extra):
    upstream = socket.create_connection(upstream_addr)
    pending = {}
    threads = [
        threading.Thread(target=pump_requests, args=(client, upstream, cap, pending)),
        threading.Thread(
            target=pump_responses, args=(upstream, client, cap, pending, patch, extra)
        ),
    ]
    for t in threads:
        t.daemon = True
        t.start()
    for t in threads:
        t.join()
    client.close()
    upstream.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", required=True, help="127.0.0.1:PORT of the broker")
    ap.add_argument("--out", required=True, help="directory for the frames")
    ap.add_argument("--seconds", type=float, default=60, help="run time limit")
    ap.add_argument("--advertise", action="append", default=[], metavar="KEY:MAX")
    args = ap.parse_args()
    extra = dict(tuple(int(x) for x in a.split(":")) for a in args.advertise)
    host, port = args.upstream.rsplit(":", 1)
    if host not in ("127.0.0.1", "localhost"):
        sys.exit("kafka_capture.py: loopback upstreams only")
    os.makedirs(args.out, exist_ok=True)

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    my_port = listener.getsockname()[1]
    print(my_port, flush=True)

    patch = (
        b"127.0.0.1" + struct.pack(">i", int(port)),
        b"127.0.0.1" + struct.pack(">i", my_port),
    )
    cap = Capture(args.out)
    deadline = time.monotonic() + args.seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        listener.settimeout(left)
        try:
            client, _ = listener.accept()
        except socket.timeout:
            break
        t = threading.Thread(
            target=serve_connection,
            args=(client, ("127.0.0.1", int(port)), cap, patch, extra),
        )
        t.daemon = True
        t.start()
    listener.close()


if __name__ == "__main__":
    main()

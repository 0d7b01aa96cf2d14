#!/usr/bin/python3
"""kafka_select.py - choose captured Kafka frames to commit as test data.

    kafka_select.py CAPTURE_DIR DEST_DIR

CAPTURE_DIR is what tests/tools/kafka_capture.sh wrote (subdirectories of
<seq>-<api>-v<ver>-req.bin / -resp.bin). For each api and version, keeps the
first few request/response pairs whose request differs from the ones kept
(correlation ids ignored), and writes them to DEST_DIR as

    <api>-v<ver>-req-<n>.bin  and  <api>-v<ver>-resp-<n>.bin   (n = 1, 2, ...)

plus DEST_DIR/SOURCES, one line per kept request naming the capture it came
from and the client id in its header. Responses are kept only with their
request; requests without a response (acks=0, a connection the upstream
dropped) are kept alone. Python 3 standard library only.
"""

import os
import re
import struct
import sys

KEEP = 3  # pairs per api and version
KEEP_MORE = {"produce": 8, "fetch": 4}  # more shapes worth keeping (codecs, sessions)
ORDER = ("plain", "flex", "encoded")  # answered traffic first
NAME = re.compile(r"(\d+)-([a-z_0-9]+)-v(\d+)-(req|resp)\.bin$")


def shape(frame):
    """A request without its size and correlation id."""
    return frame[4:8] + frame[12:]


def client_id(frame):
    n = struct.unpack(">h", frame[12:14])[0]
    return "(null)" if n < 0 else frame[14 : 14 + n].decode("utf-8", "replace")


def main():
    src, dest = sys.argv[1:3]
    os.makedirs(dest, exist_ok=True)
    kept = {}  # (api, version) -> list of request shapes
    sources = []
    for sub in ORDER:
        d = os.path.join(src, sub)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            m = NAME.match(name)
            if not m or m.group(4) != "req":
                continue
            seq, api, version = m.group(1), m.group(2), int(m.group(3))
            with open(os.path.join(d, name), "rb") as fp:
                req = fp.read()
            shapes = kept.setdefault((api, version), [])
            if shape(req) in shapes or len(shapes) >= KEEP_MORE.get(api, KEEP):
                continue
            shapes.append(shape(req))
            n = len(shapes)
            stem = "%s-v%d" % (api, version)
            with open(os.path.join(dest, "%s-req-%d.bin" % (stem, n)), "wb") as fp:
                fp.write(req)
            resp = os.path.join(d, "%s-%s-v%d-resp.bin" % (seq, api, version))
            if os.path.exists(resp):
                with open(resp, "rb") as fp, open(
                    os.path.join(dest, "%s-resp-%d.bin" % (stem, n)), "wb"
                ) as out:
                    out.write(fp.read())
            alone = "" if os.path.exists(resp) else "  no response"
            sources.append(
                "%s-req-%d  %s/%s  client_id=%s%s" % (stem, n, sub, name, client_id(req), alone)
            )
    with open(os.path.join(dest, "SOURCES"), "w") as fp:
        fp.write("# tests/tools/kafka_select.py's pick from a tests/tools/kafka_capture.sh run\n")
        fp.write("\n".join(sources) + "\n")


if __name__ == "__main__":
    main()

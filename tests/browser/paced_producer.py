#!/usr/bin/python3
"""paced_producer.py - produce at a steady rate, for the chart tests.

    paced_producer.py BROKER TOPIC RATE SECONDS

Sends RATE records a second for SECONDS seconds to partition 0 of TOPIC with
kafka-python, each at its own planned time (start + i / RATE), so a slow moment
is caught up rather than shifting the rest. Prints one JSON line: when the paced
sending began and ended (wall ms) and how many records were acknowledged.
"""

import json
import sys
import time

from kafka import KafkaProducer


def main():
    broker, topic, rate, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    p = KafkaProducer(bootstrap_servers=broker, linger_ms=0, acks=1)
    p.send(topic, b"warm-up", partition=0).get(timeout=30)  # connected before the clock starts
    n = int(rate * seconds)
    start = time.time()
    futures = []
    for i in range(n):
        due = start + i / rate
        wait = due - time.time()
        if wait > 0:
            time.sleep(wait)  # pacing, not synchronisation
        futures.append(p.send(topic, b"paced-%06d" % i, partition=0))
    end = start + n / rate
    while time.time() < end:
        time.sleep(end - time.time())
    acked = sum(1 for f in futures if f.get(timeout=30) is not None)
    p.close()
    print(json.dumps({"start_ms": int(start * 1000), "end_ms": int(end * 1000), "acked": acked}))


if __name__ == "__main__":
    main()

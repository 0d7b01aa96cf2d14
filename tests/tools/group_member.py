#!/usr/bin/python3
"""group_member.py - one live member of a consumer group, for the console tests.

    group_member.py BROKER TOPIC GROUP READY_FILE STOP_FILE SECONDS

Joins GROUP with kafka-python, subscribed to TOPIC, and keeps polling so the
group stays Stable with this member in it. Creates READY_FILE once it holds
partitions, then leaves the group when STOP_FILE appears - or after SECONDS in
all, so a test that dies never leaves it behind. It never commits (auto commit
off, reads from the earliest offset): a group it founds has no lag to tell.
"""

import os
import sys
import time

from kafka import KafkaConsumer


def main():
    if len(sys.argv) != 7:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    broker, topic, group, ready, stop, seconds = sys.argv[1:]
    deadline = time.time() + float(seconds)
    c = KafkaConsumer(topic, bootstrap_servers=broker, group_id=group, enable_auto_commit=False,
                      auto_offset_reset='earliest', session_timeout_ms=10000)
    while not c.assignment() and time.time() < deadline:
        c.poll(timeout_ms=200)
    if c.assignment():
        open(ready, 'w').close()
    while not os.path.exists(stop) and time.time() < deadline:
        c.poll(timeout_ms=200)
    c.close(autocommit=False)


if __name__ == '__main__':
    main()

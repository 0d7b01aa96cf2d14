#!/usr/bin/env python3
"""probe.py - system-call probes for the FUSE tests.

Each subcommand does one thing the shell cannot say precisely (which errno, two
write() calls, poll, a latency) and prints one line:

  errno OP ARGS...        OK or the errno name of: open PATH FLAGS (comma list of
                          rdonly,wronly,rdwr,append,trunc,creat,excl,nonblock),
                          truncate PATH SIZE, rename A B, mkdir P, rmdir P,
                          symlink T P, link A B, unlink P, mknod P, chmod P MODE
  write PATH PIECE...     each PIECE (backslash escapes allowed) in its own write()
                          on one O_APPEND descriptor: OK or the errno, per piece
  split PATH OTHER        "half-1 " + (another writer's "other\\n") + "half-2\\n"
  writers PATH K N        K processes append N lines "w<k>-<i>-<pad>" in two writes each
  nonblock PATH           reads an O_NONBLOCK descriptor to its end: the errno there
  follow PATH DATA N      latency of N appends to DATA seen by a blocked read of PATH
  sigint PATH             ms for `cat PATH`, blocked in a read, to die of SIGINT
  sigints DIR PARTS N     N rounds of 8 `cat DIR-<k>/follow` SIGINT'd while a thread
                          appends to DIR-<k>/data: how many were parked, none hung
  tail PATH DATA N        latency of N appends to DATA seen by `tail -f -s 0.1 PATH`
  poll PATH DATA          latency of an append to DATA waking poll() on PATH at its end
  jsonl PATH              lines parsed as JSON, and the last line's value
"""
import errno
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time

FLAGS = {
    "rdonly": os.O_RDONLY, "wronly": os.O_WRONLY, "rdwr": os.O_RDWR,
    "append": os.O_APPEND, "trunc": os.O_TRUNC, "creat": os.O_CREAT,
    "excl": os.O_EXCL, "nonblock": os.O_NONBLOCK,
}


def name(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def unescape(s):
    return s.encode().decode("unicode_escape").encode("latin-1")


def do_errno(op, args):
    def open_(path, flags):
        fl = 0
        for f in flags.split(","):
            fl |= FLAGS[f]
        os.close(os.open(path, fl, 0o644))

    ops = {
        "open": open_,
        "truncate": lambda p, n: os.truncate(p, int(n)),
        "rename": os.rename,
        "mkdir": os.mkdir,
        "rmdir": os.rmdir,
        "symlink": os.symlink,
        "link": os.link,
        "unlink": os.unlink,
        "mknod": lambda p: os.mknod(p, 0o644),
        "chmod": lambda p, m: os.chmod(p, int(m, 8)),
    }
    try:
        ops[op](*args)
        return "OK"
    except OSError as e:
        return name(e)


def do_write(path, pieces):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    out = []
    for p in pieces:
        data = unescape(p)
        try:
            n = os.write(fd, data)
            out.append("OK" if n == len(data) else "short %d" % n)
        except OSError as e:
            out.append(name(e))
    os.close(fd)
    return ",".join(out)


def do_split(path, other):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    os.write(fd, b"half-1 ")
    fd2 = os.open(other, os.O_WRONLY | os.O_APPEND)
    os.write(fd2, b"other\n")
    os.close(fd2)
    os.write(fd, b"half-2\n")
    os.close(fd)
    return "OK"


def writer(path, k, n):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    for i in range(n):
        os.write(fd, b"w%d-%d-" % (k, i))
        os.write(fd, b"x" * (i % 50) + b"\n")
    os.close(fd)


def do_writers(path, k, n):
    pids = []
    for w in range(int(k)):
        pid = os.fork()
        if pid == 0:
            try:
                writer(path, w, int(n))
                os._exit(0)
            except OSError:
                os._exit(1)
        pids.append(pid)
    bad = sum(1 for p in pids if os.waitpid(p, 0)[1] != 0)
    return "OK" if bad == 0 else "%d writers failed" % bad


def drain(fd):
    """Read an O_NONBLOCK descriptor to its current end."""
    while True:
        try:
            if not os.read(fd, 1 << 20):
                return "EOF"
        except OSError as e:
            return name(e)


def append(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    os.write(fd, data)
    os.close(fd)


def stats(ms):
    ms = sorted(ms)
    return "median %.1f ms max %.1f ms" % (ms[len(ms) // 2], ms[-1])


def do_nonblock(path):
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        return drain(fd)
    finally:
        os.close(fd)


def wchan(pid, tid=None):
    path = "/proc/%d/task/%d/wchan" % (pid, tid) if tid else "/proc/%d/wchan" % pid
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def wait_blocked(tid, what):
    """Until thread tid of this process sleeps in a function named like what (5 s)."""
    for _ in range(1000):
        if what in wchan(os.getpid(), tid):
            return True
        time.sleep(0.005)
    return False


def do_follow(path, data, n):
    import fcntl
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    drain(fd)
    fcntl.fcntl(fd, fcntl.F_SETFL, os.O_RDONLY)
    me = threading.get_native_id()
    ms = []
    for i in range(int(n)):
        line = b"follow-%d\n" % i
        t0 = [0.0]

        def later():
            wait_blocked(me, "request_wait_answer")
            t0[0] = time.monotonic()
            append(data, line)

        th = threading.Thread(target=later)
        th.start()
        got = os.read(fd, 1 << 16)
        t1 = time.monotonic()
        th.join()
        if got != line:
            return "FAIL got %r" % got
        ms.append((t1 - t0[0]) * 1000)
    os.close(fd)
    return "OK " + stats(ms)


def do_sigint(path):
    p = subprocess.Popen(["cat", path], stdout=subprocess.DEVNULL,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for _ in range(500):  # until it waits in the FUSE read (at most 5 s)
        if "request_wait_answer" in wchan(p.pid):
            break
        time.sleep(0.01)
    else:
        p.kill()
        return "FAIL cat never blocked (wchan %r)" % wchan(p.pid)
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        return "FAIL still running 5 s after SIGINT"
    return "OK %.1f ms" % ((time.monotonic() - t0) * 1000)


def do_sigints(prefix, parts, rounds):
    import random
    parts, stop, parked, hung = int(parts), [False], 0, 0

    def writer():
        i = 0
        while not stop[0]:
            append("%s-%d/data" % (prefix, i % parts), b"w-%d\n" % i)
            i += 1
            time.sleep(0.001)

    th = threading.Thread(target=writer)
    th.start()
    try:
        for _ in range(int(rounds)):
            ps = [subprocess.Popen(["cat", "%s-%d/follow" % (prefix, k % parts)],
                                   stdout=subprocess.DEVNULL,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
                  for k in range(8)]
            time.sleep(random.random() * 0.1)  # catch them at different points
            for p in ps:
                parked += "request_wait_answer" in wchan(p.pid)
                p.send_signal(signal.SIGINT)
            for p in ps:
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    hung += 1
                    p.kill()
                    p.wait()
    finally:
        stop[0] = True
        th.join()
    return ("OK %d of %d parked" % (parked, 8 * int(rounds))) if not hung else "FAIL %d hung" % hung


def readline(f, timeout):
    r, _, _ = select.select([f], [], [], timeout)
    return f.readline() if r else None


def do_tail(path, data, n):
    with open(path, "rb") as f:
        last = f.read().splitlines()[-1:]
    p = subprocess.Popen(["tail", "-f", "-s", "0.1", path], stdout=subprocess.PIPE, bufsize=0)
    try:
        if last:  # tail shows the last lines first: wait for the last one
            while True:
                line = readline(p.stdout, 5)
                if line is None:
                    return "FAIL tail printed nothing"
                if line.rstrip(b"\n") == last[0]:
                    break
        ms = []
        for i in range(int(n)):
            mark = b"tail-%d" % i
            t0 = time.monotonic()
            append(data, mark + b"\n")
            line = readline(p.stdout, 5)
            if line is None or line.rstrip(b"\n") != mark:
                return "FAIL got %r" % line
            ms.append((time.monotonic() - t0) * 1000)
            time.sleep(0.03)  # vary the phase against tail's 0.1 s poll
        return "OK " + stats(ms)
    finally:
        p.kill()
        p.wait()


def do_poll(path, data):
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    drain(fd)
    po = select.poll()
    po.register(fd, select.POLLIN)
    if po.poll(0):
        return "FAIL readable at the end"
    t0 = [0.0]
    me = threading.get_native_id()

    def later():
        wait_blocked(me, "poll")
        t0[0] = time.monotonic()
        append(data, b"poll\n")

    th = threading.Thread(target=later)
    th.start()
    ev = po.poll(5000)
    t1 = time.monotonic()
    th.join()
    got = os.read(fd, 100)
    os.close(fd)
    if not ev or got != b"poll\n":
        return "FAIL %r %r" % (ev, got)
    return "OK %.1f ms" % ((t1 - t0[0]) * 1000)


def do_jsonl(path):
    n, last = 0, None
    with open(path, "rb") as f:
        for line in f:
            last = json.loads(line)
            for k in ("offset", "timestamp", "key", "headers", "value"):
                if k not in last:
                    return "FAIL no %s in %r" % (k, line)
            n += 1
    return "%d %s" % (n, json.dumps(last["value"]) if last else "-")


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "errno":
        out = do_errno(args[0], args[1:])
    elif cmd == "write":
        out = do_write(args[0], args[1:])
    else:
        fn = {"split": do_split, "writers": do_writers, "nonblock": do_nonblock,
              "follow": do_follow, "sigint": do_sigint, "sigints": do_sigints, "tail": do_tail,
              "poll": do_poll, "jsonl": do_jsonl}[cmd]
        out = fn(*args)
    print(out)


if __name__ == "__main__":
    main(sys.argv)

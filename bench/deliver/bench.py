#!/usr/bin/env python3
"""Delivery benchmark for nullq-send (see run.sh). Not a test: prints figures and ratios.

For N queued 1 KB messages: nullq-send --once to a local QMQP server and to a local QMTP server,
Debian's nullmailer qmqp module (one fork+exec per message, as nullmailer-send does) to the same
QMQP server, and a raw parallel QMQP client (the server's capacity). Client CPU comes from wait4()
of the child; peak RSS from wait4() through the small static `maxrss` launcher (a child of Python
would inherit Python's pages in its high-water mark). Then an idle daemon: its RSS and the
inject-to-delivered latency; and a daemon started on BIG queued messages (default 100,000): time
to its first delivery, its peak RSS, and how long it takes to empty the queue.
"""
import os, statistics, subprocess, sys, tempfile, threading, time

from benchlib import body, ns, run_child, fill_spool, peak_kb

bin_dir, benchtool, nm_qmqp, maxrss, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
big = int(os.environ.get("BIG", "100000"))
assert 900 < len(body) < 1100

def config(tmp, url, extra="", level="warning"):
    path = os.path.join(tmp, "nullq.yaml")
    with open(path, "w") as f:
        f.write("hostname: bench.example\nsmarthosts:\n  - %s\nqueue:\n  dir: %s\nlog:\n  level: %s\n%s"
                % (url, os.path.join(tmp, "spool"), level, extra))
    return path

ports = {}
with tempfile.TemporaryDirectory() as tmp:
    qp, tp = os.path.join(tmp, "qmqp.port"), os.path.join(tmp, "qmtp.port")
    sink = subprocess.Popen([benchtool, "sink", qp, tp])
    try:
        for _ in range(200):
            if os.path.exists(qp) and os.path.exists(tp) and open(tp).read().strip():
                break
            time.sleep(0.01)
        qport, tport = int(open(qp).read()), int(open(tp).read())
        results = {}

        # The receiver's own capacity: a raw parallel QMQP client (16 connections).
        out = subprocess.run([benchtool, "raw-qmqp", str(qport), str(max(n, 5000)), "16"], capture_output=True,
                             text=True, check=True).stdout.split()
        raw_rate = int(out[1]) / float(out[2])

        for name, url, extra in (("nullq qmqp", "url: qmqp://127.0.0.1:%d\n    connections: 16" % qport,
                                  "delivery:\n  connections: 16\n"),
                                 ("nullq qmtp", "url: qmtp://127.0.0.1:%d\n    connections: 4\n    pipeline: 64" % tport,
                                  "")):
            with tempfile.TemporaryDirectory() as t2:
                cfg = config(t2, url, extra)
                fill_spool(os.path.join(t2, "spool"), n)
                rss = os.path.join(t2, "rss")
                secs, ru, rc, err = run_child([maxrss, rss, os.path.join(bin_dir, "nullq-send"), "--once",
                                               "--stderr", "--config", cfg])
                left = len(os.listdir(os.path.join(t2, "spool", "queue")))
                if rc != 0 or left:
                    print("%s: exit %d, %d left\n%s" % (name, rc, left, err[-2000:]))
                results[name] = (n / secs, (ru.ru_utime + ru.ru_stime) * 1e6 / n, peak_kb(rss) / 1024)

        # nullmailer: one qmqp module process per message, serially, like nullmailer-send.
        nm_n = min(n, 2000)
        mail = os.path.join(tmp, "nm-mail")
        with open(mail, "w") as f:
            f.write("bench@example.org\nsink@example.org\n\n" + body)
        opts = ("host=127.0.0.1\nport=%d\n" % qport).encode()
        def run_nm(prefix=()):
            # The message on fd 3 and the options on stdin, as nullmailer-send runs its modules.
            fd = os.open(mail, os.O_RDONLY)
            if fd != 3:
                os.dup2(fd, 3, inheritable=True)
            try:
                return run_child(list(prefix) + [nm_qmqp], stdin=opts, pass_fds=(3,))
            finally:
                os.close(fd)
                if fd != 3:
                    os.close(3)
        cpu = 0.0
        t0 = time.monotonic()
        for _ in range(nm_n):
            _, ru, rc, err = run_nm()
            if rc != 0:
                print("nullmailer qmqp failed:", err)
                break
            cpu += ru.ru_utime + ru.ru_stime
        secs = time.monotonic() - t0
        # Its peak RSS, from a few more runs through the launcher (kept out of the timed loop).
        peak = 0
        for _ in range(20):
            run_nm((maxrss, os.path.join(tmp, "nm.rss")))
            peak = max(peak, peak_kb(os.path.join(tmp, "nm.rss")))
        results["nullmailer qmqp"] = (nm_n / secs, cpu * 1e6 / nm_n, peak / 1024)

        # Idle daemon: peak RSS with an empty queue, and inject-to-delivered latency.
        with tempfile.TemporaryDirectory() as t3:
            cfg = config(t3, "qmtp://127.0.0.1:%d" % tport)
            spool = os.path.join(t3, "spool")
            fill_spool(spool, 0)
            d = subprocess.Popen([os.path.join(bin_dir, "nullq-send"), "--stderr", "--config", cfg],
                                 stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            lat = []
            frame = ns(ns("bench@example.org") + ns("sink@example.org")) + body.encode()
            for _ in range(50):
                t0 = time.monotonic()
                subprocess.run([os.path.join(bin_dir, "nullq-queue"), "-d", spool], input=frame, check=True, stdout=subprocess.DEVNULL)
                deadline = t0 + 5
                while time.monotonic() < deadline and (os.listdir(os.path.join(spool, "new")) or
                                                       os.listdir(os.path.join(spool, "queue"))):
                    time.sleep(0.0005)
                lat.append((time.monotonic() - t0) * 1000)
            with open("/proc/%d/status" % d.pid) as f:
                hwm = [l for l in f if l.startswith("VmHWM")][0].split()[1]
            d.terminate()
            d.wait(timeout=20)

        # A daemon started on `big` queued messages, all due, delivering over QMTP.
        with tempfile.TemporaryDirectory() as t4:
            cfg = config(t4, "url: qmtp://127.0.0.1:%d\n    connections: 4\n    pipeline: 64" % tport, level="info")
            spool = os.path.join(t4, "spool")
            fill_spool(spool, big)
            rss = os.path.join(t4, "rss")
            first = []
            t0 = time.monotonic()
            d = subprocess.Popen([maxrss, rss, os.path.join(bin_dir, "nullq-send"), "--stderr", "--config", cfg],
                                 stderr=subprocess.PIPE)
            def watch():
                for line in d.stderr:
                    if not first and b" status=sent " in line:
                        first.append(time.monotonic() - t0)
            w = threading.Thread(target=watch)
            w.start()
            deadline = t0 + 300
            while time.monotonic() < deadline and os.listdir(os.path.join(spool, "queue")):
                time.sleep(0.2)
            big_secs = time.monotonic() - t0
            big_left = len(os.listdir(os.path.join(spool, "queue")))
            d.terminate()
            d.wait(timeout=30)
            w.join()
            big_first = first[0] if first else float("nan")
            big_rss = peak_kb(rss) / 1024
    finally:
        sink.terminate()
        sink.wait()

print("messages: %d x %d bytes (nullmailer: %d)" % (n, len(body), min(n, 2000)))
print("receiver capacity (raw parallel QMQP client, 16 conns): %.0f msg/s" % raw_rate)
print("%-18s %12s %18s %12s" % ("client", "msg/s", "CPU ms / 1000 msg", "peak RSS MB"))
for k, (rate, cpu_ms_per_1000, rss) in results.items():
    print("%-18s %12.0f %18.0f %12.1f" % (k, rate, cpu_ms_per_1000, rss))
nm = results["nullmailer qmqp"]
q, t = results["nullq qmqp"], results["nullq qmtp"]
print("ratios: qmqp/nullmailer %.1fx (target >= 5x), qmqp/raw %.0f%% (target >= 80%%), "
      "qmtp/nullmailer %.1fx (target >= 10x), CPU nullq-qmqp/nullmailer %.2f, nullq-qmtp/nullmailer %.2f "
      "(target <= 0.10)" % (q[0] / nm[0], 100 * q[0] / raw_rate, t[0] / nm[0], q[1] / nm[1], t[1] / nm[1]))
print("idle daemon: peak RSS %.1f MB (target <= 4); inject-to-delivered latency (includes nullq-queue "
      "fork+exec) median %.1f ms, p90 %.1f ms (target median <= 10)"
      % (int(hwm) / 1024, statistics.median(lat), sorted(lat)[int(len(lat) * 0.9)]))
print("daemon started on %d queued: first delivery after %.2f s (target <= 2), peak RSS %.1f MB (target <= 32), "
      "queue emptied in %.1f s (%d left)" % (big, big_first, big_rss, big_secs, big_left))

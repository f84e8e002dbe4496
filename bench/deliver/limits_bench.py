#!/usr/bin/env python3
"""Provider limits benchmark (see run.sh; issue 19). Not a test: prints figures.

Receiver: nullq-testhost --smtp limited like a provider: 3 connections at once (a 4th gets
"421 4.7.0 Error: too many connections") and RATE messages per 1-second fixed window (Postfix anvil:
"450 4.7.1 Error: too much mail"). A fresh receiver per row, so that every row starts with full
windows. Rows: N queued messages through nullq-send --once with nothing configured (it learns the
limits from the refusals; connections: 4, more than the host allows), with `rate:` and `connections:`
set to the published allowance (what a preset does), and Debian's nullmailer smtp module (one
process per message, serially, as nullmailer-send runs it; a refused message is retried at once here,
where nullmailer-send would wait for its next queue run).
Figures: delivered msg/s over the whole row and once adapted (over the second half of the messages:
from the moment half were accepted to the last), as fractions of the allowance (goal >= 0.9 once
adapted), and refused attempts per 1000 messages, counted by the receiver (goal <= 50).
"""
import os, subprocess, sys, tempfile, time

from benchlib import body, fill_spool

bin_dir, nm_smtp, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rate = int(sys.argv[4]) if len(sys.argv) > 4 else 50

class Receiver:
    def __init__(self, tmp):
        self.ready = os.path.join(tmp, "ready")
        # Its output goes to a file: a pipe nobody reads while the row runs would stop the receiver.
        self.out = os.path.join(tmp, "receiver.out")
        self.p = subprocess.Popen([os.path.join(bin_dir, "nullq-testhost"), "--smtp", "--caps",
                                   "PIPELINING,8BITMIME,ENHANCEDSTATUSCODES", "--limit-connections", "3",
                                   "--limit-rate", "%d/1000" % rate, "--timeout", "3600", "--ready-file", self.ready],
                                  stdout=open(self.out, "w"))
        for _ in range(1000):
            if os.path.exists(self.ready):
                break
            time.sleep(0.01)
        self.port = int(open(self.ready).read().split()[2])
    def accepted(self):
        with open(self.out) as f:
            return sum(1 for l in f if l.startswith("received ") and "code=250" in l)
    def refusals(self):
        self.p.terminate()
        self.p.wait()
        out = open(self.out).read()
        self.received = sum(1 for l in out.splitlines() if l.startswith("received ") and "code=250" in l)
        return int([l for l in out.splitlines() if l.startswith("refusals ")][-1].split()[1])

results = []

def adapted_rate(samples, total):
    """msg/s from the first sample with half the messages accepted to the first with all of them."""
    half = next((t for t, c in samples if c >= total / 2), None)
    end = next((t for t, c in samples if c >= total), None)
    if half is None or end is None or end <= half:
        return 0.0
    return (total - total // 2) / (end - half)

def nullq_row(name, keys):
    with tempfile.TemporaryDirectory() as tmp:
        rcv = Receiver(tmp)
        cfg = os.path.join(tmp, "nullq.yaml")
        with open(cfg, "w") as f:
            f.write("hostname: bench.example\nsmarthosts:\n  - url: smtp://127.0.0.1:%d\n    starttls: 'off'\n%s"
                    "queue:\n  dir: %s\n  retry_min: 10m\nstate_dir: %s\nlog:\n  level: warning\n"
                    % (rcv.port, keys, os.path.join(tmp, "spool"), tmp))
        fill_spool(os.path.join(tmp, "spool"), n)
        t0 = time.monotonic()
        err = open(os.path.join(tmp, "nullq-send.err"), "w+")
        p = subprocess.Popen([os.path.join(bin_dir, "nullq-send"), "--once", "--stderr", "--config", cfg],
                             stdout=subprocess.DEVNULL, stderr=err)
        samples = []
        while p.poll() is None:
            samples.append((time.monotonic() - t0, rcv.accepted()))
            time.sleep(0.02)
        secs = time.monotonic() - t0
        samples.append((secs, rcv.accepted()))
        err.seek(0)
        log = err.read()
        left = len(os.listdir(os.path.join(tmp, "spool", "queue")))
        refused = rcv.refusals()
        if p.returncode != 0 or left:
            print("%s: exit %d, %d left\n%s" % (name, p.returncode, left, log[-2000:]))
        results.append((name, n - left, secs, adapted_rate(samples, rcv.received), refused, rcv.received))
        print("row done: %s" % (results[-1],), flush=True)

def nullmailer_row(name, count):
    with tempfile.TemporaryDirectory() as tmp:
        rcv = Receiver(tmp)
        mail = os.path.join(tmp, "mail")
        with open(mail, "w") as f:
            f.write("bench@example.org\nsink@example.org\n\n" + body)
        env = dict(os.environ, HELOHOST="bench.example")
        opts = ("host=127.0.0.1\nport=%d\n" % rcv.port).encode()
        t0, done, tries, samples = time.monotonic(), 0, 0, []
        while done < count and tries < count * 20:
            tries += 1
            fd = os.open(mail, os.O_RDONLY)
            if fd != 3:
                os.dup2(fd, 3, inheritable=True)
            try:
                p = subprocess.run([nm_smtp], input=opts, pass_fds=(3,), env=env, capture_output=True)
            finally:
                os.close(fd)
                if fd != 3:
                    os.close(3)
            done += p.returncode == 0
            samples.append((time.monotonic() - t0, done))
        secs = time.monotonic() - t0
        results.append((name, done, secs, adapted_rate(samples, done), rcv.refusals(), rcv.received))

nullq_row("nullq (learns)", "    connections: 4\n")
nullq_row("nullq (rate: %d/s, connections: 3)" % rate, "    connections: 3\n    rate: %d/s\n" % rate)
nullmailer_row("nullmailer smtp", min(n, 300))

print("limits: receiver nullq-testhost --smtp, 3 connections, %d msg per 1 s fixed window; %d messages"
      " (nullmailer: %d)" % (rate, n, min(n, 300)))
print("%-34s %10s %8s %12s %15s %18s %9s" % ("client", "delivered", "msg/s", "of allowance", "adapted: of it",
                                             "refused / 1000 msg", "received"))
for name, done, secs, adapted, refused, received in results:
    print("%-34s %10d %8.1f %12.2f %15.2f %18.1f %9d" % (name, done, done / secs, done / secs / rate, adapted / rate,
                                                       1000.0 * refused / max(done, 1), received))

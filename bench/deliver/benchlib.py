"""What the delivery benchmarks share: the 1 KB message, netstrings, a spool filled with queued
messages as nullq-send finds them, a child run with its resource usage, and maxrss's peak."""
import os, subprocess, time

body = "From: bench@example.org\nTo: sink@example.org\nSubject: bench\n\n" + ("x" * 71 + "\n") * 13

def ns(s):
    b = s.encode() if isinstance(s, str) else s
    return str(len(b)).encode() + b":" + b + b","

def run_child(argv, stdin=None, pass_fds=(), env=None):
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, pass_fds=pass_fds, env=env)
    if stdin is not None:
        p.stdin.write(stdin); p.stdin.close()
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return time.monotonic() - t0, ru, p.returncode, err.decode(errors="replace")

def fill_spool(spool, count):
    """`count` messages from bench@ to sink@ in queue/, due now, and the rest of a spool around them."""
    for d in ("tmp", "new", "queue", "failed"):
        os.makedirs(os.path.join(spool, d), exist_ok=True)
    if not os.path.exists(os.path.join(spool, "trigger")):
        os.mkfifo(os.path.join(spool, "trigger"), 0o600)
    now = int(time.time())
    head = b"NQ1\nF" + ns("bench@example.org") + b"\nT" + ns("sink@example.org") + b"\nQ" + ns(str(now)) + b"\n\n"
    data = head + body.encode()
    qdir = os.path.join(spool, "queue")
    for i in range(count):
        name = "%d%06dP%dR%016x,0,0" % (now, i % 1000000, 1 + i // 1000000, i)
        with open(os.path.join(qdir, name), "wb") as f:
            f.write(data)

def peak_kb(path):
    with open(path) as f:
        return int(f.read())

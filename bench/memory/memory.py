#!/usr/bin/env python3
"""Drives one memory run; see run.sh. Arguments: NULLQ_SEND WORK_DIR COUNT SIZE_MIB SECONDS.

The messages are crafted queue files (include/nullq/envelope.hpp) written straight into queue/,
sparse past their headers, so that 200 x 25 MiB costs no disk and seconds to make. The smart host
is a listener on 127.0.0.1 that accepts every connection and never reads or answers: what the
daemon has loaded and written stays in its memory (and the kernel's socket buffers)."""
import os, socket, subprocess, sys, threading, time

nullq_send, work, count, size_mib, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
spool = os.path.join(work, "spool")
for d in ("tmp", "new", "queue", "failed"):
    os.makedirs(os.path.join(spool, d), mode=0o700, exist_ok=True)

def netstring(s):
    b = s.encode()
    return str(len(b)).encode() + b":" + b + b","

now = int(time.time())
size = size_mib * 1024 * 1024
for i in range(count):
    ident = f"{now - 60}{i:06d}P1Rbench{i:06d}"
    head = (b"NQ1\n" + b"F" + netstring("bench@example.org") + b"\n" + b"T" + netstring("sink@example.org") + b"\n" +
            b"Q" + netstring(str(now - 60)) + b"\n" + b"\n" +
            f"From: bench@example.org\nTo: sink@example.org\nSubject: memory {i}\n\n".encode())
    path = os.path.join(spool, "queue", f"{ident},0,0")
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)  # sparse: reads as NUL bytes

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind(("127.0.0.1", 0))
listener.listen(1024)
port = listener.getsockname()[1]
held = []
def accept():
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        held.append(conn)  # never read, never answered, never closed
threading.Thread(target=accept, daemon=True).start()

config = os.path.join(work, "nullq.yaml")
with open(config, "w") as f:
    f.write(f"""smarthosts:
  - qmtp://127.0.0.1:{port}
hostname: bench.example.org
queue:
  dir: {spool}
delivery:
  timeout: 10m
  cooldown: off
log:
  level: warning
""")
log = open(os.path.join(work, "daemon.log"), "w")
daemon = subprocess.Popen([nullq_send, "--stderr", "--config", config], stderr=log,
                          env=dict(os.environ, NULLQ_CONFIG=config))

def status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out

print(f"{count} x {size_mib} MiB queued ({count * size_mib} MiB), smart host qmtp://127.0.0.1:{port} never answers")
start = time.time()
samples = []
next_print = start
try:
    while time.time() - start < seconds:
        if daemon.poll() is not None:
            sys.exit(f"nullq-send exited with {daemon.returncode}; see its log:\n" +
                     open(os.path.join(work, "daemon.log")).read())
        s = status(daemon.pid)
        samples.append(s["VmRSS"])
        if time.time() >= next_print:
            print(f"  t={time.time() - start:5.1f}s  RSS {s['VmRSS'] / 1024:8.1f} MiB  "
                  f"connections held by the host: {len(held)}", flush=True)
            next_print += 1
        time.sleep(0.1)
    hwm = status(daemon.pid)["VmHWM"]
finally:
    daemon.terminate()
    try:
        daemon.wait(timeout=20)
    except subprocess.TimeoutExpired:
        daemon.kill()
    listener.close()
    for c in held:
        c.close()
print(f"peak RSS (VmHWM) {hwm / 1024:.1f} MiB; highest sample {max(samples) / 1024:.1f} MiB; "
      f"connections opened {len(held)}")

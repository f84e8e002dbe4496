#!/usr/bin/env python3
"""Drives one soak run; see run.sh. Arguments: BIN_DIR WORK_DIR N INJECTORS."""
import collections, os, signal, subprocess, sys, threading, time

bin_dir, work, n, injectors = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
spool = os.path.join(work, "spool")
events = os.path.join(work, "events")
portfile = os.path.join(work, "port")
open(events, "w").close()
server = subprocess.Popen([os.path.join(work, "soak_server"), portfile, events, "42"])
deadline = time.time() + 10
while not (os.path.exists(portfile) and open(portfile).read().strip()):
    if time.time() > deadline:
        sys.exit("soak_server did not start")
    time.sleep(0.05)
port = open(portfile).read().strip()
config = os.path.join(work, "nullq.yaml")
with open(config, "w") as f:
    f.write(f"""smarthosts:
  - qmtp://127.0.0.1:{port}
hostname: soak.example.org
queue:
  dir: {spool}
  retry_min: 1s
  retry_max: 4s
  lifetime: 7d
delivery:
  connections: 8
  timeout: 2s
  cooldown: off
log:
  level: warning
""")
env = dict(os.environ, NULLQ_CONFIG=config)
daemon_log = open(os.path.join(work, "daemon.log"), "w")
daemon = subprocess.Popen([os.path.join(bin_dir, "nullq-send"), "--stderr", "--config", config],
                          stderr=daemon_log, env=env)
time.sleep(0.5)

def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    ticks = int(parts[11]) + int(parts[12])
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return ticks / os.sysconf("SC_CLK_TCK"), rss, fds

inject_errors = []
injected_count = [0] * injectors
stop_injecting = threading.Event()  # set at the deadline: what was not injected by then is not counted
def injector(k):
    sendmail = os.path.join(bin_dir, "nullq-sendmail")
    for i in range(k, n, injectors):
        if stop_injecting.is_set():
            return
        msg = f"From: soak@example.org\nTo: sink@example.org\nSubject: soak {i}\nX-Soak: {i}\n\nmessage {i}\n"
        r = subprocess.run([sendmail, "-i", "-f", "soak@example.org", "sink@example.org"],
                           input=msg.encode(), env=env, capture_output=True)
        if r.returncode != 0:
            inject_errors.append((i, r.returncode, r.stderr.decode(errors="replace").strip()))
        else:
            injected_count[k] += 1

def accepted():
    seen = set()
    with open(events) as f:
        for line in f:
            letter, ident = line.split()[:2]
            if letter in "KC":
                seen.add(ident)
    return len(seen)

def spool_count():
    total = 0
    for d in ("new", "queue"):
        try:
            total += len(os.listdir(os.path.join(spool, d)))
        except FileNotFoundError:
            pass
    return total

start = time.time()
cpu0 = stat(daemon.pid)[0]
threads = [threading.Thread(target=injector, args=(k,)) for k in range(injectors)]
for t in threads:
    t.start()
samples = []
limit = start + float(os.environ.get("SOAK_MAX_SECONDS", max(600, n * 0.05)))  # bounded: give up at the deadline and report what is left
print(f"{'t(s)':>6} {'rss(KiB)':>9} {'fds':>4} {'accepted':>9} {'in spool':>9}")
next_sample = start
while True:
    now = time.time()
    if now >= next_sample:
        cpu, rss, fds = stat(daemon.pid)
        acc, queued = accepted(), spool_count()
        samples.append((now - start, rss, fds, acc, queued))
        print(f"{now - start:6.0f} {rss:9d} {fds:4d} {acc:9d} {queued:9d}", flush=True)
        next_sample += 10
    injecting = any(t.is_alive() for t in threads)
    if not injecting and spool_count() == 0:
        break
    if now > limit:
        print("deadline reached: injection stopped", flush=True)
        stop_injecting.set()
        for t in threads:
            t.join()
        break
    time.sleep(0.5)
cpu, rss, fds = stat(daemon.pid)
elapsed = time.time() - start
daemon.send_signal(signal.SIGTERM)
daemon.wait(timeout=30)
server.terminate()
server.wait()

per_id = collections.defaultdict(list)  # message -> [(letter, connection)]
letters = collections.Counter()
closed = set()  # connections the server closed mid-answer
with open(events) as f:
    for line in f:
        letter, ident, conn = line.split()
        per_id[ident].append((letter, conn))
        letters[letter] += 1
        if letter == "C":
            closed.add(conn)
injected = sum(injected_count)
left = spool_count()
def acceptances(i):
    return [(letter, conn) for letter, conn in per_id[i] if letter in "KC"]
delivered = [i for i in per_id if acceptances(i)]
dups = [i for i in delivered if len(acceptances(i)) > 1]
# A duplicate the client could not avoid: every acceptance but the last was on a connection that the
# server then closed mid-answer (the C itself, or a K whose answer the reset may have lost).
bad_dups = [i for i in dups if any(conn not in closed for _, conn in acceptances(i)[:-1])]
lost = injected - len(delivered) - left
print()
print(f"messages injected        {injected} of {n} ({len(inject_errors)} injections failed)")
print(f"delivered (unique)       {len(delivered)}")
print(f"still queued             {left}")
print(f"lost                     {lost}")
print(f"duplicates               {len(dups)} (accepted on a connection the server closed mid-answer: "
      f"{len(dups) - len(bad_dups)}; other: {len(bad_dups)})")
print(f"server answers           K {letters['K']}  Z {letters['Z']}  closed mid-answer {letters['C']}  stalled {letters['S']}")
print(f"elapsed                  {elapsed:.0f} s")
print(f"daemon CPU               {cpu - cpu0:.2f} s = {1000 * (cpu - cpu0) / max(1, len(delivered)):.3f} s per 1000 messages")
rss_values = [s[1] for s in samples]
fd_values = [s[2] for s in samples]
if rss_values:
    half = len(rss_values) // 2
    print(f"daemon RSS (KiB)         min {min(rss_values)}  max {max(rss_values)}  first half max {max(rss_values[:half] or rss_values)}  second half max {max(rss_values[half:])}")
    print(f"daemon fds               min {min(fd_values)}  max {max(fd_values)}  last {fd_values[-1]}")
for e in inject_errors[:5]:
    print("injection error:", e)
sys.exit(0 if lost == 0 and not bad_dups and not inject_errors else 1)

#!/usr/bin/env python3
"""SMTP delivery benchmark (see run.sh). Not a test: prints figures and ratios.

Receiver: nullq-testhost --smtp (PIPELINING, 8BITMIME, ENHANCEDSTATUSCODES, STARTTLS with
certificates it makes itself). Its capacity is measured first with a raw pipelining client (16
connections). Then N queued 1 KB messages through nullq-send --once over smtp:// without TLS and
with STARTTLS (verified against the test CA), and Debian's nullmailer smtp module (one fork+exec per
message, as nullmailer-send does: remotes line `127.0.0.1 smtp --port=N`, and `--starttls
--insecure` for the TLS row). The nullq rows are skipped, with a line saying so, when this
nullq-send does not take an smtp:// smart host.
Then the OAuth row: a second receiver, `nullq-testhost --smtp --idp` (STARTTLS, AUTH PLAIN for a
password user, XOAUTH2 for the tokens of its own identity provider, both in one process), and the
same N messages through nullq-send --once with STARTTLS and AUTH PLAIN, then with STARTTLS and
XOAUTH2 (auth.oauth flow client_credentials against that provider, through nullq-oauth).
"""
import os, subprocess, sys, tempfile, time

from benchlib import body, run_child, fill_spool, peak_kb

bin_dir, benchtool, nm_smtp, maxrss, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])

def config(tmp, host):
    path = os.path.join(tmp, "nullq.yaml")
    with open(path, "w") as f:
        f.write("hostname: bench.example\nsmarthosts:\n  - %s\nqueue:\n  dir: %s\nlog:\n  level: warning\n"
                % (host, os.path.join(tmp, "spool")))
    return path

with tempfile.TemporaryDirectory() as tmp:
    certs = os.path.join(tmp, "certs")
    os.mkdir(certs)
    subprocess.run([os.path.join(bin_dir, "nullq-testhost"), "--make-certs", certs], check=True,
                   stdout=subprocess.DEVNULL)
    ready = os.path.join(tmp, "ready")
    host = subprocess.Popen([os.path.join(bin_dir, "nullq-testhost"), "--smtp",
                             "--caps", "PIPELINING,8BITMIME,ENHANCEDSTATUSCODES,STARTTLS",
                             "--cert", os.path.join(certs, "server.pem"), "--key", os.path.join(certs, "server.key"),
                             "--timeout", "3600", "--ready-file", ready], stdout=subprocess.DEVNULL)
    try:
        for _ in range(500):
            if os.path.exists(ready):
                break
            time.sleep(0.01)
        port = int(open(ready).read().split()[2])
        results, skipped = {}, []

        out = subprocess.run([benchtool, "raw-smtp", str(port), str(max(n, 5000)), "16"], capture_output=True,
                             text=True, check=True).stdout.split()
        raw_rate = int(out[1]) / float(out[2])

        tls_host = ("url: smtp://localhost:%d\n    starttls: required\n    connections: 4\n"
                    "    tls: {ca_file: %s}" % (port, os.path.join(certs, "ca.pem")))
        def nullq_row(name, smarthost):
            with tempfile.TemporaryDirectory() as t2:
                cfg = config(t2, smarthost)
                fill_spool(os.path.join(t2, "spool"), 0)
                _, _, rc, err = run_child([os.path.join(bin_dir, "nullq-send"), "--once", "--stderr", "--config", cfg])
                if rc != 0:
                    skipped.append("%s: skipped (this nullq-send does not take this smart host: %s)"
                                   % (name, (err.strip().splitlines() or ["exit %d" % rc])[-1]))
                    return
                fill_spool(os.path.join(t2, "spool"), n)
                rss = os.path.join(t2, "rss")
                secs, ru, rc, err = run_child([maxrss, rss, os.path.join(bin_dir, "nullq-send"), "--once",
                                               "--stderr", "--config", cfg])
                left = len(os.listdir(os.path.join(t2, "spool", "queue")))
                if rc != 0 or left:
                    print("%s: exit %d, %d left\n%s" % (name, rc, left, err[-2000:]))
                results[name] = (n / secs, (ru.ru_utime + ru.ru_stime) * 1e6 / n, peak_kb(rss) / 1024)
        for name, smarthost in (("nullq smtp", "url: smtp://127.0.0.1:%d\n    starttls: off\n    connections: 4" % port),
                                ("nullq smtp+starttls", tls_host)):
            nullq_row(name, smarthost)

        # OAuth: AUTH PLAIN and XOAUTH2 against one receiver that is also the identity provider.
        secret, password = os.path.join(tmp, "client.secret"), os.path.join(tmp, "bench.password")
        for path, text in ((secret, "bench-client-secret\n"), (password, "bench-password\n")):
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o600)
        auth_ready = os.path.join(tmp, "auth-ready")
        auth_host = subprocess.Popen([os.path.join(bin_dir, "nullq-testhost"), "--smtp",
                                      "--caps", "PIPELINING,8BITMIME,ENHANCEDSTATUSCODES,STARTTLS,AUTH",
                                      "--auth", "bench:" + password, "--idp", "--idp-client", "bench:" + secret,
                                      "--cert", os.path.join(certs, "server.pem"),
                                      "--key", os.path.join(certs, "server.key"),
                                      "--timeout", "3600", "--ready-file", auth_ready], stdout=subprocess.DEVNULL)
        try:
            for _ in range(500):
                if os.path.exists(auth_ready):
                    break
                time.sleep(0.01)
            ports = {l.split()[0]: int(l.split()[2]) for l in open(auth_ready).read().splitlines()}
            auth_base = ("url: smtp://localhost:%d\n    starttls: required\n    connections: 4\n"
                         "    tls: {ca_file: %s}\n" % (ports["smtp"], os.path.join(certs, "ca.pem")))
            nullq_row("nullq starttls+plain", auth_base + "    auth: {user: bench, password_file: %s}" % password)
            nullq_row("nullq starttls+xoauth2", auth_base +
                      "    auth: {user: bench@example.org, oauth: {provider: generic, flow: client_credentials, "
                      "client_id: bench, client_secret_file: %s, scope: mail, "
                      "token_url: 'https://127.0.0.1:%d/token', ca_file: %s}}"
                      % (secret, ports["idp"], os.path.join(certs, "ca.pem")))
        finally:
            auth_host.terminate()
            auth_host.wait()

        # nullmailer's smtp module: one process per message, serially, like nullmailer-send.
        nm_n = min(n, 300)  # a few per second here: 300 keeps each row near a minute
        mail = os.path.join(tmp, "nm-mail")
        with open(mail, "w") as f:
            f.write("bench@example.org\nsink@example.org\n\n" + body)
        # nullmailer-send sets HELOHOST for its modules (from /etc/nullmailer/helohost or me).
        nm_env = dict(os.environ, HELOHOST="bench.example")
        def run_nm(opts, prefix=()):
            fd = os.open(mail, os.O_RDONLY)
            if fd != 3:
                os.dup2(fd, 3, inheritable=True)
            try:
                return run_child(list(prefix) + [nm_smtp], stdin=opts, pass_fds=(3,), env=nm_env)
            finally:
                os.close(fd)
                if fd != 3:
                    os.close(3)
        for name, extra in (("nullmailer smtp", ""), ("nullmailer smtp+starttls", "starttls\ninsecure\n")):
            opts = ("host=127.0.0.1\nport=%d\n%s" % (port, extra)).encode()
            cpu, ok = 0.0, True
            t0 = time.monotonic()
            for _ in range(nm_n):
                _, ru, rc, err = run_nm(opts)
                if rc != 0:
                    print("%s failed (exit %d): %s" % (name, rc, err.strip()))
                    ok = False
                    break
                cpu += ru.ru_utime + ru.ru_stime
            secs = time.monotonic() - t0
            if not ok:
                continue
            peak = 0
            for _ in range(10):
                run_nm(opts, (maxrss, os.path.join(tmp, "nm.rss")))
                peak = max(peak, peak_kb(os.path.join(tmp, "nm.rss")))
            results[name] = (nm_n / secs, cpu * 1e6 / nm_n, peak / 1024)
    finally:
        host.terminate()
        host.wait()

print("SMTP: messages: %d x %d bytes (nullmailer: %d)" % (n, len(body), min(n, 300)))
print("receiver capacity (nullq-testhost --smtp, raw pipelining client, 16 conns): %.0f msg/s" % raw_rate)
for line in skipped:
    print(line)
print("%-26s %12s %18s %12s" % ("client", "msg/s", "CPU ms / 1000 msg", "peak RSS MB"))
for k, (rate, cpu_ms_per_1000, rss) in results.items():
    print("%-26s %12.0f %18.0f %12.1f" % (k, rate, cpu_ms_per_1000, rss))
ratios = []
for q, m, target in (("nullq smtp", "nullmailer smtp", 10), ("nullq smtp+starttls", "nullmailer smtp+starttls", 20)):
    if q in results and m in results:
        ratios.append("%s/%s %.1fx (target >= %dx)" % (q, m, results[q][0] / results[m][0], target))
if "nullq smtp+starttls" in results:
    ratios.append("client CPU with TLS %.2f s / 1000 msg (target <= 0.3)" % (results["nullq smtp+starttls"][1] / 1000))
if "nullq smtp" in results:
    ratios.append("smtp/raw %.0f%%" % (100 * results["nullq smtp"][0] / raw_rate))
if "nullq starttls+xoauth2" in results and "nullq starttls+plain" in results:
    xo, pl = results["nullq starttls+xoauth2"][0], results["nullq starttls+plain"][0]
    # What XOAUTH2 adds in all: one token fetch (a nullq-oauth run) before the first AUTH.
    ratios.append("xoauth2/plain %.2f (target >= 0.90; +%.0f ms over the %d messages)"
                  % (xo / pl, 1000 * (n / xo - n / pl), n))
print("ratios: " + ("; ".join(ratios) if ratios else "none (nullq rows skipped)"))

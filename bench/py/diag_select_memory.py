#!/usr/bin/python3
"""Diagnostic, not a benchmark (no peer): what IMAP sessions holding a large mailbox selected cost the server's heap.
Fills u1's INBOX with N messages over SMTP (2 KB, concurrency 10), then opens SESSIONS IMAP sessions one after the
other, each LOGIN + SELECT INBOX and staying selected, and prints each SELECT's time, whether the server is still
there, and the live heap (after a full GC, jcmd GC.heap_info) before the first session and with all of them open.
The server runs with the launcher's JVM settings (SerialGC, 320 MB heap) unless DARWINMAIL_JAVA_OPTS says otherwise.
usage: diag_select_memory.py DIST N SESSIONS   (e.g. dist/darwinmail 100000 12)"""
import imaplib
import os
import re
import subprocess
import sys
import threading
import time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import make_workdir, remove_workdir
from darwin import Darwin, Dnsmasq, PASSWORD
USER = "u1@bench.test"
dist = sys.argv[1]; n = int(sys.argv[2]); sessions = int(sys.argv[3])


def live_heap_mb(pid):
    """The heap in use after a full GC, in MB (young + old generation 'used' of GC.heap_info)."""
    subprocess.run(["jcmd", str(pid), "GC.run"], capture_output=True)
    out = subprocess.run(["jcmd", str(pid), "GC.heap_info"], capture_output=True, text=True).stdout
    return sum(int(k) for k in re.findall(r"total \d+K, used (\d+)K", out)) / 1024


work = make_workdir("select-memory")
dns = Dnsmasq(work).start()
dw = Darwin(work, dist, want=("smtp", "imap"), dns_port=dns.port).start()
clients = []
selected = 0
try:
    dw.add_users([USER]); dw.require("smtp")
    t = time.time()
    subprocess.run(["smtp-source", "-s", "10", "-m", str(n), "-l", "2048", "-f", "bench@example.test", "-t", USER,
                    "-M", "client.bench.test", "127.0.0.1:%s" % dw.ports["smtp"]], check=True, capture_output=True)
    pid = dw.java_pid()
    print("filled %d messages in %.0f s; live heap %.0f MB" % (n, time.time() - t, live_heap_mb(pid)))
    for i in range(sessions):
        try:
            c = imaplib.IMAP4("127.0.0.1", int(dw.ports["imap"]))
            c.login(USER, PASSWORD)
            t = time.time(); typ, d = c.select("INBOX"); ms = (time.time() - t) * 1000
            clients.append(c)
            if typ == "OK":
                selected += 1
                print("session %2d: SELECT OK, %s messages, in %.0f ms" % (i + 1, d[0].decode(), ms))
            else:
                print("session %2d: SELECT %s %s (%.0f ms)" % (i + 1, typ, d[0].decode(), ms))
        except (OSError, imaplib.IMAP4.error) as e:
            print("session %2d: %s: %s; server process %s" % (i + 1, type(e).__name__, e,
                  "running" if dw.proc.poll() is None else "gone"))
            break
    if dw.proc.poll() is None:
        print("%d sessions, %d with INBOX selected: live heap %.0f MB" % (len(clients), selected, live_heap_mb(pid)))
    if dw.proc.poll() is None and selected:
        times, errors = [], []

        def sync(c):
            try:
                t0 = time.time(); typ, d = c.uid("FETCH", "1:*", "(FLAGS)")
                times.append(time.time() - t0) if typ == "OK" and len(d) >= 1 else errors.append(typ)
            except (OSError, imaplib.IMAP4.error) as e:
                errors.append(type(e).__name__)
        ok = [c for c in clients if c.state == "SELECTED"]
        threads = [threading.Thread(target=sync, args=(c,)) for c in ok]
        t0 = time.time()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        print("%d sessions' UID FETCH 1:* (FLAGS) at once: %d answered in %.1f s (each %.1f-%.1f s), %d failed;"
              " server process %s" % (len(ok), len(times), time.time() - t0, min(times or [0]), max(times or [0]),
                                      len(errors), "running" if dw.proc.poll() is None else "gone"))
    oom = [l for l in dw.tail(200000).splitlines() if "OutOfMemoryError" in l]
    print("server log: %s" % (oom[0] if oom else "no OutOfMemoryError"))
finally:
    for c in clients:
        try:
            c.logout()
        except (OSError, imaplib.IMAP4.error):
            pass
    dw.stop(); dns.stop(); remove_workdir(work)

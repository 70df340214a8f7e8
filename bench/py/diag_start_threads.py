#!/usr/bin/python3
"""Diagnostic, not a benchmark (no peer): what the server's threads spend their CPU on in the seconds after a start,
while the first 1,000 messages arrive. Fills u1's INBOX with N messages over SMTP (10 KB, concurrency 10), stops the
server, then ROUNDS times: starts it on that store, sends 1,000 messages at concurrency 1 (smtp-source, a new
connection per message) and prints, every half second until three seconds after the last, the threads that used
more than 0.02 s of CPU in it (compiler threads, event loops, the start's blob sweep, Derby's index statistics, the
trace writer...), then how long the 1,000 took and the server's own line about its blob sweep. This is how the
sweep's 5 s of CPU beside the first mail on a store of 100,000 was found (session 24). The JVM options and the AOT
cache are the launcher's (DARWINMAIL_JAVA_OPTS, DARWINMAIL_AOT apply).
usage: diag_start_threads.py DIST N [ROUNDS]   (e.g. dist/darwinmail 100000 2)"""
import os
import sys
import threading
import time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import make_workdir, remove_workdir, smtp_source as source, thread_cpu_seconds as threads
from darwin import Darwin, Dnsmasq
USER = "u1@bench.test"
dist = sys.argv[1]; n = int(sys.argv[2]); rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 2


work = make_workdir("start-threads")
dns = Dnsmasq(work).start()
dw = Darwin(work, dist, want=("smtp",), dns_port=dns.port)
try:
    dw.start(); dw.add_users([USER])
    left = n
    while left > 0:
        source(dw.ports["smtp"], 10, min(left, 20000)); left -= 20000
    time.sleep(5)   # the intake journal applied
    dw.stop()
    for r in range(rounds):
        dw.start(); pid = dw.java_pid()
        snaps = [(time.time(), threads(pid))]
        took = []
        sender = threading.Thread(target=lambda: took.append(source(dw.ports["smtp"], 1, 1000)))
        sender.start()
        while sender.is_alive():
            time.sleep(0.5); snaps.append((time.time(), threads(pid)))
        for _ in range(6):
            time.sleep(0.5); snaps.append((time.time(), threads(pid)))
        print("round %d: the first 1,000 messages in %.2f s (load %.1f)" % (r, took[0], os.getloadavg()[0]))
        for (_, a), (t1, b) in zip(snaps, snaps[1:]):
            d = {k: b[k] - a.get(k, 0) for k in b if b[k] - a.get(k, 0) > 0.02}
            print("  %5.1f s: %s" % (t1 - snaps[0][0], ", ".join("%s %.2f" % kv for kv in sorted(d.items(), key=lambda x: -x[1])[:6])))
        said = [l for l in dw.tail(10 ** 7).splitlines() if "blob sweep" in l]
        print("  server: %s" % (said[-1].split("BlobStore ", 1)[-1] if said else "(no line about the blob sweep)"))
        sys.stdout.flush()
        dw.stop()
finally:
    if dw.proc:
        dw.stop()
    dns.stop(); remove_workdir(work)

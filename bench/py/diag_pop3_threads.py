#!/usr/bin/python3
"""Diagnostic, not a benchmark (no peer): where Darwin Mail's CPU goes in a POP3 download, per thread and per
phase. Fills INBOX with N x 10 KB over SMTP, then one POP3 session (Python's poplib, whose own CPU is not counted)
RETRs and DELEs every message, then QUITs; prints the server's CPU per message for RETR+DELE and for QUIT (the
UPDATE state's expunge), split by thread name (event loops, virtual-thread carriers "ForkJoinPool", compiler
threads, the blob collector), for each of ROUNDS rounds.
usage: diag_pop3_threads.py DIST N ROUNDS   (e.g. dist/darwinmail 4000 3; needs bench/loadgen built)"""
import os
import poplib
import sys
import time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import PASSWORD, make_workdir, remove_workdir, loadgen, thread_cpu_seconds as threads
from darwin import Darwin, Dnsmasq
USER = "u1@bench.test"
dist = sys.argv[1]; n = int(sys.argv[2]); rounds = int(sys.argv[3])

work = make_workdir("pop3-threads")
dns = Dnsmasq(work).start()
dw = Darwin(work, dist, want=("pop3", "smtp"), dns_port=dns.port).start()
try:
    dw.add_users([USER]); dw.require("smtp"); dw.require("pop3")
    pid = dw.pid if hasattr(dw, "pid") else dw.proc.pid
    for r in range(rounds):
        loadgen(["deliver", "--proto", "smtp", "--port", dw.ports["smtp"], "--from", "bench@example.test", "--to", USER,
                 "--count", n, "--concurrency", 10, "--size", 10240, "--seed", r], timeout=900)
        time.sleep(3)
        p = poplib.POP3("127.0.0.1", int(dw.ports["pop3"]))
        p.user(USER); p.pass_(PASSWORD)
        cnt = p.stat()[0]
        a = threads(pid); t0 = time.time()
        for i in range(1, cnt + 1):
            p.retr(i); p.dele(i)
        b = threads(pid); t1 = time.time()
        p.quit()
        c = threads(pid); t2 = time.time()
        for label, x, y, nn in (("RETR+DELE", a, b, cnt), ("QUIT", b, c, cnt)):
            d = {k: y[k] - x.get(k, 0) for k in y}
            print("round %d %s: %d msgs, CPU %.3f ms/msg (excluding compiler %.3f), load %.1f" % (r, label, nn, 1000 * sum(d.values()) / nn,
                  1000 * sum(v for k, v in d.items() if not k.startswith("C#")) / nn, os.getloadavg()[0]))
            for k, v in sorted(d.items(), key=lambda x: -x[1])[:5]:
                if v > 0: print("   %-28s %.3f ms/msg" % (k, 1000 * v / nn))
        sys.stdout.flush()
finally:
    dw.stop(); dns.stop(); remove_workdir(work)

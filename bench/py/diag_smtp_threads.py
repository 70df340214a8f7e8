#!/usr/bin/python3
"""Diagnostic, not a benchmark (no peer): where Darwin Mail's CPU goes when it accepts SMTP, per thread. Warms the
server with WARMUP messages at concurrency 10 (Postfix's smtp-source, a new connection per message, 10 KB), then for
each concurrency in CONCS sends N messages ROUNDS times and prints the rate, smtp-sink's rate for the same run
(the protocol's ceiling, started beside it), smtp-source's own CPU per message and the server's CPU per message
split by thread name (event loops, virtual-thread carriers "ForkJoinPool", the intake's threads, compiler threads),
with each group's voluntary context switches per message (a thread going to sleep: dear on a VM).
usage: diag_smtp_threads.py DIST N ROUNDS [WARMUP [CONCS]]   (e.g. dist/darwinmail 4000 2 30000 1,10,50)"""
import os
import resource
import subprocess
import sys
import time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import make_workdir, remove_workdir, thread_cpu_seconds as threads, thread_switches, wait_idle
from darwin import Darwin, Dnsmasq
from peers import SmtpSink
USER = "u1@bench.test"
dist = sys.argv[1]; n = int(sys.argv[2]); rounds = int(sys.argv[3])
warmup = int(sys.argv[4]) if len(sys.argv) > 4 else 30000
concs = [int(c) for c in (sys.argv[5] if len(sys.argv) > 5 else "1,10,50").split(",")]


def source(port, conc, count):
    """smtp-source's wall seconds and CPU seconds (user + system, from the reaped child's rusage)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN); t0 = time.time()
    subprocess.run(["smtp-source", "-s", str(conc), "-m", str(count), "-l", "10240", "-f", "bench@example.test",
                    "-t", USER, "-M", "client.bench.test", "127.0.0.1:%d" % port], check=True, capture_output=True)
    t1 = time.time(); r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return t1 - t0, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


work = make_workdir("smtp-threads")
dns = Dnsmasq(work).start()
sink = SmtpSink(work).start()
dw = Darwin(work, dist, want=("smtp", "imap"), dns_port=dns.port).start()
try:
    dw.add_users([USER]); dw.require("smtp")
    pid = dw.pid if hasattr(dw, "pid") else dw.proc.pid
    if warmup:
        secs, _ = source(int(dw.ports["smtp"]), 10, warmup)
        print("warm-up: %d messages at concurrency 10 in %.1f s" % (warmup, secs)); sys.stdout.flush()
    for conc in concs:
        for r in range(rounds):
            wait_idle(pid)
            a = threads(pid); sa = thread_switches(pid)
            secs, src = source(int(dw.ports["smtp"]), conc, n)
            b = threads(pid); sb = thread_switches(pid)
            ssecs, ssrc = source(sink.port, conc, n)
            d = {k: b[k] - a.get(k, 0) for k in b}
            total = sum(d.values())
            print("c=%d round %d: Darwin %.0f msg/s, sink %.0f msg/s (%.0f %%), server CPU %.3f ms/msg (compiler %.3f), "
                  "smtp-source CPU %.3f ms/msg (against the sink %.3f), load %.1f"
                  % (conc, r, n / secs, n / ssecs, 100 * ssecs / secs, 1000 * total / n,
                     1000 * sum(v for k, v in d.items() if k.startswith("C#")) / n, 1000 * src / n, 1000 * ssrc / n,
                     os.getloadavg()[0]))
            for k, v in sorted(d.items(), key=lambda x: -x[1])[:9]:
                if v > 0:
                    print("   %-28s %.3f ms/msg, %.2f switches/msg" % (k, 1000 * v / n, (sb[k] - sa.get(k, 0)) / n))
            sys.stdout.flush()
finally:
    dw.stop(); sink.stop(); dns.stop(); remove_workdir(work)

#!/usr/bin/python3
"""Resident size of the server under the JVM settings in question (issue 21 item 8, issue 22): the launcher's
(SerialGC, 320 MB heap) against the Ansible role's former ones (G1, MaxRAMPercentage=50, here as -Xmx2g: half of the
4 GB appliance). For each: RSS after start, then the highest RSS sampled while smtp-source sends --messages 10 KB
messages at concurrency 10, and the rate. Darwin only; writes results/LATEST-memory.txt."""
import argparse
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import Report, Unavailable, make_workdir, remove_workdir, log, fmt, tree_mem_kb
from darwin import Darwin, Dnsmasq

USER = "u1@bench.test"
SETTINGS = [("launcher: SerialGC, -Xmx320m", None),
            ("former Ansible: G1, 50% of 4 GB", "-XX:+UseG1GC -Xmx2g -XX:InitialRAMPercentage=10 -Xss512k")]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dist", default="dist/darwinmail")
    ap.add_argument("--messages", type=int, default=20000)
    a = ap.parse_args()
    rep = Report("memory", "JVM settings: resident size after start and under SMTP load (%d x 10 KB, concurrency 10)"
                 % a.messages, "/usr/bin/python3 bench/py/bench_jvm_memory.py " + " ".join(sys.argv[1:]))
    rep.columns("settings", "load avg", "RSS after start MB", "RSS max under load MB", "RSS after load MB", "msg/s")
    work = make_workdir("jvm-memory")
    dns = None
    rc = 0
    try:
        dns = Dnsmasq(work).start()
        for i, (name, opts) in enumerate(SETTINGS):
            if opts:
                os.environ["DARWINMAIL_JAVA_OPTS"] = opts
            else:
                os.environ.pop("DARWINMAIL_JAVA_OPTS", None)
            dw = Darwin(os.path.join(work, str(i)), a.dist, want=("smtp", "imap"), dns_port=dns.port).start()
            try:
                dw.add_users([USER])
                time.sleep(5)
                la = open("/proc/loadavg").read().split()[:3]
                after_start = tree_mem_kb(dw.proc.pid)[0] / 1024
                peak = [after_start]
                done = threading.Event()

                def sample():
                    while not done.is_set():
                        peak[0] = max(peak[0], tree_mem_kb(dw.proc.pid)[0] / 1024)
                        time.sleep(0.5)
                t = threading.Thread(target=sample)
                t.start()
                t0 = time.time()
                r = subprocess.run(["smtp-source", "-s", "10", "-m", str(a.messages), "-l", "10240", "-f",
                                    "bench@example.test", "-t", USER, "-M", "client.bench.test",
                                    "127.0.0.1:%d" % dw.ports["smtp"]], capture_output=True, text=True, timeout=1800)
                secs = time.time() - t0
                done.set()
                t.join()
                if r.returncode != 0:
                    raise Unavailable("smtp-source: " + r.stderr[-300:])
                rep.row(name, " ".join(la), fmt(after_start, 0), fmt(peak[0], 0),
                        fmt(tree_mem_kb(dw.proc.pid)[0] / 1024, 0), fmt(a.messages / secs, 0))
            finally:
                dw.stop()
        rep.note("RSS: the server process tree's resident set (/proc/PID/smaps_rollup), sampled every 0.5 s. On this "
                 "machine (24 GB, 2 CPUs shared with other jobs), not the 4 GB appliance VM: G1's heap is given as "
                 "-Xmx2g to stand for MaxRAMPercentage=50 there.")
    except Unavailable as e:
        rep.note("NOT MEASURED: %s" % e)
        rc = 1
    finally:
        os.environ.pop("DARWINMAIL_JAVA_OPTS", None)
        if dns:
            dns.stop()
        if not os.environ.get("BENCH_KEEP"):
            remove_workdir(work)
    rep.write()
    return rc


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Diagnostic, not a benchmark: where the time of one SMTP message goes at concurrency 1, Darwin Mail beside Postfix's
smtp-sink (which answers 250 and stores nothing: the protocol's ceiling). After WARMUP messages from smtp-source at
concurrency 10, a plain socket client sends N messages of 10 KB one after the other, a new connection each, and
prints the median microseconds of each step: connect to greeting, EHLO, MAIL, RCPT, DATA, the data and its final dot
to the 250, QUIT. Darwin's 250 comes after one O_DSYNC write of the intake journal (README, 'Durability'), which the
sink does not do: compare the "data+." step with `dd if=/dev/zero of=F bs=10240 count=3000 oflag=dsync
conv=notrunc` on an existing file of the data disk (the disk's own flush time).
usage: diag_smtp_latency.py DIST [N [WARMUP]]   (e.g. dist/darwinmail 3000 20000)"""
import os
import socket
import statistics
import subprocess
import sys
import time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import make_workdir, remove_workdir
from darwin import Darwin, Dnsmasq
from peers import SmtpSink
USER = "u1@bench.test"
STEPS = ("connect+greeting", "EHLO", "MAIL", "RCPT", "DATA", "data+.", "QUIT")
dist = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
BODY = b"Subject: latency\r\n\r\n" + (b"0123456789" * 8 + b"\r\n") * 124 + b".\r\n"


def one(port, times):
    t = [time.perf_counter()]
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")

    def reply():
        while True:
            line = f.readline()
            if not line:
                raise SystemExit("connection closed by the server")
            if line[3:4] != b"-":
                return line
    reply()
    t.append(time.perf_counter())
    for cmd in (b"EHLO client.bench.test\r\n", b"MAIL FROM:<bench@example.test>\r\n",
                b"RCPT TO:<%s>\r\n" % USER.encode(), b"DATA\r\n", BODY, b"QUIT\r\n"):
        s.sendall(cmd)
        reply()
        t.append(time.perf_counter())
    s.close()
    for i in range(1, len(t)):
        times[i - 1].append(t[i] - t[i - 1])


work = make_workdir("smtp-latency")
dns = Dnsmasq(work).start()
sink = SmtpSink(work).start()
dw = Darwin(work, dist, want=("smtp", "imap"), dns_port=dns.port).start()
try:
    dw.add_users([USER])
    dw.require("smtp")
    if warmup:
        subprocess.run(["smtp-source", "-s", "10", "-m", str(warmup), "-l", "10240", "-f", "bench@example.test",
                        "-t", USER, "-M", "client.bench.test", "127.0.0.1:%s" % dw.ports["smtp"]], check=True,
                       capture_output=True)
    for name, port in (("Darwin", int(dw.ports["smtp"])), ("smtp-sink", sink.port)):
        times = [[] for _ in STEPS]
        for _ in range(n):
            one(port, times)
        med = [1e6 * statistics.median(x) for x in times]
        print("%-9s %s | total %.0f us (load %.1f)" % (name, "  ".join("%s %.0f" % (s, m) for s, m in zip(STEPS, med)),
                                                       sum(med), os.getloadavg()[0]), flush=True)
finally:
    dw.stop()
    sink.stop()
    dns.stop()
    remove_workdir(work)

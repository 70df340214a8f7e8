#!/usr/bin/python3
"""make bench-relay: submission (STARTTLS + AUTH PLAIN) to remote delivery into Postfix's smtp-sink on
loopback, 10 KB messages, Darwin Mail vs a private Postfix relaying to the same sink, in the same run.

Darwin finds the sink by MX lookup: a dnsmasq started here on 127.0.0.1:<port> answers
MX sink.test -> mx.sink.test -> A <loopback address of the sink>; the sink listens on port 25 of a
loopback address of its own (127.x.y.z) because an MX implies port 25. Postfix relays to the same
sink with relayhost = [address]:25 (its resolver cannot be pointed at a port), and authenticates
submission clients through the private Dovecot's auth socket, with the same Argon2id cost as Darwin."""
import argparse
import os
import random
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (PASSWORD, Report, Unavailable, Meter, make_workdir, remove_workdir, log, ratio, loadgen, sides_from_env)
from peers import Dovecot, OpenDkim, Postfix, SmtpSink, ensure_packages
from darwin import Darwin, Dnsmasq, darwin_notes

USER = "u1@bench.test"
RCPT = "someone@sink.test"


def sink_address():
    """A loopback address whose port 25 is free (127.x.y.z, never 127.0.0.1)."""
    for _ in range(50):
        ip = "127.%d.%d.%d" % (random.randint(1, 250), random.randint(1, 250), random.randint(2, 250))
        with socket.socket() as s:
            try:
                s.bind((ip, 25))
                return ip
            except OSError:
                continue
    raise Unavailable("no loopback address with a free port 25")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dist", default="dist/darwinmail")
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--runs", default="1:300,20:3000",
                    help="rows as messages-per-connection:messages (a login per connection costs an Argon2id hash)")
    ap.add_argument("--size", type=int, default=10240)
    ap.add_argument("--warmup", type=int, default=30000,
                    help="messages (20 per connection) each side relays before measuring, unreported (JIT)")
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--dovecot-scheme", default="ARGON2ID-DARWIN")
    ap.add_argument("--peer-dkim", choices=("yes", "no"), default="yes",
                    help="Postfix signs through OpenDKIM (as Darwin signs every message it relays): the same work")
    a = ap.parse_args()
    peer_on, darwin_on = sides_from_env()

    rep = Report("relay", "bench-relay: submission (STARTTLS+AUTH) -> queue -> remote SMTP into smtp-sink, "
                 "messages of %d bytes, %d submitting clients" % (a.size, a.concurrency), "make bench-relay")
    rep.columns("msgs/conn", "messages", "Darwin end-to-end msg/s", "Postfix end-to-end msg/s", "ratio D/P",
                "Darwin submit msg/s", "Postfix submit msg/s", "Darwin CPU ms/msg",
                "Postfix+Dovecot%s CPU ms/msg" % ("+OpenDKIM" if a.peer_dkim == "yes" else ""))
    work = make_workdir("relay")
    sink = dv = od = pf = dns = dw = None
    darwin_err = peer_err = None
    rc = 0
    side = {}
    try:
        ensure_packages("postfix")
        ip = sink_address()
        sink = SmtpSink(work, host=ip, port=25).start()
        if peer_on:
            try:
                ensure_packages("dovecot-imapd")
                dv = Dovecot(work, [USER], scheme=a.dovecot_scheme, auth_socket=True).start()
                if a.peer_dkim == "yes":
                    ensure_packages("opendkim", "opendkim-tools")
                    od = OpenDkim(work).start()
                pf = Postfix(work, [USER], mode="relay", relayhost="[%s]:25" % ip, sasl_path=dv.auth_socket,
                             smtpd=False, submission=True,
                             milter="inet:127.0.0.1:%d" % od.port if od else None).start()
                side["Postfix"] = (pf.submission_port, [pf.pid, dv.pid] + ([od.pid] if od else []))
            except Unavailable as e:
                peer_err = str(e)
        if darwin_on:
            try:
                dns = Dnsmasq(work, mx={"sink.test": ("mx.sink.test", 10)}, hosts={"mx.sink.test": ip}).start()
                dw = Darwin(work, a.dist, want=("submission", "smtp"), dns_port=dns.port).start()
                darwin_notes(rep, dw)
                dw.add_users([USER])
                dw.require("submission")
                side["Darwin"] = (dw.ports["submission"], [dw.proc.pid])
            except Unavailable as e:
                darwin_err = str(e)
        for name in ("Darwin", "Postfix") if a.warmup else ():
            if name not in side:
                continue
            before = sink.count()
            log("%s: warm-up, %d messages (not reported)" % (name, a.warmup))
            loadgen(["submit", "--port", side[name][0], "--tls", "starttls", "--user", USER, "--password", PASSWORD,
                     "--from", USER, "--to", RCPT, "--count", a.warmup, "--concurrency", a.concurrency,
                     "--per-conn", 20, "--size", a.size, "--seed", 3], timeout=a.timeout)
            sink.wait_count(before + a.warmup, a.timeout)
        for per, count in [tuple(int(y) for y in x.split(":")) for x in a.runs.split(",")]:
            vals = {}
            for name in ("Darwin", "Postfix"):
                if name not in side:
                    continue
                port, pids = side[name]
                before = sink.count()
                log("%s: %d messages, %d per connection, concurrency %d" % (name, count, per, a.concurrency))
                meters = [Meter(p) for p in pids]
                for m in meters:
                    m.__enter__()
                t0 = time.time()
                r, res, out = loadgen(["submit", "--port", port, "--tls", "starttls", "--user", USER, "--password", PASSWORD,
                                       "--from", USER, "--to", RCPT, "--count", count, "--concurrency", a.concurrency,
                                       "--per-conn", per, "--size", a.size, "--seed", 7], timeout=a.timeout)
                t_sub = time.time() - t0
                rep.detail("%s, %d per connection: client-side phases" % (name, per),
                           "\n".join(l for l in out.splitlines() if not l.startswith("RESULT")))
                arrived = sink.wait_count(before + count, max(10, a.timeout - t_sub)) if r == 0 else False
                t_all = time.time() - t0
                for m in meters:
                    m.__exit__(None, None, None)
                got = sink.count() - before
                if r != 0:
                    rep.note("%s, %d/conn: submission failed: %s" % (name, per, out.strip()[-300:]))
                    rc = 1
                    continue
                if not arrived:
                    rep.note("%s, %d/conn: only %d of %d messages reached the sink within %ds"
                             % (name, per, got, count, a.timeout))
                    rc = 1
                vals[name] = (count / t_all if arrived else None, float(res.get("msgs_per_s", 0)),
                              1000 * sum(m.server_cpu for m in meters) / count)
                time.sleep(1)
            d = vals.get("Darwin", (None, None, None))
            p = vals.get("Postfix", (None, None, None))
            rep.row(str(per), str(count), d[0] if d[0] else ("NOT MEASURED" if darwin_on else "-"), p[0], ratio(d[0], p[0]),
                    d[1], p[1], d[2], p[2])
    except Unavailable as e:
        rep.note("bench-relay could not run: %s" % e)
        rc = 1
    finally:
        for x in (dw, dns, pf, od, dv, sink):
            if x:
                x.stop()
        remove_workdir(work)
    if a.warmup:
        rep.note("Each side first relays %d unreported messages (20 per connection), so that the JVM has compiled "
                 "its hot paths." % a.warmup)
    rep.note("end-to-end: from the first submission until smtp-sink has counted every message; "
             "submit: the submitting clients' own rate (250 after DATA).")
    if a.peer_dkim == "yes":
        rep.note("Both sides DKIM-sign every message: Darwin with rsa-sha256 and ed25519-sha256 (RFC 8463), "
                 "Postfix through the OpenDKIM milter (rsa-sha256, 2048-bit, relaxed/relaxed), as Postfix-based "
                 "appliances sign; `--peer-dkim no` measures Postfix without signing.")
    rep.note("Each submission connection does EHLO, STARTTLS, EHLO, AUTH PLAIN (an Argon2id verification, "
             "m=19456 KiB, t=2 on both sides), then msgs/conn messages. Postfix authenticates through Dovecot's "
             "auth process (one process, hashes one at a time).")
    return rep.finish(rc, "Postfix peer", peer_err, darwin_on and darwin_err)


if __name__ == "__main__":
    sys.exit(main())

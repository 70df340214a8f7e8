#!/usr/bin/python3
"""make bench-pop3: retrieve and delete 1,000 messages of 10 KB in one POP3 session (RETR + DELE each,
then QUIT, which commits the deletions), against Darwin Mail and a private Dovecot, in the same run.
The mailboxes are filled with identical generated messages: Darwin over SMTP, Dovecot over LMTP."""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (PASSWORD, Report, Unavailable, Meter, wait_idle, make_workdir, remove_workdir, log, ratio, loadgen, loadgen_staged,
                      sides_from_env)
from peers import Dovecot, ensure_packages
from darwin import Darwin, Dnsmasq, darwin_notes

USER = "u1@bench.test"
WARM_USER = "u2@bench.test"   # a maildrop the client reads (RETR, no DELE) before each measured session


def cpu(v):
    """CPU ms per message to two decimals: the clock tick (10 ms) over 1,000 messages is 0.01."""
    return "n/a" if v is None else "%.2f" % v


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dist", default="dist/darwinmail")
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--size", type=int, default=10240)
    ap.add_argument("--rounds", type=int, default=4, help="fill + retrieve/delete rounds per server")
    ap.add_argument("--warmup", type=int, default=5000,
                    help="messages of an unreported first round (0: none); the JVM needs thousands of RETRs to compile its hot paths")
    ap.add_argument("--client-warmup", type=int, default=2000,
                    help="messages in a second maildrop that the client retrieves (no DELE) in the same process before "
                         "each measured session, so that its own code is compiled (0: none)")
    ap.add_argument("--dovecot-scheme", default="ARGON2ID-DARWIN")
    a = ap.parse_args()
    peer_on, darwin_on = sides_from_env()

    rep = Report("pop3", "bench-pop3: one POP3 session retrieving and deleting %d messages of %d bytes"
                 % (a.messages, a.size), "make bench-pop3")
    rep.columns("round", "Darwin msg/s", "Dovecot msg/s", "ratio D/Dovecot", "RETR+DELE s D/Dov", "Darwin QUIT ms", "Dovecot QUIT ms",
                "Darwin CPU ms/msg", "of which JIT", "Dovecot CPU ms/msg", "client CPU ms/msg D/Dov")
    work = make_workdir("pop3")
    dv = dns = dw = None
    darwin_err = peer_err = None
    rc = 0
    side = {}

    def failed(name, err):
        """A server that cannot be measured: left out of the rounds, err in the report."""
        nonlocal darwin_err, peer_err
        side.pop(name)
        if name == "Darwin":
            darwin_err = err
        else:
            peer_err = err
    try:
        if peer_on:
            try:
                ensure_packages("dovecot-pop3d", "dovecot-lmtpd")
                dv = Dovecot(work, [USER, WARM_USER], scheme=a.dovecot_scheme).start()
                side["Dovecot"] = (dv.pop3_port, dv.pid, ["--proto", "lmtp", "--port", dv.lmtp_port])
            except Unavailable as e:
                peer_err = str(e)
        if darwin_on:
            try:
                dns = Dnsmasq(work).start()
                dw = Darwin(work, a.dist, want=("pop3", "smtp"), dns_port=dns.port).start()
                darwin_notes(rep, dw)
                dw.add_users([USER, WARM_USER])
                dw.require("smtp")
                dw.require("pop3")
                side["Darwin"] = (dw.ports["pop3"], dw.pid if hasattr(dw, "pid") else dw.proc.pid,
                                  ["--proto", "smtp", "--port", dw.ports["smtp"]])
            except Unavailable as e:
                darwin_err = str(e)
        for name, (port, pid, fill) in list(side.items()) if a.client_warmup else []:
            log("%s: filling the client's warm-up maildrop with %d messages" % (name, a.client_warmup))
            r, res, out = loadgen(["deliver", *fill, "--from", "bench@example.test", "--to", WARM_USER,
                                   "--count", a.client_warmup, "--concurrency", 10, "--size", a.size, "--seed", 99],
                                  timeout=900)
            if r != 0:
                failed(name, "filling the warm-up maildrop over %s failed: %s" % (fill[1], out.strip()[-300:]))
        warm = ["--warm-user", WARM_USER] if a.client_warmup else []
        for rnd in range(0 if a.warmup else 1, a.rounds + 1):
            vals = {}
            count = a.warmup if rnd == 0 else a.messages
            for name in (("Darwin", "Dovecot") if rnd % 2 else ("Dovecot", "Darwin")):
                if name not in side:
                    continue
                port, pid, fill = side[name]
                log("%s: round %d: filling %d messages" % (name, rnd, count))
                r, res, out = loadgen(["deliver", *fill, "--from", "bench@example.test", "--to", USER,
                                       "--count", count, "--concurrency", 10, "--size", a.size, "--seed", rnd],
                                      timeout=900)
                if r != 0:
                    failed(name, "filling over %s failed: %s" % (fill[1], out.strip()[-300:]))
                    continue
                if rnd == 1:
                    rep.note("%s: filled by %s at %s msg/s (concurrency 10)" % (name, fill[1].upper(), res.get("msgs_per_s")))
                def measured():
                    idle = wait_idle(pid)
                    log("%s: round %d: POP3 RETR+DELE %d (idle after %.1f s)" % (name, rnd, count, idle))
                    return Meter(pid)
                r, res, out, m = loadgen_staged(["pop3", "--port", port, "--user", USER, "--password", PASSWORD,
                                                 "--expect", count, *warm], 900, measured)
                if r != 0 or not res:
                    rep.note("%s, round %d: POP3 run failed: %s" % (name, rnd, out.strip()[-300:]))
                    rc = 1
                    continue
                # the deletions must have happened
                r2, res2, out2 = loadgen(["pop3", "--port", port, "--user", USER, "--password", PASSWORD, "--expect", 0],
                                         timeout=120)
                if r2 != 0:
                    rep.note("%s, round %d: mailbox not empty after QUIT: %s" % (name, rnd, out2.strip()[-200:]))
                    rc = 1
                vals[name] = (float(res["msgs_per_s"]), float(res["quit_ms"]),
                              1000 * m.server_cpu / max(1, int(res["messages"])), res["retr_dele_seconds"],
                              1000 * m.server_jit_cpu / max(1, int(res["messages"])),
                              float(res["client_cpu_ms"]) / max(1, int(res["messages"])))
            if rnd == 0:
                continue   # warm-up round (JIT, caches): not reported
            d = vals.get("Darwin", (None, None, None, "-", None, None))
            p = vals.get("Dovecot", (None, None, None, "-", None, None))
            rep.row(str(rnd), d[0] if d[0] else ("NOT MEASURED" if darwin_on else "-"), p[0], ratio(d[0], p[0]),
                    "%s/%s" % (d[3], p[3]), d[1], p[1], cpu(d[2]), cpu(d[4]), cpu(p[2]),
                    "%s/%s" % (cpu(d[5]), cpu(p[5])))
    finally:
        for x in (dw, dns, dv):
            if x:
                x.stop()
        remove_workdir(work)
    rep.note("A warm-up round of %d messages runs first and is not reported; the order of the servers alternates "
             "between rounds." % a.warmup)
    rep.note("CPU counts the server's process tree from login to QUIT's answer; 'of which JIT' is Darwin's JIT "
             "compiler threads, still compiling long after the warm-up (Derby's statements compiled again after its "
             "automatic index statistics, bench/README.md): the rest is what the commands cost.")
    rep.note("Before each POP3 run the server is left until it is idle (its process tree under 2% of a CPU for 0.5 s, "
             "at most 20 s): the fill's after-work - a JVM's compile queue, a store's background writes - is not "
             "counted as POP3's.")
    if a.client_warmup:
        rep.note("The client (bench/loadgen, a JVM) first retrieves the %d messages of a second maildrop (%s, RETR "
                 "without DELE, filled once at the start) in the same process, then runs the measured session: a JVM "
                 "that has just started reads the answers interpreted and was the limit (figures before 2026-12-05 22:00 "
                 "UTC include that)." % (a.client_warmup, WARM_USER))
    rep.note("client CPU is the load generator's process (its JIT threads included) during the measured session; it "
             "reads each RETR answer through a buffer scanned in place (bench/loadgen Conn.dotBody).")
    rep.note("msg/s counts from after login to the +OK of QUIT (the deletions are committed by QUIT); "
             "RETR and DELE are sent one at a time, no pipelining. Client: bench/loadgen (Java).")
    return rep.finish(rc, "Dovecot peer", peer_err, darwin_on and darwin_err)


if __name__ == "__main__":
    sys.exit(main())

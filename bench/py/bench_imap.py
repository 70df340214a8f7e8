#!/usr/bin/python3
"""make bench-imap: N concurrent IMAP clients doing a realistic mix (login, select, fetch headers,
fetch bodies, fetch structure, store flags, search, append, expunge, logout) on identical mailbox
contents, against Darwin Mail and a private Dovecot, in the same run. Load: bench/loadgen (Java)."""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (PASSWORD, Report, Unavailable, Meter, make_workdir, remove_workdir, log, ratio, loadgen, sides_from_env)
from peers import Dovecot, ensure_packages
from darwin import Darwin, Dnsmasq, darwin_notes


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dist", default="dist/darwinmail")
    ap.add_argument("--clients", default="10,50")
    ap.add_argument("--users", type=int, default=10, help="mailboxes; client i uses user i mod users")
    ap.add_argument("--messages", type=int, default=200, help="messages seeded per mailbox (realistic mix, ~25 KB mean)")
    ap.add_argument("--duration", type=int, default=40, help="measured seconds per server and client count (two halves, A-B-B-A)")
    ap.add_argument("--warmup", type=int, default=5, help="unmeasured seconds at the start of each run")
    ap.add_argument("--server-warmup", type=int, default=60, help="an unreported 10-client run per server first (JIT: about a minute)")
    ap.add_argument("--dovecot-scheme", default="ARGON2ID-DARWIN", help="password scheme of the Dovecot users (ARGON2ID-DARWIN: Argon2id with Darwin's parameters)")
    a = ap.parse_args()
    clients = [int(x) for x in a.clients.split(",")]
    users = ["u%d@bench.test" % i for i in range(1, a.users + 1)]
    peer_on, darwin_on = sides_from_env()

    rep = Report("imap", "bench-imap: IMAP client mix, %d mailboxes x %d messages, %ds per run after %ds warm-up"
                 % (a.users, a.messages, a.duration, a.warmup), "make bench-imap")
    rep.columns("clients", "Darwin ops/s", "Dovecot ops/s", "ratio D/Dovecot", "Darwin CPU ms/op", "Dovecot CPU ms/op",
                "CPU busy% D/Dov", "errors D/Dov", "login p50 ms D/Dov")
    work = make_workdir("imap")
    dv = dns = dw = None
    darwin_err = peer_err = None
    rc = 0
    side = {}
    try:
        if peer_on:
            try:
                ensure_packages("dovecot-imapd")
                dv = Dovecot(work, users, scheme=a.dovecot_scheme, process_limit=max(200, 2 * max(clients))).start()
                side["Dovecot"] = (dv.imap_port, dv.pid)
            except Unavailable as e:
                peer_err = str(e)
        if darwin_on:
            try:
                dns = Dnsmasq(work).start()
                dw = Darwin(work, a.dist, want=("imap", "smtp"), dns_port=dns.port).start()
                darwin_notes(rep, dw)
                dw.add_users(users)
                dw.require("imap")
                side["Darwin"] = (dw.ports["imap"], dw.proc.pid)
            except Unavailable as e:
                darwin_err = str(e)
        for name in list(side):
            port, pid = side[name]
            log("%s: seeding %d x %d messages by APPEND" % (name, a.users, a.messages))
            with Meter(pid) as m:
                r, res, out = loadgen(["imap-seed", "--port", port, "--users", ",".join(users), "--password", PASSWORD, "--count", a.messages,
                                       "--seed", 42], timeout=900)
            if r != 0:
                err = "seeding by APPEND failed (rc %d): %s" % (r, out[-400:])
                side.pop(name)
                if name == "Darwin":
                    darwin_err = err
                else:
                    peer_err = err
                continue
            rep.note("%s: seeded %s messages (%s bytes) by APPEND in %s s (%.0f APPEND/s, 1 connection per mailbox)"
                     % (name, res.get("appended"), res.get("bytes"), res.get("seconds"),
                        int(res.get("appended", 0)) / max(0.001, float(res.get("seconds", 1)))))
        for name in list(side) if a.server_warmup else []:
            port, pid = side[name]
            log("%s: warm-up, 10 clients for %ds (not reported)" % (name, a.server_warmup))
            loadgen(["imap-load", "--port", port, "--users", ",".join(users), "--password", PASSWORD, "--clients", 10,
                     "--duration", a.server_warmup, "--warmup", 1, "--seed", 7], timeout=a.server_warmup + 300)
        for n in clients:
            # A-B-B-A halves: on a shared machine, a load drift during the run hits both servers alike.
            acc = {}
            order = [x for x in ("Darwin", "Dovecot", "Dovecot", "Darwin") if x in side]
            half = max(5, a.duration // 2) if len(side) == 2 else a.duration
            if len(side) == 1:
                order = order[:1]
            for name in order:
                port, pid = side[name]
                log("%s: %d clients for %ds" % (name, n, half))
                with Meter(pid) as m:
                    r, res, out = loadgen(["imap-load", "--port", port, "--users", ",".join(users), "--password", PASSWORD,
                                           "--clients", n, "--duration", half, "--warmup", a.warmup, "--seed", 42],
                                          timeout=half + a.warmup + 300)
                rep.detail("%s, %d clients, %ds: per operation" % (name, n, half),
                           "\n".join(l for l in out.splitlines() if not l.startswith("RESULT")))
                v = acc.setdefault(name, {"ops": 0, "secs": 0, "cpu": 0.0, "busy": [], "errors": 0, "login": [], "bad": False})
                if r != 0 or not res.get("ops"):
                    rep.note("%s, %d clients: run not valid (rc %d, errors %s, fatal %s)"
                             % (name, n, r, res.get("errors"), res.get("fatal")))
                    v["bad"] = True
                    rc = 1
                    continue
                v["ops"] += int(res["ops"])
                v["secs"] += half
                v["cpu"] += m.server_cpu * half / (m.seconds or 1)   # CPU over the measured share of the run
                v["busy"].append(m.busy)
                v["errors"] += int(res.get("errors", 0))
                v["login"].append(res.get("login_p50_ms", "?"))

            def cell(name):
                v = acc.get(name)
                if not v or v["bad"] or not v["secs"]:
                    return None, None, "-", "-", "-"
                return (v["ops"] / v["secs"], 1000 * v["cpu"] / max(1, v["ops"]),
                        "%.0f" % (sum(v["busy"]) / len(v["busy"])), str(v["errors"]), "+".join(v["login"]))
            d, p = cell("Darwin"), cell("Dovecot")
            rep.row(str(n), d[0] if d[0] else ("NOT MEASURED" if darwin_on else "-"), p[0], ratio(d[0], p[0]),
                    d[1], p[1], "%s/%s" % (d[2], p[2]), "%s/%s" % (d[3], p[3]), "%s / %s" % (d[4], p[4]))
    finally:
        for x in (dw, dns, dv):
            if x:
                x.stop()
        remove_workdir(work)
    rep.note("One op = one IMAP command and its tagged reply. Mix per command: 25%% FETCH of 20 headers, "
             "20%% UID FETCH BODY.PEEK[], 5%% ENVELOPE+BODYSTRUCTURE, 15%% UID STORE +/-FLAGS, 12%% UID SEARCH "
             "(UNSEEN, FLAGGED, FROM, SUBJECT, SINCE, BODY), 10%% APPEND 4-20 KB, 8%% own-message "
             "SEARCH HEADER + STORE \\Deleted + EXPUNGE, rest NOOP; a session is LOGIN, SELECT, UID SEARCH ALL, "
             "100-299 commands, LOGOUT, then a new connection. Clients share mailboxes (client i: user i mod %d)."
             % a.users)
    rep.note("Each server first gets an unreported %ds warm-up run (10 clients); each row is two halves per server "
             "in the order Darwin, Dovecot, Dovecot, Darwin, each after %ds of unmeasured ramp-up; 'login p50' lists both halves."
             % (a.server_warmup, a.warmup))
    rep.note("Load generator: bench/loadgen (Java 21, blocking sockets on virtual threads) on the same 2-CPU machine; "
             "CPU ms/op is the server process tree's CPU time per op during the measured window (approximate: includes warm-up).")
    rep.note("Dovecot: passwd-file users with %s password hashes and auth_cache on; Maildir; "
             "mail_max_userip_connections raised." % a.dovecot_scheme)
    return rep.finish(rc, "Dovecot peer", peer_err, darwin_on and darwin_err)


if __name__ == "__main__":
    sys.exit(main())

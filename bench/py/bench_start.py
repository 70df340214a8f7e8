#!/usr/bin/python3
"""make bench-start: how fast Darwin Mail starts and how soon it runs at its warmed rate (issue 22).

For each Java (the dist tree on the build JDK; the jlink runtime when --runtime names one) and each cache setting
(without the AOT cache; with it), on a store of --messages messages filled once beforehand, --rounds times:
  - start: `darwinmail serve` spawned -> the SMTP greeting read (polling connects every 10 ms);
  - first 250: spawn -> the 250 after DATA of one message sent on that greeting's connection (the greeting comes
    before the store is open, the first accepted message after it: since session 18 they differ);
  - first FETCH: spawn -> an IMAP client logged in, INBOX selected and the last message's body fetched;
  - CLI: `darwinmail --config F domain list` (goes over the control socket) with the server running, wall time;
  - first 1,000 messages: smtp-source at concurrency 1 right after the start, then --warmup unreported messages
    at concurrency 10, then 1,000 more at concurrency 1: the warmed rate; the report gives their ratio;
  - with --imap-seconds S (0, not measured, by default: it adds a start and 3 x S seconds per row): the IMAP client
    mix of `make bench-imap` (bench/loadgen imap-load, 10 clients on 10 seeded mailboxes) for S seconds right after
    another start of the same Java and cache, then S unreported, then S more: the warmed rate; their ratio (goal:
    the first minute at 80 %).
The machine's load average is read before every start and printed in the row. The AOT cache is the one the tree ships
(lib/darwinmail.aot, or runtime/lib/darwinmail.aot for the runtime) when there is one, else one trained here by
tools/aot-train (which trains the commands' cache, darwinmail-cli.aot, beside it: the CLI row "with" uses that one,
"without" neither). Darwin only: there is no peer to compare a JVM's start with.
"""
import argparse
import imaplib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (PASSWORD, Report, Unavailable, make_workdir, remove_workdir, log, fmt, REPO_DIR, stop_pid,
                      tree_mem_kb, loadgen, smtp_source)
from darwin import Darwin, Dnsmasq

USER = "u1@bench.test"
IMAP_USERS = ["i%d@bench.test" % i for i in range(1, 11)]
SERVE_OPTS = "-XX:+UseSerialGC -Xss512k -Xmx320m"   # the launcher's options for serve before it read the cache itself


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def wait_greeting(port, proc, deadline):
    """Polls for the SMTP greeting; returns (the time it was read, the connection, its reader) or None."""
    while time.time() < deadline:
        if proc.poll() is not None:
            return None
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            time.sleep(0.01)
            continue
        try:
            s.settimeout(300)
            f = s.makefile("rb")
            if f.readline().startswith(b"220"):
                return time.time(), s, f
        except OSError:
            pass
        s.close()
        time.sleep(0.01)
    return None


def first_message(s, f):
    """One message on the greeted connection: EHLO, MAIL, RCPT, DATA; the time its 250 was read (None: refused)."""
    def reply():
        while True:
            line = f.readline()
            if len(line) < 4 or line[3:4] != b"-":
                return line
    try:
        for cmd, want in ((b"EHLO client.bench.test", b"250"), (b"MAIL FROM:<bench@example.test>", b"250"),
                          (b"RCPT TO:<" + USER.encode() + b">", b"250"), (b"DATA", b"354"),
                          (b"Subject: first after start\r\n\r\nThe first message after a start.\r\n.", b"250")):
            s.sendall(cmd + b"\r\n")
            r = reply()
            if not r.startswith(want):
                return None
        t = time.time()
        s.sendall(b"QUIT\r\n")
        return t
    except OSError:
        return None
    finally:
        s.close()


def cpu_seconds(pid):
    """User + system CPU seconds a process has used so far (/proc/PID/stat)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            v = f.read().rsplit(")", 1)[1].split()
        return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def children_cpu():
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def first_fetch(port):
    m = imaplib.IMAP4("127.0.0.1", port, timeout=300)
    m.login(USER, PASSWORD)
    typ, data = m.select("INBOX", readonly=True)
    n = int(data[0])
    m.fetch(str(n), "(BODY.PEEK[])")
    t = time.time()
    m.logout()
    return t, n


def tree_with_runtime(work, dist, runtime):
    """A copy of the dist tree (bin/, conf/, lib/ linked) with runtime/ beside it, as the appliance lays it out."""
    t = os.path.join(work, "dist-runtime")
    os.makedirs(t)
    for d in ("bin", "conf", "lib"):
        shutil.copytree(os.path.join(dist, d), os.path.join(t, d), symlinks=True, copy_function=shutil.copy2)
    for f in ("darwinmail.aot", "darwinmail.aot.where", "darwinmail-cli.aot", "darwinmail-cli.aot.where"):
        if os.path.exists(os.path.join(t, "lib", f)):
            os.unlink(os.path.join(t, "lib", f))
    shutil.copytree(os.path.abspath(runtime), os.path.join(t, "runtime"), symlinks=True, copy_function=shutil.copy2)
    return t


def cache_path(tree):
    """Where the launcher looks for the AOT cache of this tree."""
    if os.path.exists(os.path.join(tree, "runtime", "bin", "java")):
        return os.path.join(tree, "runtime", "lib", "darwinmail.aot")
    return os.path.join(tree, "lib", "darwinmail.aot")


def shipped_cache(tree):
    """The tree's cache when the launcher will use it: trained in this very folder (darwinmail.aot.where)."""
    p = cache_path(tree)
    try:
        with open(p + ".where") as f:
            return p if f.read().strip() == tree else None
    except OSError:
        return None


def spawn_serve(dw, bin_, env):
    """`bin_ --config F serve` for dw, its output in dw's log file (new); the spawn's time."""
    dw.out = open(dw.logfile, "w")
    t0 = time.time()
    dw.proc = subprocess.Popen([bin_, "--config", dw.conf, "serve"], stdin=subprocess.DEVNULL, stdout=dw.out,
                               stderr=subprocess.STDOUT, cwd=dw.work, start_new_session=True, env=env)
    return t0


def imap_first_and_warmed(dw, bin_, env, secs):
    """Starts the server again and runs the IMAP mix for secs right after the greeting, secs unreported, secs again;
    (first ops/s, warmed ops/s, ratio) as cells, or None when a run failed. Stops the server."""
    spawn_serve(dw, bin_, env)
    try:
        if wait_greeting(dw.ports["smtp"], dw.proc, time.time() + 300) is None:
            return None
        rates = []
        for measured in (True, False, True):
            r, res, _ = loadgen(["imap-load", "--port", dw.ports["imap"], "--users", ",".join(IMAP_USERS),
                                 "--password", PASSWORD, "--clients", 10, "--duration", secs, "--warmup", 0,
                                 "--seed", 7], timeout=secs + 300)
            if r != 0 or not res.get("ops"):
                return None
            if measured:
                rates.append(int(res["ops"]) / secs)
        return fmt(rates[0], 0), fmt(rates[1], 0), "%.0f%%" % (100 * rates[0] / rates[1])
    finally:
        dw.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dist", default="dist/darwinmail")
    ap.add_argument("--runtime", default="", help="a jlink runtime folder to measure too (appliance/scripts/jlink-runtime.sh)")
    ap.add_argument("--messages", type=int, default=5000, help="messages in the store before the starts (goal: 100000)")
    ap.add_argument("--rounds", type=int, default=3, help="starts per Java and cache setting")
    ap.add_argument("--warmup", type=int, default=10000, help="unreported messages between the first and the warmed 1,000")
    ap.add_argument("--cli-runs", type=int, default=5)
    ap.add_argument("--caches", default="off,on", help="off, on or both")
    ap.add_argument("--label", default="", help="a word for the results file name (LATEST-start-<label>.txt)")
    ap.add_argument("--imap-seconds", type=int, default=0,
                    help="seconds of the IMAP mix after a start of its own, and again warmed (0: not measured)")
    a = ap.parse_args()
    if a.imap_seconds < 0:
        ap.error("--imap-seconds takes 0 (not measured) or a number of seconds")
    dist = os.path.abspath(a.dist)
    if not os.path.exists(os.path.join(dist, "bin", "darwinmail")):
        raise SystemExit("bench-start: %s/bin/darwinmail is missing (make dist)" % dist)
    rep = Report("start" + ("-" + a.label if a.label else ""),
                 "bench-start: cold start, first FETCH, CLI latency, first 1,000 vs warmed SMTP rate; store of %d messages"
                 % a.messages, "make bench-start BENCH_ARGS=\"%s\"" % " ".join(sys.argv[1:]))
    imap_cols = ("IMAP first ops/s", "IMAP warmed ops/s", "IMAP first/warmed") if a.imap_seconds else ()
    rep.columns("java", "AOT cache", "round", "load avg (1/5/15)", "greeting s", "CPU s at greeting", "first 250 s", "first FETCH s",
                "CLI s (median)", "CLI CPU s", "first 1,000 msg/s", "warmed msg/s", "first/warmed", "RSS after start MB",
                *imap_cols)
    work = make_workdir("start")
    dns = dw = None
    rc = 0
    try:
        dns = Dnsmasq(work).start()
        dw = Darwin(work, dist, want=("smtp", "imap"), dns_port=dns.port)
        # The store: filled once through SMTP, then every start opens it.
        dw.start()
        dw.add_users([USER])
        log("filling the store: %d messages" % a.messages)
        left = a.messages
        while left > 0:
            n = min(left, 20000)
            smtp_source(dw.ports["smtp"], 10, n)
            left -= n
        m = imaplib.IMAP4("127.0.0.1", dw.ports["imap"], timeout=900)   # waits for the intake journal
        m.login(USER, PASSWORD)
        stored = int(m.status("INBOX", "(MESSAGES)")[1][0].decode().split("MESSAGES")[1].strip(" ()"))
        m.logout()
        log("store: %d messages" % stored)
        if a.imap_seconds:
            dw.add_users(IMAP_USERS)
            r, res, out = loadgen(["imap-seed", "--port", dw.ports["imap"], "--users", ",".join(IMAP_USERS),
                                   "--password", PASSWORD, "--count", 200, "--seed", 42], timeout=900)
            if r != 0:
                raise Unavailable("seeding the IMAP mailboxes failed: %s" % out[-300:])
        dw.stop()
        javas = [("JDK " + os.path.basename(os.environ.get("JAVA_HOME", "") or "(launcher's choice)"), dist)]
        if a.runtime:
            javas.append(("jlink runtime", tree_with_runtime(work, dist, a.runtime)))
        caches = [c.strip() for c in a.caches.split(",")]
        for jname, tree in javas:
            bin_ = os.path.join(tree, "bin", "darwinmail")
            for cache in caches:
                env = dict(os.environ)
                env.pop("DARWINMAIL_JAVA_OPTS", None)
                env["DARWINMAIL_AOT"] = "off"
                cache_note = "off"
                if cache == "on":
                    if shipped_cache(tree):
                        cache_note = "shipped"
                    elif "DARWINMAIL_AOT_OUTPUT" in open(bin_).read():
                        # Trained here, in the tree's own place for it, as the build does (tools/aot-train).
                        log("%s: training the AOT cache in %s (tools/aot-train)" % (jname, tree))
                        r = subprocess.run([os.path.join(REPO_DIR, "tools", "aot-train"), tree, cache_path(tree)])
                        if r.returncode != 0 or not shipped_cache(tree):
                            rep.note("%s: the AOT cache could not be trained" % jname)
                            rc = 1
                            continue
                        cache_note = "trained in place"
                    else:
                        # A launcher from before the cache (the "before" measurement): given through its options.
                        path = os.path.join(work, "trained-%d.aot" % len(javas))
                        if not os.path.exists(path):
                            log("%s: training an AOT cache (tools/aot-train)" % jname)
                            r = subprocess.run([os.path.join(REPO_DIR, "tools", "aot-train"), tree, path],
                                               env=dict(env, DARWINMAIL_JAVA_OPTS=SERVE_OPTS))
                            if r.returncode != 0:
                                rep.note("%s: the AOT cache could not be trained" % jname)
                                rc = 1
                                continue
                        env["DARWINMAIL_JAVA_OPTS"] = SERVE_OPTS + " -XX:AOTCache=" + path
                        cache_note = "trained here"
                    env.pop("DARWINMAIL_AOT", None)
                for rnd in range(1, a.rounds + 1):
                    la = loadavg()
                    log("%s, cache %s, round %d (load %s)" % (jname, cache, rnd, la))
                    t0 = spawn_serve(dw, bin_, env)
                    greeted = wait_greeting(dw.ports["smtp"], dw.proc, t0 + 300)
                    cpu_greet = cpu_seconds(dw.proc.pid)
                    if greeted is None:
                        rep.note("%s cache %s round %d: no greeting: %s" % (jname, cache, rnd, dw.tail(300)))
                        rc = 1
                        dw.stop()
                        continue
                    tg = greeted[0]
                    t250 = first_message(greeted[1], greeted[2])
                    if t250 is None:
                        rep.note("%s cache %s round %d: the first message was refused: %s" % (jname, cache, rnd,
                                                                                            dw.tail(300)))
                        rc = 1
                    tf, n = first_fetch(dw.ports["imap"])
                    rss = tree_mem_kb(dw.proc.pid)[0] / 1024
                    clis = []
                    cpu0 = children_cpu()
                    for _ in range(a.cli_runs):
                        c0 = time.time()
                        r = subprocess.run([bin_, "--config", dw.conf, "domain", "list"], capture_output=True,
                                           text=True, env=env, timeout=120)
                        clis.append(time.time() - c0)
                        if r.returncode != 0 or "bench.test" not in r.stdout:
                            rep.note("CLI failed: %s" % (r.stderr or r.stdout)[-300:])
                            rc = 1
                    cli_cpu = (children_cpu() - cpu0) / a.cli_runs
                    first = 1000 / smtp_source(dw.ports["smtp"], 1, 1000)
                    if a.warmup:
                        smtp_source(dw.ports["smtp"], 10, a.warmup)
                    warm = 1000 / smtp_source(dw.ports["smtp"], 1, 1000)
                    if cache == "on" and rnd == 1:
                        with open(dw.logfile, errors="replace") as f:
                            said = [l.rstrip() for l in f if "[aot" in l and ("Opened" in l or "Using AOT" in l
                                                                               or "error" in l or "warning" in l)]
                        rep.detail("%s with the cache: what the JVM said about it" % jname,
                                   "\n".join(said[:12]) or "(nothing: the launcher did not pass the cache, or "
                                                            "-Xlog:aot was not on)")
                    dw.stop()
                    imap = ()
                    if a.imap_seconds:
                        imap = imap_first_and_warmed(dw, bin_, env, a.imap_seconds)
                        if imap is None:
                            rep.note("%s cache %s round %d: the IMAP mix failed: %s" % (jname, cache, rnd, dw.tail(300)))
                            rc = 1
                            imap = ("-", "-", "-")
                    rep.row(jname, cache_note, str(rnd), la, fmt(tg - t0, 2), fmt(cpu_greet, 2),
                            fmt(t250 - t0, 2) if t250 else "-", fmt(tf - t0, 2),
                            fmt(statistics.median(clis), 2), fmt(cli_cpu, 2), fmt(first, 0), fmt(warm, 0), "%.0f%%" % (100 * first / warm),
                            fmt(rss, 0), *imap)
        rep.note("Store: %d messages (10 KB) in u1's INBOX, filled through SMTP before the starts; each round adds "
                 "%d. Start = spawn of `bin/darwinmail serve` to the SMTP 220 line; first 250 = spawn to the 250 after DATA of one "
                 "message sent on the greeting's connection (the first accepted message); first FETCH = spawn to the answer to "
                 "LOGIN, SELECT INBOX, FETCH <last> (BODY.PEEK[]); CLI = wall time of `darwinmail --config F domain "
                 "list` with the server running (median of %d); first 1,000 = smtp-source -s 1 -m 1000 right after "
                 "start; warmed = the same after %d more at concurrency 10. Page cache warm (the store was just "
                 "written or read). CPU s at greeting: the server JVM's user + system CPU when it greeted; CLI CPU s: "
                 "user + system CPU per command (both independent of what else the machine runs, unlike the wall "
                 "times on a shared machine)." % (stored, 2001 + a.warmup, a.cli_runs, a.warmup))
        if a.imap_seconds:
            rep.note("IMAP: a start of its own per row, then the client mix of `make bench-imap` (bench/loadgen "
                     "imap-load: 10 clients, 10 mailboxes of 200 messages seeded by APPEND) for %d s from the greeting "
                     "(first), %d s unreported, %d s more (warmed); each run a new load generator JVM, so the client's "
                     "own warm-up is in both. Commands per second." % ((a.imap_seconds,) * 3))
    except Unavailable as e:
        rep.note("NOT MEASURED: %s" % e)
        rc = 1
    finally:
        if dw and dw.proc:
            dw.stop()
        if dns:
            dns.stop()
        if not os.environ.get("BENCH_KEEP"):
            remove_workdir(work)
    rep.write()
    return rc


if __name__ == "__main__":
    sys.exit(main())

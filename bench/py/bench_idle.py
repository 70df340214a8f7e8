#!/usr/bin/python3
"""make bench-idle: memory of many logged-in IMAP connections in IDLE (LOGIN, SELECT INBOX, IDLE).
Darwin Mail: up to 10,000 connections, RSS and PSS of the server process. Dovecot: as many as
practical (one imap process per connection), PSS summed over its process tree."""
import argparse
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (PASSWORD, Report, Unavailable, make_workdir, remove_workdir, log, fmt, java_bin, LOADGEN_JAR,
                      tree_mem_kb, sides_from_env)
from peers import Dovecot, ensure_packages
from darwin import Darwin, Dnsmasq, darwin_notes


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), max(hard, want)))  # root may raise hard
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def jcmd(pid, *args):
    jc = os.path.join(os.environ.get("JAVA_HOME", ""), "bin", "jcmd")
    try:
        return subprocess.run([jc, str(pid), *args], capture_output=True, text=True, timeout=120).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def idle_run(port, users, n, sources, ramp_timeout, mem_of, settle=5, jvm_pid=None):
    """Opens n IDLE connections with the load generator; returns dict of figures."""
    cmd = [java_bin(), "-Xmx2g", "-XX:+UseSerialGC", "-jar", LOADGEN_JAR, "imap-idle", "--port", str(port),
           "--users", ",".join(users), "--password", PASSWORD, "--connections", str(n), "--sources", ",".join(sources),
           "--ramp-timeout", str(ramp_timeout), "--parallel", "64"]
    base = mem_of()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    out = {"baseline": base}
    try:
        ready = None
        deadline = time.time() + ramp_timeout + 120
        while time.time() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            if line.startswith("READY"):
                ready = dict(kv.split("=") for kv in line.split()[1:])
                break
        if not ready:
            raise Unavailable("the IDLE load generator did not report READY")
        out.update(ready)
        time.sleep(settle)
        out["loaded"] = mem_of()
        time.sleep(settle)
        out["loaded2"] = mem_of()
        if jvm_pid:
            # The JVM's heap grows toward its default maximum (1/4 of RAM) before collecting: also give the
            # heap actually in use and the footprint after a full collection.
            out["heap_info"] = jcmd(jvm_pid, "GC.heap_info")
            jcmd(jvm_pid, "GC.run")
            time.sleep(settle)
            out["after_gc"] = mem_of()
            out["heap_info_gc"] = jcmd(jvm_pid, "GC.heap_info")
        p.stdin.write("stop\n")
        p.stdin.flush()
        for line in p.stdout:
            if line.startswith("RESULT"):
                out.update(dict(kv.split("=") for kv in line.split()[1:]))
        p.wait(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dist", default="dist/darwinmail")
    ap.add_argument("--connections", type=int, default=10000, help="Darwin Mail")
    ap.add_argument("--dovecot-connections", type=int, default=2000)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--sources", default="127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4",
                    help="loopback source addresses, used in turn (ephemeral ports per source: ~28,000)")
    ap.add_argument("--ramp-timeout", type=int, default=900)
    ap.add_argument("--dovecot-scheme", default="ARGON2ID-DARWIN")
    a = ap.parse_args()
    users = ["u%d@bench.test" % i for i in range(1, a.users + 1)]
    sources = a.sources.split(",")
    peer_on, darwin_on = sides_from_env()
    nofile = raise_nofile(max(a.connections, a.dovecot_connections) * 2 + 1000)
    log("open files limit", nofile)

    rep = Report("idle", "bench-idle: logged-in IMAP connections in IDLE (LOGIN, SELECT INBOX, IDLE), %d users"
                 % a.users, "make bench-idle")
    rep.columns("server", "connections asked", "in IDLE", "failed", "ramp s", "RSS before MB", "PSS before MB",
                "RSS in IDLE MB", "PSS in IDLE MB", "PSS per conn KB", "processes")
    work = make_workdir("idle")
    dv = dns = dw = None
    darwin_err = peer_err = None
    rc = 0
    try:
        if darwin_on:
            try:
                dns = Dnsmasq(work).start()
                dw = Darwin(work, a.dist, want=("imap", "smtp"), dns_port=dns.port).start()
                darwin_notes(rep, dw)
                dw.add_users(users)
                dw.require("imap")
                jpid = dw.java_pid()
                mem = lambda: tree_mem_kb(dw.proc.pid)
                log("Darwin: %d IDLE connections" % a.connections)
                res = idle_run(dw.ports["imap"], users, a.connections, sources, a.ramp_timeout, mem, jvm_pid=jpid)
                b, l = res["baseline"], res["loaded2"]
                n = int(res.get("idling", 0))
                rep.row("Darwin Mail", str(a.connections), str(n), res.get("failed", "?"), res.get("ramp_seconds", "?"),
                        b[0] / 1024, b[1] / 1024, l[0] / 1024, l[1] / 1024,
                        (l[1] - b[1]) / n if n else None, str(l[2]))
                if "after_gc" in res:
                    g = res["after_gc"]
                    rep.row("Darwin after full GC", "", str(n), "", "", "", "", g[0] / 1024, g[1] / 1024,
                            (g[1] - b[1]) / n if n else None, str(g[2]))
                    rep.detail("Darwin JVM heap with %d connections in IDLE (jcmd GC.heap_info), before and after GC.run" % n,
                               res.get("heap_info", "") + "\n---\n" + res.get("heap_info_gc", ""))
                if n < a.connections:
                    rep.note("Darwin Mail: only %d of %d connections reached IDLE" % (n, a.connections))
                    rc = 1
                rep.note("Darwin Mail JVM pid %s: %s" % (jpid, " ".join(open("/proc/%d/cmdline" % jpid).read().split("\0"))[:400]
                                                          if jpid and os.path.exists("/proc/%d" % jpid) else "?"))
            except Unavailable as e:
                darwin_err = str(e)
            finally:
                for x in (dw, dns):
                    if x:
                        x.stop()
                dw = dns = None
        if peer_on:
            try:
                ensure_packages("dovecot-imapd")
                dv = Dovecot(work, users, scheme=a.dovecot_scheme, process_limit=a.dovecot_connections + 100).start()
                mem = lambda: tree_mem_kb(dv.pid)
                log("Dovecot: %d IDLE connections" % a.dovecot_connections)
                res = idle_run(dv.imap_port, users, a.dovecot_connections, sources, a.ramp_timeout, mem)
                b, l = res["baseline"], res["loaded2"]
                n = int(res.get("idling", 0))
                rep.row("Dovecot", str(a.dovecot_connections), str(n), res.get("failed", "?"), res.get("ramp_seconds", "?"),
                        b[0] / 1024, b[1] / 1024, l[0] / 1024, l[1] / 1024,
                        (l[1] - b[1]) / n if n else None, str(l[2]))
                if n:
                    rep.note("Dovecot extrapolated to 10,000 connections: about %s MB PSS (%.0f KB per connection)"
                             % (fmt((b[1] + (l[1] - b[1]) / n * 10000) / 1024, 0), (l[1] - b[1]) / n))
                try:
                    with open(dv.logfile, errors="replace") as f:
                        ino = sum(1 for line in f if "inotify" in line.lower())
                    if ino:
                        rep.note("Dovecot logged %d inotify warnings (fs.inotify.max_user_instances = %s, all mail "
                                 "processes run as one uid): past that, IDLE falls back to polling; memory is comparable"
                                 % (ino, open("/proc/sys/fs/inotify/max_user_instances").read().strip()))
                except OSError:
                    pass
            except Unavailable as e:
                peer_err = str(e)
    finally:
        for x in (dw, dns, dv):
            if x:
                x.stop()
        remove_workdir(work)
    rep.note("Memory read from /proc/PID/smaps_rollup, summed over the server's process tree, 10 s after the last "
             "connection reached IDLE; 'before' is the idle server with no connection. Goal (issue 3): Darwin under "
             "512 MB for 10,000 connections.")
    rep.note("Client: bench/loadgen (Java, virtual threads), 64 logins in flight, source addresses %s." % a.sources)
    return rep.finish(rc, "Dovecot peer", peer_err, darwin_on and darwin_err)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""make bench-cluster: Darwin Mail on one PostgreSQL and one S3 bucket with 1, 2 and 3 nodes on this machine, and on
Derby for comparison (issue 20): SMTP ingest (smtp-source, 10 KB messages, the concurrency split over the nodes)
and the IMAP client mix (bench/loadgen, the clients split over the nodes), each bounded. On two cores the value is
in the CPU each message costs and in the absence of contention between nodes, not in absolute scaling: every node,
PostgreSQL, S3Proxy and the load generators share the same two CPUs."""
import argparse
import imaplib
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (PASSWORD, REPO_DIR, Report, Unavailable, cpu_delta, cpu_snapshot, free_port, java_bin, loadgen,
                      jit_cpu_seconds, log, make_workdir, remove_workdir, stop_pid, tree_cpu_seconds, wait_port)
from darwin import Darwin, Dnsmasq, darwin_notes

PGBIN = "/usr/lib/postgresql/15/bin"
S3PROXY_JAR = os.path.join(REPO_DIR, "server", "target", "s3proxy", "s3proxy.jar")
SMTP_USER = "u1@bench.test"


def as_nobody(*cmd):
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", *cmd]


class Postgres:
    """PostgreSQL 15 (Debian's) as nobody in the work folder, on 127.0.0.1, default durability (fsync on)."""

    def __init__(self, work):
        self.dir = os.path.join(work, "pg")
        self.port = free_port()
        self.password = "bench-pg-%d" % os.getpid()
        self.proc = None

    def start(self):
        if not os.path.exists(os.path.join(PGBIN, "postgres")):
            raise Unavailable("PostgreSQL 15 is not installed (%s/postgres)" % PGBIN)
        os.makedirs(self.dir)
        self.pwfile = os.path.join(self.dir, "password")
        with open(self.pwfile, "w") as f:
            f.write(self.password + "\n")
        subprocess.run(["chown", "-R", "nobody:", self.dir], check=True)
        subprocess.run(as_nobody(os.path.join(PGBIN, "initdb"), "-D", os.path.join(self.dir, "data"), "-U", "darwin",
                                 "--pwfile=" + self.pwfile, "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"),
                       check=True, capture_output=True)
        self.log = open(os.path.join(self.dir, "postgres.log"), "w")
        self.proc = subprocess.Popen(as_nobody(os.path.join(PGBIN, "postgres"), "-D", os.path.join(self.dir, "data"),
                                               "-p", str(self.port), "-k", self.dir, "-c", "listen_addresses=127.0.0.1",
                                               "-c", "max_connections=200", "-c", "shared_buffers=128MB"),
                                     stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_port("127.0.0.1", self.port, 60):
            raise Unavailable("PostgreSQL did not listen")
        time.sleep(1)
        log("PostgreSQL pid %d on 127.0.0.1:%d" % (self.proc.pid, self.port))
        return self

    def createdb(self, name):
        env = dict(os.environ, PGPASSWORD=self.password)
        subprocess.run([os.path.join(PGBIN, "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "darwin", name],
                       env=env, check=True, capture_output=True)
        return "jdbc:postgresql://127.0.0.1:%d/%s" % (self.port, name)

    def stop(self):
        if self.proc:
            os.kill(self.proc.pid, 2)  # SIGINT: fast shutdown (the nodes are stopped already)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                stop_pid(self.proc.pid, what="postgres")
            self.proc = None
            self.log.close()


class S3Proxy:
    """S3Proxy (the jar the server's tests use) on a folder; a bucket is a folder of it."""

    def __init__(self, work):
        self.dir = os.path.join(work, "s3")
        self.port = free_port()
        self.proc = None

    def start(self):
        if not os.path.exists(S3PROXY_JAR):
            raise Unavailable("%s is missing (the server's test build copies it: mvn -f server/pom.xml test-compile)"
                              % S3PROXY_JAR)
        os.makedirs(os.path.join(self.dir, "data"))
        self.creds = os.path.join(self.dir, "credentials")
        with open(self.creds, "w") as f:
            f.write("[default]\naws_access_key_id = BENCHKEY\naws_secret_access_key = bench-secret\n")
        props = os.path.join(self.dir, "s3proxy.properties")
        with open(props, "w") as f:
            f.write("\n".join(["s3proxy.endpoint=http://127.0.0.1:%d" % self.port, "s3proxy.authorization=aws-v4",
                               "s3proxy.identity=BENCHKEY", "s3proxy.credential=bench-secret",
                               "jclouds.provider=filesystem-nio2", "jclouds.identity=local",
                               "jclouds.credential=local", "jclouds.filesystem.basedir=" + os.path.join(self.dir, "data"),
                               "jclouds.region=us-east-1", ""]))
        self.log = open(os.path.join(self.dir, "s3proxy.log"), "w")
        self.proc = subprocess.Popen([java_bin(), "-Xmx512m", "-jar", S3PROXY_JAR, "--properties", props],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_port("127.0.0.1", self.port, 60):
            raise Unavailable("S3Proxy did not listen")
        log("S3Proxy pid %d on 127.0.0.1:%d" % (self.proc.pid, self.port))
        return self

    def bucket(self, name):
        os.makedirs(os.path.join(self.dir, "data", name))
        return name

    def stop(self):
        if self.proc:
            stop_pid(self.proc.pid, what="s3proxy")
            self.proc = None
            self.log.close()


def cluster_toml(pg, url, s3, bucket):
    return (Darwin.BENCH_TOML + "\n[store]\nengine = \"postgresql\"\nurl = \"%s\"\nuser = \"darwin\"\n"
            "password_file = \"%s\"\npool_size = 8\n\n[blobs]\nbackend = \"s3\"\nendpoint = \"http://127.0.0.1:%d\"\n"
            "bucket = \"%s\"\ncredentials_file = \"%s\"\npath_style = true\n"
            % (url, pg.pwfile, s3.port, bucket, s3.creds))


def cpu(pids):
    return sum(tree_cpu_seconds(p) for p in pids if p)


def jit(pids):
    return sum(jit_cpu_seconds(p) for p in pids if p)


def smtp_source(port, conc, count, size, timeout):
    cmd = ["smtp-source", "-s", str(conc), "-m", str(count), "-l", str(size), "-f", "bench@example.test",
           "-t", SMTP_USER, "-M", "client.bench.test", "127.0.0.1:%d" % port]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return r.returncode, (r.stderr or r.stdout).strip()[-300:]


def parallel(jobs):
    """Runs the callables at once; returns their results in order."""
    out = [None] * len(jobs)

    def run(i):
        out[i] = jobs[i]()
    ts = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def stored(node):
    m = imaplib.IMAP4("127.0.0.1", node.ports["imap"], timeout=300)
    try:
        m.login(SMTP_USER, PASSWORD)
        typ, data = m.status("INBOX", "(MESSAGES)")
        return int(data[0].decode().split("MESSAGES")[1].strip(" ()"))
    finally:
        m.logout()


def measure(label, nodes, others, a, users, rep):
    """SMTP ingest, then the IMAP mix, on the nodes; one report row each."""
    node_pids = [n.java_pid() for n in nodes]
    other_pids = [p for p in others if p]
    k = len(nodes)
    # Warm-up (not reported): a share of the messages on every node.
    parallel([lambda n=n: smtp_source(n.ports["smtp"], max(1, a.concurrency // k), a.warmup // k, a.size, 600)
              for n in nodes])
    before = stored(nodes[0])
    c0, n0, o0, j0, t0 = cpu_snapshot(), cpu(node_pids), cpu(other_pids), jit(node_pids), time.time()
    res = parallel([lambda n=n: smtp_source(n.ports["smtp"], max(1, a.concurrency // k), a.messages // k, a.size, 900)
                    for n in nodes])
    dt = time.time() - t0
    busy, _ = cpu_delta(c0, cpu_snapshot())
    ncpu, ocpu, jcpu = cpu(node_pids) - n0, cpu(other_pids) - o0, jit(node_pids) - j0
    sent = (a.messages // k) * k
    got = stored(nodes[-1]) - before
    errors = [e for r, e in res if r != 0]
    rep.row(label, "SMTP ingest", str(sent), sent / dt, 1000 * ncpu / sent, 1000 * jcpu / sent, 1000 * ocpu / sent,
            "%.0f" % busy, "%d stored%s" % (got, "; " + errors[0] if errors else ""))
    # The IMAP mix: seeded through node 1, the clients split over the nodes.
    r, res, out = loadgen(["imap-seed", "--port", nodes[0].ports["imap"], "--users", ",".join(users), "--password",
                           PASSWORD, "--count", a.imap_messages, "--seed", 42], timeout=900)
    if r != 0:
        rep.row(label, "IMAP mix", "-", "NOT MEASURED", "-", "-", "-", "-", "seeding failed: " + out[-200:])
        return
    per = max(1, a.imap_clients // k)
    c0, n0, o0, j0 = cpu_snapshot(), cpu(node_pids), cpu(other_pids), jit(node_pids)
    runs = parallel([lambda n=n: loadgen(["imap-load", "--port", n.ports["imap"], "--users", ",".join(users),
                                          "--password", PASSWORD, "--clients", per, "--duration", a.imap_duration,
                                          "--warmup", 3, "--seed", 42], timeout=a.imap_duration + 300)
                     for n in nodes])
    busy, _ = cpu_delta(c0, cpu_snapshot())
    ncpu, ocpu, jcpu = cpu(node_pids) - n0, cpu(other_pids) - o0, jit(node_pids) - j0
    ops = sum(int(x[1].get("ops", 0)) for x in runs)
    errs = sum(int(x[1].get("errors", 0)) for x in runs)
    bad = [x[0] for x in runs if x[0] != 0]
    # CPU over the whole run (3 s of ramp-up included), ops over the measured window.
    rep.row(label, "IMAP mix", str(ops), ops / a.imap_duration, 1000 * ncpu / max(1, ops), 1000 * jcpu / max(1, ops),
            1000 * ocpu / max(1, ops),
            "%.0f" % busy, "%d errors%s" % (errs, ", loadgen rc %s" % bad if bad else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dist", default="dist/darwinmail")
    ap.add_argument("--nodes", default="1,2,3")
    ap.add_argument("--messages", type=int, default=3000, help="SMTP messages measured per configuration")
    ap.add_argument("--warmup", type=int, default=1500, help="unreported SMTP messages first, per configuration")
    ap.add_argument("--size", type=int, default=10240)
    ap.add_argument("--concurrency", type=int, default=12, help="SMTP sessions in all, split over the nodes")
    ap.add_argument("--imap-clients", type=int, default=12, help="IMAP clients in all, split over the nodes")
    ap.add_argument("--imap-duration", type=int, default=30)
    ap.add_argument("--users", type=int, default=6)
    ap.add_argument("--imap-messages", type=int, default=50, help="messages seeded per mailbox")
    ap.add_argument("--no-derby", action="store_true")
    a = ap.parse_args()
    counts = [int(x) for x in a.nodes.split(",")]
    users = ["u%d@bench.test" % i for i in range(1, a.users + 1)]
    rep = Report("cluster", "bench-cluster: Darwin Mail on PostgreSQL + S3 with 1-3 nodes, and on Derby; SMTP %d x %d"
                 " bytes at concurrency %d, IMAP mix %d clients for %d s" % (a.messages, a.size, a.concurrency,
                                                                          a.imap_clients, a.imap_duration),
                 "make bench-cluster")
    rep.columns("store", "load", "messages/ops", "per second", "nodes' CPU ms each", "of which JIT",
                "PostgreSQL+S3Proxy CPU ms each",
                "CPU busy %", "check")
    work = make_workdir("cluster")
    dns = pg = s3 = None
    nodes = []
    rc = 0
    try:
        dns = Dnsmasq(work).start()
        if not a.no_derby:
            d = Darwin(os.path.join(work, "derby"), a.dist, want=("smtp", "imap"), dns_port=dns.port).start()
            nodes = [d]
            darwin_notes(rep, d)
            d.add_users(users)
            measure("Derby, 1 node", [d], [], a, users, rep)
            d.stop()
            nodes = []
        pg = Postgres(work).start()
        s3 = S3Proxy(work).start()
        for k in counts:
            url = pg.createdb("bench%d" % k)
            bucket = s3.bucket("bench%d" % k)
            toml = cluster_toml(pg, url, s3, bucket)
            nodes = []
            for i in range(k):
                n = Darwin(os.path.join(work, "pg%d-node%d" % (k, i + 1)), a.dist, want=("smtp", "imap"),
                           dns_port=dns.port, extra_toml=toml)
                nodes.append(n.start(timeout=240))
                if i == 0:
                    n.add_users(users)
            measure("PostgreSQL+S3, %d node%s" % (k, "s" if k > 1 else ""), nodes, [pg.proc.pid, s3.proc.pid], a,
                    users, rep)
            for n in nodes:
                n.stop()
            nodes = []
    except Unavailable as e:
        rep.note("NOT COMPLETE: %s" % e)
        rc = 1
    finally:
        for n in nodes:
            n.stop()
        for x in (s3, pg, dns):
            if x:
                x.stop()
        remove_workdir(work)
    rep.note("Everything on one machine of 2 CPUs (nodes, PostgreSQL, S3Proxy, smtp-source, the load generator): "
             "throughput cannot grow with nodes here; what the table shows is the CPU one message or one IMAP command "
             "costs in each configuration and whether nodes contend (more CPU per message with more nodes would say so). "
             "Each node's JVM compiles the same code for itself (the warm-up is split over the nodes): 'of which JIT' "
             "is the nodes' compiler threads' share, the cost of more JVMs rather than of contention.")
    rep.note("PostgreSQL 15 with its default durability (fsync on, synchronous_commit on) and shared_buffers 128 MB; "
             "S3Proxy on a local folder (jclouds filesystem-nio2); each node pool_size 8. 'PostgreSQL+S3Proxy CPU' is "
             "their process trees' CPU (live backends) per message or op; on Derby that work is inside the node.")
    rep.note("SMTP: smtp-source, a new connection per message, to %s; the concurrency split evenly over the nodes; "
             "%d unreported messages first per configuration; 'stored' is read over IMAP on the last node." %
             (SMTP_USER, a.warmup))
    rep.note("IMAP mix: bench/loadgen imap-load (see bench-imap for the mix), %d mailboxes x %d messages seeded by "
             "APPEND through node 1, the clients split over the nodes; ops per second over the measured %d s, CPU over "
             "the run including 3 s of ramp-up." % (a.users, a.imap_messages, a.imap_duration))
    rep.write()
    return rc


if __name__ == "__main__":
    sys.exit(main())

"""Shared helpers for the Darwin Mail benchmarks: ports, processes, memory, tables, results.

Everything here stays on loopback (127.0.0.0/8) and stops only what it started, by PID.
"""
import collections
import datetime
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_DIR = os.path.dirname(BENCH_DIR)
RESULTS_DIR = os.path.join(BENCH_DIR, "results")
LOADGEN_JAR = os.path.join(BENCH_DIR, "loadgen", "target", "darwin-bench-loadgen.jar")


PASSWORD = "bench-pw-1"   # every benchmark account on both sides (Darwin wants at least 4 characters)


class Unavailable(Exception):
    """A side of the benchmark cannot be measured (server not built, protocol not answering)."""


def log(*a):
    print("[bench %s]" % time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def free_port(host="127.0.0.1"):
    """A TCP port free on host right now (chosen by the kernel)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_port(host, port, timeout=30.0, banner=False):
    """Waits until host:port accepts a connection (and, with banner, sends a first line). True/False."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=2) as s:
                if banner:
                    s.settimeout(5)
                    data = s.recv(512)
                    if not data:
                        raise OSError("closed")
                return True
        except OSError:
            time.sleep(0.2)
    return False


def banner_of(host, port, timeout=5.0):
    """First line the server sends, or None."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            return s.recv(512).decode("latin-1").strip()
    except OSError:
        return None


def make_workdir(name):
    base = os.environ.get("BENCH_TMP", "/var/tmp")
    d = tempfile.mkdtemp(prefix="darwin-bench-%s-" % name, dir=base)
    os.chmod(d, 0o755)
    return d


def remove_workdir(d):
    if os.environ.get("BENCH_KEEP"):
        log("kept work folder", d)
        return
    shutil.rmtree(d, ignore_errors=True)


def read_pid(path, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(path) as f:
                pid = int(f.read().split()[0])
            if pid > 0 and os.path.exists("/proc/%d" % pid):
                return pid
        except (OSError, ValueError, IndexError):
            pass
        time.sleep(0.1)
    return None


def stop_pid(pid, timeout=20.0, what="process"):
    """SIGTERM to one PID we started, SIGKILL after timeout. Never by name."""
    if not pid:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            # reap if it is our child
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            pass
        if not os.path.exists("/proc/%d" % pid) or _is_zombie(pid):
            return
        time.sleep(0.1)
    log("%s pid %d did not stop on SIGTERM, sending SIGKILL" % (what, pid))
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _is_zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def children_of(pid):
    """All descendants of pid (walks /proc)."""
    parents = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in parents.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def mem_kb(pid):
    """(rss_kb, pss_kb) of one process from smaps_rollup (0, 0 when gone)."""
    rss = pss = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def tree_mem_kb(pid):
    """(rss_sum_kb, pss_sum_kb, process_count) of pid and all its descendants."""
    pids = [pid] + children_of(pid)
    rss = pss = 0
    for p in pids:
        r, s = mem_kb(p)
        rss += r
        pss += s
    return rss, pss, len(pids)


def raise_nofile(n):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n
    if hard != resource.RLIM_INFINITY and want > hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
        except (ValueError, OSError):
            want = hard
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard) if hard != resource.RLIM_INFINITY else resource.RLIM_INFINITY))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def java_bin():
    jh = os.environ.get("JAVA_HOME", "")
    j = os.path.join(jh, "bin", "java") if jh else shutil.which("java")
    if not j or not os.path.exists(j):
        raise SystemExit("no java: set JAVA_HOME (the Makefile does)")
    return j


def smtp_source(port, conc, count, to="u1@bench.test", size=10240, timeout=900):
    """Postfix's smtp-source into 127.0.0.1:port (a new connection per message); its wall seconds. Unavailable when
    it fails."""
    t0 = time.time()
    r = subprocess.run(["smtp-source", "-s", str(conc), "-m", str(count), "-l", str(size), "-f", "bench@example.test",
                        "-t", to, "-M", "client.bench.test", "127.0.0.1:%d" % port],
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise Unavailable("smtp-source: " + (r.stderr or r.stdout).strip()[-300:])
    return time.time() - t0


def loadgen_command(args, heap="1g", extra_jvm=()):
    """The command line of the Java load generator with args."""
    if not os.path.exists(LOADGEN_JAR):
        raise SystemExit("load generator not built: %s (make bench-loadgen)" % LOADGEN_JAR)
    return [java_bin(), "-Xmx" + heap, "-XX:+UseSerialGC", *extra_jvm, "-jar", LOADGEN_JAR, *map(str, args)]


def loadgen(args, timeout, heap="1g", extra_jvm=()):
    """Runs the Java load generator; returns (rc, {key: value} from its 'RESULT k=v ...' lines, stdout)."""
    cmd = loadgen_command(args, heap, extra_jvm)
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return 124, {}, (e.stdout or "") if isinstance(e.stdout, str) else ""
    return p.returncode, results(p.stdout), p.stdout


def results(text):
    """The key=value pairs of the load generator's 'RESULT ...' lines."""
    res = {}
    for line in text.splitlines():
        if line.startswith("RESULT "):
            res.update(kv.split("=", 1) for kv in line[7:].split() if "=" in kv)
    return res


def loadgen_staged(args, timeout, measured, heap="1g"):
    """Runs the load generator in a mode that does unmeasured work first (a client's own warm-up), prints READY and
    waits for a line on its standard input before the measured part: measured() is then called and must return a
    context manager (a Meter), entered before that line is sent and left once the process has ended. Returns what
    loadgen() returns, and the context manager."""
    cmd = loadgen_command([*args, "--ready", "stdin"], heap)
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, text=True)
    timer = threading.Timer(timeout, p.kill)
    timer.start()
    out, meter = [], None
    try:
        for line in p.stdout:
            out.append(line)
            if line.strip() == "READY":
                meter = measured()
                meter.__enter__()
                p.stdin.write("go\n")
                p.stdin.flush()
                break
        out.append(p.stdout.read())
        rc = p.wait()
        if meter:
            meter.__exit__(None, None, None)
    finally:
        timer.cancel()
        if p.poll() is None:
            p.kill()
            p.wait()
    text = "".join(out)
    return (rc if meter else (rc or 1)), results(text), text, meter


def machine_line():
    try:
        with open("/proc/loadavg") as f:
            la = f.read().split()[:3]
    except OSError:
        la = ["?"] * 3
    return "host %s, %d CPUs, kernel %s, load average %s" % (
        platform.node(), os.cpu_count() or 0, platform.release(), " ".join(la))


def git_rev():
    try:
        return subprocess.run(["git", "-C", REPO_DIR, "log", "-1", "--format=%h %cI"],
                              capture_output=True, text=True, timeout=10).stdout.strip() or "no commit"
    except Exception:
        return "?"


def fmt(v, nd=1):
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    return ("{:,.%df}" % nd).format(v)


def ratio(a, b):
    if a is None or b is None or not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or b == 0:
        return "n/a"
    return "%.2fx" % (a / b)


class Report:
    """Collects a table (rows of strings) and notes; prints it and writes results/LATEST-<name>.txt."""

    def __init__(self, name, title, command):
        self.name, self.title, self.command = name, title, command
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self.header = None
        self.rows = []
        self.notes = []
        self.details = []

    def detail(self, title, text):
        self.details.append((title, text.rstrip()))

    def columns(self, *cols):
        self.header = list(cols)

    def row(self, *cells):
        self.rows.append([c if isinstance(c, str) else fmt(c) for c in cells])

    def note(self, text):
        self.notes.append(text)

    def render(self):
        only = os.environ.get("BENCH_ONLY", "").strip()
        out = ["%s" % self.title,
               "command: %s%s" % (self.command, " BENCH_ONLY=" + only if only else ""),
               "started: %s UTC, %s" % (self.started.strftime("%Y-%m-%d %H:%M:%S"), machine_line()),
               "repository: %s" % git_rev(), ""]
        if self.header:
            table = [self.header] + self.rows
            w = [max(len(r[i]) if i < len(r) else 0 for r in table) for i in range(len(self.header))]
            line = lambda r: "  ".join((r[i] if i < len(r) else "").rjust(w[i]) if i else
                                       (r[i] if i < len(r) else "").ljust(w[i]) for i in range(len(w)))
            out.append(line(self.header))
            out.append("  ".join("-" * x for x in w))
            out += [line(r) for r in self.rows]
        if self.notes:
            out.append("")
            out += ["- " + n for n in self.notes]
        for title, text in self.details:
            out += ["", "## " + title, text]
        return "\n".join(out) + "\n"

    def finish(self, rc, peer, peer_err, darwin_err):
        """Notes a side that was not measured (each makes the exit status 1), writes the report, returns the status."""
        for name, err in ((peer, peer_err), ("Darwin Mail", darwin_err)):
            if err:
                self.note("%s NOT MEASURED: %s" % (name, err))
                rc = 1
        self.write()
        return rc

    def write(self):
        text = self.render()
        print(text, flush=True)
        os.makedirs(RESULTS_DIR, exist_ok=True)
        only = os.environ.get("BENCH_ONLY", "").strip().lower()
        suffix = {"peer": "-peers-only", "darwin": "-darwin-only"}.get(only, "")
        path = os.path.join(RESULTS_DIR, "LATEST-%s%s.txt" % (self.name, suffix))
        with open(path, "w") as f:
            f.write(text)
        log("wrote", os.path.relpath(path, REPO_DIR))
        return path


def sides_from_env():
    """BENCH_ONLY=peer|darwin limits a run to one side; default both."""
    only = os.environ.get("BENCH_ONLY", "").strip().lower()
    return ("peer" in only or not only), ("darwin" in only or not only)


def cpu_snapshot():
    """System CPU counters (busy, iowait, total) in jiffies from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle, iowait = v[3], v[4]
    total = sum(v[:8])
    return total - idle - iowait, iowait, total


def cpu_delta(a, b):
    """(busy %, iowait %) of all CPUs between two cpu_snapshot() values."""
    tot = max(1, b[2] - a[2])
    return 100.0 * (b[0] - a[0]) / tot, 100.0 * (b[1] - a[1]) / tot


def tree_cpu_seconds(pid):
    """utime+stime (+ reaped children's) of pid and descendants, in seconds."""
    hz = os.sysconf("SC_CLK_TCK")
    t = 0
    for p in [pid] + children_of(pid):
        try:
            with open("/proc/%d/stat" % p) as f:
                s = f.read().rsplit(")", 1)[1].split()
            t += int(s[11]) + int(s[12]) + int(s[13]) + int(s[14])
        except (OSError, ValueError, IndexError):
            pass
    return t / hz


def _per_thread(pid, read):
    """read(task_dir) of each live thread of pid, summed by thread name with its digits as "#" (the event loops
    "multiThreadIoEv", the carriers "ForkJoinPool-#-", the compilers "C# CompilerThre", ...). A thread that has
    ended takes its share with it."""
    out = collections.Counter()
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        task = "/proc/%d/task/%s" % (pid, tid)
        try:
            with open(task + "/comm") as f:
                name = re.sub(r"[0-9]+", "#", f.read().strip())
            out[name] += read(task)
        except (OSError, ValueError, IndexError):
            pass
    return out


def thread_cpu_seconds(pid):
    """utime+stime of each live thread of pid, in seconds, by thread name (_per_thread)."""
    hz = os.sysconf("SC_CLK_TCK")

    def cpu(task):
        with open(task + "/stat") as f:
            v = f.read().rsplit(")", 1)[1].split()
        return (int(v[11]) + int(v[12])) / hz
    return _per_thread(pid, cpu)


def thread_switches(pid):
    """Voluntary context switches of each live thread of pid (each time it slept: a wait, a park, an epoll_wait that
    blocked), by thread name (_per_thread)."""
    def switches(task):
        with open(task + "/status") as f:
            return next((int(line.split()[1]) for line in f if line.startswith("voluntary_ctxt_switches:")), 0)
    return _per_thread(pid, switches)


def jit_cpu_seconds(pid):
    """CPU seconds of pid's live JIT compiler threads (thread_cpu_seconds); 0 for a process without them (Dovecot):
    it can only under-state the JIT's share."""
    return sum(v for k, v in thread_cpu_seconds(pid).items() if "CompilerThre" in k)


def wait_idle(pid, limit=20.0, window=0.5, share=0.02):
    """Waits until pid's process tree uses under `share` of one CPU over `window` seconds (the work a fill left
    behind - a JVM's compiler queue, a store's background writes - is over), at most `limit` seconds; returns the
    seconds waited."""
    t0 = time.time()
    last = tree_cpu_seconds(pid)
    while time.time() - t0 < limit:
        time.sleep(window)
        now = tree_cpu_seconds(pid)
        if now - last < share * window:
            break
        last = now
    return time.time() - t0


class Meter:
    """Wall time, system CPU busy/iowait and CPU seconds of one server's process tree over a run (server_cpu), and
    of that the JVM's JIT compiler threads' (server_jit_cpu; 0 for a server that is not a JVM)."""

    def __init__(self, pid):
        self.pid = pid

    def __enter__(self):
        self.t0, self.c0 = time.time(), cpu_snapshot()
        self.p0 = tree_cpu_seconds(self.pid) if self.pid else 0
        self.j0 = jit_cpu_seconds(self.pid) if self.pid else 0
        return self

    def __exit__(self, *a):
        self.seconds = time.time() - self.t0
        self.busy, self.iowait = cpu_delta(self.c0, cpu_snapshot())
        self.server_cpu = (tree_cpu_seconds(self.pid) - self.p0) if self.pid else 0
        self.server_jit_cpu = (jit_cpu_seconds(self.pid) - self.j0) if self.pid else 0

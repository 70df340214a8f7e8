"""Fixtures for end-to-end tests: a real Darwin Mail (the dist/ build) on loopback, driven by real clients.

`server` starts `darwinmail serve` on free 127.0.0.1 ports with a temporary data directory, creates the domain
example.test with alice@example.test ("alice-pw") and bob@example.test ("bob-pw"), and stops it (SIGTERM, by PID)
afterwards. `server.cli(...)` runs `darwinmail --config ... ARGS` against it (through its control socket).
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

DIST = Path(os.environ.get("DARWINMAIL_DIST", Path(__file__).resolve().parents[2] / "dist" / "darwinmail"))
LISTENERS = ["smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(names):
    """Distinct free ports, one per name (the sockets stay open until all are chosen, so none repeats)."""
    socks = []
    try:
        for _ in names:
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", 0))
        return {name: s.getsockname()[1] for name, s in zip(names, socks)}
    finally:
        for s in socks:
            s.close()


def wait_port(port, timeout=60.0, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"port {port} not listening after {timeout}s")


def control_socket_answers(sock):
    """Whether a server accepts on its control socket: a file left by a server that was killed is not one."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(str(sock))
        return True
    except OSError:
        return False
    finally:
        s.close()


def wait_control_socket(data_dir, timeout=60.0, proc=None):
    sock = Path(data_dir) / "run" / "control.sock"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        if control_socket_answers(sock):
            return
        time.sleep(0.05)
    raise TimeoutError(f"{sock} does not answer after {timeout}s")


class Server:
    """`data_dir` defaults to workdir/var; `user` runs the server and the CLI as that account (setpriv, no fork:
    the PID is the server's), as the appliance's service user would."""

    def __init__(self, workdir: Path, extra_toml: str = "", domain="example.test", data_dir: Path = None,
                 user: str = None):
        self.workdir = workdir
        self.domain = domain
        self.user = user
        self.ports = free_ports(LISTENERS)
        self.data_dir = data_dir or workdir / "var"
        self.config = workdir / "darwinmail.toml"
        listen = "\n".join(f'{k} = "127.0.0.1:{v}"' for k, v in self.ports.items())
        self.config.write_text(
            f'hostname = "mx.{domain}"\ndata_dir = "{self.data_dir}"\n{extra_toml}\n[listen]\n{listen}\nadmin = ""\n'
        )
        self.log = workdir / "server.log"
        self.proc = None

    def dist(self):
        """The dist tree to run: DIST itself, or for another `user` when a folder above DIST is closed to others (a
        checkout in a 0700 `mktemp -d` folder), a hard-linked copy of it in the work directory."""
        if not self.user or all(p.stat().st_mode & 0o001 for p in DIST.parents):
            return DIST
        copy = self.workdir / "dist"
        if not copy.exists():
            def link(src, dst):
                try:
                    os.link(src, dst)
                except OSError:  # another file system
                    shutil.copy2(src, dst)
            shutil.copytree(DIST, copy, symlinks=True, copy_function=link)
        return copy

    def command(self, *args):
        cmd = [str(self.dist() / "bin" / "darwinmail"), "--config", str(self.config), *args]
        if self.user:
            import pwd
            pw = pwd.getpwnam(self.user)
            cmd = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups", "--"] + cmd
        return cmd

    def start(self):
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.command("serve"), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        try:
            for name in LISTENERS:  # every listener: they are bound one after the other
                wait_port(self.ports[name], proc=self.proc)
            # The listeners greet before the store is open (issue 22); the CLI needs the control socket, opened after.
            wait_control_socket(self.data_dir, proc=self.proc)
        except (RuntimeError, TimeoutError) as e:
            tail = self.log_text()[-3000:]
            self.stop()
            raise RuntimeError(f"{e}; server log ends with:\n{tail}") from e
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self):
        """SIGKILL: the crash a power cut would be."""
        self.stop(signal.SIGKILL)

    def cli(self, *args, stdin=None, check=True):
        r = subprocess.run(self.command(*args), input=stdin, capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError(f"darwinmail {' '.join(args)} -> {r.returncode}: {r.stderr}")
        return r

    def add_user(self, address, password):
        self.cli("user", "add", address, "--password-stdin", stdin=password + "\n")

    def port(self, name):
        return self.ports[name]

    def log_text(self):
        return self.log.read_text(errors="replace")


def inbox_by_header(server, users, header):
    """(user, the number in `header`) -> (uid, bytes) for every message in each user's INBOX, read over IMAP
    (imaplib, BODY.PEEK[]): what the backup tests compare between a live store and its restored copy."""
    import imaplib
    import re
    pattern = re.compile(re.escape(header).encode() + rb": (\d+)")
    out = {}
    for user, pw in users.items():
        m = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=120)
        m.login(user, pw)
        m.select("INBOX", readonly=True)
        typ, data = m.uid("FETCH", "1:*", "(UID BODY.PEEK[])")
        for item in data:
            if isinstance(item, tuple):
                uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
                out[(user, int(pattern.search(item[1]).group(1)))] = (uid, item[1])
        m.logout()
    return out


def make_server(tmp: Path, extra_toml="", **kw) -> Server:
    s = Server(tmp, extra_toml, **kw)
    s.cli("domain", "add", s.domain)
    s.add_user(f"alice@{s.domain}", "alice-pw")
    s.add_user(f"bob@{s.domain}", "bob-pw")
    return s.start()


@pytest.fixture(scope="module")
def server():
    with tempfile.TemporaryDirectory(prefix="darwin-e2e-") as d:
        s = make_server(Path(d))
        try:
            yield s
        finally:
            s.stop()

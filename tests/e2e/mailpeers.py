"""Real peers for the delivery tests, private and on loopback: dnsmasq (the DNS that Darwin Mail's MX lookups ask)
and Postfix (tools/py/private_postfix.py, shared with the benchmarks: its own config, queue and log folders; smtpd
on a free 127.0.0.1 port; Maildir delivery through virtual(8)). Each is stopped by the PID it wrote, never by name."""
import socket
import subprocess
import sys
import time
from pathlib import Path

from conftest import free_port

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "py"))
from private_postfix import PrivatePostfix  # noqa: E402  (the helper shared with bench/py/peers.py)


def free_udp_tcp_port():
    """A port free for both UDP and TCP on 127.0.0.1 (DNS listens on both)."""
    for _ in range(50):
        p = free_port()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", p))
            return p
        except OSError:
            continue
        finally:
            u.close()
    raise RuntimeError("no free port")


class Dnsmasq:
    """dnsmasq answering only from its command line: MX, A, TXT records; nothing forwarded."""

    def __init__(self, work: Path):
        self.work = work
        self.port = free_udp_tcp_port()
        self.records = []
        self.proc = None

    def mx(self, domain, host, pref=10):
        self.records.append(f"--mx-host={domain},{host},{pref}")
        return self

    def a(self, host, ip):
        self.records.append(f"--host-record={host},{ip}")
        return self

    def txt(self, name, value):
        # dnsmasq splits nothing itself: one TXT with strings of at most 255 characters
        parts = [value[i:i + 250] for i in range(0, len(value), 250)]
        self.records.append("--txt-record=" + name + "," + ",".join(parts))  # no shell: no quotes
        return self

    def start(self):
        log = open(self.work / "dnsmasq.log", "ab")
        self.proc = subprocess.Popen(
            ["dnsmasq", "--keep-in-foreground", "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
             "--bind-interfaces", "--listen-address=127.0.0.1", "--except-interface=nonexistent",
             f"--port={self.port}", "--user=root", "--pid-file=" + str(self.work / "dnsmasq.pid"), "--log-queries",
             *self.records], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("dnsmasq exited: " + (self.work / "dnsmasq.log").read_text())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("dnsmasq does not answer")

    def restart(self):
        self.stop()
        return self.start()

    def stop(self):
        # dnsmasq is our child: once it exits it stays a zombie until waited for, and stop_pid's signal-0 probe
        # would count it alive for its whole 20 s; Popen's wait reaps it.
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def toml(self):
        return f'[dns]\nservers = ["127.0.0.1:{self.port}"]\ntimeout_seconds = 2\n'


class Postfix:
    """A private Postfix (tools/py/private_postfix.py): receives mail for `domain` into Maildirs (unknown users get
    550 5.1.1) and relays mail for `relay_domain` to Darwin Mail at 127.0.0.1:relay_port."""

    def __init__(self, work: Path, domain, users, relay_domain=None, relay_port=None, port=None):
        self.work = work / "postfix"
        self.domain, self.users = domain, users
        self.relay_domain, self.relay_port = relay_domain, relay_port
        self.pf = PrivatePostfix(self.work, self.work / "mail", "tests")
        self.logfile = self.pf.logfile
        self.port = port or free_port()

    @property
    def pid(self):
        return self.pf.pid

    def postfix(self, *args, check=True):
        return self.pf.postfix(*args, check=check)

    def write_config(self):
        relay = ""
        if self.relay_domain:
            relay = (f"relay_domains = {self.relay_domain}\n"
                     f"transport_maps = inline:{{ {self.relay_domain}=smtp:[127.0.0.1]:{self.relay_port} }}\n")
        main = (self.pf.main_cf(f"mx.{self.domain}", self.domain, "$myhostname ESMTP Postfix")
                + PrivatePostfix.virtual_maildirs(self.domain, self.users, self.pf.mail_root)
                + "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n"
                + "smtp_tls_security_level = may\n"
                + relay + "default_transport = error:this test instance sends nowhere else\n")
        self.pf.write(main, f"127.0.0.1:{self.port} inet  n       -       n       -       -       smtpd")

    def start(self):
        self.write_config()
        self.pf.start([self.port])
        return self

    def stop(self):
        self.pf.stop()

    def log(self):
        return self.pf.log()

    def maildir(self, user):
        """The messages delivered to user, as bytes."""
        return [p.read_bytes() for p in self.pf.maildir_files(user)]

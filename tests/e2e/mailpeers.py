"""Real peers for the delivery tests, private and on loopback: dnsmasq (the DNS that Darwin Mail's MX lookups ask)
and Postfix (its own config, queue and log folders; smtpd on a free 127.0.0.1 port; Maildir delivery through
virtual(8)). Each is stopped by the PID it wrote, never by name."""
import grp
import os
import pwd
import signal
import socket
import subprocess
import time
from pathlib import Path

from conftest import free_port

MAIL_UID = pwd.getpwnam("nobody").pw_uid
MAIL_GID = grp.getgrnam("nogroup").gr_gid


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


def stop_pid(pid, timeout=20):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


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
        if self.proc and self.proc.poll() is None:
            stop_pid(self.proc.pid)
            self.proc.wait()
        self.proc = None

    def toml(self):
        return f'[dns]\nservers = ["127.0.0.1:{self.port}"]\ntimeout_seconds = 2\n'


MASTER_CF = """# private Postfix for Darwin Mail tests (generated); chroot off everywhere
127.0.0.1:{port} inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix:
    """A private Postfix: receives mail for `domain` into Maildirs (unknown users get 550 5.1.1) and relays mail for
    `relay_domain` to Darwin Mail at 127.0.0.1:relay_port."""

    def __init__(self, work: Path, domain, users, relay_domain=None, relay_port=None, port=None):
        self.work = work / "postfix"
        self.domain, self.users = domain, users
        self.relay_domain, self.relay_port = relay_domain, relay_port
        self.conf = self.work / "etc"
        self.queue = self.work / "queue"
        self.data = self.work / "data"
        self.logdir = self.work / "log"
        self.logfile = self.logdir / "postfix.log"
        self.mail = self.work / "mail"
        self.port = port or free_port()
        self.pid = None

    def postfix(self, *args, check=True):
        r = subprocess.run(["postfix", "-c", str(self.conf), *args], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise RuntimeError(f"postfix {' '.join(args)}: {r.stdout}{r.stderr}")
        return r

    def write_config(self):
        for d in (self.conf, self.queue, self.data, self.logdir, self.mail):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.work, 0o755)
        pf = pwd.getpwnam("postfix")
        os.chown(self.data, pf.pw_uid, pf.pw_gid)
        os.chown(self.mail, MAIL_UID, MAIL_GID)
        vmap = ", ".join(f"{u}={u.split('@')[1]}/{u.split('@')[0]}/Maildir/" for u in self.users)
        relay = ""
        if self.relay_domain:
            relay = (f"relay_domains = {self.relay_domain}\n"
                     f"transport_maps = inline:{{ {self.relay_domain}=smtp:[127.0.0.1]:{self.relay_port} }}\n")
        (self.conf / "main.cf").write_text(f"""# private Postfix for Darwin Mail tests (generated)
compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {self.data}
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.{self.domain}
mydomain = {self.domain}
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
maillog_file = {self.logfile}
maillog_file_prefixes = {self.logdir}
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no
smtputf8_enable = no
smtpd_banner = $myhostname ESMTP Postfix
virtual_mailbox_domains = {self.domain}
virtual_mailbox_base = {self.mail}
virtual_mailbox_maps = inline:{{ {vmap} }}
virtual_uid_maps = static:{MAIL_UID}
virtual_gid_maps = static:{MAIL_GID}
virtual_minimum_uid = 1
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtp_tls_security_level = may
{relay}default_transport = error:this test instance sends nowhere else
""")
        (self.conf / "master.cf").write_text(MASTER_CF.format(port=self.port))

    def start(self):
        self.write_config()
        self.postfix("check", check=False)
        self.postfix("start")
        pidfile = self.queue / "pid" / "master.pid"
        deadline = time.time() + 30
        while time.time() < deadline and not self.pid:
            try:
                self.pid = int(pidfile.read_text().strip())
            except (FileNotFoundError, ValueError):
                time.sleep(0.1)
        if not self.pid:
            raise RuntimeError("postfix: no master.pid")
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                    if s.recv(100).startswith(b"220"):
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("postfix smtpd does not answer; log: " + self.log())

    def stop(self):
        if self.pid:
            stop_pid(self.pid)
            self.pid = None

    def log(self):
        try:
            return self.logfile.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def maildir(self, user):
        """The messages delivered to user, as bytes."""
        md = self.mail / user.split("@")[1] / user.split("@")[0] / "Maildir"
        out = []
        for sub in ("new", "cur"):
            d = md / sub
            if d.is_dir():
                out += [p.read_bytes() for p in sorted(d.iterdir())]
        return out

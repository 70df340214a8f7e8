"""A private Postfix on loopback, shared by the end-to-end tests (tests/e2e/mailpeers.py) and the benchmarks
(bench/py/peers.py): its own config, queue, data and log folders under one work folder, chroot off, smtpd on
127.0.0.1 ports chosen at run time. Each user describes only what differs (main.cf lines, extra master.cf
services); starting, waiting for the banner and stopping (by the PID Postfix wrote, never by name) are here."""
import grp
import os
import pwd
import signal
import socket
import subprocess
import time
from pathlib import Path

# The owner of delivered Maildirs (virtual(8) delivers as this user).
MAIL_UID = pwd.getpwnam("nobody").pw_uid
MAIL_GID = grp.getgrnam("nogroup").gr_gid

MASTER_CF = """# private Postfix for Darwin Mail {purpose} (generated); chroot off everywhere
{listen}
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


class PostfixError(RuntimeError):
    """Postfix could not be configured or started (the message names the log)."""


def stop_pid(pid, timeout=20):
    """SIGTERM to one process we started (by its PID, never by name), SIGKILL after `timeout` seconds."""
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
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class PrivatePostfix:
    """The folders and the life cycle of one private Postfix. `root` holds etc/, queue/, data/, log/;
    `mail_root` the Maildirs virtual(8) writes."""

    def __init__(self, root, mail_root, purpose):
        self.root = Path(root)
        self.conf = self.root / "etc"
        self.queue = self.root / "queue"
        self.data = self.root / "data"
        self.logdir = self.root / "log"
        self.logfile = self.logdir / "postfix.log"
        self.mail_root = Path(mail_root)
        self.purpose = purpose
        self.pid = None

    def postfix(self, *args, check=True):
        r = subprocess.run(["postfix", "-c", str(self.conf), *args], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise PostfixError(f"postfix {' '.join(args)}: {r.stdout}{r.stderr}")
        return r

    def main_cf(self, myhostname, mydomain, banner):
        """The main.cf lines every private instance has: its folders, loopback only, IPv4, its own log file, no
        aliases, no SMTPUTF8; the caller appends what its instance does."""
        return f"""# private Postfix for Darwin Mail {self.purpose} (generated)
compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {self.data}
mail_owner = postfix
setgid_group = postdrop
myhostname = {myhostname}
mydomain = {mydomain}
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
smtpd_banner = {banner}
"""

    @staticmethod
    def virtual_maildirs(domains, users, mail_root):
        """main.cf lines delivering `users` of `domains` into Maildirs under mail_root through virtual(8)."""
        vmap = ", ".join(f"{u}={u.split('@')[1]}/{u.split('@')[0]}/Maildir/" for u in users)
        return f"""virtual_mailbox_domains = {domains}
virtual_mailbox_base = {mail_root}
virtual_mailbox_maps = inline:{{ {vmap} }}
virtual_uid_maps = static:{MAIL_UID}
virtual_gid_maps = static:{MAIL_GID}
virtual_minimum_uid = 1
"""

    def write(self, main, listen):
        """Makes the folders (owned as Postfix wants them) and writes main.cf and master.cf; `listen` is the
        master.cf lines of the smtpd services."""
        for d in (self.conf, self.queue, self.data, self.logdir, self.mail_root):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        pf = pwd.getpwnam("postfix")
        os.chown(self.data, pf.pw_uid, pf.pw_gid)
        os.chown(self.mail_root, MAIL_UID, MAIL_GID)
        (self.conf / "main.cf").write_text(main)
        (self.conf / "master.cf").write_text(MASTER_CF.format(purpose=self.purpose, listen=listen))

    def start(self, ports, timeout=30):
        """Starts it and waits for master.pid and for a 220 banner on each of `ports`."""
        self.postfix("check", check=False)
        self.postfix("start")
        pidfile = self.queue / "pid" / "master.pid"
        deadline = time.time() + timeout
        while time.time() < deadline and not self.pid:
            try:
                pid = int(pidfile.read_text().split()[0])
                if os.path.exists(f"/proc/{pid}"):
                    self.pid = pid
            except (FileNotFoundError, ValueError, IndexError):
                time.sleep(0.1)
        if not self.pid:
            raise PostfixError(f"postfix: no master.pid (see {self.logfile})")
        for port in ports:
            if not self._banner(port, deadline=time.time() + timeout):
                raise PostfixError(f"postfix: port {port} does not answer; log: {self.log()}")
        return self

    @staticmethod
    def _banner(port, deadline):
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    s.settimeout(5)
                    if s.recv(100).startswith(b"220"):
                        return True
            except OSError:
                pass
            time.sleep(0.2)
        return False

    def stop(self, timeout=20):
        """SIGTERM to the master process it started (by its PID), SIGKILL after `timeout` seconds."""
        pid, self.pid = self.pid, None
        if pid:
            stop_pid(pid, timeout)

    def log(self):
        try:
            return self.logfile.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def maildir_files(self, user):
        """The files of the messages delivered to `user` (new/ then cur/), sorted by name."""
        md = self.mail_root / user.split("@")[1] / user.split("@")[0] / "Maildir"
        out = []
        for sub in ("new", "cur"):
            d = md / sub
            if d.is_dir():
                out += sorted(d.iterdir())
        return out

    def queue_empty(self):
        for q in ("incoming", "active", "deferred", "maildrop"):
            for _root, _dirs, files in os.walk(self.queue / q):
                if files:
                    return False
        return True

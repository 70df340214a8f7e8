"""Private Postfix and Dovecot instances for the benchmarks.

Each instance lives in its own folder (configuration, queue, mail, logs, pid file), listens only on
127.0.0.1 with ports chosen at run time, and is stopped by the PID in its own pid file.
Nothing here touches /etc/postfix, /etc/dovecot or the standard ports.
"""
import os
import pwd
import shutil
import subprocess
import sys
import time

from benchlib import PASSWORD, free_port, wait_port, read_pid, stop_pid, log, Unavailable, REPO_DIR

sys.path.insert(0, os.path.join(REPO_DIR, "tools", "py"))
# The private Postfix is shared with the end-to-end tests; MAIL_UID/MAIL_GID own every peer Maildir (Postfix
# virtual(8) and Dovecot).
from private_postfix import MAIL_GID, MAIL_UID, PostfixError, PrivatePostfix  # noqa: E402


def ensure_packages(*pkgs):
    tool = os.path.join(REPO_DIR, "tools", "apt-ensure")
    if os.path.exists(tool):
        r = subprocess.run([tool, *pkgs])
        if r.returncode != 0:
            raise Unavailable("tools/apt-ensure %s failed" % " ".join(pkgs))
    for b in ("/usr/sbin/postfix", "/usr/sbin/dovecot", "/usr/sbin/smtp-source", "/usr/sbin/smtp-sink"):
        if any(p.startswith(os.path.basename(b)[:4]) for p in pkgs) and not os.path.exists(b):
            raise Unavailable("%s missing" % b)


def argon2id_like_darwin(password, m_kib=19456, t=2):
    """An Argon2id PHC hash with Darwin Mail's parameters (server auth/Passwords.java: m=19456,t=2,p=1),
    made by libsodium (the library Dovecot verifies it with)."""
    import ctypes
    import ctypes.util
    so = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
    if so.sodium_init() < 0:
        raise Unavailable("libsodium init failed")
    out = ctypes.create_string_buffer(128)
    pw = password.encode()
    if so.crypto_pwhash_str_alg(out, pw, ctypes.c_ulonglong(len(pw)), ctypes.c_ulonglong(t),
                                ctypes.c_size_t(m_kib * 1024), ctypes.c_int(2)) != 0:
        raise Unavailable("libsodium crypto_pwhash_str_alg failed")
    return out.value.decode()


def gen_selfsigned(dirpath, cn="peer.bench.test"):
    key, crt = os.path.join(dirpath, "key.pem"), os.path.join(dirpath, "cert.pem")
    if not os.path.exists(crt):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=" + cn, "-keyout", key, "-out", crt],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.chmod(key, 0o600)
    return key, crt


class Dovecot:
    """Dovecot with IMAP, POP3 and LMTP on loopback ports, passwd-file users, Maildir under work/."""

    def __init__(self, work, users, password=PASSWORD, scheme="PLAIN", imap=True, pop3=True, lmtp=True,
                 process_limit=1000, auth_socket=False):
        self.work = os.path.join(work, "dovecot")
        self.users, self.password, self.scheme = users, password, scheme
        self.base_dir = os.path.join(self.work, "run")
        self.conf = os.path.join(self.work, "dovecot.conf")
        self.logfile = os.path.join(self.work, "dovecot.log")
        self.mail_root = os.path.join(work, "mail")     # shared with Postfix's virtual(8)
        self.imap_port = free_port() if imap else 0
        self.pop3_port = free_port() if pop3 else 0
        self.lmtp_port = free_port() if lmtp else 0
        self.process_limit = process_limit
        self.auth_socket = os.path.join(self.base_dir, "auth-postfix") if auth_socket else None
        self.pid = None

    def home(self, user):
        return os.path.join(self.mail_root, user.split("@")[1], user.split("@")[0])

    def _pwhash(self):
        if self.scheme == "PLAIN":
            return "{PLAIN}" + self.password
        if self.scheme == "ARGON2ID-DARWIN":
            return "{ARGON2ID}" + argon2id_like_darwin(self.password)
        out = subprocess.run(["doveadm", "pw", "-s", self.scheme, "-p", self.password],
                             capture_output=True, text=True, check=True).stdout.strip()
        return out

    def write_config(self):
        os.makedirs(self.base_dir, exist_ok=True)
        os.makedirs(os.path.join(self.work, "state"), exist_ok=True)
        os.makedirs(self.mail_root, exist_ok=True)
        os.chmod(self.work, 0o755)
        os.chown(self.mail_root, MAIL_UID, MAIL_GID)
        h = self._pwhash()
        with open(os.path.join(self.work, "users"), "w") as f:
            for u in self.users:
                home = self.home(u)
                os.makedirs(home, exist_ok=True)
                for d in (os.path.dirname(home), home):
                    os.chown(d, MAIL_UID, MAIL_GID)
                f.write("%s:%s:%d:%d::%s::\n" % (u, h, MAIL_UID, MAIL_GID, home))
        pl = self.process_limit
        auth_listener = ""
        if self.auth_socket:
            auth_listener = """
  unix_listener auth-postfix {
    mode = 0666
  }"""
        conf = f"""# private Dovecot for Darwin Mail benchmarks (generated)
instance_name = darwin-bench-{os.path.basename(os.path.dirname(self.work))}
base_dir = {self.base_dir}
state_dir = {self.work}/state
log_path = {self.logfile}
info_log_path = {self.logfile}
protocols = imap pop3 lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
auth_cache_size = 10M
auth_cache_ttl = 1 hour
mail_location = maildir:~/Maildir
default_process_limit = {pl}
default_client_limit = {max(1000, pl * 2)}
default_vsz_limit = 1G
passdb {{
  driver = passwd-file
  args = username_format=%u {self.work}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.work}/users
}}
namespace inbox {{
  inbox = yes
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = create
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  process_limit = {pl}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.lmtp_port}
  }}
}}
service imap {{
  process_limit = {pl}
}}
service auth {{
  client_limit = {max(1000, pl * 4 + 100)}{auth_listener}
}}
service anvil {{
  client_limit = {max(1000, pl * 3 + 10)}
}}
protocol imap {{
  mail_max_userip_connections = 100000
}}
protocol pop3 {{
  mail_max_userip_connections = 100000
}}
protocol lmtp {{
  postmaster_address = postmaster@bench.test
}}
"""
        with open(self.conf, "w") as f:
            f.write(conf)

    def start(self):
        self.write_config()
        with open(os.path.join(self.work, "stdout.log"), "w") as out:
            r = subprocess.run(["dovecot", "-c", self.conf], stdin=subprocess.DEVNULL, stdout=out,
                               stderr=subprocess.STDOUT, timeout=60)
        if r.returncode != 0:
            raise Unavailable("dovecot did not start: " + open(os.path.join(self.work, "stdout.log")).read()[-2000:])
        self.pid = read_pid(os.path.join(self.base_dir, "master.pid"))
        if not self.pid:
            raise Unavailable("dovecot: no master.pid in " + self.base_dir)
        for p in (self.imap_port, self.pop3_port, self.lmtp_port):
            if p and not wait_port("127.0.0.1", p, 30):
                raise Unavailable("dovecot: port %d does not answer (see %s)" % (p, self.logfile))
        log("dovecot pid %d imap %d pop3 %d lmtp %d" % (self.pid, self.imap_port, self.pop3_port, self.lmtp_port))
        return self

    def stop(self):
        if self.pid:
            stop_pid(self.pid, what="dovecot")
            self.pid = None

    def maildir_count(self, user, sub="new", also_cur=True):
        md = os.path.join(self.home(user), "Maildir")
        n = 0
        for s in ((sub, "cur") if also_cur else (sub,)):
            try:
                n += len(os.listdir(os.path.join(md, s)))
            except FileNotFoundError:
                pass
        return n

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()


class Postfix:
    """Postfix with its own config_directory/queue_directory (tools/py/private_postfix.py, shared with the
    end-to-end tests); smtpd on 127.0.0.1:<run-time port>.

    mode "maildir": mail for bench.test goes to Maildir under work/mail through virtual(8) (durable).
    mode "relay":   everything is relayed to relayhost (for bench-relay); the submission listener
                    requires STARTTLS and AUTH (SASL from the private Dovecot's auth socket).
    """

    def __init__(self, work, users, mode="maildir", relayhost=None, sasl_path=None, smtpd=True, submission=False,
                 milter=None):
        self.mode, self.users, self.relayhost, self.sasl_path = mode, users, relayhost, sasl_path
        self.milter = milter
        self.pf = PrivatePostfix(os.path.join(work, "postfix"), os.path.join(work, "mail"), "benchmarks")
        self.conf_dir = str(self.pf.conf)
        self.logfile = str(self.pf.logfile)
        self.mail_root = str(self.pf.mail_root)
        self.smtp_port = free_port() if smtpd else 0
        self.submission_port = free_port() if submission else 0

    @property
    def pid(self):
        return self.pf.pid

    def postfix(self, *args, check=True):
        try:
            return self.pf.postfix(*args, check=check)
        except PostfixError as e:
            raise Unavailable(str(e))

    def write_config(self):
        main = self.pf.main_cf("peer.bench.test", "bench.test", "$myhostname ESMTP") + "local_recipient_maps =\n"
        if self.mode == "maildir":
            main += PrivatePostfix.virtual_maildirs("bench.test", self.users, self.mail_root)
            main += """virtual_destination_concurrency_limit = 50
smtpd_relay_restrictions = reject_unauth_destination
default_transport = error:no outbound mail from the benchmark instance
relay_transport = error:no outbound mail from the benchmark instance
"""
        else:
            os.makedirs(self.conf_dir, exist_ok=True)
            key, crt = gen_selfsigned(self.conf_dir)
            main += f"""relayhost = {self.relayhost}
smtp_tls_security_level = may
smtpd_tls_cert_file = {crt}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = {self.sasl_path}
smtpd_sasl_auth_enable = no
"""
            if self.milter:
                main += f"""smtpd_milters = {self.milter}
milter_default_action = tempfail
"""
        listen = ("127.0.0.1:%d inet  n       -       n       -       -       smtpd" % self.smtp_port
                  if self.smtp_port else "#smtpd-off")
        if self.submission_port:
            listen += (f"\n127.0.0.1:{self.submission_port} inet n - n - - smtpd\n"
                       "  -o syslog_name=postfix/submission\n"
                       "  -o smtpd_tls_security_level=encrypt\n"
                       "  -o smtpd_sasl_auth_enable=yes\n"
                       "  -o smtpd_tls_auth_only=yes\n"
                       "  -o smtpd_client_restrictions=permit_sasl_authenticated,reject\n"
                       "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject")
        self.pf.write(main, listen)

    def start(self):
        self.write_config()
        try:
            self.pf.start([p for p in (self.smtp_port, self.submission_port) if p])
        except PostfixError as e:
            raise Unavailable(str(e))
        log("postfix pid %d smtp %d submission %d" % (self.pid, self.smtp_port, self.submission_port))
        return self

    def stop(self):
        self.pf.stop()

    def queue_empty(self):
        return self.pf.queue_empty()

    def wait_queue_empty(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.queue_empty():
                return True
            time.sleep(0.05)
        return False

    def maildir_count(self, user):
        return len(self.pf.maildir_files(user))

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()


class OpenDkim:
    """OpenDKIM as Postfix's signing milter (how Postfix-based appliances sign DKIM): rsa-sha256, 2048-bit key,
    relaxed/relaxed, on 127.0.0.1:<run-time port>, its own folder and pid file, run as the opendkim user."""

    def __init__(self, work, domain="bench.test", selector="bench"):
        self.work = os.path.join(work, "opendkim")
        self.domain, self.selector = domain, selector
        self.conf = os.path.join(self.work, "opendkim.conf")
        self.pidfile = os.path.join(self.work, "opendkim.pid")
        self.port = free_port()
        self.pid = None

    def start(self):
        os.makedirs(self.work, exist_ok=True)
        key = os.path.join(self.work, self.selector + ".private")
        r = subprocess.run(["opendkim-genkey", "-b", "2048", "-D", self.work, "-d", self.domain, "-s", self.selector],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise Unavailable("opendkim-genkey failed: " + r.stderr[-500:])
        od = pwd.getpwnam("opendkim")
        for f in (self.work, key):
            os.chown(f, od.pw_uid, od.pw_gid)
        os.chmod(key, 0o600)
        with open(self.conf, "w") as f:
            f.write(f"""# private OpenDKIM for Darwin Mail benchmarks (generated)
Syslog no
Mode s
Domain {self.domain}
Selector {self.selector}
KeyFile {key}
Canonicalization relaxed/relaxed
SignatureAlgorithm rsa-sha256
InternalHosts 127.0.0.0/8
Socket inet:{self.port}@127.0.0.1
PidFile {self.pidfile}
UserID opendkim:opendkim
# the work folder is under /var/tmp, which anyone may write to: a throwaway key
RequireSafeKeys false
""")
        out_path = os.path.join(self.work, "stdout.log")
        with open(out_path, "w") as out:
            # stdout to a file: the daemon keeps the caller's stdio open
            r = subprocess.run(["opendkim", "-x", self.conf], stdin=subprocess.DEVNULL, stdout=out,
                               stderr=subprocess.STDOUT, timeout=60)
        if r.returncode != 0:
            raise Unavailable("opendkim did not start: " + open(out_path).read()[-1000:])
        self.pid = read_pid(self.pidfile)
        if not self.pid or not wait_port("127.0.0.1", self.port, 30):
            raise Unavailable("opendkim: no pid or port %d does not answer" % self.port)
        log("opendkim pid %d on 127.0.0.1:%d" % (self.pid, self.port))
        return self

    def stop(self):
        if self.pid:
            stop_pid(self.pid, what="opendkim")
            self.pid = None


class SmtpSink:
    """Postfix's smtp-sink on a loopback address:port; count() reads its running counter (-c)."""

    def __init__(self, work, host="127.0.0.1", port=None, backlog=256):
        self.work = os.path.join(work, "sink")
        self.host, self.port, self.backlog = host, port or free_port(host), backlog
        self.proc = None

    def start(self):
        os.makedirs(self.work, exist_ok=True)
        self.out = open(os.path.join(self.work, "sink.log"), "w")
        # -c: running counter of sessions/messages; -u: run as nobody when root
        self.proc = subprocess.Popen(["smtp-sink", "-c", "-u", "nobody", "%s:%d" % (self.host, self.port), str(self.backlog)],
                                     stdin=subprocess.DEVNULL, stdout=self.out, stderr=subprocess.STDOUT,
                                     cwd=self.work)
        if not wait_port(self.host, self.port, 15, banner=True):
            raise Unavailable("smtp-sink did not answer on %s:%d" % (self.host, self.port))
        log("smtp-sink pid %d on %s:%d" % (self.proc.pid, self.host, self.port))
        return self

    def count(self):
        """Messages received so far (the last 'mesg=N' of smtp-sink -c)."""
        self.out.flush()
        try:
            with open(os.path.join(self.work, "sink.log"), "rb") as f:
                f.seek(0, 2)
                f.seek(max(0, f.tell() - 200))
                tail = f.read().decode("latin-1")
        except OSError:
            return 0
        i = tail.rfind("mesg=")
        if i < 0:
            return 0
        num = ""
        for ch in tail[i + 5:]:
            if not ch.isdigit():
                break
            num += ch
        return int(num or 0)

    def wait_count(self, n, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.count() >= n:
                return True
            time.sleep(0.05)
        return self.count() >= n

    def stop(self):
        if self.proc:
            stop_pid(self.proc.pid, what="smtp-sink")
            self.proc.wait(timeout=10)
            self.proc = None
            self.out.close()

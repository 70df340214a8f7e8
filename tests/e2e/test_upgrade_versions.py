"""An upgrade that really crosses releases (issue 18): the previous release's dist, built from its git tag by
tools/release-dist (cached under ~/.cache/darwinmail/releases/<tag>-<commit>/, so only the first run builds it), writes
realistic data, is killed with SIGKILL under load, and the current dist starts on the same data directory.

Which release: by default the newest one tools/releases.tsv lists (the next tag moves it with no change here) and the
oldest one (0.1.0: the longest chain of migrations and the data format before FORMAT existed); the environment
variable DARWINMAIL_PREVIOUS_RELEASE (one tag, or several separated by commas) replaces that list.

The previous release writes: three domains, four accounts, two aliases; a few thousand messages over SMTP (port 25,
as mail from the Internet arrives, a few with attachments of tens of KB) and one message larger than the intake
journal's limit (64 KiB: it goes straight to a blob); flags and keywords (system flags, `$Forwarded`, `project-x`)
set over IMAP, messages copied and moved across folders (Archive, a folder the user made) and some expunged, so that
the UIDs have gaps; a message queued for an unreachable host (an MX on loopback whose port nobody listens on); an
account blocked by the abuse guard after a burst, its queued mail held; a run-time settings overlay
(<data_dir>/settings.toml) changing the SIZE SMTP advertises; while it runs (through the control socket), a quota and
a password changed; and a custom certificate (a server certificate for mail.example.test issued by a test CA, made
here with openssl), installed the way that release offers: from 0.3.0 on through the first-run wizard on the admin
listener (its TLS step's upload, after the admin account, the host name mail.example.test, which the wizard writes
into settings.toml at run time, and the first mailbox with its postmaster and abuse aliases); before 0.3.0, which
has no wizard, by `[tls] cert_file` and `key_file`. Then it is killed with SIGKILL while four clients deliver.

The current release must then find, on that directory: every message fetched before the kill byte-identical under
the same UID, in the same folder, with the same UIDVALIDITY, flags and keywords, and a SAVEDATE (schema 9, which no
previous release wrote) equal to its internal date; every message acknowledged (250) during the load, its bytes as
sent at the end of the stored copy; the quotas, the password, the settings (the SIZE; the host name the wizard set,
in the SMTP greeting); the domains, accounts and aliases; the custom certificate presented on IMAPS and on STARTTLS
(IMAP, submission, port 25) and on the admin listener (compared by SHA-256 fingerprint), the DKIM key; the admin
account's password and the wizard closed; the queued message delivered exactly once when its host comes back; the
block still in force and the held mail still held (never sent).

The downgrade: a previous release that reads the data format manifest (<data_dir>/FORMAT, written from 0.2.0 on) is
started on the directory the current release has just migrated, with `serve` and with a CLI command, and must refuse
with one line and exit status 1, writing nothing. 0.1.0 predates the manifest, so it cannot refuse anything: it reads
no manifest, and it treats a schema_version row it does not know (V007, 0.2.0's) as nothing to do, so it starts and
serves on a schema it does not know (checked by hand on 3 December 2026: 0.1.0's `serve` on a directory 0.2.0 had
migrated logged no warning and listened). That is stated in the CHANGELOG's and the README's upgrade notes; no test
can make 0.1.0 refuse. From 0.1.0, the refusal is proved instead with the current dist on the very directory it just
migrated, given a manifest written by a newer release: it refuses to start with one line and exit status 1, and
writes nothing in the data directory (no migration, no journal replay, no sweep). test_downgrade.py also starts the
release before this one on data this release wrote from scratch.
"""
import hashlib
import http.client
import imaplib
import json
import os
import re
import smtplib
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

import conftest
from conftest import Server, free_port
from mailpeers import Dnsmasq

REPO = Path(__file__).resolve().parents[2]


def version(tag):
    return tuple(int(x) for x in tag.lstrip("v").split("."))


def listed_releases():
    """The release tags tools/releases.tsv lists, oldest first."""
    tags = []
    for line in (REPO / "tools" / "releases.tsv").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            tags.append(line.split("\t")[0])
    assert tags, "tools/releases.tsv lists no release"
    return sorted(tags, key=version)


RELEASES = listed_releases()
NEWEST = RELEASES[-1]
PREVIOUS = [t.strip() for t in os.environ.get("DARWINMAIL_PREVIOUS_RELEASE", "").split(",") if t.strip()] \
    or list(dict.fromkeys([RELEASES[0], NEWEST]))
WIZARD_FROM = (0, 3, 0)  # the first-run wizard (and its TLS upload) came with 0.3.0
FORMAT_FROM = (0, 2, 0)  # the first release that writes and reads <data_dir>/FORMAT
SCHEMA_BEFORE_FORMAT = 6  # 0.1.0's database schema (it has no FORMAT to say so)

USERS = {"alice@example.test": "alice-pw", "bob@example.test": "bob-pw", "carol@second.test": "carol-pw",
         "dave@third.test": "dave-pw"}
DAVE_NEW_PW = "dave-new-pw"
ALIASES = {"team@example.test": ["alice@example.test", "bob@example.test"], "info@second.test": ["carol@second.test"]}
RECIPIENTS = list(USERS) + list(ALIASES)
MESSAGES = 2400          # delivered before the snapshot, spread over the recipients above
LOAD_ACKS = 300          # acknowledged during the load before the SIGKILL (at least)
BURST = 4                # dave is blocked at his BURST-th message in the burst window
SIZE_SETTING = 31_457_280  # smtp.max_message_size in <data_dir>/settings.toml (the default is 50 MiB)
HOSTNAME = "mail.example.test"  # set by the wizard (settings.toml); the configuration file says mx.example.test
ADMIN, ADMIN_PW = "admin", "upgrade-console-pw-1"


def unverified():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Release(Server):
    """A server run from a given dist tree (the previous release's or the current one)."""

    def __init__(self, dist: Path, *a, admin=False, **kw):
        self.dist = dist
        super().__init__(*a, **kw)
        if admin:  # the admin listener (the wizard, the console), on a free port too
            self.ports["admin"] = free_port()
            text = self.config.read_text()
            assert 'admin = ""' in text
            self.config.write_text(text.replace('admin = ""', f'admin = "127.0.0.1:{self.ports["admin"]}"'))

    def command(self, *args):
        return [str(self.dist / "bin" / "darwinmail"), "--config", str(self.config), *args]


class Sink:
    """An SMTP server that accepts everything and keeps it: the unreachable host, once it comes back (RFC 5321
    replies, no extensions, so the client speaks plain SMTP command by command)."""

    def __init__(self, port):
        self.port = port
        self.messages = []
        self.sock = socket.create_server(("127.0.0.1", port))
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.session, args=(c,), daemon=True).start()

    def session(self, c):
        with c, c.makefile("rb") as r:
            c.sendall(b"220 sink ESMTP\r\n")
            while True:
                line = r.readline(4096)
                if not line:
                    return
                verb = line[:4].upper()
                if verb == b"DATA":
                    c.sendall(b"354 go ahead\r\n")
                    data = []
                    while (ln := r.readline(1 << 20)) not in (b".\r\n", b""):
                        data.append(ln[1:] if ln.startswith(b"..") else ln)
                    self.messages.append(b"".join(data))
                    c.sendall(b"250 2.0.0 kept\r\n")
                elif verb == b"QUIT":
                    c.sendall(b"221 2.0.0 bye\r\n")
                    return
                else:
                    c.sendall(b"250 ok\r\n")

    def close(self):
        self.sock.close()


def message(n, to, size_hint=0):
    body = f"Message {n} for {to}.\r\nLine two, with some text: {hashlib.sha256(str(n).encode()).hexdigest()}\r\n"
    if size_hint:
        chunk = hashlib.sha512(str(n).encode()).hexdigest()
        body += "".join(f"{chunk[:76]}{i:04d}\r\n" for i in range(size_hint // 82))
    return (f"From: Sender {n} <sender{n % 7}@outside.test>\r\nTo: <{to}>\r\nSubject: upgrade test {n}\r\n"
            f"Message-ID: <upgrade-{n}@outside.test>\r\nX-Upgrade-Id: {n}\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}").encode()


def deliver(server, numbers, acked, stop=None, per_connection=50):
    """Sends message n to RECIPIENTS[n % len] over port 25; records (n, rcpt, bytes) once acknowledged."""
    i = 0
    while i < len(numbers) and not (stop and stop.is_set()):
        try:
            with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=60) as s:
                for n in numbers[i:i + per_connection]:
                    if stop and stop.is_set():
                        return
                    to = RECIPIENTS[n % len(RECIPIENTS)]
                    msg = message(n, to, 20_000 if n % 97 == 0 else 0)
                    s.sendmail(f"sender{n % 7}@outside.test", [to], msg)
                    acked.append((n, to, msg))
        except (OSError, smtplib.SMTPException):
            if stop is not None:
                return  # the load: the server is being killed; what was acknowledged is recorded
            raise
        i += per_connection


def ehlo_size(server):
    """The SIZE the server advertises (RFC 1870): smtp.max_message_size, set in the settings overlay."""
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=60) as c:
        c.ehlo("client.test")
        return int(c.esmtp_features["size"])


def imap(server, user, pw):
    m = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=120)
    m.login(user, pw)
    return m


def folders(m):
    typ, data = m.list()
    assert typ == "OK"
    out = []
    for line in data:
        name = line.decode().rsplit(" ", 1)[-1].strip('"')
        out.append(name)
    return sorted(out)


def snapshot(server, passwords):
    """user -> folder -> (UIDVALIDITY, {uid: (flags, bytes)})."""
    snap = {}
    for user in USERS:
        m = imap(server, user, passwords[user])
        snap[user] = {}
        for f in folders(m):
            typ, data = m.select(f'"{f}"', readonly=True)
            assert typ == "OK", (user, f, data)
            validity = int(m.untagged_responses.get("UIDVALIDITY", [b"0"])[0])
            msgs = {}
            typ, data = m.uid("FETCH", "1:*", "(UID FLAGS)")
            for item in data:
                if not item:
                    continue
                head = item.decode() if isinstance(item, bytes) else item[0].decode()
                mm = re.search(r"UID (\d+).*FLAGS \(([^)]*)\)", head)
                if mm:
                    # \Recent belongs to a session, not to the message (RFC 3501 2.3.2)
                    msgs[int(mm.group(1))] = [frozenset(mm.group(2).split()) - {"\\Recent"}, None]
            typ, data = m.uid("FETCH", "1:*", "(UID BODY.PEEK[])")
            for item in data:
                if isinstance(item, tuple):
                    uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
                    msgs[uid][1] = item[1]
            snap[user][f] = (validity, {u: (fl, b) for u, (fl, b) in msgs.items()})
        m.logout()
    return snap


def vanished_since_start(server, user, pw):
    """INBOX's UIDs removed since modseq 1 by QRESYNC (RFC 7162 3.2.10: UID FETCH ... (CHANGEDSINCE 1 VANISHED)),
    and the UIDs below UIDNEXT that it no longer holds (no mail arrives meanwhile)."""
    m = imap(server, user, pw)
    try:
        assert m.enable("QRESYNC")[0] == "OK"
        assert m.select("INBOX", readonly=True)[0] == "OK"
        uidnext = int(m.untagged_responses.get("UIDNEXT", [b"0"])[-1])
        typ, data = m.uid("FETCH", "1:*", "(FLAGS) (CHANGEDSINCE 1 VANISHED)")
        assert typ == "OK", data
        gone = set()
        for line in m.untagged_responses.pop("VANISHED", []):
            text = line.decode() if isinstance(line, bytes) else line
            assert text.startswith("(EARLIER) "), text
            for part in text.split(" ", 1)[1].split(","):
                lo, _, hi = part.partition(":")
                gone.update(range(int(lo), int(hi or lo) + 1))
        typ, data = m.uid("SEARCH", "ALL")
        present = {int(u) for u in data[0].split()}
        return gone, set(range(1, uidnext)) - present
    finally:
        m.logout()


def quotas(server):
    out = {}
    for line in server.cli("user", "list").stdout.splitlines():
        addr, used, quota = line.split("\t")[:3]
        out[addr] = (int(used.split("=")[1]), quota.split("=")[1])
    return out


def custom_certificate(folder: Path):
    """A server certificate for mail.example.test (and mx.example.test, the configuration's name) issued by a CA made
    here, as an administrator would install one bought or issued elsewhere: (chain PEM, key PEM, the leaf's DER)."""
    folder.mkdir()

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=120)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "800",
            "-subj", "/O=Upgrade test/CN=Upgrade test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "leaf.csr", "-subj",
            f"/CN={HOSTNAME}")
    (folder / "leaf.ext").write_text(f"subjectAltName = DNS:{HOSTNAME}, DNS:mx.example.test\n"
                                     "extendedKeyUsage = serverAuth\n")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
            "leaf.pem", "-days", "400", "-extfile", "leaf.ext")
    leaf = (folder / "leaf.pem").read_text()
    chain = leaf + (folder / "ca.pem").read_text()
    (folder / "chain.pem").write_text(chain)
    return chain, (folder / "key.pem").read_text(), ssl.PEM_cert_to_DER_cert(leaf)


def fingerprint(der):
    return hashlib.sha256(der).hexdigest()


def certificates(server, admin=False):
    """The SHA-256 fingerprint of the certificate each TLS entry presents: IMAPS, STARTTLS on IMAP, submission and
    port 25 (RFC 3501 6.2.1, RFC 3207), and the admin listener when there is one."""
    out = {}
    with socket.create_connection(("127.0.0.1", server.port("imaps")), timeout=30) as raw:
        with unverified().wrap_socket(raw) as s:
            out["imaps"] = fingerprint(s.getpeercert(binary_form=True))
    with imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=60) as m:
        m.starttls(ssl_context=unverified())
        out["imap starttls"] = fingerprint(m.sock.getpeercert(binary_form=True))
    for name in ("submission", "smtp"):
        with smtplib.SMTP("127.0.0.1", server.port(name), timeout=60) as c:
            c.starttls(context=unverified())
            out[f"{name} starttls"] = fingerprint(c.sock.getpeercert(binary_form=True))
    if admin:
        out["admin"] = fingerprint(Admin(server).request("GET", "/")[2])
    return out


class Admin:
    """The admin listener's JSON API over HTTPS (what the wizard's and the console's pages call): a session cookie,
    and the CSRF token on every POST."""

    def __init__(self, server):
        self.port = server.port("admin")
        self.cookie = None
        self.csrf = None

    def request(self, method, path, body=None):
        """(status, JSON or text, the certificate's DER)."""
        c = http.client.HTTPSConnection("127.0.0.1", self.port, context=unverified(), timeout=120)
        try:
            headers = {}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            if self.cookie:
                headers["Cookie"] = self.cookie
            if self.csrf:
                headers["X-CSRF-Token"] = self.csrf
            c.request(method, path, body=data, headers=headers)
            der = c.sock.getpeercert(binary_form=True)
            r = c.getresponse()
            text = r.read().decode("utf-8", "replace")
            if r.getheader("Set-Cookie"):
                self.cookie = r.getheader("Set-Cookie").split(";", 1)[0]
            try:
                answer = json.loads(text)
            except ValueError:
                answer = text
            return r.status, answer, der
        finally:
            c.close()

    def post(self, path, body):
        status, answer, _ = self.request("POST", path, body)
        assert status == 200, (path, status, answer)
        return answer


def wizard(server, chain, key):
    """The previous release's first-run wizard, step by step as its pages call it: the setup code (from
    run/setup-code), the admin account, the host name (written into settings.toml at run time), the network and
    checks pages passed, the TLS step's upload of the custom certificate (installed and reloaded at once), the DNS
    page, the first mailbox (alice, who exists: her postmaster and abuse aliases are added), the summary."""
    code_file = server.data_dir / "run" / "setup-code"
    wait(code_file.exists, what="run/setup-code")
    code = re.search(r"^code=(.+)$", code_file.read_text(), re.M).group(1)
    a = Admin(server)
    a.csrf = a.post("/api/setup/code", {"code": code})["csrf"]
    a.post("/api/setup/admin", {"name": ADMIN, "displayName": "Upgrade test", "password": ADMIN_PW})
    a.post("/api/setup/host", {"hostname": HOSTNAME, "domain": "example.test", "acceptWarnings": True})
    a.post("/api/setup/network", {})
    a.post("/api/setup/checks/done", {})
    up = a.post("/api/setup/tls/upload", {"certificate": chain, "key": key})
    assert up["applied"], up
    a.post("/api/setup/dns", {})
    a.post("/api/setup/mailbox", {"mailbox": "alice@example.test"})
    a.post("/api/setup/finish", {})


def save_dates(server, passwords, before):
    """After the upgrade: every message stored by the previous release has a SAVEDATE (RFC 8514, schema 9), its
    internal date (what V009 gives the rows it finds)."""
    checked = 0
    for user, boxes in before.items():
        m = imap(server, user, passwords[user])
        for f, (_, msgs) in boxes.items():
            m.select(f'"{f}"', readonly=True)
            typ, data = m.uid("FETCH", "1:*", "(UID INTERNALDATE SAVEDATE)")
            assert typ == "OK", (user, f, data)
            seen = {}
            for item in data:
                if not item:
                    continue  # an empty folder
                head = item.decode() if isinstance(item, bytes) else item[0].decode()
                uid = re.search(r"UID (\d+)", head)
                if uid:
                    internal = re.search(r'INTERNALDATE "([^"]+)"', head).group(1)
                    saved = re.search(r'SAVEDATE (NIL|"[^"]+")', head).group(1).strip('"')
                    seen[int(uid.group(1))] = (internal, saved)
            for uid in msgs:
                internal, saved = seen[uid]
                assert saved == internal, (user, f, uid, internal, saved)
                checked += 1
        m.logout()
    return checked


def directory(server):
    """Domains, accounts (addresses) and aliases as the CLI lists them."""
    return (server.cli("domain", "list").stdout, sorted(ln.split("\t")[0] for ln in
            server.cli("user", "list").stdout.splitlines()), server.cli("alias", "list").stdout)


def tree(folder: Path):
    """Every file under folder with its size, mtime and hash: what a start that writes nothing leaves alone."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            st = p.stat()
            out[str(p.relative_to(folder))] = (st.st_size, st.st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def wait(predicate, timeout=90, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def release_dist(tag):
    r = subprocess.run([str(REPO / "tools" / "release-dist"), tag], capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    return Path(r.stdout.strip())


def dist_version(dist):
    return subprocess.run([str(dist / "bin" / "darwinmail"), "--version"], capture_output=True, text=True,
                          timeout=120).stdout.strip()


def dkim_records(server, domain):
    """The DKIM lines of `domain dns` (the MX and SPF lines name the host, which the wizard changes)."""
    return [ln for ln in server.cli("domain", "dns", domain).stdout.splitlines() if "_domainkey" in ln]


@pytest.mark.parametrize("previous", PREVIOUS)
def test_upgrade_from_a_previous_release_keeps_everything(previous, tmp_path):
    timings = {}
    t_all = time.time()
    previous_dist = release_dist(previous)
    timings["release-dist"] = time.time() - t_all
    current = conftest.DIST
    with_wizard = version(previous) >= WIZARD_FROM
    with_format = version(previous) >= FORMAT_FROM
    chain, key, leaf = custom_certificate(tmp_path / "certificate")
    custom = fingerprint(leaf)
    dns = Dnsmasq(tmp_path)
    far_port = free_port()  # the unreachable host: nobody listens here until the sink starts
    dns.mx("far.test", "mx.far.test").a("mx.far.test", "127.0.0.1")
    extra = dns.toml() + (f"[delivery]\nport = {far_port}\nretry_seconds = [1]\nlifetime_seconds = 86400\n"
                          f"delay_warning_seconds = 0\n"
                          f"[guard.send]\nmessages_per_minute = 0\nmessages_per_hour = 0\nburst_messages = {BURST}\n")
    if not with_wizard:  # before the wizard, the one way to install a certificate: the configuration file
        extra += (f'[tls]\ncert_file = "{tmp_path / "certificate" / "chain.pem"}"\n'
                  f'key_file = "{tmp_path / "certificate" / "key.pem"}"\n')
    s = Release(previous_dist, tmp_path, extra, admin=with_wizard)
    dns.start()
    sink = None
    try:
        old_version = dist_version(previous_dist)
        new_version = dist_version(current)
        assert old_version == f"Darwin Mail {previous.lstrip('v')}", (previous, old_version)
        assert old_version != new_version, (old_version, new_version)

        # -- the previous release writes realistic data
        for d in ("example.test", "second.test", "third.test"):
            s.cli("domain", "add", d)
        for u, pw in USERS.items():
            s.add_user(u, pw)
        for a, targets in ALIASES.items():
            s.cli("alias", "add", a, *targets)
        # The run-time settings overlay (what the admin console writes; every release reads it at start).
        (s.data_dir / "settings.toml").write_text(f"[smtp]\nmax_message_size = {SIZE_SETTING}\n")
        t0 = time.time()
        s.start()
        timings["previous release's start"] = time.time() - t0
        assert ehlo_size(s) == SIZE_SETTING
        if with_wizard:
            conftest.wait_port(s.port("admin"), proc=s.proc)
            t0 = time.time()
            wizard(s, chain, key)
            timings["wizard"] = time.time() - t0
            settings = (s.data_dir / "settings.toml").read_text()
            assert HOSTNAME in settings and str(SIZE_SETTING) in settings, settings
        # The custom certificate is served at once (the wizard's upload reloads it; [tls] is read at start).
        assert certificates(s, admin=with_wizard) == dict.fromkeys(certificates(s, admin=with_wizard), custom)
        t0 = time.time()
        acked = []
        threads = [threading.Thread(target=deliver, args=(s, list(range(k, MESSAGES, 4)), acked)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(acked) == MESSAGES
        big = message(MESSAGES, "carol@second.test", 300_000)  # over the intake journal's 64 KiB: a blob of its own
        with smtplib.SMTP("127.0.0.1", s.port("smtp"), timeout=60) as c:
            c.sendmail("big@outside.test", ["carol@second.test"], big)
        timings["delivery"] = time.time() - t0

        # Flags, keywords, folders, expunges (alice and carol), over IMAP.
        t0 = time.time()
        for user in ("alice@example.test", "carol@second.test"):
            m = imap(s, user, USERS[user])
            assert m.create("Projects")[0] == "OK"
            m.select("INBOX")
            assert m.uid("STORE", "1:200", "+FLAGS", r"(\Seen)")[0] == "OK"
            assert m.uid("STORE", "50:80", "+FLAGS", r"(\Flagged $Forwarded project-x)")[0] == "OK"
            assert m.uid("STORE", "90:95", "+FLAGS", r"(\Answered)")[0] == "OK"
            assert m.uid("COPY", "100:150", "Archive")[0] == "OK"
            assert m.uid("MOVE", "160:190", "Projects")[0] == "OK"
            assert m.uid("STORE", "300:320", "+FLAGS", r"(\Deleted)")[0] == "OK"
            assert m.expunge()[0] == "OK"
            m.select("Projects")
            assert m.uid("STORE", "1:10", "+FLAGS", r"(\Deleted)")[0] == "OK"  # a gap in Projects' UIDs too
            assert m.expunge()[0] == "OK"
            m.logout()

        # Settings changed at run time (through the control socket): a quota, a password.
        s.cli("user", "quota", "carol@second.test", "500M")
        s.cli("user", "quota", "bob@example.test", "2G")
        s.cli("user", "passwd", "dave@third.test", "--password-stdin", stdin=DAVE_NEW_PW + "\n")
        passwords = dict(USERS, **{"dave@third.test": DAVE_NEW_PW})

        # Queued for the unreachable host, and a blocked sender whose queued mail is held.
        with smtplib.SMTP("127.0.0.1", s.port("submission"), timeout=60) as c:
            c.starttls(context=unverified())
            c.login("bob@example.test", "bob-pw")
            c.sendmail("bob@example.test", ["friend@far.test"],
                       b"From: bob@example.test\r\nTo: friend@far.test\r\nSubject: queued across the upgrade\r\n"
                       b"Message-ID: <queued-1@example.test>\r\n\r\nDelivered once, after the upgrade.\r\n")
        refused = 0
        with smtplib.SMTP("127.0.0.1", s.port("submission"), timeout=60) as c:
            c.starttls(context=unverified())
            c.login("dave@third.test", DAVE_NEW_PW)
            for i in range(BURST + 3):
                try:
                    c.sendmail("dave@third.test", [f"x{i}@far.test"],
                               f"From: dave@third.test\r\nTo: x{i}@far.test\r\nSubject: burst {i}\r\n"
                               f"Message-ID: <burst-{i}@third.test>\r\n\r\nburst\r\n".encode())
                except smtplib.SMTPSenderRefused:
                    refused += 1
                    c.rset()
        assert refused > 0
        blocked = s.cli("sender", "blocked").stdout
        assert blocked.startswith("dave@third.test\t"), blocked
        queue_before = s.cli("queue", "list").stdout
        assert "friend@far.test" in queue_before and "x0@far.test" in queue_before, queue_before
        # Let the outbound worker try (and fail on) the unreachable host at least once before the snapshot.
        wait(lambda: "attempts 0" not in s.cli("queue", "list").stdout.split("friend@far.test")[1].split("\n")[0],
             what="a first attempt at far.test")
        timings["flags, folders, settings, queue, block"] = time.time() - t0

        t0 = time.time()
        before = snapshot(s, passwords)
        quotas_before = quotas(s)
        dkim_before = dkim_records(s, "example.test")
        directory_before = directory(s)
        timings["snapshot"] = time.time() - t0
        counted = sum(len(msgs) for u in before.values() for _, msgs in u.values())
        assert counted > MESSAGES, counted  # aliases fan out, copies add

        # -- SIGKILL under load
        stop = threading.Event()
        load_acked = []
        load = [threading.Thread(target=deliver, args=(s, list(range(100_000 + k, 200_000, 4)), load_acked, stop),
                                 kwargs={"per_connection": 1000}) for k in range(4)]
        for t in load:
            t.start()
        wait(lambda: len(load_acked) >= LOAD_ACKS, what=f"{LOAD_ACKS} acknowledged during the load")
        s.kill()
        stop.set()
        for t in load:
            t.join()
        acked_at_kill = list(load_acked)
        if with_format:
            old_format = (s.data_dir / "FORMAT").read_text()
            assert f"written_by={old_version.split()[-1]}\n" in old_format, old_format
            old_schema = int(re.search(r"database_schema=(\d+)", old_format).group(1))
        else:
            assert not (s.data_dir / "FORMAT").exists()  # the previous release knows no manifest
            old_schema = SCHEMA_BEFORE_FORMAT

        # -- the current release on the same data directory
        s.dist = current
        t1 = time.time()
        s.start()
        timings["current release's start"] = time.time() - t1
        manifest = (s.data_dir / "FORMAT").read_text()
        assert f"written_by={new_version.split()[-1]}" in manifest, manifest
        pre = list((s.data_dir / "backup").glob(f"pre-V{old_schema + 1:03d}-*"))
        assert len(pre) == 1, "no automatic backup before the migration"
        # The rollback's backup: whole (database, blobs, the journal the previous release left), of the data as the
        # previous release wrote it.
        assert f"database_schema={old_schema}\n" in (pre[0] / "MANIFEST").read_text()
        r = s.cli("backup", "verify", pre[0].name)
        assert r.stdout.startswith(f"{pre[0]}: OK ("), r.stdout

        after = snapshot(s, passwords)
        for user, boxes in before.items():
            assert sorted(after[user]) == sorted(boxes), user
            for f, (validity, msgs) in boxes.items():
                validity2, msgs2 = after[user][f]
                assert validity2 == validity, (user, f)
                for uid, (flags, body) in msgs.items():
                    assert uid in msgs2, (user, f, uid)
                    assert msgs2[uid][1] == body, (user, f, uid, "bytes differ")
                    assert msgs2[uid][0] == flags, (user, f, uid, flags, msgs2[uid][0])
        # The expunges and moves the previous release recorded (one row per UID before schema 19, runs after) still
        # make QRESYNC's VANISHED (EARLIER): exactly INBOX's missing UIDs, 160-190 (moved) among them.
        for user in ("alice@example.test", "carol@second.test"):
            gone, missing = vanished_since_start(s, user, passwords[user])
            assert gone == missing and set(range(160, 191)) <= gone, (user, sorted(gone ^ missing)[:20])
        dated = save_dates(s, passwords, before)
        assert dated == counted, (dated, counted)
        # Every message acknowledged during the load is there, its bytes as sent at the end of the stored copy
        # (the server puts its Received: header first).
        stored = {}
        for user, boxes in after.items():
            for f, (_, msgs) in boxes.items():
                for uid, (_, body) in msgs.items():
                    mm = re.search(rb"X-Upgrade-Id: (\d+)\r\n", body)
                    if mm:
                        stored.setdefault((int(mm.group(1)), user), []).append(body)
        for n, to, msg in acked_at_kill:
            for user in ALIASES.get(to, [to]):
                copies = stored.get((n, user), [])
                assert len(copies) == 1, (n, user, len(copies))
                assert copies[0].endswith(msg), (n, user)
        big_copy = stored[(MESSAGES, "carol@second.test")]
        assert len(big_copy) == 1 and big_copy[0].endswith(big)

        quotas_after = quotas(s)
        for user, (used, quota) in quotas_before.items():
            assert quotas_after[user][1] == quota, user
            assert quotas_after[user][0] >= used, user
        assert quotas_after["carol@second.test"][1] == str(500 << 20)
        served = certificates(s, admin=with_wizard)
        assert served == dict.fromkeys(served, custom), served  # the custom certificate, on every TLS entry
        assert dkim_records(s, "example.test") == dkim_before and dkim_before
        assert directory(s) == directory_before
        imap(s, "dave@third.test", DAVE_NEW_PW).logout()
        assert ehlo_size(s) == SIZE_SETTING  # the settings overlay still read
        if with_wizard:
            # The host name the wizard set at run time is this start's (the SMTP greeting, RFC 5321 4.3.1).
            c = smtplib.SMTP(timeout=60)
            code, greeting = c.connect("127.0.0.1", s.port("smtp"))
            c.quit()
            assert code == 220 and greeting.decode().startswith(HOSTNAME), greeting
            # The admin account the wizard made signs in; the wizard stays closed.
            a = Admin(s)
            assert a.request("GET", "/setup/")[0] == 404
            status, answer, _ = a.request("POST", "/api/login", {"name": ADMIN, "password": ADMIN_PW})
            assert status == 200, (status, answer)
            a.csrf = answer["csrf"]
            status, answer, _ = a.request("GET", "/api/session")
            assert status == 200 and answer["user"] == ADMIN, (status, answer)

        # The block holds: dave is refused, his held mail stays held.
        assert s.cli("sender", "blocked").stdout.startswith("dave@third.test\t")
        with smtplib.SMTP("127.0.0.1", s.port("submission"), timeout=60) as c:
            c.starttls(context=unverified())
            c.login("dave@third.test", DAVE_NEW_PW)
            with pytest.raises(smtplib.SMTPSenderRefused) as e:
                c.sendmail("dave@third.test", ["y@far.test"], b"Subject: after\r\n\r\nafter\r\n")
            assert e.value.smtp_code == 550

        # The host comes back: the queued message is delivered once; dave's held mail is not sent.
        sink = Sink(far_port)
        s.cli("queue", "retry")
        wait(lambda: "friend@far.test" not in s.cli("queue", "list").stdout, what="the queued message delivered")
        queued = [m for m in sink.messages if b"<queued-1@example.test>" in m]
        assert len(queued) == 1, len(queued)
        assert not [m for m in sink.messages if b"@third.test>" in m and b"burst" in m]
        assert "x0@far.test" in s.cli("queue", "list").stdout  # still held
        # Nothing delivered twice, however long the queue runs (retry_seconds = 1: a second copy would come now).
        s.cli("queue", "retry")
        time.sleep(3)
        assert len([m for m in sink.messages if b"<queued-1@example.test>" in m]) == 1
        s.stop()

        # -- the downgrade: the previous release on the directory the current one has just migrated
        untouched = tree(s.data_dir)
        if with_format:
            s.dist = previous_dist
            for args in (("serve",), ("user", "list")):
                r = subprocess.run(s.command(*args), capture_output=True, text=True, timeout=120)
                assert r.returncode == 1, (args, r.stdout, r.stderr)
                said = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
                assert len(said) == 1, (args, said)
                assert f"written by Darwin Mail {new_version.split()[-1]}" in said[0], said
                assert f"start Darwin Mail {new_version.split()[-1]} or newer on it" in said[0], said
                assert "restore a backup taken before the upgrade" in said[0], said
                assert tree(s.data_dir) == untouched, args
        else:
            # 0.1.0 cannot refuse (see the docstring): the current release, given a manifest from a newer one.
            fmt = s.data_dir / "FORMAT"
            future = re.sub(r"database_schema=(\d+)", lambda m: f"database_schema={int(m.group(1)) + 1}",
                            fmt.read_text())
            future = future.replace(f"written_by={new_version.split()[-1]}", "written_by=99.0.0")
            fmt.write_text(future)
            untouched = tree(s.data_dir)
            r = subprocess.run(s.command("serve"), capture_output=True, text=True, timeout=120)
            assert r.returncode == 1
            lines = [ln for ln in (r.stdout + r.stderr).splitlines() if "written by Darwin Mail 99.0.0" in ln]
            assert len(lines) == 1, r.stdout + r.stderr
            assert "restore a backup taken before the upgrade" in lines[0]
            assert tree(s.data_dir) == untouched
        timings["total"] = time.time() - t_all
        print(f"\nupgrade {old_version} -> {new_version}: {counted} messages in {len(before)} accounts, "
              f"{len(acked_at_kill)} acknowledged under load before SIGKILL, {dated} save dates checked; "
              + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    finally:
        s.stop()
        dns.stop()
        if sink:
            sink.close()

"""A full data disk, for real (issue 23; README, "A full disk").

The server's data directory sits on a small ext4 file system made with `mkfs.ext4 -m 0` (no reserved blocks) in
a loop-mounted image, and the server runs as an unprivileged user (`nobody`), as the appliance's service user would.
A ballast file placed at the start leaves room for a few tens of MB of mail. Then:

1. several SMTP senders and IMAP APPEND clients fill it until the free space is under the reserve
   (`store.disk_reserve_mb`): every refusal is `452 4.3.1` / `NO [UNAVAILABLE]`, none hangs;
2. a second ballast takes every byte left (a truly full disk); a DATA opened before gets a 4xx, not a hang or 250;
3. IMAP (CAPABILITY, LOGIN, SELECT, FETCH) and POP3 answer at once while full;
4. SIGTERM stops the server within seconds; a restart on the still-full disk serves reads and refuses mail;
5. the ballast goes: without a restart the server takes mail again, and every acknowledged message (250 /
   APPEND OK) is in the mailbox exactly once, and no refused one is.

Needs root (mount); `make e2e` runs as root in CI. The mount is undone whatever happens.
"""
import imaplib
import os
import poplib
import pwd
import re
import signal
import smtplib
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import make_server

IMAGE_MB = 96
RESERVE_MB = 8
USER = "nobody"
TIMEOUT = 20  # seconds: any reply slower than this is a hang (before: 30 s per IMAP command, DATA over 120 s)


@pytest.fixture
def full_disk_dir():
    assert os.geteuid() == 0, "this test mounts a file system: run it as root (make e2e does in CI)"
    with tempfile.TemporaryDirectory(prefix="darwin-disk-") as d:
        work = Path(d)
        os.chmod(work, 0o755)  # the service user reads the configuration here
        image, mnt = work / "data.img", work / "mnt"
        mnt.mkdir()
        subprocess.run(["truncate", "-s", f"{IMAGE_MB}M", str(image)], check=True)
        subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", str(image)], check=True)
        subprocess.run(["mount", "-o", "loop", str(image), str(mnt)], check=True)
        try:
            data = mnt / "var"
            data.mkdir()
            pw = pwd.getpwnam(USER)
            os.chown(data, pw.pw_uid, pw.pw_gid)
            yield work, mnt, data
        finally:
            if subprocess.run(["umount", str(mnt)]).returncode != 0:
                subprocess.run(["umount", "-l", str(mnt)])


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(path, size=None):
    """A ballast file of `size` bytes, or of every byte left when None (written until ENOSPC)."""
    with open(path, "wb") as f:
        block = b"\0" * (1 << 20)
        written = 0
        try:
            while size is None or written < size:
                n = min(len(block), size - written) if size is not None else len(block)
                f.write(block[:n])
                f.flush()
                written += n
        except OSError:
            pass
        try:
            os.fsync(f.fileno())
        except OSError:
            pass
    if size is None:  # the last bytes, smaller than a block
        with open(path, "ab") as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
                    f.flush()
            except OSError:
                pass


def message(token, size):
    body = ("x" * 76 + "\r\n") * (size // 78)
    return (f"From: sender@outside.example\r\nTo: alice@example.test\r\nSubject: {token}\r\n"
            f"Message-ID: <{token}@outside.example>\r\n\r\n{body}")


class Ledger:
    """What the server acknowledged, what it refused and how, and what ended unknown (a dropped connection)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked, self.refused, self.unknown = set(), {}, set()

    def ack(self, token):
        with self.lock:
            self.acked.add(token)

    def refuse(self, token, how):
        with self.lock:
            self.refused[token] = how

    def lost(self, token):
        with self.lock:
            self.unknown.add(token)


def smtp_send(server, ledger, token, size):
    """One message over SMTP; returns True when acknowledged."""
    try:
        with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=TIMEOUT) as s:
            s.ehlo("sender.example")
            code, text = s.mail("sender@outside.example")
            if code == 250:
                code, text = s.rcpt("alice@example.test")
            if code == 250:
                try:
                    code, text = s.data(message(token, size))
                except smtplib.SMTPDataError as e:
                    code, text = e.smtp_code, e.smtp_error
            if code == 250:
                ledger.ack(token)
                return True
            ledger.refuse(token, f"{code} {text.decode(errors='replace')}")
            return False
    except (socket.timeout, TimeoutError) as e:
        raise AssertionError(f"SMTP hung for {TIMEOUT} s ({token})") from e
    except (smtplib.SMTPServerDisconnected, ConnectionError):
        ledger.lost(token)
        return False


def imap_append(server, ledger, token, size):
    with imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=TIMEOUT) as m:
        m.login("alice@example.test", "alice-pw")
        typ, data = m.append("INBOX", None, None, message(token, size).encode())
        if typ == "OK":
            ledger.ack(token)
            return True
        ledger.refuse(token, f"NO {data[0].decode(errors='replace')}")
        return False


def flood(server, ledger, seconds=180):
    """Senders and appenders until each has seen three refusals in a row (the disk under its reserve)."""
    deadline = time.time() + seconds

    def worker(kind, n):
        refusals = 0
        i = 0
        while refusals < 3 and time.time() < deadline:
            i += 1
            token = f"{kind}{n}-{i}-{uuid.uuid4().hex[:8]}"
            if kind == "smtp":
                ok = smtp_send(server, ledger, token, 8_000 if i % 2 else 150_000)  # journal / blob path
            else:
                ok = imap_append(server, ledger, token, 100_000)
            refusals = 0 if ok else refusals + 1
        return refusals

    with ThreadPoolExecutor(6) as pool:
        results = [pool.submit(worker, "smtp", n) for n in range(4)] + \
                  [pool.submit(worker, "imap", n) for n in range(2)]
        outcomes = [f.result() for f in results]
    assert all(r >= 3 for r in outcomes), f"the disk did not fill in {seconds} s: {outcomes}"


def check_reads(server, refusing=True):
    """IMAP and POP3 answer while the disk is full (each step bounded by TIMEOUT), and new mail is refused."""
    with imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=TIMEOUT) as m:
        assert m.capability()[0] == "OK"
        m.login("alice@example.test", "alice-pw")
        typ, data = m.select("INBOX", readonly=True)
        assert typ == "OK"
        if int(data[0]) > 0:
            typ, _ = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            assert typ == "OK"
        if refusing:
            typ, data = m.append("INBOX", None, None, message("refused-append", 1000).encode())
            assert typ == "NO" and b"[UNAVAILABLE]" in data[0], (typ, data)
    p = poplib.POP3("127.0.0.1", server.port("pop3"), timeout=TIMEOUT)
    try:
        p.user("alice@example.test")
        assert p.pass_("alice-pw").startswith(b"+OK")
        p.stat()
    finally:
        p.quit()
    t0 = time.time()
    assert "alice@example.test" in server.cli("user", "list").stdout  # through the running server's socket
    assert time.time() - t0 < TIMEOUT, "darwinmail user list waited"
    if refusing:
        with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=TIMEOUT) as s:
            s.ehlo("sender.example")
            code, text = s.mail("sender@outside.example")
            assert (code, text[:5]) == (452, b"4.3.1"), (code, text)



def stored_when_all_acked(server, ledger, timeout=60):
    """The stored subjects, once every acknowledged message is among them (or after `timeout` seconds)."""
    deadline = time.time() + timeout
    while True:
        subjects = stored_subjects(server)
        if all(subjects[t] >= 1 for t in ledger.acked) or time.time() > deadline:
            return subjects
        time.sleep(1)

def stored_subjects(server):
    with imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=60) as m:
        m.login("alice@example.test", "alice-pw")
        typ, data = m.select("INBOX", readonly=True)
        if int(data[0]) == 0:
            return Counter()
        typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert typ == "OK"
        subjects = Counter()
        for part in data:
            if isinstance(part, tuple):
                found = re.search(rb"Subject: (\S+)", part[1])
                if found:
                    subjects[found.group(1).decode()] += 1
        return subjects


def test_a_full_disk_refuses_politely_keeps_every_acknowledged_message_and_recovers_by_itself(full_disk_dir):
    work, mnt, data = full_disk_dir
    # A connection per message, from one address: the per-address rate limit is lifted.
    server = make_server(work, f"[store]\ndisk_reserve_mb = {RESERVE_MB}\n[guard]\nmax_connections_per_minute = 100000\n",
                         data_dir=data, user=USER)
    ledger = Ledger()
    try:
        # Room for about 24 MB of mail above the reserve, besides the database and the journal's segments.
        ballast = mnt / "ballast"
        fill(ballast, max(0, free_bytes(mnt) - (RESERVE_MB + 24 + 12) * (1 << 20)))

        # A transaction opened while there is room, its data sent when the disk is truly full (step 2).
        pending = smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=TIMEOUT)
        pending.ehlo("sender.example")
        assert pending.mail("sender@outside.example")[0] == 250
        assert pending.rcpt("alice@example.test")[0] == 250
        assert pending.docmd("DATA")[0] == 354

        flood(server, ledger)
        assert ledger.acked, "nothing was accepted before the disk filled"
        bad = {t: how for t, how in ledger.refused.items()
               if not (how.startswith("452 4.3.1") or how.startswith("NO [UNAVAILABLE]"))}
        assert not bad, f"refusals other than 452 4.3.1 / NO [UNAVAILABLE]: {list(bad.items())[:5]}"
        # (Whether new mail is refused at this instant depends on what the server freed since: temporary files.)
        check_reads(server, refusing=False)

        # Truly full: every byte taken. The DATA opened before gets a 4xx at its end, promptly.
        fill(mnt / "ballast2")
        assert free_bytes(mnt) < (1 << 20)
        body = message("pending-data", 2_000_000).encode()
        pending.sock.sendall(body + b"\r\n.\r\n")
        code, text = pending.getreply()
        assert 400 <= code < 500, (code, text)
        pending.close()
        check_reads(server)
        assert not list((data / "intake").glob("*.new")), "half-made journal segments left behind"

        # SIGTERM on the full disk: the process ends within seconds (it did not in 110 s).
        t0 = time.time()
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(timeout=20)
        stopped = time.time() - t0
        server.proc = None
        assert not list((data / "intake").glob("*.new")), "half-made journal segments left behind"
        # A restart on the still-full disk (what the stop freed, spare journal segments, taken too) serves reads
        # and refuses mail.
        fill(mnt / "ballast3")
        t0 = time.time()
        server.start()
        started = time.time() - t0
        check_reads(server)

        # Space comes back: without a restart, mail is taken again.
        for b in ("ballast", "ballast2", "ballast3"):
            (mnt / b).unlink()
        deadline = time.time() + 60
        while True:
            token = f"after-{uuid.uuid4().hex[:8]}"
            if smtp_send(server, ledger, token, 8_000):
                break
            assert time.time() < deadline, f"mail still refused 60 s after space came back: {ledger.refused[token]}"
            time.sleep(1)
        assert imap_append(server, ledger, f"after-append-{uuid.uuid4().hex[:8]}", 5_000)

        # Every acknowledged message once; no refused one (a retrying sender would deliver it twice).
        subjects = stored_when_all_acked(server, ledger)
        missing = [t for t in ledger.acked if subjects[t] == 0]
        twice = [t for t, n in subjects.items() if n > 1]
        stray = [t for t in subjects if t not in ledger.acked and t not in ledger.unknown]
        assert not missing, f"{len(missing)} acknowledged message(s) not stored: {missing[:5]}"
        assert not twice, f"stored more than once: {twice[:5]}"
        assert not stray, f"refused but stored: {stray[:5]}"

        # One log line per change of state, not a stack trace per refused message.
        log = server.log_text()
        assert log.count("new mail is refused (452 4.3.1) until space returns") <= 4, log[-3000:]
        traces = len(re.findall(r"^\s+at ", log, re.M))
        assert traces < 50, f"{traces} stack-trace lines in the log:\n{log[-3000:]}"
        print(f"acknowledged {len(ledger.acked)}, refused {len(ledger.refused)}, unknown {len(ledger.unknown)};"
              f" SIGTERM on the full disk: stopped in {stopped:.1f} s; restart on it: listening in {started:.1f} s")
    finally:
        server.stop()
        print("".join(l for l in server.log_text().splitlines(True) if re.search(r"disk:|intake:|WARN|ERROR", l))[-5000:])


def test_without_a_reserve_the_last_byte_still_gets_452_and_no_half_made_journal_segment(full_disk_dir):
    """`disk_reserve_mb = 0`: mail is taken to the last byte. Writes then fail for want of space (blobs, the
    journal's next segment): still 452 4.3.1 / NO [UNAVAILABLE], no partial segment or `.new` file left, and every
    acknowledged message stored once when space returns (before: a partial segment and one `.new` per attempt)."""
    work, mnt, data = full_disk_dir
    server = make_server(work, "[store]\ndisk_reserve_mb = 0\n[guard]\nmax_connections_per_minute = 100000\n",
                         data_dir=data, user=USER)
    ledger = Ledger()
    try:
        ballast = mnt / "ballast"
        fill(ballast, max(0, free_bytes(mnt) - 36 * (1 << 20)))
        flood(server, ledger)
        bad = {t: how for t, how in ledger.refused.items()
               if not (how.startswith("452 4.3.1") or how.startswith("NO [UNAVAILABLE]"))}
        assert not bad, f"refusals other than 452 4.3.1 / NO [UNAVAILABLE]: {list(bad.items())[:5]}"
        check_reads(server, refusing=False)
        intake = data / "intake"
        assert not list(intake.glob("*.new")), "half-made journal segments left behind"
        sizes = {p.name: p.stat().st_size for p in intake.glob("*.seg")}
        assert all(n == 4 << 20 for n in sizes.values()), f"partial segments: {sizes}"

        ballast.unlink()
        deadline = time.time() + 60
        while not smtp_send(server, ledger, f"after-{uuid.uuid4().hex[:8]}", 8_000):
            assert time.time() < deadline, "mail still refused 60 s after space came back"
            time.sleep(1)
        subjects = stored_when_all_acked(server, ledger)
        assert not [t for t in ledger.acked if subjects[t] == 0], "acknowledged messages missing"
        assert not [t for t, n in subjects.items() if n > 1], "messages stored twice"
        assert not [t for t in subjects if t not in ledger.acked and t not in ledger.unknown], "refused but stored"
        print(f"reserve 0: acknowledged {len(ledger.acked)}, refused {len(ledger.refused)}")
    finally:
        server.stop()
        print("".join(l for l in server.log_text().splitlines(True) if re.search(r"disk:|intake:|WARN|ERROR", l))[-4000:])

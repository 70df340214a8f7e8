"""A backup taken while 20 clients deliver and read (issue 18): 20 threads, each sending at least 50 messages over
SMTP (smtplib), and on until the backup is taken (at most 1,000 each, 300 s), and reading its recipient's INBOX
over IMAP (imaplib, BODY[] fetches that set \\Seen) between them;
`darwinmail verify` runs on the live server under that load and passes; `darwinmail backup create` runs inside the
server; the backup is restored onto a fresh data directory, where `darwinmail verify` (the server stopped) passes,
and a server started on it has every message acknowledged before the backup started, under the same UID, with the
same bytes. Prints the backup's and the checks' times."""
import imaplib
import smtplib
import threading
import time
from pathlib import Path

from conftest import Server, inbox_by_header, make_server

CLIENTS = 20
PER_CLIENT = 50      # each client sends at least this many, and goes on until the backup has been taken,
MAX_PER_CLIENT = 1000  # but never more than this many, nor after
SECONDS = 300          # this long
USERS = {"alice@example.test": "alice-pw", "bob@example.test": "bob-pw"}


def message(n, to):
    pad = "".join(f"line {i} of message {n}\r\n" for i in range(n % 60))
    return (f"From: <c{n}@outside.test>\r\nTo: <{to}>\r\nSubject: live backup {n}\r\nX-Live-Id: {n}\r\n"
            f"Message-ID: <live-{n}@outside.test>\r\n\r\nHello {n}.\r\n{pad}").encode()


def client(server, k, acked, reads, errors, done):
    """Sends (and reads between) until `done` is set, at least PER_CLIENT messages: the backup is taken under load
    however fast this machine is."""
    to = list(USERS)[k % 2]
    deadline = time.time() + SECONDS
    try:
        imap = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=120)
        imap.login(to, USERS[to])
        with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=120) as s:
            i = 0
            while i < PER_CLIENT or not done.is_set() and i < MAX_PER_CLIENT and time.time() < deadline:
                n = k * MAX_PER_CLIENT + i
                i += 1
                s.sendmail(f"c{n}@outside.test", [to], message(n, to))
                acked.append((to, n))  # list.append is atomic under the GIL
                if i % 5 == 0:
                    typ, data = imap.select("INBOX")
                    count = int(data[0])
                    if count:
                        imap.fetch(f"{max(1, count - 2)}:{count}", "(FLAGS BODY[])")  # sets \Seen: rows change
                    reads.append(count)
        imap.logout()
    except Exception as e:  # reported by the test, not lost in a thread
        errors.append(f"client {k}: {e!r}")



def test_backup_while_20_clients_deliver_and_read_restores_a_store_that_verifies(tmp_path):
    (tmp_path / "live").mkdir()
    live = make_server(tmp_path / "live")
    restored = None
    acked, reads, errors = [], [], []
    done = threading.Event()
    clients = [threading.Thread(target=client, args=(live, k, acked, reads, errors, done)) for k in range(CLIENTS)]
    try:
        for t in clients:
            t.start()
        deadline = time.time() + 300
        while len(acked) < CLIENTS * PER_CLIENT // 3 and time.time() < deadline and not errors:
            time.sleep(0.1)
        assert not errors, errors

        # The live store's own check, while mail arrives and is read.
        t0 = time.time()
        r = live.cli("verify", check=False)
        verify_live = time.time() - t0
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout.startswith("OK: running server's store "), r.stdout

        before = list(acked)  # acknowledged before the backup started
        backups = tmp_path / "backups"
        t0 = time.time()
        r = live.cli("backup", "create", str(backups))
        took = time.time() - t0
        during = len(acked) - len(before)
        done.set()
        created = r.stdout
        folder = Path(r.stdout.splitlines()[0])
        for t in clients:
            t.join(timeout=600)
        assert not errors, errors
        assert len(acked) >= CLIENTS * PER_CLIENT
        assert reads, "no client read its mailbox"
        assert during > 0, "no mail arrived while the backup ran"

        r = live.cli("verify", "--backup", str(folder), check=False)
        assert r.returncode == 0, r.stdout + r.stderr

        target = tmp_path / "restored-data"
        live.cli("backup", "restore", str(folder), "--to", str(target))
        (tmp_path / "restored").mkdir()
        restored = Server(tmp_path / "restored", data_dir=target)
        t0 = time.time()
        r = restored.cli("verify", check=False)  # no server on it yet: the CLI opens the store itself
        verify_restored = time.time() - t0
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout.startswith(f"OK: {target}: "), r.stdout

        original = inbox_by_header(live, USERS, "X-Live-Id")
        restored.start()
        copy = inbox_by_header(restored, USERS, "X-Live-Id")
        missing = [(to, n) for to, n in before if (to, n) not in copy]
        assert not missing, f"{len(missing)} acknowledged messages missing, e.g. {missing[:5]}"
        for to, n in before:
            assert copy[(to, n)] == original[(to, n)], (to, n)
        print(f"\n{len(before)} messages acknowledged before the backup, {during} during it; backup {took:.1f} s"
              f" ({created.splitlines()[1]}); verify under load {verify_live:.1f} s; verify of the restored store"
              f" {verify_restored:.1f} s")
    finally:
        done.set()
        for t in clients:
            t.join(timeout=60)
        live.stop()
        if restored:
            restored.stop()

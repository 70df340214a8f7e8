"""Backup, verify and restore with real clients (issue 18): `darwinmail backup create` runs inside the server (over
its control socket) while eight smtplib clients deliver; `backup verify` passes; `backup restore` fills a fresh data
directory on which a second server starts, and every message acknowledged before the backup started is there,
byte-identical to the live server's copy, under the same UID. A backup whose blob was damaged fails verify with one
line naming the file, and is not restored."""
import smtplib
import threading
import time
from pathlib import Path

from conftest import Server, inbox_by_header, make_server

USERS = {"alice@example.test": "alice-pw", "bob@example.test": "bob-pw"}


def message(n, to):
    pad = "".join(f"line {i} of message {n}\r\n" for i in range(n % 40))
    return (f"From: <s{n}@outside.test>\r\nTo: <{to}>\r\nSubject: backup test {n}\r\nX-Backup-Id: {n}\r\n"
            f"Message-ID: <backup-{n}@outside.test>\r\n\r\nHello {n}.\r\n{pad}").encode()


def deliver(server, start, acked, stop):
    n = start
    while not stop.is_set():
        with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=60) as s:
            for _ in range(100):
                if stop.is_set():
                    return
                to = list(USERS)[n % 2]
                s.sendmail(f"s{n}@outside.test", [to], message(n, to))
                acked.append((n, to))
                n += 8



def test_backup_while_mail_arrives_restores_every_acknowledged_message(tmp_path):
    (tmp_path / "live").mkdir()
    live = make_server(tmp_path / "live")
    restored = None
    stop = threading.Event()
    acked = []
    clients = [threading.Thread(target=deliver, args=(live, k, acked, stop)) for k in range(8)]
    try:
        for t in clients:
            t.start()
        deadline = time.time() + 120
        while len(acked) < 3000 and time.time() < deadline:
            time.sleep(0.2)
        before = list(acked)  # acknowledged before the backup started
        backups = tmp_path / "backups"
        t0 = time.time()
        r = live.cli("backup", "create", str(backups))
        took = time.time() - t0
        during = len(acked) - len(before)
        stop.set()
        for t in clients:
            t.join()
        folder = Path(r.stdout.splitlines()[0])
        assert folder.parent == backups and (folder / "MANIFEST").is_file()
        assert during > 0, "no mail arrived while the backup ran"

        r = live.cli("backup", "verify", folder.name, "--dir", str(backups))
        assert r.stdout.startswith(f"{folder}: OK ("), r.stdout

        target = tmp_path / "restored-data"
        r = live.cli("backup", "restore", str(folder), "--to", str(target))
        assert r.stdout.startswith(f"restored {folder.name} into {target}: "), r.stdout
        original = inbox_by_header(live, USERS, "X-Backup-Id")
        restored = Server(tmp_path, data_dir=target).start()
        copy = inbox_by_header(restored, USERS, "X-Backup-Id")
        for n, to in before:
            assert (to, n) in copy, (to, n)
            assert copy[(to, n)] == original[(to, n)], (to, n)
        print(f"\nbackup with {len(before)} messages acknowledged before it and {during} during it: {took:.1f} s;"
              f" {r.stdout.strip()}")

        # A damaged blob: verify names the file in one line; the backup is not restored.
        blob = sorted((folder / "blobs").glob("*/*"))[0]
        data = blob.read_bytes()
        blob.unlink()  # hard-linked to the live server's copy: a new file, so only the backup is damaged
        blob.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
        r = live.cli("backup", "verify", str(folder), check=False)
        rel = f"blobs/{blob.parent.name}/{blob.name}"
        assert r.returncode == 1
        assert r.stderr.count("\n") == 1 and rel in r.stderr, r.stderr
        assert f"{rel}: damaged (its content does not hash to its name)" in r.stdout
        r = live.cli("backup", "restore", str(folder), "--to", str(tmp_path / "second"), check=False)
        assert r.returncode == 1 and "is damaged" in r.stderr and not (tmp_path / "second").exists()
    finally:
        stop.set()
        for t in clients:
            t.join()
        live.stop()
        if restored:
            restored.stop()

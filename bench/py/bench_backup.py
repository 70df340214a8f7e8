"""Backup cost on a store of N messages (issue 18; README, "Backups"): delivers N messages of about 600 bytes over
SMTP to a Darwin Mail started from --dist (tests/e2e's fixture), then times `darwinmail backup create` into a folder
on the data directory's file system (bodies hard-linked), twice, into a tmpfs folder (bodies copied), again there
(the incremental case: bodies linked to the first backup's), `backup verify`, and `darwinmail verify` of the running
server's store (store.Verify: every body hashed, the rows checked). Not part of `make bench`:
    /usr/bin/python3 bench/py/bench_backup.py --dist dist/darwinmail --messages 100000
"""
import argparse
import os
import shutil
import smtplib
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dist", default=str(ROOT / "dist" / "darwinmail"))
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--tmpfs", default="/dev/shm", help="a folder on another file system (copies)")
    a = ap.parse_args()
    os.environ["DARWINMAIL_DIST"] = str(Path(a.dist).resolve())
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    from conftest import make_server

    work = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    other = Path(tempfile.mkdtemp(prefix="bench-backup-", dir=a.tmpfs))
    s = make_server(work)
    try:
        def run(k):
            n = k
            while n < a.messages:
                with smtplib.SMTP("127.0.0.1", s.port("smtp"), timeout=60) as c:
                    for _ in range(500):
                        if n >= a.messages:
                            break
                        body = (f"From: <s{n}@outside.test>\r\nTo: <alice@example.test>\r\nSubject: m {n}\r\n\r\n"
                                + f"line {n}\r\n" * 20).encode()
                        c.sendmail(f"s{n}@outside.test", ["alice@example.test" if n % 2 else "bob@example.test"],
                                   body)
                        n += 8
        t0 = time.time()
        ts = [threading.Thread(target=run, args=(k,)) for k in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        print(f"delivered {a.messages} messages in {time.time() - t0:.1f} s", flush=True)
        for label, dest in [("same file system (links)", work / "backups"), ("same file system, again", work / "backups"),
                            ("other file system, first (copies)", other),
                            ("other file system, next (incremental)", other)]:
            t = time.time()
            r = s.cli("backup", "create", str(dest))
            print(f"{label}: {time.time() - t:.1f} s with the CLI;", r.stdout.strip().replace("\n", "; "), flush=True)
        t = time.time()
        newest = sorted(other.iterdir())[-1]
        r = s.cli("backup", "verify", str(newest))
        print(f"verify: {time.time() - t:.1f} s;", r.stdout.strip().rsplit(": ", 1)[-1], flush=True)
        t = time.time()
        r = s.cli("verify")
        print(f"darwinmail verify (the running server's store): {time.time() - t:.1f} s;", r.stdout.strip(),
              flush=True)
    finally:
        s.stop()
        shutil.rmtree(other, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

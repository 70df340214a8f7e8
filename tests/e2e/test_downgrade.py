"""The downgrade refused (issue 18): the release before this one, built from its git tag by tools/release-dist, is
started on a data directory this release wrote and migrated, and refuses with one line, writing nothing (no
migration, no journal replay, no sweep, no certificate). The release before is the newest one tools/releases.tsv
lists, today 0.3.0 (schema 8): this one writes schema 10 and readable_from=0.4.0. 0.2.0 is the first release that
reads <data_dir>/FORMAT (DARWINMAIL_OLDER_RELEASE=v0.2.0 runs the same test with it); 0.1.0 predates it and cannot refuse (test_upgrade_versions.py's docstring says
what it does instead)."""
import os
import smtplib
import subprocess
from pathlib import Path

import conftest
from conftest import Server
from test_upgrade_versions import NEWEST, REPO, Release, tree

OLDER = os.environ.get("DARWINMAIL_OLDER_RELEASE", NEWEST)  # the newest release tools/releases.tsv lists


def test_the_release_before_refuses_data_this_release_wrote(tmp_path):
    r = subprocess.run([str(REPO / "tools" / "release-dist"), OLDER], capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    older = Path(r.stdout.strip())
    older_version = subprocess.run([str(older / "bin" / "darwinmail"), "--version"], capture_output=True,
                                   text=True, timeout=120).stdout.split()[-1]
    current_version = subprocess.run([str(conftest.DIST / "bin" / "darwinmail"), "--version"], capture_output=True,
                                     text=True, timeout=120).stdout.split()[-1]
    assert older_version != current_version

    (tmp_path / "current").mkdir()
    s = Server(tmp_path / "current")
    s.cli("domain", "add", s.domain)
    s.add_user("alice@example.test", "alice-pw")
    s.start()
    try:
        with smtplib.SMTP("127.0.0.1", s.port("smtp"), timeout=60) as c:
            c.sendmail("someone@elsewhere.test", ["alice@example.test"],
                       b"Subject: kept\r\nMessage-ID: <downgrade@example.test>\r\n\r\nwritten by the newer release\r\n")
    finally:
        s.stop()
    assert f"written_by={current_version}\n" in (s.data_dir / "FORMAT").read_text()
    untouched = tree(s.data_dir)

    (tmp_path / "older").mkdir()
    old = Release(older, tmp_path / "older", data_dir=s.data_dir)
    for args in (("serve",), ("user", "list")):
        r = subprocess.run(old.command(*args), capture_output=True, text=True, timeout=120)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        said = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
        assert len(said) == 1, (args, said)
        assert said[0].startswith("darwinmail: the data in "), said[0]
        # The older release names the first format it does not know (database schema 9, 0.3.0 reads up to 8) and
        # what to start.
        assert f"written by Darwin Mail {current_version}" in said[0], said
        assert f"start Darwin Mail {current_version} or newer on it" in said[0], said
        assert "restore a backup taken before the upgrade" in said[0]
        assert tree(s.data_dir) == untouched, args

    # And this release still reads it: the refusal left nothing half-done.
    s.start()
    try:
        assert "alice@example.test" in s.cli("user", "list").stdout
    finally:
        s.stop()

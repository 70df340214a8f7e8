"""Rolling back an upgrade as README.md says (issue 18; README, "Rolling back an upgrade"), its steps taken literally:
the commands are read from that section of the README (its fenced blocks), the README's data folder
(/var/lib/darwinmail) and backup name replaced by the test's, `sudo` and the systemd unit by the test's process.

The previous release (built from its tag by tools/release-dist, as in test_upgrade_versions.py) writes data: three
domains, four accounts, two aliases, a few hundred messages with flags and a folder, a settings overlay (the SIZE SMTP
advertises) and, from 0.3.0 on, the first-run wizard with a custom certificate uploaded (its tls/, admin/ and the host
name in settings.toml, all on the data disk); the last messages are acknowledged just before a SIGKILL, so that some
are only in the intake journal. The current release starts on it: the automatic backup before the migration is made
(`backup/pre-V###-*`, listed by `backup list`, verified), it migrates, and receives a message of its own. Then the
rollback: the server stopped, the backup restored over the data folder by one `backup restore ... --replace` of the
current release (on the appliance the folder is the data disk's mount point, which cannot be moved: the restore
checks the restored data in a folder inside it, then moves the upgraded data aside into `replaced-<UTC time>/` and
the restored data in its place, the backups staying in `backup/`), and the previous release started on it. It must
start (not refuse the data), and serve every message as it was (same UIDVALIDITY, UIDs, flags, bytes), those only the
journal held too, the settings, the accounts and their passwords, the certificate on IMAPS (and the admin account,
from 0.3.0 on); the message received after the upgrade is not there, and the upgraded data is whole in
`replaced-*/`.

Which releases: the newest one tools/releases.tsv lists (0.3.0 today), the one an upgrade is rolled back to; the
procedure is the same from any release (the restore is the installed release's), and each run costs 1-3 minutes
(157 s from 0.1.0 and 175 s from 0.3.0 at load 12 on 2 cores), so the others run when asked:
DARWINMAIL_PREVIOUS_RELEASE (tags, comma-separated, as for test_upgrade_versions.py) replaces the list, e.g. v0.1.0
(no FORMAT, no `backup` command of its own).
"""
import os
import re
import shlex
import smtplib
import subprocess
import time

import pytest

import conftest
from test_upgrade_versions import (ADMIN, ADMIN_PW, ALIASES, HOSTNAME, NEWEST, REPO, SCHEMA_BEFORE_FORMAT,
                                   SIZE_SETTING, USERS, WIZARD_FROM, FORMAT_FROM, Admin, Release, certificates,
                                   custom_certificate, deliver, dist_version, ehlo_size, fingerprint, imap,
                                   release_dist, snapshot, version, wizard)

PREVIOUS = [t.strip() for t in os.environ.get("DARWINMAIL_PREVIOUS_RELEASE", "").split(",") if t.strip()] \
    or [NEWEST]
README_DATA = "/var/lib/darwinmail"
README_BACKUP = re.compile(r"pre-V\d{3}-\d{8}-\d{6}")


def readme_steps():
    """The fenced blocks of README.md's "Rolling back an upgrade", in order: each a list of command lines."""
    text = (REPO / "README.md").read_text()
    section = text.split("### Rolling back an upgrade", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```(?:sh)?\n(.*?)```", section, re.S)
    assert blocks, "no commands in README's 'Rolling back an upgrade'"
    return [[ln.strip() for ln in b.splitlines() if ln.strip() and not ln.strip().startswith("#")] for b in blocks]


def run_block(lines, s, data_dir, backup_name, bin_dir):
    """A README block as root would type it, on this test's server: `systemctl stop darwinmail` stops it (by PID);
    the other lines run in one bash (a `cd` holds for the lines after it) where `darwinmail` is the installed
    release's command with the server's configuration, as on the appliance (a wrapper in PATH). Returns the
    output of the bash lines."""
    script = []
    for line in lines:
        line = README_BACKUP.sub(backup_name, line.replace(README_DATA, str(data_dir)))
        if line == "systemctl stop darwinmail":
            assert not script, "the README stops the server after other commands"
            s.stop()
            continue
        script.append(line)
    if not script:
        return ""
    wrapper = bin_dir / "darwinmail"
    bin_dir.mkdir(exist_ok=True)
    wrapper.write_text("#!/bin/sh\nexec " + " ".join(shlex.quote(a) for a in s.command()) + ' "$@"\n')
    wrapper.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(script)], capture_output=True, text=True,
                       timeout=600, cwd="/", env=env)
    assert r.returncode == 0, (script, r.stdout, r.stderr)
    return r.stdout


@pytest.mark.parametrize("previous", PREVIOUS)
def test_rollback_as_the_readme_says_serves_the_previous_release_data(previous, tmp_path):
    t_all = time.time()
    timings = {}
    previous_dist = release_dist(previous)
    current = conftest.DIST
    with_wizard = version(previous) >= WIZARD_FROM
    with_format = version(previous) >= FORMAT_FROM
    chain, key, leaf = custom_certificate(tmp_path / "certificate")
    custom = fingerprint(leaf)
    extra = ""
    if not with_wizard:
        extra = (f'[tls]\ncert_file = "{tmp_path / "certificate" / "chain.pem"}"\n'
                 f'key_file = "{tmp_path / "certificate" / "key.pem"}"\n')
    s = Release(previous_dist, tmp_path, extra, admin=with_wizard)
    data = s.data_dir
    try:
        old_version = dist_version(previous_dist).split()[-1]
        new_version = dist_version(current).split()[-1]
        assert old_version != new_version

        # -- the previous release writes data
        for d in ("example.test", "second.test", "third.test"):
            s.cli("domain", "add", d)
        for u, pw in USERS.items():
            s.add_user(u, pw)
        for a, targets in ALIASES.items():
            s.cli("alias", "add", a, *targets)
        (data / "settings.toml").write_text(f"[smtp]\nmax_message_size = {SIZE_SETTING}\n")
        s.start()
        if with_wizard:
            conftest.wait_port(s.port("admin"), proc=s.proc)
            wizard(s, chain, key)
        acked = []
        deliver(s, list(range(300)), acked)
        m = imap(s, "alice@example.test", USERS["alice@example.test"])
        assert m.create("Projects")[0] == "OK"
        m.select("INBOX")
        assert m.uid("STORE", "1:20", "+FLAGS", r"(\Seen $Forwarded)")[0] == "OK"
        assert m.uid("MOVE", "21:30", "Projects")[0] == "OK"
        assert m.uid("STORE", "31:35", "+FLAGS", r"(\Deleted)")[0] == "OK"
        assert m.expunge()[0] == "OK"
        m.logout()
        before = snapshot(s, USERS)
        # The last messages, acknowledged just before a SIGKILL: some may be in the intake journal alone.
        late = []
        deliver(s, list(range(1000, 1040)), late)
        s.kill()
        if with_format:
            old_schema = int(re.search(r"database_schema=(\d+)", (data / "FORMAT").read_text()).group(1))
        else:
            old_schema = SCHEMA_BEFORE_FORMAT

        # -- the upgrade: the current release migrates, after its automatic backup
        s.dist = current
        t0 = time.time()
        s.start()
        timings["upgrade start"] = time.time() - t0
        assert f"written_by={new_version}\n" in (data / "FORMAT").read_text()
        with smtplib.SMTP("127.0.0.1", s.port("smtp"), timeout=60) as c:
            c.sendmail("late@outside.test", ["alice@example.test"],
                       b"Subject: after the upgrade\r\nMessage-ID: <after-upgrade@outside.test>\r\n\r\nnew\r\n")
        listed = [ln.split("\t") for ln in s.cli("backup", "list").stdout.splitlines()]
        pre = [ln for ln in listed if ln[0].startswith(f"pre-V{old_schema + 1:03d}-")]
        assert len(pre) == 1, listed
        backup_name = pre[0][0]
        assert f"schema {old_schema}" in pre[0], pre[0]  # the data as the previous release left it
        assert (data / "backup" / backup_name / "MANIFEST").is_file()

        # -- the rollback, the README's lines one after the other
        t0 = time.time()
        said = [run_block(block, s, data, backup_name, tmp_path / "bin") for block in readme_steps()]
        assert s.proc is None, "the README's steps leave the server running"
        assert backup_name in said[0], said  # `backup list` shows it
        assert f"restored {backup_name} into {data}: " in said[1], said
        timings["rollback"] = time.time() - t0
        replaced = sorted(p for p in data.iterdir() if p.name.startswith("replaced-"))
        assert len(replaced) == 1, list(data.iterdir())
        upgraded = replaced[0]
        assert f"the data set that was there is now in {upgraded}/ (moved: " in said[1], said
        assert f"delete the old set: rm -rf {upgraded}\n" in said[1], said
        assert (data / "backup" / backup_name / "MANIFEST").is_file()  # the backups stayed where they were
        assert not (upgraded / "backup").exists()
        assert not (data / "restore-staging").exists() and not (data / "restore-replace.journal").exists()
        assert f"written_by={new_version}\n" in (upgraded / "FORMAT").read_text()  # the upgraded data, kept aside
        assert (upgraded / "db").is_dir() and (upgraded / "blobs").is_dir()
        if with_format:
            assert f"written_by={old_version}\n" in (data / "FORMAT").read_text()
        else:
            assert not (data / "FORMAT").exists()

        # -- the previous release on the rolled-back data
        s.dist = previous_dist
        t0 = time.time()
        s.start()
        timings["previous release's start"] = time.time() - t0
        after = snapshot(s, USERS)
        for user, boxes in before.items():
            assert sorted(after[user]) == sorted(boxes), user
            for f, (validity, msgs) in boxes.items():
                validity2, msgs2 = after[user][f]
                assert validity2 == validity, (user, f)
                for uid, (flags, body) in msgs.items():
                    assert uid in msgs2, (user, f, uid)
                    assert msgs2[uid] == (flags, body), (user, f, uid)
        stored = {}
        for user, boxes in after.items():
            for _, (_, msgs) in boxes.items():
                for _, (_, body) in msgs.items():
                    mm = re.search(rb"X-Upgrade-Id: (\d+)\r\n", body)
                    if mm:
                        stored.setdefault((int(mm.group(1)), user), []).append(body)
                    assert b"<after-upgrade@outside.test>" not in body, user
        for n, to, msg in late:  # acknowledged by the previous release just before the SIGKILL
            for user in ALIASES.get(to, [to]):
                copies = stored.get((n, user), [])
                assert len(copies) == 1 and copies[0].endswith(msg), (n, user, len(copies))
        assert ehlo_size(s) == SIZE_SETTING
        served = certificates(s, admin=with_wizard)
        assert served == dict.fromkeys(served, custom), served
        if with_wizard:
            c = smtplib.SMTP(timeout=60)
            code, greeting = c.connect("127.0.0.1", s.port("smtp"))
            c.quit()
            assert code == 220 and greeting.decode().startswith(HOSTNAME), greeting
            a = Admin(s)
            status, answer, _ = a.request("POST", "/api/login", {"name": ADMIN, "password": ADMIN_PW})
            assert status == 200, (status, answer)
        s.stop()
        print(f"\nrollback {new_version} -> {old_version} ({backup_name}): "
              f"{sum(len(msgs) for u in before.values() for _, msgs in u.values())} messages, {len(late)} late; "
              + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()) + f", total {time.time() - t_all:.1f} s")
    finally:
        s.stop()

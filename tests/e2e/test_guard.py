"""The abuse guard with clients nobody here wrote (issue 6): Python's smtplib submits a burst and is blocked at the
threshold, the postmaster (an alias of bob) is told, `darwinmail sender blocked|unblock` lists and lifts the block,
which survives a restart; smtplib's password guessing is locked out while another account logs in; poplib reads
what arrived."""
import poplib
import smtplib
import ssl
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from conftest import make_server, wait_port

ALICE, ALICE_PW = "alice@example.test", "alice-pw"
BOB, BOB_PW = "bob@example.test", "bob-pw"
BURST = 10

GUARD = f"""
[guard]
login_lock_after = 6
login_lockout_seconds = 3
login_delay_millis = 10
[guard.send]
messages_per_minute = 0
messages_per_hour = 0
burst_messages = {BURST}
"""


def unverified():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


@pytest.fixture(scope="module")
def guarded():
    with tempfile.TemporaryDirectory(prefix="darwin-e2e-guard-") as d:
        s = make_server(Path(d), GUARD)
        s.cli("alias", "add", "postmaster@example.test", BOB)
        try:
            yield s
        finally:
            s.stop()


def submit(server, user, password):
    c = smtplib.SMTP("127.0.0.1", server.port("submission"), timeout=30)
    c.starttls(context=unverified())
    c.login(user, password)
    return c


def message(sender, to, subject):
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, to, subject
    m.set_content("Hello.\n")
    return m


def subjects(server, user, password):
    p = poplib.POP3("127.0.0.1", server.port("pop3"), timeout=30)
    try:
        p.user(user)
        p.pass_(password)
        out = []
        for i in range(1, p.stat()[0] + 1):
            for line in p.top(i, 0)[1]:
                if line.startswith(b"Subject: "):
                    out.append(line[9:].decode())
        return out
    finally:
        p.quit()


def test_a_burst_is_blocked_reported_and_lifted(guarded):
    sent, refused = 0, []
    c = submit(guarded, ALICE, ALICE_PW)
    for i in range(200):
        try:
            c.send_message(message(ALICE, BOB, f"burst {i}"))
            sent += 1
        except smtplib.SMTPSenderRefused as e:
            refused.append((e.smtp_code, e.smtp_error.decode()))
            c.rset()
    c.quit()
    assert sent == BURST
    assert len(refused) == 200 - BURST
    assert refused[0][0] == 550 and refused[0][1].startswith("5.7.1 ") and "blocked" in refused[0][1]

    # Another account sends as usual.
    b = submit(guarded, BOB, BOB_PW)
    b.send_message(message(BOB, ALICE, "business as usual"))
    b.quit()

    # bob got exactly the burst's first BURST messages, and (as postmaster) the notice.
    deadline = time.time() + 20
    while time.time() < deadline and "Sending blocked for " + ALICE not in subjects(guarded, BOB, BOB_PW):
        time.sleep(0.5)
    got = subjects(guarded, BOB, BOB_PW)
    assert len([s for s in got if s.startswith("burst ")]) == BURST
    assert "Sending blocked for " + ALICE in got

    listed = guarded.cli("sender", "blocked").stdout
    assert listed.startswith(ALICE + "\t") and f"burst: {BURST} messages" in listed

    # The block survives a restart.
    guarded.stop()
    guarded.start()
    wait_port(guarded.port("submission"))
    c = submit(guarded, ALICE, ALICE_PW)
    with pytest.raises(smtplib.SMTPSenderRefused) as e:
        c.send_message(message(ALICE, BOB, "after restart"))
    assert e.value.smtp_code == 550
    c.quit()

    r = guarded.cli("sender", "unblock", ALICE)
    assert ALICE + " unblocked" in r.stdout
    c = submit(guarded, ALICE, ALICE_PW)
    c.send_message(message(ALICE, BOB, "welcome back"))
    c.quit()
    assert guarded.cli("sender", "blocked").stdout == ""
    r = guarded.cli("sender", "unblock", ALICE, check=False)
    assert r.returncode == 1 and "is not blocked" in r.stderr


def test_password_guessing_is_locked_out_then_forgiven(guarded):
    c = smtplib.SMTP("127.0.0.1", guarded.port("submission"), timeout=30)
    c.starttls(context=unverified())
    # smtplib tries PLAIN then LOGIN on each login(): two failures each; the lockout comes after six.
    for i in range(3):
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            c.login(BOB, f"guess-{i}")
        assert e.value.smtp_code == 535
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        c.login(BOB, BOB_PW)
    assert e.value.smtp_code == 454
    c.close()
    # Another account from the same address is not locked out.
    submit(guarded, ALICE, ALICE_PW).quit()
    # The lockout (3 s here) ends.
    deadline = time.time() + 30
    while True:
        try:
            submit(guarded, BOB, BOB_PW).quit()
            break
        except smtplib.SMTPAuthenticationError:
            assert time.time() < deadline, "still locked out"
            time.sleep(0.5)

"""POP3 with clients nobody here wrote: Python's poplib, curl (pop3://, pop3s://, STLS) and fetchmail, against the
dist build (issue 4). Mail goes in over SMTP (smtplib) and must come out byte-identical apart from the Return-Path:
and Received: headers the server adds; deletions happen only after QUIT; a second POP3 session gets [IN-USE]."""
import base64
import os
import poplib
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import make_server, wait_port

ALICE, ALICE_PW = "alice@example.test", "alice-pw"
BOB, BOB_PW = "bob@example.test", "bob-pw"


def unverified():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def message(subject, body=b"Hello.\r\n"):
    return (b"From: Sender <sender@remote.example>\r\n"
            b"To: <alice@example.test>\r\n"
            b"Subject: " + subject.encode() + b"\r\n"
            b"Message-ID: <" + subject.replace(" ", "-").encode() + b"@remote.example>\r\n"
            b"\r\n" + body)


def send(server, rcpt, msg):
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=60) as s:
        s.sendmail("sender@remote.example", [rcpt], msg)


def strip_received(raw):
    """The message without the trace fields the server adds: Return-Path: (RFC 5321 section 4.4), then Received:
    with its folded lines."""
    assert raw.startswith(b"Return-Path: <sender@remote.example>\r\nReceived: "), raw[:200]
    lines = raw.split(b"\r\n")
    i = 2
    while lines[i][:1] in (b" ", b"\t"):
        i += 1
    return b"\r\n".join(lines[i:])


def pop(server, user=ALICE, pw=ALICE_PW):
    p = poplib.POP3("127.0.0.1", server.port("pop3"), timeout=60)
    p.user(user)
    p.pass_(pw)
    return p


def empty_mailbox(server, user, pw):
    p = pop(server, user, pw)
    for i in range(len(p.list()[1])):
        p.dele(i + 1)
    p.quit()


def ready(server):
    # conftest waits for the SMTP port; the POP3 listeners are bound a moment later.
    wait_port(server.port("pop3"))
    wait_port(server.port("pop3s"))
    return server


@pytest.fixture()
def clean(server):
    ready(server)
    empty_mailbox(server, ALICE, ALICE_PW)
    empty_mailbox(server, BOB, BOB_PW)
    yield server


def test_poplib_retrieves_a_message_byte_identical(clean):
    body = (b"Line one\r\n.leading dot\r\n..two dots\r\n.\r\n\r\n"
            + "Grüße, 8-bit\r\n".encode() + b"x" * 990 + b"\r\nlast\r\n")
    msg = message("poplib identical", body)
    send(clean, ALICE, msg)
    p = pop(clean)
    count, size = p.stat()
    assert count == 1
    resp, lines, octets = p.retr(1)
    raw = b"\r\n".join(lines) + b"\r\n"
    assert strip_received(raw) == msg
    assert octets == size
    assert p.uidl(1).split()[2].count(b".") == 1
    p.quit()


def test_poplib_capa_stls_and_pop3s(clean):
    send(clean, ALICE, message("over tls"))
    p = poplib.POP3("127.0.0.1", clean.port("pop3"), timeout=60)
    caps = p.capa()
    for c in ("STLS", "TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "USER", "SASL"):
        assert c in caps, caps
    p.stls(unverified())
    assert "STLS" not in p.capa()
    p.user(ALICE)
    p.pass_(ALICE_PW)
    assert p.stat()[0] == 1
    p.quit()

    s = poplib.POP3_SSL("127.0.0.1", clean.port("pop3s"), context=unverified(), timeout=60)
    assert s.getwelcome().startswith(b"+OK")
    # AUTH PLAIN with an initial response (RFC 5034); poplib has no helper for it.
    token = base64.b64encode(b"\0" + ALICE.encode() + b"\0" + ALICE_PW.encode()).decode()
    assert s._shortcmd("AUTH PLAIN " + token).startswith(b"+OK")
    resp, lines, _ = s.top(1, 0)
    assert b"Subject: over tls" in lines
    s.quit()


def test_wrong_password_is_auth_error(server):
    ready(server)
    p = poplib.POP3("127.0.0.1", server.port("pop3"), timeout=60)
    p.user(ALICE)
    with pytest.raises(poplib.error_proto) as e:
        p.pass_("wrong")
    assert e.value.args[0].startswith(b"-ERR [AUTH]")
    p.quit()


def test_deletions_only_after_quit_and_in_use(clean):
    for i in range(3):
        send(clean, ALICE, message("dele %d" % i))
    # A session that marks messages and then drops its connection deletes nothing.
    p = pop(clean)
    p.dele(1)
    p.dele(2)
    # A second POP3 session on the same maildrop is refused with [IN-USE].
    q = poplib.POP3("127.0.0.1", clean.port("pop3"), timeout=60)
    q.user(ALICE)
    with pytest.raises(poplib.error_proto) as e:
        q.pass_(ALICE_PW)
    assert e.value.args[0].startswith(b"-ERR [IN-USE]")
    q.quit()
    p.sock.shutdown(socket.SHUT_RDWR)  # dropped, no QUIT (close() alone keeps poplib's file object open)
    p.sock.close()

    deadline = time.time() + 20
    while True:
        try:
            p = pop(clean)
            break
        except poplib.error_proto as e:
            assert b"IN-USE" in e.args[0] and time.time() < deadline
            time.sleep(0.1)
    assert p.stat()[0] == 3
    p.dele(1)
    p.quit()
    p = pop(clean)
    assert p.stat()[0] == 2
    subjects = [b"\r\n".join(p.top(i + 1, 0)[1]) for i in range(2)]
    assert b"Subject: dele 0" not in b"".join(subjects)
    p.quit()


def curl(*args, check=True):
    r = subprocess.run(["curl", "-sS", "--max-time", "60", *args], capture_output=True, timeout=90)
    if check and r.returncode != 0:
        raise AssertionError("curl %s -> %d: %s" % (" ".join(args), r.returncode, r.stderr.decode()))
    return r


def test_curl_pop3_pop3s_and_stls(clean):
    msg = message("curl", b"curl body\r\n.dot line\r\n")
    send(clean, ALICE, msg)
    user = "%s:%s" % (ALICE, ALICE_PW)
    listing = curl("-u", user, "pop3://127.0.0.1:%d/" % clean.port("pop3")).stdout
    assert listing.startswith(b"1 ")
    got = curl("-u", user, "pop3://127.0.0.1:%d/1" % clean.port("pop3")).stdout
    assert strip_received(got) == msg
    got = curl("-k", "-u", user, "pop3s://127.0.0.1:%d/1" % clean.port("pop3s")).stdout
    assert strip_received(got) == msg
    got = curl("-k", "--ssl-reqd", "-u", user, "pop3://127.0.0.1:%d/1" % clean.port("pop3")).stdout
    assert strip_received(got) == msg
    # SASL PLAIN instead of USER/PASS
    got = curl("-k", "--login-options", "AUTH=PLAIN", "-u", user, "pop3s://127.0.0.1:%d/1" % clean.port("pop3s")).stdout
    assert strip_received(got) == msg
    # A wrong password fails (curl exit 67: login denied).
    bad = curl("-u", ALICE + ":nope", "pop3://127.0.0.1:%d/1" % clean.port("pop3"), check=False)
    assert bad.returncode == 67
    # DELE through a custom request, no body expected.
    curl("-k", "-u", user, "-X", "DELE", "-I", "pop3s://127.0.0.1:%d/1" % clean.port("pop3s"))
    p = pop(clean)
    assert p.stat()[0] == 0
    p.quit()


def run_fetchmail(workdir, port, extra, mda_out):
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    rc = workdir / "fetchmailrc"
    rc.write_text(
        'set no syslog\n'
        'poll 127.0.0.1 protocol pop3 port %d uidl\n'
        '  user "%s" there with password "%s" is "tester" here\n'
        '  %s\n'
        '  mda "/bin/sh -c \'cat >> %s; echo ==END== >> %s\'"\n'
        % (port, ALICE, ALICE_PW, extra, mda_out, mda_out))
    rc.chmod(0o600)
    env = dict(os.environ, HOME=str(home), FETCHMAILHOME=str(home))
    return subprocess.run(["fetchmail", "-f", str(rc), "--nodetach", "--idfile", str(home / "ids"),
                           "--pidfile", str(home / "pid"), "-v"],
                          capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize("listener,extra", [
    ("pop3", "sslproto tls1.2+ no sslcertck"),  # STLS (fetchmail upgrades when offered)
    ("pop3s", "ssl sslproto tls1.2+ no sslcertck"),  # port 995
])
def test_fetchmail_downloads_and_deletes(clean, listener, extra):
    msgs = [message("fetchmail %s %d" % (listener, i), b"body %d\r\n.dot\r\n" % i) for i in range(3)]
    for m in msgs:
        send(clean, ALICE, m)
    with tempfile.TemporaryDirectory(prefix="darwin-fetchmail-") as d:
        out = Path(d) / "mbox"
        r = run_fetchmail(Path(d), clean.port(listener), extra, out)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "3 messages" in r.stdout + r.stderr
        if listener == "pop3":
            assert "STLS" in r.stdout + r.stderr
        got = out.read_bytes().split(b"==END==\n")
        assert len([g for g in got if g]) == 3
        for m in msgs:
            subject = m.split(b"\r\n")[2]
            assert any(subject in g for g in got)
            # fetchmail hands the MDA LF line endings and adds its own Received:; the body arrives whole.
            assert any(m.split(b"\r\n\r\n", 1)[1].replace(b"\r\n", b"\n") in g for g in got)
    # fetchmail deletes what it fetched (no "keep"): the maildrop is empty.
    p = pop(clean)
    assert p.stat()[0] == 0
    p.quit()


def test_message_larger_than_the_heap_streams(tmp_path, monkeypatch):
    """A 45 MB message through a server with a 64 MB heap (19 MB of which an Argon2id check takes) and 32 MB of
    direct memory: it can only work if SMTP and RETR stream the message instead of holding it."""
    monkeypatch.setenv("DARWINMAIL_JAVA_OPTS", "-XX:+UseSerialGC -Xss512k -Xmx64m -XX:MaxDirectMemorySize=32m")
    s = ready(make_server(tmp_path))
    try:
        line = b"y" * 98 + b"\r\n"
        body = b"".join((b"." + line[1:]) if i % 10 == 0 else line for i in range(45 * 1024 * 1024 // 100))
        msg = message("big", body)
        send(s, ALICE, msg)
        p = pop(s)
        resp, lines, octets = p.retr(1)
        assert strip_received(b"\r\n".join(lines) + b"\r\n") == msg
        p.dele(1)
        p.quit()
        assert s.proc.poll() is None
        assert "OutOfMemoryError" not in s.log_text()
    finally:
        s.stop()


def test_uidl_survives_restart(tmp_path):
    s = ready(make_server(tmp_path))
    try:
        for i in range(2):
            send(s, ALICE, message("uidl %d" % i))
        p = pop(s)
        before = p.uidl()[1]
        p.quit()
        s.stop()
        ready(s.start())
        p = pop(s)
        assert p.uidl()[1] == before
        p.quit()
    finally:
        s.stop()

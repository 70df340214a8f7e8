"""Submission end to end (issue 5, RFC 6409, RFC 8314) with clients nobody here wrote: Python's smtplib and swaks.
AUTH is not offered before TLS, a wrong password is refused, spoofed senders (envelope and From:) are refused,
and a submitted message arrives (read back over POP3)."""
import poplib
import smtplib
import ssl
import subprocess
import time

import pytest

from conftest import wait_port

CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE


@pytest.fixture(autouse=True)
def listening(server):
    """The fixture waits for port 25 only; the listeners used here bind just after it."""
    for name in ("submission", "submissions", "pop3"):
        wait_port(server.port(name))


def message(frm, to, subject):
    return f"From: <{frm}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n\r\nHello.\r\n"


def inbox(server, user, password):
    p = poplib.POP3("127.0.0.1", server.port("pop3"), timeout=30)
    try:
        p.user(user)
        p.pass_(password)
        n, _ = p.stat()
        return [b"\r\n".join(p.retr(i)[1]) for i in range(1, n + 1)]
    finally:
        p.quit()


def arrives(server, subject, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = [m for m in inbox(server, "bob@example.test", "bob-pw") if f"Subject: {subject}".encode() in m]
        if got:
            return got
        time.sleep(0.3)
    raise AssertionError(f"'{subject}' did not arrive")


def test_smtplib_starttls_login_submits_and_the_message_arrives(server):
    with smtplib.SMTP("127.0.0.1", server.port("submission"), timeout=30) as s:
        s.ehlo()
        # No AUTH before TLS (RFC 4954 §4; ARCHITECTURE.md, "Listeners and security rules").
        assert not s.has_extn("auth")
        s.starttls(context=CTX)
        s.ehlo()
        assert "PLAIN" in s.esmtp_features["auth"]
        s.login("alice@example.test", "alice-pw")
        s.sendmail("alice@example.test", ["bob@example.test"], message("alice@example.test", "bob@example.test",
                                                                         "smtplib starttls"))
    got = arrives(server, "smtplib starttls")
    assert len(got) == 1
    m = got[0]
    assert b"Message-ID: <" in m and b"Date: " in m  # added by the server (RFC 6409 §8)
    assert b"with ESMTPSA" in m


def test_implicit_tls_on_submissions(server):
    with smtplib.SMTP_SSL("127.0.0.1", server.port("submissions"), context=CTX, timeout=30) as s:
        s.login("alice@example.test", "alice-pw")
        s.sendmail("alice@example.test", ["bob@example.test"], message("alice@example.test", "bob@example.test",
                                                                         "implicit tls"))
    arrives(server, "implicit tls")


def test_auth_refused_before_tls(server):
    with smtplib.SMTP("127.0.0.1", server.port("submission"), timeout=30) as s:
        s.ehlo()
        code, text = s.docmd("AUTH", "PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZS1wdw==")
        assert code == 530 and b"STARTTLS" in text
        code, _ = s.docmd("MAIL", "FROM:<alice@example.test>")
        assert code == 530


def test_wrong_password_refused(server):
    with smtplib.SMTP("127.0.0.1", server.port("submission"), timeout=30) as s:
        s.starttls(context=CTX)
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login("alice@example.test", "not-her-password")
        assert e.value.smtp_code == 535


def test_spoofed_envelope_sender_refused(server):
    with smtplib.SMTP("127.0.0.1", server.port("submission"), timeout=30) as s:
        s.starttls(context=CTX)
        s.login("alice@example.test", "alice-pw")
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            s.sendmail("bob@example.test", ["bob@example.test"], message("bob@example.test", "bob@example.test", "x"))
        assert e.value.smtp_code == 553


def test_spoofed_from_header_refused(server):
    with smtplib.SMTP("127.0.0.1", server.port("submission"), timeout=30) as s:
        s.starttls(context=CTX)
        s.login("alice@example.test", "alice-pw")
        with pytest.raises(smtplib.SMTPDataError) as e:
            s.sendmail("alice@example.test", ["bob@example.test"],
                       message("bob@example.test", "bob@example.test", "from header spoof"))
        assert e.value.smtp_code == 553 and b"From:" in e.value.smtp_error
    assert not [m for m in inbox(server, "bob@example.test", "bob-pw") if b"from header spoof" in m]


def test_swaks_submits_with_starttls_and_auth(server):
    r = subprocess.run(["swaks", "--server", f"127.0.0.1:{server.port('submission')}", "--tls",
                        "--auth", "LOGIN", "--auth-user", "alice@example.test", "--auth-password", "alice-pw",
                        "--from", "alice@example.test", "--to", "bob@example.test",
                        "--header", "Subject: sent by swaks", "--body", "swaks body", "--timeout", "30"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "235 2.7.0" in r.stdout
    arrives(server, "sent by swaks")

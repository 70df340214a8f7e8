"""Inbound SMTP (port 25 role) with clients nobody here wrote: Python's smtplib and swaks.

Arrival is checked by reading the mailbox back over POP3 with poplib, as a user would.
"""
import hashlib
import poplib
import smtplib
import subprocess
import uuid

import pytest


def pop_messages(server, user, password):
    """Every message in the user's INBOX as bytes (CRLF lines), read with poplib."""
    p = poplib.POP3("127.0.0.1", server.port("pop3"), timeout=60)
    try:
        p.user(user)
        p.pass_(password)
        count, _ = p.stat()
        return [b"\r\n".join(p.retr(i)[1]) + b"\r\n" for i in range(1, count + 1)]
    finally:
        p.quit()


def find(server, user, password, marker: bytes):
    return [m for m in pop_messages(server, user, password) if marker in m]


def smtp(server):
    s = smtplib.SMTP("127.0.0.1", server.port("smtp"), local_hostname="client.example", timeout=120)
    s.ehlo()
    return s


def test_plain_message_arrives_with_return_path_and_a_received_header(server):
    marker = uuid.uuid4().hex.encode()
    with smtp(server) as s:
        s.sendmail("sender@remote.example", ["alice@example.test"],
                   b"Subject: plain\r\nFrom: sender@remote.example\r\n\r\nhello " + marker + b"\r\n")
    [m] = find(server, "alice@example.test", "alice-pw", marker)
    assert m.startswith(b"Return-Path: <sender@remote.example>\r\nReceived: from client.example ([127.0.0.1])")
    assert b"Subject: plain\r\n" in m


def test_eight_bit_message(server):
    marker = uuid.uuid4().hex
    body = f"Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nK\u00f6ln {marker}\r\n"
    with smtp(server) as s:
        assert s.has_extn("8bitmime")
        s.sendmail("sender@remote.example", ["alice@example.test"], body.encode("utf-8"),
                   mail_options=["BODY=8BITMIME"])
    [m] = find(server, "alice@example.test", "alice-pw", marker.encode())
    assert f"K\u00f6ln {marker}".encode("utf-8") in m


def test_smtputf8_addresses(server):
    marker = uuid.uuid4().hex
    with smtp(server) as s:
        assert s.has_extn("smtputf8")
        msg = f"From: j\u00f6rg@b\u00fccher.example\r\nSubject: Gr\u00fc\u00dfe\r\n\r\n{marker}\r\n".encode("utf-8")
        s.sendmail("j\u00f6rg@b\u00fccher.example", ["alice@example.test"], msg, mail_options=["SMTPUTF8"])
    [m] = find(server, "alice@example.test", "alice-pw", marker.encode())
    assert "Gr\u00fc\u00dfe".encode("utf-8") in m
    assert b"with UTF8SMTP" in m


def test_twenty_megabyte_message_is_stored_intact(server):
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\r\n"
    marker = uuid.uuid4().hex.encode()
    body = b"Subject: big " + marker + b"\r\n\r\n" + line * (20 * 1024 * 1024 // len(line))
    with smtp(server) as s:
        s.sendmail("sender@remote.example", ["bob@example.test"], body)
    [m] = find(server, "bob@example.test", "bob-pw", marker)
    assert len(m) > 20_000_000
    # Our Return-Path: and Received: headers come first, then exactly what was sent.
    assert hashlib.sha256(m[m.index(b"Subject: big"):]).hexdigest() == hashlib.sha256(body).hexdigest()


def test_several_recipients_and_an_alias(server):
    server.cli("alias", "add", "team@example.test", "alice@example.test", "bob@example.test")
    marker = uuid.uuid4().hex.encode()
    with smtp(server) as s:
        refused = s.sendmail("sender@remote.example", ["team@example.test", "bob@example.test"],
                             b"Subject: team\r\n\r\n" + marker + b"\r\n")
        assert refused == {}
    assert len(find(server, "alice@example.test", "alice-pw", marker)) == 1
    assert len(find(server, "bob@example.test", "bob-pw", marker)) == 1  # alias + direct: one copy


def test_relaying_is_refused(server):
    with smtp(server) as s:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
            s.sendmail("alice@example.test", ["victim@elsewhere.example"], b"Subject: relay\r\n\r\nno\r\n")
        code, text = e.value.recipients["victim@elsewhere.example"]
        assert code == 550 and b"5.7.1" in text


def test_unknown_user_is_refused(server):
    with smtp(server) as s:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
            s.sendmail("a@remote.example", ["nobody@example.test"], b"Subject: x\r\n\r\nx\r\n")
        assert e.value.recipients["nobody@example.test"][0] == 550


def swaks(*args):
    return subprocess.run(["swaks", *args], capture_output=True, text=True, timeout=300)


def test_swaks_plain_pipelining_and_chunking(server):
    marker = uuid.uuid4().hex
    r = swaks("--server", f"127.0.0.1:{server.port('smtp')}", "--from", "x@remote.example",
              "--to", "alice@example.test", "--header", f"Subject: swaks {marker}", "--pipeline")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "250 2.0.0 OK queued as" in r.stdout
    assert find(server, "alice@example.test", "alice-pw", marker.encode())


def test_swaks_starttls(server):
    marker = uuid.uuid4().hex
    r = swaks("--server", f"127.0.0.1:{server.port('smtp')}", "-tls", "--from", "x@remote.example",
              "--to", "bob@example.test", "--header", f"Subject: tls {marker}")
    assert r.returncode == 0, r.stdout + r.stderr
    [m] = find(server, "bob@example.test", "bob-pw", marker.encode())
    assert b"with ESMTPS" in m


def test_swaks_relay_refused(server):
    r = swaks("--server", f"127.0.0.1:{server.port('smtp')}", "--from", "x@remote.example",
              "--to", "someone@elsewhere.example")
    assert r.returncode != 0
    assert "550 5.7.1" in r.stdout

"""IMAP with clients nobody here wrote: Python's imaplib (plain on loopback, STARTTLS, imaps) and curl (imap://,
imaps://), against the dist build (issue 3). Mail goes in over SMTP and by APPEND; the tests list, select, fetch
bodies and structure, search, flag, move, append and idle, as a mail client would."""
import imaplib
import smtplib
import ssl
import subprocess
import threading
import time

import pytest

ALICE, ALICE_PW = "alice@example.test", "alice-pw"
BOB, BOB_PW = "bob@example.test", "bob-pw"


def unverified():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def message(subject, body="Hello.\r\n", to=BOB):
    return ("From: Alice <alice@example.test>\r\n"
            f"To: <{to}>\r\n"
            f"Subject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@example.test>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/alternative; boundary=b1\r\n"
            "\r\n"
            "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body +
            "--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>" + body.strip() + "</p>\r\n"
            "--b1--\r\n").encode()


def send(server, rcpt, msg):
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=60) as s:
        s.sendmail("alice@example.test", [rcpt], msg)


def imap(server, user=BOB, pw=BOB_PW):
    m = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=30)
    m.login(user, pw)
    return m


def test_list_select_fetch_search_flag_move(server):
    send(server, BOB, message("first", "apples and pears\r\n"))
    send(server, BOB, message("second", "only pears\r\n"))
    m = imap(server)
    try:
        typ, boxes = m.list()
        assert typ == "OK"
        names = [b.decode() for b in boxes]
        assert any(n.endswith('"INBOX"') for n in names)
        assert any("\\Sent" in n and n.endswith('"Sent"') for n in names)
        typ, data = m.select("INBOX")
        assert (typ, data) == ("OK", [b"2"])

        typ, data = m.fetch("1", "(BODYSTRUCTURE ENVELOPE)")
        meta = data[0].decode()
        assert '("TEXT" "PLAIN" ("CHARSET" "utf-8")' in meta and '"ALTERNATIVE"' in meta
        assert '"first"' in meta and '(("Alice" NIL "alice" "example.test"))' in meta

        typ, data = m.fetch("1", "(BODY.PEEK[1] BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert data[0][1] == b"apples and pears"
        assert data[1][1] == b"Subject: first\r\n\r\n"
        typ, data = m.fetch("1", "(FLAGS)")
        assert b"\\Seen" not in data[0]

        typ, data = m.fetch("2", "(RFC822)")
        assert data[0][1].endswith(b"--b1--\r\n") and b"Subject: second" in data[0][1]
        typ, data = m.fetch("2", "(FLAGS)")
        assert b"\\Seen" in data[0]

        assert m.search(None, "BODY", "pears") == ("OK", [b"1 2"])
        assert m.search(None, "BODY", "apples") == ("OK", [b"1"])
        assert m.search(None, "UNSEEN") == ("OK", [b"1"])
        assert m.search(None, "OR", "SUBJECT", "second", "FLAGGED") == ("OK", [b"2"])

        typ, data = m.store("1", "+FLAGS", "(\\Flagged)")
        assert typ == "OK" and b"\\Flagged" in data[0]
        assert m.search(None, "FLAGGED") == ("OK", [b"1"])

        typ, data = m.uid("MOVE", "1", "Archive")
        assert typ == "OK"
        assert m.select("INBOX") == ("OK", [b"1"])
        typ, data = m.status("Archive", "(MESSAGES UNSEEN)")
        assert data == [b'"Archive" (MESSAGES 1 UNSEEN 1)']
    finally:
        m.logout()


def test_append_then_fetch_and_expunge(server):
    m = imap(server, ALICE, ALICE_PW)
    try:
        raw = message("appended", "kept as is\r\n", to=ALICE)
        typ, data = m.append("Drafts", "(\\Draft)", imaplib.Time2Internaldate(time.time()), raw)
        assert typ == "OK" and data[0].startswith(b"[APPENDUID ")
        m.select("Drafts")
        typ, data = m.fetch("1", "(FLAGS BODY.PEEK[])")
        assert data[0][1] == raw
        assert b"\\Draft" in data[0][0]
        m.store("1", "+FLAGS", "(\\Deleted)")
        typ, data = m.expunge()
        assert data == [b"1"]
        assert m.select("Drafts") == ("OK", [b"0"])
    finally:
        m.logout()


def test_idle_sees_new_mail(server):
    m = imap(server, ALICE, ALICE_PW)
    try:
        typ, data = m.select("INBOX")
        before = int(data[0])
        tag = m._new_tag()
        m.send(tag + b" IDLE\r\n")
        assert m.readline().startswith(b"+")
        threading.Timer(0.5, send, (server, ALICE, message("while idling", to=ALICE))).start()
        line = m.readline()
        assert line == f"* {before + 1} EXISTS\r\n".encode()
        m.send(b"DONE\r\n")
        while not line.startswith(tag):
            line = m.readline()
        assert b"OK" in line
    finally:
        m.logout()


def test_starttls_and_imaps(server):
    m = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=30)
    assert "STARTTLS" in m.capabilities
    m.starttls(ssl_context=unverified())
    assert "STARTTLS" not in m.capabilities
    m.login(BOB, BOB_PW)
    assert m.select("INBOX")[0] == "OK"
    m.logout()
    s = imaplib.IMAP4_SSL("127.0.0.1", server.port("imaps"), ssl_context=unverified(), timeout=30)
    assert "STARTTLS" not in s.capabilities
    s.login(BOB, BOB_PW)
    assert s.namespace() == ("OK", [b'(("" "/")) NIL NIL'])
    s.logout()


def test_wrong_password_is_refused(server):
    m = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=30)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.login(BOB, "not-the-password")
    m.logout()


def curl(*args):
    r = subprocess.run(["curl", "--silent", "--show-error", "--max-time", "60", *args],
                       capture_output=True, timeout=90)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def test_curl_imap_and_imaps(server):
    send(server, BOB, message("for curl", "fetched by curl\r\n"))
    port, sport = server.port("imap"), server.port("imaps")
    listing = curl("-u", f"{BOB}:{BOB_PW}", f"imap://127.0.0.1:{port}/").decode()
    assert '"INBOX"' in listing and '"Trash"' in listing
    found = curl("-u", f"{BOB}:{BOB_PW}", "-X", 'SEARCH SUBJECT "for curl"',
                 f"imap://127.0.0.1:{port}/INBOX").decode()
    uid_line = found.strip()
    assert uid_line.startswith("* SEARCH ")
    n = uid_line.split()[-1]
    body = curl("-u", f"{BOB}:{BOB_PW}", "--ssl-reqd", "-k", f"imap://127.0.0.1:{port}/INBOX;MAILINDEX={n}")
    assert b"Subject: for curl" in body and b"fetched by curl" in body
    body = curl("-k", "-u", f"{BOB}:{BOB_PW}", f"imaps://127.0.0.1:{sport}/INBOX;MAILINDEX={n};SECTION=1")
    assert body.strip() == b"fetched by curl"


def test_message_larger_than_the_heap_is_fetched_whole(tmp_path, monkeypatch):
    """A 45 MB message fetched with BODY.PEEK[] from a server with a 64 MB heap: it works only because the FETCH
    streams the message from its file (before, it was read whole and copied three times, about 4x its size)."""
    from conftest import make_server, wait_port
    monkeypatch.setenv("DARWINMAIL_JAVA_OPTS", "-XX:+UseSerialGC -Xss512k -Xmx64m -XX:MaxDirectMemorySize=32m")
    s = make_server(tmp_path)
    try:
        wait_port(s.port("imap"))
        line = b"z" * 98 + b"\r\n"
        body = line * (45 * 1024 * 1024 // 100)
        msg = (b"From: Alice <alice@example.test>\r\nTo: <bob@example.test>\r\nSubject: huge\r\n"
               b"Message-ID: <huge@example.test>\r\n\r\n" + body)
        send(s, BOB, msg)
        m = imap(s)
        m.select("INBOX", readonly=True)
        typ, data = m.uid("FETCH", "1:*", "(RFC822.SIZE BODY.PEEK[])")
        assert typ == "OK"
        got = data[0][1]
        assert got.endswith(msg), got[:300]
        assert got.startswith(b"Return-Path: <alice@example.test>\r\nReceived: ")
        assert b"RFC822.SIZE %d" % len(got) in data[0][0]
        # The session goes on: the response after the literal was complete.
        assert m.noop()[0] == "OK"
        m.logout()
        assert s.proc.poll() is None
        assert "OutOfMemoryError" not in s.log_text()
    finally:
        s.stop()

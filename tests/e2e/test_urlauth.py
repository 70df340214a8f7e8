"""IMAP URLAUTH (RFC 4467) and SMTP BURL (RFC 4468) end to end, with clients nobody here wrote: Python's imaplib
(GENURLAUTH and URLFETCH through its generic command path: it has no methods for them) and smtplib (BURL through docmd), against
the dist build. A client saves a draft over IMAP, asks for a URL to it, and submits it by reference; the message
the recipient reads over IMAP is the draft byte for byte under the server's trace fields."""
import imaplib
import re
import smtplib
import ssl
import time

import pytest

from conftest import wait_port

ALICE, ALICE_PW = "alice@example.test", "alice-pw"
BOB, BOB_PW = "bob@example.test", "bob-pw"

# imaplib knows neither command: both are valid when authenticated or selected (RFC 4467 §6.2, §6.3)
imaplib.Commands.setdefault("GENURLAUTH", ("AUTH", "SELECTED"))
imaplib.Commands.setdefault("URLFETCH", ("AUTH", "SELECTED"))

CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE

DRAFT = (b"From: Alice <alice@example.test>\r\n"
         b"To: Bob <bob@example.test>\r\n"
         b"Subject: sent by reference\r\n"
         b"Date: Fri, 4 Dec 2026 09:00:00 +0000\r\n"
         b"Message-ID: <burl-e2e@example.test>\r\n"
         b"MIME-Version: 1.0\r\n"
         b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
         b"\r\n"
         b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nthe draft's text, caf\xc3\xa9\r\n"
         b"--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
         b"AAECAwQFBgcICQ==\r\n"
         b"--b1--\r\n")


@pytest.fixture(autouse=True)
def listening(server):
    """The fixture waits for port 25 only; the listeners used here bind just after it."""
    for name in ("submission", "imap"):
        wait_port(server.port(name))


def imap(server, user, pw):
    m = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=30)
    m.login(user, pw)
    return m


def append_draft(m, box, message):
    """APPEND to `box` (made first); the UIDVALIDITY and UID from APPENDUID (RFC 4315)."""
    m.create(box)
    typ, data = m.append(box, None, None, message)
    assert typ == "OK", data
    uv, uid = re.search(rb"\[APPENDUID (\d+) (\d+)\]", data[0]).groups()
    return int(uv), int(uid)


def rump(server, box, uv, uid, access, extra=""):
    """RFC 5092 §11 with RFC 4467's ";URLAUTH=": alice's message on this server, for `access`."""
    return (f"imap://alice%40example.test@mx.{server.domain}/{box};UIDVALIDITY={uv}/;UID={uid}{extra}"
            f";URLAUTH={access}")


def genurlauth(m, url):
    """GENURLAUTH (RFC 4467 §6.2): the URL with its INTERNAL token."""
    typ, data = m._simple_command("GENURLAUTH", f'"{url}"', "INTERNAL")
    assert typ == "OK", data
    typ, made = m._untagged_response(typ, data, "GENURLAUTH")
    got = made[0].decode()
    assert got.startswith(f'"{url}:INTERNAL:') and got.endswith('"'), got
    return got[1:-1]


def urlfetch(m, url):
    """URLFETCH (RFC 4467 §6.3) of one URL: its bytes, or None for NIL."""
    typ, data = m._simple_command("URLFETCH", f'"{url}"')
    assert typ == "OK", data
    typ, got = m._untagged_response(typ, data, "URLFETCH")
    item = got[0]
    if isinstance(item, tuple):  # imaplib hands a literal over as (prefix, bytes)
        assert item[0].decode().startswith(f'"{url}" {{'), item[0]
        return item[1]
    assert item.decode() == f'"{url}" NIL', item
    return None


def fetch(m, uid, section):
    typ, data = m.uid("FETCH", str(uid), f"(BODY.PEEK[{section}])")
    assert typ == "OK", data
    return next(d[1] for d in data if isinstance(d, tuple))


def submit_by_reference(server, urls):
    """MAIL, RCPT and one BURL per URL (the last with LAST) on submission after STARTTLS and AUTH."""
    with smtplib.SMTP("127.0.0.1", server.port("submission"), timeout=60) as s:
        s.starttls(context=CTX)
        s.login(ALICE, ALICE_PW)
        s.ehlo()
        assert s.has_extn("burl"), s.esmtp_features
        assert s.esmtp_features["burl"].split() == ["imap"]
        code, _ = s.mail(ALICE)
        assert code == 250
        code, _ = s.rcpt(BOB)
        assert code == 250
        replies = []
        for i, url in enumerate(urls):
            replies.append(s.docmd("BURL", url + (" LAST" if i == len(urls) - 1 else "")))
        return replies


def delivered(server, subject, timeout=60):
    """The bytes of bob's INBOX message with `subject`, read over IMAP (BODY.PEEK[]) once it has arrived."""
    deadline = time.time() + timeout
    while True:
        m = imap(server, BOB, BOB_PW)
        try:
            m.select("INBOX", readonly=True)
            typ, data = m.uid("SEARCH", "HEADER", "Subject", f'"{subject}"')
            uids = data[0].split()
            if uids:
                return fetch(m, int(uids[-1]), "")
        finally:
            m.logout()
        if time.time() > deadline:
            raise AssertionError(f"'{subject}' did not arrive")
        time.sleep(0.3)


def assert_trace_then(stored, expected):
    """What bob reads is the server's Return-Path / Received fields, then exactly the bytes the URLs named."""
    assert stored.endswith(expected), stored[:400]
    trace = stored[:len(stored) - len(expected)].decode()
    assert re.fullmatch(r"(Return-Path: <[^>]*>\r\n)?Received: .*\r\n", trace, re.S), trace
    assert all(f.startswith(("Return-Path:", "Received:")) for f in re.split(r"\r\n(?![ \t])", trace.rstrip("\r\n")))


def test_a_draft_saved_over_imap_is_sent_with_burl_byte_for_byte(server):
    m = imap(server, ALICE, ALICE_PW)
    try:
        assert b"URLAUTH" in m.capabilities or "URLAUTH" in m.capabilities
        uv, uid = append_draft(m, "e2e-drafts", DRAFT)
        typ, _ = m.select("e2e-drafts")
        assert typ == "OK"
        assert m.response("URLMECH") == ("URLMECH", [b"INTERNAL"])  # RFC 4467 §7.1, on selection
        url = genurlauth(m, rump(server, "e2e-drafts", uv, uid, "submit+alice%40example.test"))
        assert re.fullmatch(r".*:INTERNAL:[0-9a-f]{64}", url)
        # a submit+ URL is the submission server's, not this IMAP session's: URLFETCH gives NIL
        assert urlfetch(m, url) is None
        mine = genurlauth(m, rump(server, "e2e-drafts", uv, uid, "user+alice%40example.test"))
        assert urlfetch(m, mine) == DRAFT
    finally:
        m.logout()
    replies = submit_by_reference(server, [url])
    assert replies[0][0] == 250 and replies[0][1].startswith(b"2.0.0 OK queued as "), replies
    assert_trace_then(delivered(server, "sent by reference"), DRAFT)


def test_sections_and_ranges_resolve_as_fetch_returns_them_and_burl_assembles_them(server):
    m = imap(server, ALICE, ALICE_PW)
    try:
        reply = DRAFT.replace(b"Subject: sent by reference", b"Subject: assembled by reference")
        uv, uid = append_draft(m, "e2e-parts", reply)
        m.select("e2e-parts", readonly=True)
        # RFC 5092 §3: SECTION is FETCH's section-spec %-encoded, PARTIAL its <origin.length>
        for extra, section in [("/;SECTION=HEADER.FIELDS%20(Subject%20To)", "HEADER.FIELDS (Subject To)"),
                               ("/;SECTION=1", "1"), ("/;SECTION=2.MIME", "2.MIME"), ("/;SECTION=TEXT", "TEXT")]:
            got = urlfetch(m, genurlauth(m, rump(server, "e2e-parts", uv, uid, "authuser", extra)))
            assert got == fetch(m, uid, section), extra
        ranged = urlfetch(m, genurlauth(m, rump(server, "e2e-parts", uv, uid, "anonymous", "/;PARTIAL=6.20")))
        assert ranged == fetch(m, uid, "")[6:26]
        # the recipient gets a new header (the draft's own fields, chosen by name) on the draft's body
        head = genurlauth(m, rump(server, "e2e-parts", uv, uid, "submit+alice%40example.test",
                                  "/;SECTION=HEADER.FIELDS%20(From%20To%20Subject%20Date%20Message-ID%20"
                                  "MIME-Version%20Content-Type)"))
        body = genurlauth(m, rump(server, "e2e-parts", uv, uid, "submit+alice%40example.test",
                                  "/;SECTION=TEXT"))
        expected = (fetch(m, uid, "HEADER.FIELDS (From To Subject Date Message-ID MIME-Version Content-Type)")
                    + fetch(m, uid, "TEXT"))
    finally:
        m.logout()
    assert expected == reply  # every field of the draft was named: the two parts together are the draft again
    replies = submit_by_reference(server, [head, body])
    assert replies[0] == (250, b"2.5.0 Waiting for additional BURL or BDAT commands"), replies
    assert replies[1][0] == 250 and replies[1][1].startswith(b"2.0.0 OK queued as "), replies
    assert_trace_then(delivered(server, "assembled by reference"), reply)


def test_another_user_cannot_use_a_url_not_made_for_them(server):
    m = imap(server, ALICE, ALICE_PW)
    try:
        uv, uid = append_draft(m, "e2e-private", DRAFT.replace(b"sent by reference", b"private"))
        private = genurlauth(m, rump(server, "e2e-private", uv, uid, "user+alice%40example.test"))
        shared = genurlauth(m, rump(server, "e2e-private", uv, uid, "authuser", "/;SECTION=1"))
    finally:
        m.logout()
    b = imap(server, BOB, BOB_PW)
    try:
        assert urlfetch(b, private) is None
        assert urlfetch(b, shared) == "the draft's text, café".encode()
        tampered = private[:-1] + ("1" if private[-1] == "0" else "0")
        assert urlfetch(b, tampered) is None
    finally:
        b.logout()

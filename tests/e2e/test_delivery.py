"""Outbound delivery end to end (issue 5): the dist build of Darwin Mail, a private Postfix and a private dnsmasq,
all on loopback. Darwin Mail finds Postfix through an MX lookup in dnsmasq and delivers to it (DKIM-signed, checked
by python3-dkim with the key from dnsmasq); Postfix relays to Darwin Mail; Postfix's refusal comes back to the
sender as a DSN; the queue CLI lists, retries and deletes."""
import email
import poplib
import re
import smtplib
import ssl
import tempfile
import time
from pathlib import Path

import dkim
import dns.message
import dns.query
import dns.rdatatype
import pytest

from conftest import Server, wait_port
from mailpeers import Dnsmasq, Postfix

CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE


class Env:
    pass


@pytest.fixture(scope="module")
def env():
    with tempfile.TemporaryDirectory(prefix="darwin-e2e-delivery-") as d:
        work = Path(d)
        work.chmod(0o755)  # Postfix's daemons (user postfix) must reach their queue below it
        e = Env()
        e.dns = Dnsmasq(work)
        e.postfix = Postfix(work, "peer.test", ["carol@peer.test"], relay_domain="example.test")
        extra = e.dns.toml() + f"[delivery]\nport = {e.postfix.port}\nretry_seconds = [1]\nlifetime_seconds = 600\n"
        (work / "darwin").mkdir()
        e.darwin = Server(work / "darwin", extra)
        try:
            e.darwin.cli("domain", "add", "example.test")
            e.darwin.add_user("alice@example.test", "alice-pw")
            e.darwin.add_user("bob@example.test", "bob-pw")
            e.darwin.start()
            for name in ("submission", "pop3"):
                wait_port(e.darwin.port(name))
            e.postfix.relay_port = e.darwin.port("smtp")
            records = e.darwin.cli("domain", "dns", "example.test").stdout
            e.records = records
            e.dkim = {l.split()[0].rstrip("."): "".join(re.findall(r'"([^"]*)"', l))
                      for l in records.splitlines() if "._domainkey." in l}
            e.dns.mx("peer.test", "mx.peer.test").a("mx.peer.test", "127.0.0.1")
            e.dns.mx("nowhere.test", "mx.nowhere.test").a("mx.nowhere.test", "127.0.0.2")
            for name, txt in e.dkim.items():
                e.dns.txt(name, txt)
            e.dns.start()
            e.postfix.start()
            yield e
        finally:
            e.darwin.stop()
            e.postfix.stop()
            e.dns.stop()


def submit(darwin, frm, to, subject, body="Hello from Darwin Mail.\r\n"):
    msg = (f"From: Alice <{frm}>\r\nTo: <{to[0]}>\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n"
           f"Content-Type: text/plain; charset=us-ascii\r\n\r\n{body}")
    with smtplib.SMTP("127.0.0.1", darwin.port("submission"), timeout=30) as s:
        s.starttls(context=CTX)
        s.login(frm, "alice-pw")
        s.sendmail(frm, to, msg)


def wait(predicate, timeout=60, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def pop3_messages(darwin, user, password):
    p = poplib.POP3("127.0.0.1", darwin.port("pop3"), timeout=30)
    try:
        p.user(user)
        p.pass_(password)
        n, _ = p.stat()
        return [b"\r\n".join(p.retr(i)[1]) for i in range(1, n + 1)]
    finally:
        p.quit()


def dnsfunc_for(server):
    """dkim.verify's key lookup, asking dnsmasq (not the system resolver)."""
    def lookup(name, timeout=5):
        q = dns.message.make_query(name.decode() if isinstance(name, bytes) else name, dns.rdatatype.TXT)
        r = dns.query.udp(q, "127.0.0.1", port=server.port, timeout=timeout)
        for rrset in r.answer:
            for rd in rrset:
                return b"".join(rd.strings)
        return None
    return lookup


def test_delivers_to_postfix_found_by_mx_and_the_dkim_signature_verifies(env):
    submit(env.darwin, "alice@example.test", ["carol@peer.test"], "to postfix")
    got = wait(lambda: [m for m in env.postfix.maildir("carol@peer.test") if b"Subject: to postfix" in m],
               what="the message in Postfix's Maildir")
    assert len(got) == 1
    msg = got[0]
    assert b"by mx.example.test (Darwin Mail)" in msg
    assert b"DKIM-Signature:" in msg and b"d=example.test" in msg
    # python3-dkim (dkimpy), an independent verifier, with the key published in dnsmasq; the Maildir file has
    # LF line ends, the message on the wire had CRLF
    wire = msg.replace(b"\n", b"\r\n")
    assert wire.count(b"DKIM-Signature:") == 2
    for idx, algorithm in enumerate([b"a=ed25519-sha256", b"a=rsa-sha256"]):  # RFC 8463 and RFC 6376
        d = dkim.DKIM(wire)
        assert d.verify(idx=idx, dnsfunc=dnsfunc_for(env.dns)), algorithm
        assert d.signature_fields[b"a"] == algorithm[2:]
        tampered = dkim.DKIM(wire.replace(b"Hello from", b"Hullo from"))
        try:
            ok = tampered.verify(idx=idx, dnsfunc=dnsfunc_for(env.dns))
        except dkim.DKIMException:  # "body hash mismatch"
            ok = False
        assert not ok
    log = env.postfix.log()
    assert "from=<alice@example.test>" in log


def test_postfix_relays_to_darwin(env):
    with smtplib.SMTP("127.0.0.1", env.postfix.port, timeout=30) as s:
        s.sendmail("dave@peer.test", ["bob@example.test"],
                   "From: <dave@peer.test>\r\nTo: <bob@example.test>\r\nSubject: via postfix\r\n\r\nhi bob\r\n")
    msgs = wait(lambda: [m for m in pop3_messages(env.darwin, "bob@example.test", "bob-pw") if b"via postfix" in m],
                what="the relayed message in bob's INBOX")
    assert len(msgs) == 1
    assert b"mx.peer.test" in msgs[0]  # Postfix's Received: line, then ours


def test_postfix_refusal_comes_back_as_a_dsn_with_its_reason(env):
    submit(env.darwin, "alice@example.test", ["nobody@peer.test"], "to nobody at postfix")
    def bounce():
        for m in pop3_messages(env.darwin, "alice@example.test", "alice-pw"):
            if b"nobody@peer.test" in m and b"multipart/report" in m:
                return m
        return None
    m = wait(bounce, what="the DSN in alice's INBOX")
    parsed = email.message_from_bytes(m)
    assert parsed.get_content_type() == "multipart/report"
    assert parsed.get_param("report-type") == "delivery-status"
    text = m.decode(errors="replace")
    assert "Action: failed" in text
    assert "Status: 5.1.1" in text
    assert "User unknown" in text  # Postfix's own words
    assert "Remote-MTA: dns; mx.peer.test" in text


def test_queue_list_retry_delete(env):
    submit(env.darwin, "alice@example.test", ["zoe@nowhere.test"], "stuck")
    def listed():
        out = env.darwin.cli("queue", "list").stdout
        return out if "zoe@nowhere.test" in out and "connection refused" in out else None
    out = wait(listed, what="the deferred entry in queue list")
    qid = None
    for line in out.splitlines():
        if not line.startswith(" "):
            current = line.split()[0]
        elif "zoe@nowhere.test" in line:
            qid = current
    assert qid and qid.isdigit()
    r = env.darwin.cli("queue", "retry", qid)
    assert "will be tried now" in r.stdout
    r = env.darwin.cli("queue", "delete", qid)
    assert "1 message(s) deleted" in r.stdout
    assert "zoe@nowhere.test" not in env.darwin.cli("queue", "list").stdout
    bad = env.darwin.cli("queue", "delete", "999999", check=False)
    assert bad.returncode == 1 and "not in the queue" in bad.stderr


def test_domain_dns_prints_the_records_to_publish(env):
    out = env.records
    assert re.search(r"^example\.test\.\s+IN\s+MX\s+10 mx\.example\.test\.$", out, re.M)
    assert 'TXT\t"v=spf1 mx -all"' in out
    assert env.dkim["darwin._domainkey.example.test"].startswith("v=DKIM1; k=rsa; p=MII")
    assert re.fullmatch(r"v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=", env.dkim["darwin-ed._domainkey.example.test"])
    assert "_dmarc.example.test." in out and "v=DMARC1; p=quarantine" in out
    r = env.darwin.cli("domain", "dns", "unknown.test", check=False)
    assert r.returncode == 1 and "no such domain" in r.stderr
